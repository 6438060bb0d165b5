using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Index.Dense;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Chunking;

namespace DeepSeek.Search.Indexing.Tests;

public class CollectionBuilderTests
{
    static readonly Document[] Docs =
    [
        new("a", "Apoptosis", "p53 triggers apoptosis after DNA damage in many cell types and tissues of the body."),
        new("b", "Volcanoes", "Magma rises through the crust and erupts as lava. " + string.Join(' ', Enumerable.Repeat("basalt flows cool into rock.", 20))),
        new("c", "Insulin", "Insulin lowers blood glucose."),
    ];

    static string TinyEncoder(TempDir tmp) => TestKit.TinyEncoder.Copy(tmp);

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
        Assert.Equal(first.Manifest.Snapshot, current.Manifest.Snapshot);
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

    // More chunks than the slices below, so encoding and indexing happen while documents are still being read.
    static readonly Document[] Streamed =
    [
        .. Docs,
        new("d", "Photosynthesis", "Chloroplasts turn light, water and carbon dioxide into sugar and oxygen in green leaves."),
        new("e", "", "Plate tectonics moves continents a few centimetres a year; earthquakes mark the boundaries of the plates."),
        new("f", "Vaccines", string.Join(' ', Enumerable.Repeat("Vaccines train the immune system with harmless antigens.", 6))),
        new("g", "Empty body", ""),
        new("h", "Ribosomes", "Ribosomes translate messenger RNA into proteins."),
    ];

    static BuildOptions Dense(string encoder) => new() { EncoderPath = encoder, ChunkTokens = 16, ChunkOverlap = 4 };

    /// <summary>Every vector of a built generation by chunk id: inner products with the unit vectors give its coordinates.</summary>
    static float[][] Vectors(Snapshot gen, string? parameters = null)
    {
        using var index = FaissIndex.Read(gen.DensePath);
        if (parameters != null) index.SetSearchParameters(parameters);
        int d = index.Dimension, n = (int)index.Count;
        var identity = new float[d * d];
        for (int i = 0; i < d; i++) identity[i * d + i] = 1;
        var result = index.Search(identity, n);
        var vectors = new float[n][];
        for (int j = 0; j < n; j++) vectors[j] = new float[d];
        for (int i = 0; i < d; i++)
        {
            Assert.Equal(n, result[i].Length);
            foreach (var hit in result[i]) vectors[hit.Id][i] = hit.Score;
        }
        return vectors;
    }

    static void AssertClose(float[][] expected, float[][] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int j = 0; j < expected.Length; j++)
            for (int i = 0; i < expected[j].Length; i++)
                Assert.True(Close(expected[j][i], actual[j][i], tolerance), $"chunk {j}, coordinate {i}: {expected[j][i]} vs {actual[j][i]}");
    }

    // relative to the magnitude (the tiny fixture encoder mean-pools without normalising)
    static bool Close(float expected, float actual, float tolerance) =>
        Math.Abs(expected - actual) <= tolerance * Math.Max(1f, Math.Abs(expected));

    [Fact]
    public void Slices_smaller_than_the_corpus_give_the_vectors_of_one_pass_in_chunk_id_order()
    {
        using var tmp = new TempDir();
        var enc = TinyEncoder(tmp);
        var reports = new List<BuildProgress>();
        var sliced = CollectionBuilder.Build(CollectionStore.At(tmp.Path, "sliced"), Streamed, Dense(enc) with { EncodeSliceChunks = 3 }, new SyncProgress(reports.Add));
        var whole = CollectionBuilder.Build(CollectionStore.At(tmp.Path, "whole"), Streamed, Dense(enc));

        // The chunks, in order, as the chunker makes them from each document, and every chunk encoded in one call
        // (what a build did when it held all chunks).
        using var encoder = TextEncoder.Load(enc);
        var chunker = new TextChunker(encoder.Tokenizer, new TextChunkerOptions { WindowTokens = 16, OverlapTokens = 4 });
        var chunks = new List<Chunk>();
        foreach (var d in Streamed) chunks.AddRange(chunker.ChunkDocument(d, chunks.Count));
        Assert.True(chunks.Count > 3 * 4, $"{chunks.Count} chunks: several slices");
        var direct = encoder.EncodeDocuments(chunks.Select(c => c.Text).ToList());

        foreach (var gen in new[] { sliced, whole })
        {
            Assert.Equal(chunks.Count, gen.Manifest.Chunks);
            Assert.Equal(chunks.Count, gen.Manifest.Dense!.Vectors);
            Assert.Equal(Streamed.Length, gen.Manifest.Documents);
            using var store = DocumentStore.Open(gen.DocumentStorePath);
            Assert.Equal(chunks.Select(c => c.DocumentId), Enumerable.Range(0, chunks.Count).Select(i => store.GetChunk(i)!.DocumentId));
        }
        AssertClose(direct, Vectors(whole), 0f);  // one slice holds the whole corpus: bit for bit the one-call vectors
        AssertClose(direct, Vectors(sliced), 1e-6f); // other batches, other padding: rounding only

        using var a = CollectionSearcher.Open(CollectionStore.At(tmp.Path, "sliced"));
        using var b = CollectionSearcher.Open(CollectionStore.At(tmp.Path, "whole"));
        foreach (var q in new[] { "lava and basalt", "immune system", "proteins from RNA" })
        {
            var x = a.Rank(q, new SearchOptions { Mode = SearchMode.Dense, K = Streamed.Length });
            var y = b.Rank(q, new SearchOptions { Mode = SearchMode.Dense, K = Streamed.Length });
            Assert.Equal(y.Select(h => h.DocumentId), x.Select(h => h.DocumentId));
            Assert.All(x.Zip(y), p => Assert.True(Close(p.Second.Score, p.First.Score, 1e-6f), $"{p.First} vs {p.Second}"));
        }

        // streaming: slices were encoded before the corpus had been read to its end, and the counts only grow
        var encode = reports.Where(r => r.Stage == "encode").ToList();
        int readEnd = reports.FindIndex(r => r.Stage == "read" && r.Total > 0);
        Assert.True(reports.FindIndex(r => r.Stage == "encode") < readEnd, "encoding starts while reading");
        Assert.Equal(new BuildProgress("read", Streamed.Length, Streamed.Length), reports[readEnd]);
        Assert.True(encode.Zip(encode.Skip(1)).All(p => p.Second.Done >= p.First.Done));
        Assert.Equal(new BuildProgress("encode", chunks.Count, chunks.Count), encode[^1]);
        Assert.Equal(["bm25", "encode", "faiss", "read"], reports.Select(r => r.Stage).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal("faiss", reports[^1].Stage);
        Assert.DoesNotContain(reports, r => r.Stage == "train");
    }

    [Theory]
    [InlineData(4)]      // the sample fills mid-stream: train on the first 4 vectors, add those, then add slice by slice
    [InlineData(65_536)] // the default: the whole collection is the sample
    public void Ivf_factory_trains_on_a_bounded_sample_and_indexes_every_chunk(int sample)
    {
        using var tmp = new TempDir();
        var enc = TinyEncoder(tmp);
        var reports = new List<BuildProgress>();
        var flat = CollectionBuilder.Build(CollectionStore.At(tmp.Path, "flat"), Streamed, Dense(enc));
        var ivf = CollectionBuilder.Build(CollectionStore.At(tmp.Path, "ivf"), Streamed,
            Dense(enc) with { Factory = "IVF2,Flat", EncodeSliceChunks = 3, TrainingSampleVectors = sample }, new SyncProgress(reports.Add));

        long chunks = flat.Manifest.Chunks;
        Assert.Equal(chunks, ivf.Manifest.Chunks);
        Assert.Equal("IVF2,Flat", ivf.Manifest.Dense!.Factory);
        long trainedOn = Math.Min(sample, chunks);
        Assert.Equal([new BuildProgress("train", 0, trainedOn), new BuildProgress("train", trainedOn, trainedOn)], reports.Where(r => r.Stage == "train"));
        // probing both lists is exhaustive: the IVF index holds every chunk's vector under its id
        AssertClose(Vectors(flat), Vectors(ivf, "nprobe=2"), 1e-6f);
    }

    [Fact]
    public void Failure_mid_encode_leaves_the_previous_generation_serving()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c");
        var enc = TinyEncoder(tmp);
        var first = CollectionBuilder.Build(store, Docs, Dense(enc));
        var encoded = 0L;
        var progress = new SyncProgress(p => { if (p.Stage == "encode") encoded = p.Done; });

        IEnumerable<Document> FailingAfterFive()
        {
            foreach (var d in Streamed.Take(5)) yield return d;
            throw new InvalidInputException("corpus.jsonl:6: broken record");
        }
        var e = Assert.Throws<InvalidInputException>(() =>
            CollectionBuilder.Build(store, FailingAfterFive(), Dense(enc) with { EncodeSliceChunks = 2 }, progress));
        Assert.Contains("broken record", e.Message);
        Assert.True(encoded > 0, "slices were encoded and indexed before the failure");

        // a duplicate id after some slices were encoded fails the same way
        Assert.Contains("duplicate document id 'a'", Assert.Throws<InvalidInputException>(() =>
            CollectionBuilder.Build(store, Streamed.Append(Docs[0]), Dense(enc) with { EncodeSliceChunks = 2 })).Message);

        // and so does cancellation between slices
        using var cts = new CancellationTokenSource();
        var cancelling = new SyncProgress(p => { if (p.Stage == "encode" && p.Total == 0) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            CollectionBuilder.Build(store, Streamed, Dense(enc) with { EncodeSliceChunks = 2 }, cancelling, cts.Token));

        var current = store.OpenCurrent();
        Assert.Equal(first.Manifest.Snapshot, current.Manifest.Snapshot);
        Assert.Equal(Docs.Length, current.Manifest.Documents);
        Assert.Empty(Directory.GetDirectories(store.Directory, ".building-*"));
        using var searcher = CollectionSearcher.Open(store);
        Assert.Equal("b", searcher.Rank("lava", new SearchOptions { Mode = SearchMode.Bm25, K = 1 })[0].DocumentId);
    }

    [Fact]
    public void Bad_slice_or_sample_sizes_are_refused()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c");
        Assert.Contains("encode slice", Assert.Throws<InvalidInputException>(() => CollectionBuilder.Build(store, Docs, new BuildOptions { EncodeSliceChunks = 0 })).Message);
        Assert.Contains("training sample", Assert.Throws<InvalidInputException>(() => CollectionBuilder.Build(store, Docs, new BuildOptions { TrainingSampleVectors = -1 })).Message);
        Assert.Contains("does not fit one array", Assert.Throws<InvalidInputException>(() =>
            CollectionBuilder.Build(store, Docs, new BuildOptions { EncoderPath = TinyEncoder(tmp), EncodeSliceChunks = int.MaxValue })).Message);
        Assert.False(store.Exists);
    }

    sealed class SyncProgress(Action<BuildProgress> on) : IProgress<BuildProgress>
    {
        public void Report(BuildProgress value) => on(value);
    }
}
