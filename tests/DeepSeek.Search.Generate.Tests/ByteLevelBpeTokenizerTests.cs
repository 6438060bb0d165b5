using System.IO.Compression;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Generate.Tests;

/// <summary>
/// The real DeepSeek-V3 tokenizer (Data/deepseek-v3-tokenizer: tokenizer.json gzipped, tokenizer_config.json) against ids from the
/// transformers.js implementation (golden.json, made by make_golden.js).
/// </summary>
public class ByteLevelBpeTokenizerTests
{
    static readonly Lazy<ByteLevelBpeTokenizer> V3 = new(() => DeepSeekV3Tokenizer.Load());

    [Fact]
    public void Encodes_like_the_reference_implementation()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(DeepSeekV3Tokenizer.Directory, "golden.json")));
        int checkedTexts = 0;
        foreach (var item in doc.RootElement.EnumerateArray())
        {
            string text = item.GetProperty("text").GetString()!;
            var expected = item.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.True(expected.SequenceEqual(V3.Value.Encode(text, addSpecialTokens: false)), $"ids differ for {JsonSerializer.Serialize(text)}");
            Assert.Equal(text, V3.Value.Decode(expected));
            checkedTexts++;
        }
        Assert.True(checkedTexts >= 20);
    }

    [Fact]
    public void Adds_bos_and_parses_special_tokens()
    {
        var tok = V3.Value;
        Assert.Equal(0, tok.BosTokenId);
        Assert.Equal(1, tok.EosTokenId);
        Assert.Equal(new[] { 0, 19923, 3 }, tok.Encode("Hello!"));
        Assert.Equal(new[] { 0, 128803, 6366, 128804 }, tok.Encode("<｜User｜>hi<｜Assistant｜>"));
        // split_special_tokens: special added tokens become plain text; non-special ones (the chat tags) are still matched, as in HF
        var plain = tok.Encode("<｜begin▁of▁sentence｜><｜User｜>", addSpecialTokens: false, splitSpecialTokens: true);
        Assert.DoesNotContain(0, plain);
        Assert.Equal(128803, plain[^1]);
        Assert.False(tok.IsSpecial(128803));
        Assert.Equal("<｜begin▁of▁sentence｜><｜User｜>", tok.Decode(plain));
        Assert.True(tok.IsSpecial(1));
        Assert.Equal("hi", tok.Decode(new[] { 0, 128803, 6366, 1 }, skipSpecialTokens: true).Replace("<｜User｜>", ""));
        Assert.Equal(128815, tok.VocabSize);
    }

    [Fact]
    public void Partial_utf8_decodes_to_replacement_characters()
    {
        var tok = V3.Value;
        var ids = tok.Encode("😀", addSpecialTokens: false);
        Assert.True(ids.Length > 1);
        Assert.Contains('\uFFFD', tok.Decode(ids.Take(1)));
        Assert.Equal("😀", tok.Decode(ids));
    }

    [Fact]
    public void Split_behaviours_follow_hf()
    {
        var digits = new System.Text.RegularExpressions.Regex(@"\d+");
        Assert.Equal(new[] { "ab", "12", "cd", "3" }, ByteLevelBpeTokenizer.Split("ab12cd3", digits, "Isolated", false));
        Assert.Equal(new[] { "ab", "cd" }, ByteLevelBpeTokenizer.Split("ab12cd3", digits, "Removed", false));
        Assert.Equal(new[] { "ab12", "cd3" }, ByteLevelBpeTokenizer.Split("ab12cd3", digits, "MergedWithPrevious", false));
        Assert.Equal(new[] { "ab", "12cd", "3" }, ByteLevelBpeTokenizer.Split("ab12cd3", digits, "MergedWithNext", false));
        var single = new System.Text.RegularExpressions.Regex(@"\d");
        Assert.Equal(new[] { "ab", "12", "cd", "3" }, ByteLevelBpeTokenizer.Split("ab12cd3", single, "Contiguous", false));
        Assert.Equal(new[] { "ab", "cd" }, ByteLevelBpeTokenizer.Split("ab12cd3", digits, "Isolated", true).Where(s => !char.IsDigit(s[0])));
        // category classes see supplementary characters as one code point
        var symbols = new System.Text.RegularExpressions.Regex(@"\p{S}+");
        Assert.Equal(new[] { "a", "😀👍", "b" }, ByteLevelBpeTokenizer.Split("a😀👍b", symbols, "Isolated", false));
    }

    [Fact]
    public void A_small_tokenizer_json_with_template_and_merges()
    {
        // vocab of byte-level symbols; merges as pairs; TemplateProcessing adds <s> ... </s>
        string json = """
        {"added_tokens":[{"id":0,"content":"<s>","special":true},{"id":1,"content":"</s>","special":true}],
         "normalizer":{"type":"Lowercase"},
         "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true,"use_regex":true},
         "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"</s>","type_id":0}}],
           "special_tokens":{"<s>":{"id":"<s>","ids":[0],"tokens":["<s>"]},"</s>":{"id":"</s>","ids":[1],"tokens":["</s>"]}}},
         "decoder":{"type":"ByteLevel"},
         "model":{"type":"BPE","vocab":{"Ġ":2,"h":3,"i":4,"Ġh":5,"Ġhi":6,"!":7},"merges":[["Ġ","h"],["Ġh","i"]]}}
        """;
        var tok = ByteLevelBpeTokenizer.FromJson(json);
        Assert.Equal(new[] { 0, 6, 7, 1 }, tok.Encode("HI!"));
        Assert.Equal(new[] { 6, 6 }, tok.Encode("hi hi", addSpecialTokens: false));
        Assert.Equal(" hi hi", tok.Decode(new[] { 6, 6 }));
        Assert.Throws<InvalidInputException>(() => tok.Encode("x"));
        Assert.Throws<CheckpointException>(() => ByteLevelBpeTokenizer.FromJson("""{"model":{"type":"WordPiece","vocab":{}}}"""));
        Assert.Throws<CheckpointException>(() => ByteLevelBpeTokenizer.FromJson("not json"));
    }
}

/// <summary>The test copy of the DeepSeek-V3 tokenizer, unpacked into a temporary folder once per test run.</summary>
public static class DeepSeekV3Tokenizer
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Data", "deepseek-v3-tokenizer");

    static readonly Lazy<string> Json = new(() =>
    {
        using var gz = new GZipStream(File.OpenRead(Path.Combine(Directory, "tokenizer.json.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        return reader.ReadToEnd();
    });

    public static ByteLevelBpeTokenizer Load() =>
        ByteLevelBpeTokenizer.FromJson(Json.Value, File.ReadAllText(Path.Combine(Directory, "tokenizer_config.json")));

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="dir"/> (to make a model folder with a tokenizer).</summary>
    public static void WriteTo(string dir)
    {
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), Json.Value);
        File.Copy(Path.Combine(Directory, "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"), overwrite: true);
    }
}
