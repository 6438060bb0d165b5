using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Text.Tests.Chunking;

public class TextChunkerTests
{
    static readonly Lazy<BertTokenizer> Shared = new(() => BertTokenizer.FromFolder(Repo.SharedPath("models", "all-MiniLM-L6-v2-tokenizer")));
    static BertTokenizer Tok => Shared.Value;

    static string LongText(int sentences)
    {
        var rng = new Random(7);
        string[] words = { "apoptosis", "p53", "regulates", "the", "tumour", "suppressor", "pathway", "in", "mammalian", "cells",
                           "DeepSeek", "semantic", "retrieval", "encoders", "(BM25)", "hybrid", "recall", "naïve", "Zürich", "深度" };
        return string.Join(" ", Enumerable.Range(0, sentences).Select(_ =>
            string.Join(" ", Enumerable.Range(0, rng.Next(5, 15)).Select(_ => words[rng.Next(words.Length)])) + "."));
    }

    [Fact]
    public void Defaults_fit_a_256_token_encoder()
    {
        var o = new TextChunkerOptions();
        Assert.Equal(254, o.WindowTokens);
        Assert.Equal(32, o.OverlapTokens);
        Assert.Equal(256, o.SequenceLength);
        Assert.Equal(510, TextChunkerOptions.ForSequenceLength(512).WindowTokens);
    }

    [Fact]
    public void Short_text_is_one_chunk()
    {
        var chunker = new TextChunker(Tok);
        const string text = "  What is the role of p53 in apoptosis?  ";
        var spans = chunker.Split(text);
        var span = Assert.Single(spans);
        Assert.Equal("What is the role of p53 in apoptosis?", text[span.Start..span.End]);
        Assert.Equal(Tok.Tokenize(text).Count, span.TokenCount);
        Assert.Equal(0, span.FirstToken);
    }

    [Fact]
    public void Text_without_tokens_gives_no_chunk()
    {
        var chunker = new TextChunker(Tok);
        Assert.Empty(chunker.Split(""));
        Assert.Empty(chunker.Split(" \n\t \u200B "));
        Assert.Empty(chunker.ChunkDocument(new Document("d", "", "")));
    }

    [Theory]
    [InlineData(50, 10)]
    [InlineData(254, 32)]
    [InlineData(16, 0)]
    [InlineData(8, 7)]
    public void Windows_are_exact_substrings_that_overlap_and_cover_everything(int window, int overlap)
    {
        string text = LongText(200);
        var chunker = new TextChunker(Tok, new TextChunkerOptions { WindowTokens = window, OverlapTokens = overlap });
        var tokens = Tok.Tokenize(text);
        var spans = chunker.Split(text);
        Assert.True(spans.Count > 1);
        Assert.Equal(0, spans[0].FirstToken);
        Assert.Equal(tokens.Count, spans[^1].FirstToken + spans[^1].TokenCount);
        for (int i = 0; i < spans.Count; i++)
        {
            var s = spans[i];
            Assert.InRange(s.TokenCount, 1, window);
            Assert.Equal(tokens[s.FirstToken].Start, s.Start);
            Assert.Equal(tokens[s.FirstToken + s.TokenCount - 1].End, s.End);
            // word boundaries: re-tokenizing the chunk text gives exactly its pieces, so it fits the encoder untruncated
            var again = Tok.Tokenize(text[s.Start..s.End]).Select(t => t.Id);
            Assert.Equal(tokens.Skip(s.FirstToken).Take(s.TokenCount).Select(t => t.Id), again);
            Assert.False(Tok.Encode(text[s.Start..s.End], window + 2).Truncated);
            if (i > 0)
            {
                var p = spans[i - 1];
                int prevEnd = p.FirstToken + p.TokenCount;
                Assert.True(s.FirstToken > p.FirstToken, "progress");
                Assert.True(s.FirstToken <= prevEnd, "no gap");
                if (overlap > 0 && window >= 16) Assert.InRange(prevEnd - s.FirstToken, 1, overlap + window / 2);
                if (overlap == 0) Assert.Equal(prevEnd, s.FirstToken);
            }
        }
    }

    [Fact]
    public void Windows_do_not_split_words_into_their_pieces()
    {
        // every word here is several pieces: ap ##op ##tosis, en ##code ##rs, ...
        string text = string.Join(" ", Enumerable.Repeat("apoptosis encoders faiss", 100));
        var chunker = new TextChunker(Tok, new TextChunkerOptions { WindowTokens = 20, OverlapTokens = 5 });
        foreach (var s in chunker.Split(text))
        {
            string chunk = text[s.Start..s.End];
            Assert.False(chunk.StartsWith("op") || chunk.StartsWith("tosis") || chunk.StartsWith("code") || chunk.StartsWith("ss"), chunk);
            Assert.True(chunk.EndsWith("apoptosis") || chunk.EndsWith("encoders") || chunk.EndsWith("faiss"), chunk);
        }
    }

    [Fact]
    public void A_word_longer_than_the_window_is_cut_and_still_progresses()
    {
        // "apoptosisapoptosis..." is many pieces; with a 4-piece window it must be cut inside the word
        string text = "x " + string.Concat(Enumerable.Repeat("apoptosis", 8)) + " y";
        var chunker = new TextChunker(Tok, new TextChunkerOptions { WindowTokens = 4, OverlapTokens = 2 });
        var spans = chunker.Split(text);
        int n = Tok.Tokenize(text).Count;
        Assert.True(n > 8);
        Assert.Equal(n, spans[^1].FirstToken + spans[^1].TokenCount);
        for (int i = 1; i < spans.Count; i++) Assert.True(spans[i].FirstToken > spans[i - 1].FirstToken);
        Assert.All(spans, s => Assert.InRange(s.TokenCount, 1, 4));
    }

    [Fact]
    public void Bad_window_settings_are_rejected()
    {
        Assert.Throws<InvalidInputException>(() => new TextChunker(Tok, new TextChunkerOptions { WindowTokens = 32, OverlapTokens = 32 }));
        Assert.Throws<InvalidInputException>(() => new TextChunker(Tok, new TextChunkerOptions { WindowTokens = 0, OverlapTokens = 0 }));
        Assert.Throws<InvalidInputException>(() => new TextChunker(Tok, new TextChunkerOptions { WindowTokens = 10, OverlapTokens = -1 }));
    }

    [Theory]
    [InlineData("Title", "Body text.", "Title. Body text.")]
    [InlineData("Why?", "Because.", "Why? Because.")]
    [InlineData("  Spaced  ", "b", "Spaced. b")]
    [InlineData("", "Only body", "Only body")]
    [InlineData(null, "Only body", "Only body")]
    [InlineData("Only title", "  ", "Only title")]
    [InlineData("Note:", "x", "Note: x")]
    public void Title_and_body_are_composed(string? title, string body, string expected) =>
        Assert.Equal(expected, TextChunker.ComposeText(title, body));

    [Fact]
    public void Documents_become_chunks_with_ids_ordinals_and_exact_text()
    {
        var doc = new Document("doc-1", "p53 and apoptosis", LongText(60));
        var chunker = new TextChunker(Tok, new TextChunkerOptions { WindowTokens = 64, OverlapTokens = 8 });
        var chunks = chunker.ChunkDocument(doc, firstChunkId: 1000);
        string composed = TextChunker.ComposeText(doc);
        Assert.StartsWith("p53 and apoptosis. ", composed);
        Assert.True(chunks.Count > 2);
        for (int i = 0; i < chunks.Count; i++)
        {
            var c = chunks[i];
            Assert.Equal(1000 + i, c.ChunkId);
            Assert.Equal(i, c.Ordinal);
            Assert.Equal("doc-1", c.DocumentId);
            Assert.Equal(composed[c.Start..c.End], c.Text);
        }
        Assert.Equal(0, chunks[0].Start);
        Assert.StartsWith("p53 and apoptosis.", chunks[0].Text);

        var single = new TextChunker(Tok).ChunkDocument(new Document("d2", "Short", "A short body."));
        Assert.Equal("Short. A short body.", Assert.Single(single).Text);
    }
}
