using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Indexing.Tests;

/// <summary>
/// A collection built with the INT8 encoder records it in its manifest, and every later write (live upserts, compaction, a
/// re-embed that keeps the collection's settings) encodes the same way, so no search mixes INT8 and float32 vectors.
/// </summary>
public class EncoderPrecisionTests
{
    static IEnumerable<Document> Corpus(int n) => Enumerable.Range(0, n).Select(i => Rankings.Doc($"d{i}", i));

    static readonly string[] Queries = ["topic3 protein cell", "lava basalt crust ocean", "market price revenue topic6"];

    [Fact]
    public void Upserts_into_an_int8_collection_are_encoded_in_int8()
    {
        using var tmp = new TempDir();
        var enc = TinyEncoder.Copy(tmp);
        var all = Corpus(50).ToList();
        var int8 = new BuildOptions { EncoderPath = enc, ChunkTokens = 12, ChunkOverlap = 2, EncoderPrecision = EncoderPrecision.Int8 };
        var fp32 = int8 with { EncoderPrecision = EncoderPrecision.Float32 };

        var whole = CollectionStore.At(tmp.Path, "whole");
        Assert.Equal("int8", CollectionBuilder.Build(whole, all, int8).Manifest.Dense!.Precision);
        var float32 = CollectionStore.At(tmp.Path, "float32");
        Assert.Null(CollectionBuilder.Build(float32, all, fp32).Manifest.Dense!.Precision);
        Assert.DoesNotContain("precision", float32.OpenCurrent().Manifest.ToJson());

        var live = CollectionStore.At(tmp.Path, "live");
        CollectionBuilder.Build(live, all.Take(30), int8);
        using (var writer = CollectionWriter.Open(live))
        {
            writer.Upsert(all.Skip(30).Take(9).ToList());
            writer.Upsert(all.Skip(39).ToList());
            writer.Compact();
        }

        using var a = CollectionSearcher.Open(whole);
        using var b = CollectionSearcher.Open(live);
        using var c = CollectionSearcher.Open(float32);
        var o = new SearchOptions { Mode = SearchMode.Dense, K = 20 };
        bool float32Differs = false;
        foreach (var q in Queries)
        {
            Rankings.SameScores(a.Rank(q, o), b.Rank(q, o), $"int8 build vs int8 build + upserts, '{q}'");
            var x = a.Rank(q, o);
            var y = c.Rank(q, o);
            float32Differs |= x.Zip(y).Any(p => Math.Abs(p.First.Score - p.Second.Score) > 1e-3f * Math.Max(1f, Math.Abs(p.First.Score)));
        }
        Assert.True(float32Differs, "the int8 and float32 builds gave the same dense scores: the precision made no difference");
        Assert.Equal("int8", live.OpenCurrent().Manifest.Dense!.Precision);
    }

    [Fact]
    public void A_change_of_precision_alone_re_embeds_and_the_manifest_says_so()
    {
        using var tmp = new TempDir();
        // Saved once, so that its dual_encoder.json names it: an unnamed folder's identity carries the folder's name, which the
        // collection's copy of it does not share.
        var enc = Path.Combine(tmp.Path, "named");
        using (var tiny = TextEncoder.Load(TinyEncoder.Copy(tmp), new EncoderOptions())) tiny.Save(enc);
        var store = CollectionStore.At(tmp.Path, "c");
        CollectionBuilder.Build(store, Corpus(20), new BuildOptions { EncoderPath = enc, ChunkTokens = 12, ChunkOverlap = 2 });
        using var writer = CollectionWriter.Open(store);
        var same = new ReembedOptions { EncoderPath = enc };
        Assert.False(writer.EncoderDiffers(same));
        Assert.False(writer.Reembed(same).Reembedded);

        var toInt8 = same with { Precision = EncoderPrecision.Int8 };
        Assert.True(writer.EncoderDiffers(toInt8));
        var r = writer.Reembed(toInt8);
        Assert.True(r.Reembedded);
        Assert.Equal("int8", store.OpenCurrent().Manifest.Dense!.Precision);
        // Kept from now on: the same encoder without a precision is the collection's own (int8), nothing to do.
        Assert.False(writer.EncoderDiffers(same));
        Assert.False(writer.Reembed(same).Reembedded);
    }

    [Fact]
    public void An_int8_query_encoder_scores_each_document_like_the_float32_one_within_quantization_error()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c");
        CollectionBuilder.Build(store, Corpus(40), new BuildOptions { EncoderPath = TinyEncoder.Copy(tmp), ChunkTokens = 12, ChunkOverlap = 2 });
        using var fp32 = CollectionSearcher.Open(store);
        using var int8 = CollectionSearcher.Open(store, queryPrecision: EncoderPrecision.Int8);
        var o = new SearchOptions { Mode = SearchMode.Dense, K = 40 };
        bool moved = false;
        foreach (var q in Queries)
        {
            var a = fp32.Rank(q, o).ToDictionary(h => h.DocumentId, h => h.Score);
            var b = int8.Rank(q, o);
            Assert.Equal(a.Count, b.Count);
            foreach (var h in b)
            {
                float s = a[h.DocumentId];
                Assert.True(Math.Abs(h.Score - s) <= 0.03f * Math.Abs(s) + 0.05f, $"'{q}' {h.DocumentId}: int8 {h.Score} vs fp32 {s}");
                moved |= h.Score != s;
            }
        }
        Assert.True(moved, "the int8 query encoder gave the float32 scores exactly: it was not used");
    }

    [Fact]
    public void Unknown_precision_names_are_rejected_with_the_name()
    {
        var e = Assert.Throws<InvalidInputException>(() => EncoderPrecisions.Parse("int4"));
        Assert.Contains("int4", e.Message);
        Assert.Equal(EncoderPrecision.Float32, EncoderPrecisions.Parse(null));
        Assert.Equal(EncoderPrecision.Int8, EncoderPrecisions.Parse("int8"));
    }
}
