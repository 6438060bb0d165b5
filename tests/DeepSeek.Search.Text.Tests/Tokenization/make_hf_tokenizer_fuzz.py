#!/usr/bin/env python3
"""Reference ids and offsets for BertTokenizerTests.Matches_hf_on_real_and_adversarial_text.

Step 1 (anywhere): python3 make_hf_tokenizer_fuzz.py texts SHARED_DIR texts.json
    builds the inputs: SciFact and SQuAD text, a hand-written list of hard cases (control and format characters, combining marks,
    CJK extension blocks, ligatures, special tokens in text, long words, ...) and 1,500 random strings drawn from many Unicode blocks.
Step 2 (with transformers): python3 make_hf_tokenizer_fuzz.py hf TOKENIZER_DIR texts.json hf.json
    runs BertTokenizerFast (add_special_tokens=False, offsets converted to UTF-16; and truncation at 128 with special tokens).
Step 3: python3 make_hf_tokenizer_fuzz.py pack texts.json hf.json hf_tokenizer_fuzz.json  (a subset: 25 SciFact, 60 SQuAD, all hard cases, 400 random)
"""
import json, os, random, sys


def make_texts(shared, out):
    random.seed(1234)
    texts = []
    for i, line in enumerate(open(os.path.join(shared, 'data/scifact/corpus.jsonl'), encoding='utf-8')):
        if i >= 400: break
        d = json.loads(line); texts.append(d['title'] + '. ' + d['text'])
    sq = json.load(open(os.path.join(shared, 'data/squad-dev/dev-v1.1.json'), encoding='utf-8'))
    n = 0
    for art in sq['data']:
        for p in art['paragraphs']:
            if n < 300: texts.append(p['context']); n += 1
            for q in p['qas'][:1]:
                if n < 600: texts.append(q['question']); n += 1
    hard = [
        "", " ", "\t\n\r", "a\u0000b", "a\ufffdb", "x\u200by", "soft\u00adhyphen", "zwj\u200d\u200cnonjoiner", "\ufeffbom",
        "vt\u000bff\u000cnel\u0085end", "line\u2028sep\u2029para", "nbsp\u00a0thin\u2009ideo\u3000space",
        "İstanbul ı I i", "ǅǄǆ", "ﬁﬂ ligatures", "Ｆｕｌｌｗｉｄｔｈ １２３", "ΣΊΣΥΦΟΣ σοφός", "Straße STRASSE", "Ångström Å Å",
        "e\u0301 n\u0303 a\u0308\u0301", "\u0301leading mark", "café naïve coöperate", "한국어 텍스트 안녕하세요", "日本語のテキスト カタカナ ひらがな",
        "中文文本，标点。“引号”", "\U00020000\U0002a6d6\U0002b820\U0002b920\U0002ceaf\U0002f800", "㐀㐁 丽丸 豈更",
        "ไทย ภาษา", "العربية نص", "עברית", "हिन्दी भाषा", "Ελληνικά", "Русский текст", "emoji 😀👍🏽👨‍👩‍👧 ❤️",
        "math ∑∫√∞ ≤ ≥ ≠ ± × ÷", "currency $€£¥₹ ¢", "quotes “double” ‘single’ «guillemets» „low“", "dashes – — ‐ ‒ ―",
        "[CLS] [SEP] [PAD] [MASK] [UNK]", "[cls] [mask] lower", "a[MASK]b", "[[MASK]]", "[SEP", "[MASK][MASK]",
        "https://example.com/a_b-c?d=e&f=g#h", "user@mail.example.org", "C++ C# F# .NET node.js", "3.14159 1,000,000 1e-9 -42 +7",
        "x" * 99, "y" * 100, "z" * 101, "pneumonoultramicroscopicsilicovolcanoconiosis", "a##b", "## ###", "don't won't y'all",
        "tab\tseparated\tvalues", "multi\n\nline\n", "    leading and trailing    ", "under_score snake_case CamelCase",
        "p53 BRCA1 IL-6 TNF-α β-catenin Ca2+ Na+/K+", "5′-UTR 3′ end", "°C µm Å ‰ ‱", "…ellipsis…", "·•◦‣⁃", "ªº¹²³",
        "\u0e01\u0e34\u0e19", "\u1100\u1161\u11a8", "\u00b7middle", "\u02bcmodifier", "\u0640tatweel", "\u2e2e\u2e3a",
    ]
    texts += hard
    blocks = [(0x20, 0x7e), (0xa0, 0x24f), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff), (0x900, 0x97f), (0xe00, 0xe7f),
              (0x1100, 0x11ff), (0x2000, 0x206f), (0x2100, 0x22ff), (0x3000, 0x30ff), (0x3400, 0x3500), (0x4e00, 0x4f00), (0xac00, 0xad00),
              (0xf900, 0xfaff), (0xfe30, 0xfe4f), (0xff00, 0xffef), (0x1f300, 0x1f64f), (0x20000, 0x20100), (0x2b800, 0x2b950), (0xe000, 0xe010), (0x0, 0x1f)]
    for _ in range(1500):
        s = []
        for _ in range(random.randint(1, 60)):
            r = random.random()
            if r < 0.25: s.append(' ')
            elif r < 0.5: s.append(chr(random.randint(0x61, 0x7a)))
            else:
                a, b = random.choice(blocks); s.append(chr(random.randint(a, b)))
        texts.append(''.join(s))
    json.dump(texts, open(out, 'w', encoding='utf-8'), ensure_ascii=True)


def run_hf(tokdir, texts_path, out):
    from transformers import BertTokenizerFast
    tok = BertTokenizerFast.from_pretrained(tokdir)
    res = []
    for t in json.load(open(texts_path, encoding='utf-8')):
        e = tok(t, add_special_tokens=False, return_offsets_mapping=True)
        pre = [0]
        for ch in t: pre.append(pre[-1] + (2 if ord(ch) > 0xFFFF else 1))  # code points -> UTF-16 units
        res.append({"ids": e["input_ids"], "offsets": [[pre[s], pre[x]] for s, x in e["offset_mapping"]],
                    "full": tok(t, truncation=True, max_length=128)["input_ids"]})
    json.dump(res, open(out, 'w'))


def pack(texts_path, hf_path, out):
    texts = json.load(open(texts_path, encoding='utf-8')); hf = json.load(open(hf_path))
    sel = list(range(0, 25)) + list(range(400, 460)) + list(range(1000, 1071)) + list(range(1071, 1471))
    cases = [{"text": texts[i], "ids": hf[i]["ids"], "offsets": hf[i]["offsets"], "ids128": hf[i]["full"]} for i in sel]
    json.dump({"source": "transformers 5.17 BertTokenizerFast (tokenizers 0.23), all-MiniLM-L6-v2 tokenizer; add_special_tokens=False with offsets (UTF-16), "
                         "and truncation=True max_length=128 (ids128); made by make_hf_tokenizer_fuzz.py", "cases": cases},
              open(out, 'w'), ensure_ascii=True, separators=(',', ':'))


if __name__ == '__main__':
    {'texts': make_texts, 'hf': run_hf, 'pack': pack}[sys.argv[1]](*sys.argv[2:])
