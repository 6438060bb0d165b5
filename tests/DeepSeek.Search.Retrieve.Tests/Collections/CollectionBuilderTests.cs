using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Retrieve.Fusion;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Retrieve.Tests.Collections;

public class CollectionBuilderTests
{
    static readonly Document[] Docs =
    [
        new("a", "Apoptosis", "p53 triggers apoptosis after DNA damage in many cell types and tissues of the body."),
        new("b", "Volcanoes", "Magma rises through the crust and erupts as lava. " + string.Join(' ', Enumerable.Repeat("basalt flows cool into rock.", 20))),
        new("c", "Insulin", "Insulin lowers blood glucose."),
    ];

    static string TinyEncoder(TempDir tmp)
    {
        var dir = tmp.File("enc");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Repo.SharedPath("fixtures", "bert-golden", "tiny", "hf"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.Copy(Repo.SharedPath("models", "all-MiniLM-L6-v2-tokenizer", "vocab.txt"), Path.Combine(dir, "vocab.txt"));
        return dir;
    }

    [Fact]
    public void Dense_documents_score_as_their_best_chunk_and_match_direct_encoding()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c");
        var enc = TinyEncoder(tmp);
        var gen = CollectionBuilder.Build(store, Docs, new BuildOptions { EncoderPath = enc, ChunkTokens = 24, ChunkOverlap = 4 });
        Assert.True(gen.Manifest.Chunks > Docs.Length, "the long document is split");
        Assert.Equal(3, gen.Manifest.Documents);

        using var searcher = CollectionSearcher.Open(store);
        var hits = searcher.Rank("lava and basalt", new SearchOptions { Mode = SearchMode.Dense, K = 3 });
        Assert.Equal(3, hits.Count);
        Assert.Equal(3, hits.Select(h => h.DocumentId).Distinct().Count());

        // The score of the short document equals the inner product of its own (single-chunk) embedding with the query.
        using var encoder = TextEncoder.Load(enc);
        var q = encoder.EncodeQueries(["lava and basalt"])[0];
        var c = encoder.EncodeDocuments([Text.Chunking.TextChunker.ComposeText(Docs[2])])[0];
        float expected = q.Zip(c, (x, y) => x * y).Sum();
        Assert.Equal(expected, hits.Single(h => h.DocumentId == "c").Score, 3);
    }

    [Fact]
    public void Hybrid_fusion_defaults_to_what_the_encoder_recommends()
    {
        using var tmp = new TempDir();
        var enc = TinyEncoder(tmp);
        var config = DualEncoderConfig.Load(enc);
        (config with { HybridFusion = "minmax", HybridAlpha = 0.25f }).Save(enc);
        var store = CollectionStore.At(tmp.Path, "c");
        CollectionBuilder.Build(store, Docs, new BuildOptions { EncoderPath = enc, ChunkTokens = 24, ChunkOverlap = 4 });
        using var searcher = CollectionSearcher.Open(store);

        Assert.Equal((FusionMethod.MinMax, 0.25f), searcher.EffectiveFusion(new SearchOptions()));
        Assert.Equal((FusionMethod.Rrf, 0.25f), searcher.EffectiveFusion(new SearchOptions { Fusion = FusionMethod.Rrf }));
        Assert.Equal((FusionMethod.MinMax, 0.9f), searcher.EffectiveFusion(new SearchOptions { Alpha = 0.9f }));
        // the default ranking is the min-max fusion at the recommended weight, not RRF
        var byDefault = searcher.Rank("lava and basalt", new SearchOptions { Mode = SearchMode.Hybrid, K = 3 });
        var minmax = searcher.Rank("lava and basalt", new SearchOptions { Mode = SearchMode.Hybrid, K = 3, Fusion = FusionMethod.MinMax, Alpha = 0.25f });
        Assert.Equal(minmax.Select(h => (h.DocumentId, h.Score)), byDefault.Select(h => (h.DocumentId, h.Score)));

        File.WriteAllText(Path.Combine(enc, DualEncoderConfig.FileName), "{\"hybrid_fusion\": \"sum\"}");
        Assert.Contains("hybrid_fusion", Assert.Throws<CheckpointException>(() => DualEncoderConfig.Load(enc)).Message);
        File.WriteAllText(Path.Combine(enc, DualEncoderConfig.FileName), "{\"hybrid_alpha\": 1.5}");
        Assert.Contains("hybrid_alpha", Assert.Throws<CheckpointException>(() => DualEncoderConfig.Load(enc)).Message);
    }

    [Fact]
    public void Cancelled_build_leaves_the_previous_generation_serving()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c");
        var enc = TinyEncoder(tmp);
        var first = CollectionBuilder.Build(store, Docs, new BuildOptions());
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.Stage == "encode") cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            CollectionBuilder.Build(store, Docs.Concat([new Document("d", "", "new")]), new BuildOptions { EncoderPath = enc, ChunkTokens = 8, ChunkOverlap = 2 }, progress, cts.Token));
        var current = store.OpenCurrent();
        Assert.Equal(first.Manifest.Generation, current.Manifest.Generation);
        Assert.Equal(3, current.Manifest.Documents);
        Assert.Empty(Directory.GetDirectories(store.Directory, ".building-*"));
    }

    [Fact]
    public void Duplicate_ids_fail_the_build()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c");
        var e = Assert.Throws<InvalidInputException>(() => CollectionBuilder.Build(store, [Docs[0], Docs[0]], new BuildOptions()));
        Assert.Contains("duplicate", e.Message);
        Assert.False(store.Exists);
    }

    sealed class SyncProgress(Action<BuildProgress> on) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value) => on(value);
    }
}
