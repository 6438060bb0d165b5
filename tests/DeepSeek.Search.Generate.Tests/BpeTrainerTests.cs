using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Generate.Training;

namespace DeepSeek.Search.Generate.Tests;

/// <summary>The byte-level BPE trainer of dss train-lm: deterministic, HF-shaped files that our tokenizer reads back, lossless round trips.</summary>
public class BpeTrainerTests
{
    static readonly string[] Texts = LmTestData.SciFactTexts(120);

    static readonly string[] Probes =
    {
        "The tumour suppressor p53 triggers apoptosis after DNA damage.",
        "Hello world!  Two  spaces\tand a tab\nnew line   ",
        "Zürich café naïve — 東京 😀 42 3.14159 (n=1,234; p<0.05)",
        "I'm sure they'll've done it's",
        "<｜end▁of▁sentence｜> is special text",
        "",
    };

    [Fact]
    public void Learns_the_requested_vocabulary_with_DeepSeek_special_tokens_first()
    {
        var trained = BpeTrainer.Train(Texts, 600);
        Assert.Equal(600, trained.VocabSize);
        Assert.True(trained.Merges >= 600 - BpeTrainer.MinimumVocabSize); // a merged string made twice adds one id
        var tok = trained.Load();
        Assert.Equal(600, tok.VocabSize);
        Assert.Equal(0, tok.BosTokenId);
        Assert.Equal(1, tok.EosTokenId);
        Assert.Equal(2, tok.PadTokenId);
        Assert.Equal(BpeTrainer.BosToken, tok.IdToToken(0));
        Assert.Equal("Ġ", tok.IdToToken(3 + ' ')); // the byte symbols follow, in byte order
        Assert.True(tok.IsSpecial(1));
        Assert.False(tok.IsSpecial(300));
    }

    [Fact]
    public void Training_is_deterministic_and_independent_of_document_order()
    {
        var a = BpeTrainer.Train(Texts, 500);
        var b = BpeTrainer.Train(Texts.Reverse().ToArray(), 500);
        Assert.Equal(a.TokenizerJson, b.TokenizerJson);
        Assert.Equal(a.TokenizerConfigJson, b.TokenizerConfigJson);
    }

    [Fact]
    public void Saved_files_load_back_and_round_trip_text()
    {
        using var tmp = new TempDir("dss-bpe");
        var trained = BpeTrainer.Train(Texts, 700, modelMaxLength: 128);
        trained.Save(tmp.Path);
        var loaded = ByteLevelBpeTokenizer.Load(tmp.Path);
        var inMemory = trained.Load();
        foreach (var text in Probes.Concat(Texts.Take(20)))
        {
            var ids = loaded.Encode(text, splitSpecialTokens: true);
            Assert.Equal(inMemory.Encode(text, splitSpecialTokens: true), ids);
            Assert.Equal(0, ids[0]); // BOS from the TemplateProcessing post-processor
            Assert.DoesNotContain(1, ids); // special-token text stays text with splitSpecialTokens
            Assert.Equal(text, loaded.Decode(ids, skipSpecialTokens: true));
        }
        // the special token itself, when allowed, is one id
        Assert.Equal(new[] { 0, 1 }, loaded.Encode(BpeTrainer.EosToken));
    }

    [Fact]
    public void Merges_compress_the_training_text_and_frequent_words_become_single_tokens()
    {
        var tok = BpeTrainer.Train(Texts, 1000).Load();
        long bytes = 0, tokens = 0;
        foreach (var t in Texts)
        {
            bytes += System.Text.Encoding.UTF8.GetByteCount(t);
            tokens += tok.Encode(t, addSpecialTokens: false).Length;
        }
        Assert.True(tokens < bytes * 0.6, $"{tokens} tokens for {bytes} bytes");
        Assert.Single(tok.Encode(" the", addSpecialTokens: false));

        var tiny = BpeTrainer.Train(Enumerable.Repeat("low lower lowest", 5), 262).Load();
        // the three most frequent pairs of " low"/"low" are merged first
        Assert.Equal(262, tiny.VocabSize);
        Assert.True(tiny.Encode("low", addSpecialTokens: false).Length < 3);
    }

    [Fact]
    public void Small_corpora_stop_early_and_bad_sizes_are_refused()
    {
        var trained = BpeTrainer.Train(new[] { "ab ab ab" }, 5000);
        Assert.True(trained.VocabSize < 5000);
        Assert.Equal(trained.VocabSize, trained.Load().VocabSize);
        var e = Assert.Throws<InvalidInputException>(() => BpeTrainer.Train(Texts, 100));
        Assert.Contains("--vocab-size", e.Message);
    }
}
