using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Text.Tests.Tokenization;

/// <summary>Reference: fixtures/bert-golden/tokenizer_golden.json, made by HF transformers' BertTokenizerFast (all-MiniLM-L6-v2).</summary>
public class BertTokenizerTests
{
    static readonly string MiniLm = Repo.SharedPath("models", "all-MiniLM-L6-v2-tokenizer");
    static readonly Lazy<BertTokenizer> Shared = new(() => BertTokenizer.FromFolder(MiniLm));
    static BertTokenizer Tok => Shared.Value;

    public sealed record Golden(string Text, int[] Ids, string[] Tokens);

    public static IReadOnlyList<Golden> LoadGolden()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Repo.SharedPath("fixtures", "bert-golden", "tokenizer_golden.json")));
        return doc.RootElement.EnumerateArray().Select(e => new Golden(
            e.GetProperty("text").GetString()!,
            e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            e.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()!).ToArray())).ToList();
    }

    public static IEnumerable<object[]> GoldenIndexes() => Enumerable.Range(0, 7).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(GoldenIndexes))]
    public void Ids_and_tokens_equal_hf_golden(int index)
    {
        var golden = LoadGolden();
        Assert.Equal(7, golden.Count);
        var g = golden[index];
        var enc = Tok.Encode(g.Text, 128);
        Assert.Equal(g.Ids, enc.Ids);
        Assert.Equal(g.Tokens, Tok.ConvertIdsToTokens(enc.Ids));
        Assert.All(enc.AttentionMask, m => Assert.Equal(1, m));
        Assert.All(enc.TokenTypeIds, t => Assert.Equal(0, t));
    }

    [Fact]
    public void Vocab_file_tokenizer_matches_folder_tokenizer()
    {
        var fromVocab = BertTokenizer.FromVocabFile(Repo.SharedPath("models", "bert-base-uncased", "vocab.txt"));
        foreach (var g in LoadGolden())
            Assert.Equal(g.Ids, fromVocab.Encode(g.Text, 128).Ids);
        Assert.Equal(30522, fromVocab.VocabSize);
    }

    [Fact]
    public void Tokenizer_json_alone_gives_the_same_ids()
    {
        using var tmp = new TempDir();
        File.Copy(Path.Combine(MiniLm, "tokenizer.json"), tmp.File("tokenizer.json"));
        var tok = BertTokenizer.FromFolder(tmp.Path);
        Assert.Equal(30522, tok.VocabSize);
        foreach (var g in LoadGolden())
            Assert.Equal(g.Ids, tok.Encode(g.Text, 128).Ids);
    }

    [Fact]
    public void Folder_settings_are_read()
    {
        Assert.True(Tok.Options.LowerCase);
        Assert.True(Tok.Options.EffectiveStripAccents);
        Assert.Equal(512, Tok.Options.MaxLength);
        Assert.Equal((101, 102, 0, 100, 103), (Tok.ClsId, Tok.SepId, Tok.PadId, Tok.UnkId, Tok.MaskId!.Value));
        Assert.Equal(30522, Tok.VocabSize);
    }

    [Fact]
    public void Symbols_are_kept_as_tokens_and_newlines_tabs_split_words()
    {
        var toks = Tok.ConvertIdsToTokens(Tok.Tokenize("$5 + x = <y> ^ ~ |a| `b`\nhello\tworld").Select(t => t.Id));
        Assert.Equal(new[] { "$", "5", "+", "x", "=", "<", "y", ">", "^", "~", "|", "a", "|", "`", "b", "`", "hello", "world" }, toks);
    }

    [Fact]
    public void Control_characters_are_dropped_and_join_their_neighbours()
    {
        // NUL, U+FFFD, zero-width space (Cf) and vertical tab (Cc) are removed without becoming spaces, as in HF;
        // unassigned code points (U+0378) are kept as characters.
        var a = Tok.Tokenize("wo\u0000rd\u200Bs").Select(t => t.Id);
        var b = Tok.Tokenize("words").Select(t => t.Id);
        Assert.Equal(b, a);
        Assert.Equal(Tok.Tokenize("ab").Select(t => t.Id), Tok.Tokenize("a\u000Bb\uFFFD").Select(t => t.Id));
        Assert.Equal(new[] { Tok.UnkId }, Tok.Tokenize("a\u0378b").Select(t => t.Id));
        // no-break space and ideographic space are whitespace
        Assert.Equal(2, Tok.Tokenize("hello\u00A0world").Count);
        Assert.Equal(2, Tok.Tokenize("hello\u3000world").Count);
    }

    [Fact]
    public void Offsets_point_into_the_original_text()
    {
        const string text = "Ça marche, naïve Zürich's p53 深度";
        var spans = Tok.Tokenize(text);
        var pieces = spans.Select(s => text[s.Start..s.End]).ToList();
        Assert.Equal(new[] { "Ça", "marche", ",", "naïve", "Zürich", "'", "s", "p", "53", "深", "度" }, pieces);
        Assert.Equal("##53", Tok.IdToToken(spans[8].Id));
        var enc = Tok.Encode(text, 512);
        Assert.Equal((0, 0), enc.Offsets[0]);
        Assert.Equal((0, 0), enc.Offsets[^1]);
        Assert.Equal((0, 2), enc.Offsets[1]);
        Assert.True(enc.SpecialTokensMask[0] && enc.SpecialTokensMask[^1] && !enc.SpecialTokensMask[1]);
    }

    [Fact]
    public void Decomposed_accents_are_stripped_and_belong_to_no_token()
    {
        // HF's offsets leave out characters the normalizer dropped (here the combining acute accent)
        const string text = "cafe\u0301 ok";
        var spans = Tok.Tokenize(text);
        Assert.Equal("cafe", Tok.IdToToken(spans[0].Id));
        Assert.Equal((0, 4), (spans[0].Start, spans[0].End));
        Assert.Equal(Tok.Tokenize("café ok").Select(s => s.Id), spans.Select(s => s.Id));
    }

    /// <summary>
    /// 556 texts (SciFact, SQuAD, hand-written hard cases, random strings over many Unicode blocks) with ids, UTF-16 offsets and
    /// 128-token encodings from transformers 5.17's BertTokenizerFast; see make_hf_tokenizer_fuzz.py beside this file.
    /// </summary>
    [Fact]
    public void Matches_hf_on_real_and_adversarial_text()
    {
        string path = Path.Combine(Repo.Root, "tests", "DeepSeek.Search.Text.Tests", "Tokenization", "hf_tokenizer_fuzz.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.True(cases.Count > 500);
        var failures = new List<string>();
        foreach (var c in cases)
        {
            string text = c.GetProperty("text").GetString()!;
            var ids = c.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var offsets = c.GetProperty("offsets").EnumerateArray().Select(x => (x[0].GetInt32(), x[1].GetInt32())).ToArray();
            var ids128 = c.GetProperty("ids128").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var spans = Tok.Tokenize(text);
            if (!spans.Select(t => t.Id).SequenceEqual(ids)) failures.Add("ids: " + JsonSerializer.Serialize(text));
            else if (!spans.Select(t => (t.Start, t.End)).SequenceEqual(offsets)) failures.Add("offsets: " + JsonSerializer.Serialize(text));
            if (!Tok.Encode(text, 128).Ids.SequenceEqual(ids128)) failures.Add("encode 128: " + JsonSerializer.Serialize(text));
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches, first: {string.Join("; ", failures.Take(5))}");
    }

    [Fact]
    public void Surrogate_pairs_are_handled()
    {
        // U+20000 is a CJK Extension B ideograph (two UTF-16 units); an emoji is not in the vocabulary.
        const string text = "a\U00020000b 😀";
        var spans = Tok.Tokenize(text);
        Assert.Equal(new[] { "a", "\U00020000", "b", "😀" }, spans.Select(s => text[s.Start..s.End]));
        Assert.Equal(new[] { "a", "[UNK]", "b", "[UNK]" }, spans.Select(s => Tok.IdToToken(s.Id)));
    }

    [Fact]
    public void Words_over_100_characters_are_one_unknown_token()
    {
        string longWord = new string('a', 101);
        var spans = Tok.Tokenize("x " + longWord + " y");
        Assert.Equal(3, spans.Count);
        Assert.Equal(Tok.UnkId, spans[1].Id);
        Assert.Equal((2, 103), (spans[1].Start, spans[1].End));
        Assert.NotEqual(Tok.UnkId, Tok.Tokenize(new string('a', 100))[0].Id);
    }

    [Fact]
    public void Special_tokens_in_text_are_recognised_unless_disabled()
    {
        var ids = Tok.Tokenize("hello [MASK] world[SEP]").Select(t => t.Id).ToList();
        Assert.Equal(new[] { Tok.TokenToId("hello")!.Value, 103, Tok.TokenToId("world")!.Value, 102 }, ids);

        var plain = BertTokenizer.FromVocabFile(Path.Combine(MiniLm, "vocab.txt"), new BertTokenizerOptions { RecognizeSpecialTokens = false });
        Assert.Equal(new[] { "hello", "[", "mask", "]" }, plain.ConvertIdsToTokens(plain.Tokenize("hello [MASK]").Select(t => t.Id)));
    }

    [Fact]
    public void Cased_options_keep_case_and_accents()
    {
        var cased = BertTokenizer.FromVocabFile(Path.Combine(MiniLm, "vocab.txt"), new BertTokenizerOptions { LowerCase = false });
        Assert.False(cased.Options.EffectiveStripAccents);
        Assert.NotEqual(Tok.Tokenize("Hello").Select(t => t.Id), cased.Tokenize("Hello").Select(t => t.Id));
        var lowerOnly = BertTokenizer.FromVocabFile(Path.Combine(MiniLm, "vocab.txt"), new BertTokenizerOptions { StripAccents = false });
        // the uncased vocabulary has no accented letters: kept accents give [UNK], stripped ones the plain letter
        Assert.Equal("[UNK]", lowerOnly.IdToToken(lowerOnly.Tokenize("É")[0].Id));
        Assert.Equal("e", Tok.IdToToken(Tok.Tokenize("É")[0].Id));
    }

    [Fact]
    public void Truncation_counts_special_tokens()
    {
        string text = string.Join(" ", Enumerable.Range(0, 50).Select(i => "word"));
        var enc = Tok.Encode(text, 10);
        Assert.Equal(10, enc.Length);
        Assert.True(enc.Truncated);
        Assert.Equal(52, enc.UntruncatedLength);
        Assert.Equal(Tok.SepId, enc.Ids[^1]);
        Assert.False(Tok.Encode("word", 10).Truncated);
        Assert.Equal(new[] { 101, 102 }, Tok.Encode("anything", 2).Ids);
        Assert.Throws<InvalidInputException>(() => Tok.Encode("x", 1));
    }

    [Fact]
    public void Batch_pads_to_the_longest_with_a_mask()
    {
        var batch = Tok.EncodeBatch(new[] { "one", "two three four", "" }, 128);
        Assert.Equal(3, batch.Count);
        Assert.Equal(5, batch.SequenceLength);
        Assert.Equal(new long[] { 101, Tok.TokenToId("one")!.Value, 102, 0, 0 }, batch.InputIds[..5]);
        Assert.Equal(new long[] { 1, 1, 1, 0, 0 }, batch.AttentionMask[..5]);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1 }, batch.AttentionMask[5..10]);
        Assert.Equal(new long[] { 101, 102, 0, 0, 0 }, batch.InputIds[10..15]);
        Assert.All(batch.TokenTypeIds, t => Assert.Equal(0, t));

        var many = Enumerable.Range(0, 100).Select(i => string.Join(" ", Enumerable.Repeat("x", i))).ToList();
        var big = Tok.EncodeBatch(many, 16);
        Assert.Equal(16, big.SequenceLength);
        for (int i = 0; i < 100; i++) Assert.Equal(Tok.Encode(many[i], 16).Ids, big.Items[i].Ids);
    }

    [Fact]
    public void Bad_folders_are_checkpoint_errors()
    {
        using var tmp = new TempDir();
        Assert.Throws<CheckpointException>(() => BertTokenizer.FromFolder(tmp.File("missing")));
        var e = Assert.Throws<CheckpointException>(() => BertTokenizer.FromFolder(tmp.Path));
        Assert.Contains("vocab.txt", e.Message);
        File.WriteAllText(tmp.File("vocab.txt"), "a\nb\n");
        e = Assert.Throws<CheckpointException>(() => BertTokenizer.FromFolder(tmp.Path));
        Assert.Contains("[UNK]", e.Message);
        File.WriteAllText(tmp.File("tokenizer.json"), "{ not json");
        Assert.Throws<CheckpointException>(() => BertTokenizer.FromFolder(tmp.Path));
        Assert.Throws<CheckpointException>(() => BertTokenizer.FromVocabFile(tmp.File("nope.txt")));
    }

    [Fact]
    public void Small_vocabulary_wordpiece_is_greedy_longest_first()
    {
        var tok = BertTokenizer.FromVocabulary(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "##a", "aff" });
        Assert.Equal(new[] { "un", "##aff", "##able" }, tok.ConvertIdsToTokens(tok.Tokenize("unaffable").Select(t => t.Id)));
        Assert.Equal(new[] { "[UNK]" }, tok.ConvertIdsToTokens(tok.Tokenize("unaffablex").Select(t => t.Id)));
        var spans = tok.Tokenize("Unaffable!");
        Assert.Equal(new[] { (0, 2), (2, 5), (5, 9), (9, 10) }, spans.Select(s => (s.Start, s.End)));
        Assert.Equal(tok.UnkId, spans[3].Id);
        Assert.Null(tok.MaskId);
    }
}
