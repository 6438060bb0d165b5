using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Indexing.Tests;

/// <summary>
/// An encoder change (<see cref="CollectionWriter.Reembed"/>) on real parts: two real encoders of different dimensions (the
/// tiny BERT fixture, 64-d, and a seeded random BERT, 48-d), writes racing the re-embed, the result equal to a fresh bulk
/// build with the new encoder, every vector of the new snapshot the new encoder's, and a cancelled re-embed changing nothing.
/// </summary>
public class ReembedTests
{
    /// <summary>A second, different encoder: a seeded random BERT of 48 dimensions over the fixture's vocabulary.</summary>
    static string OtherEncoder(TempDir tmp, string tinyEncoder)
    {
        TorchRuntime.Initialize();
        var tokenizer = BertTokenizer.FromVocabFile(Path.Combine(tinyEncoder, "vocab.txt"));
        var config = new BertConfig
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = 48, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 96,
            MaxPositionEmbeddings = 512,
        };
        var dir = tmp.File("other-encoder");
        using var encoder = TextEncoder.Create(new BertModel(config, addPoolingLayer: true, seed: 7), null, tokenizer,
            new DualEncoderConfig { Pooling = PoolingMode.Mean, Normalize = true, MaxDocumentLength = 64, MaxQueryLength = 32 });
        AtomicFile.PublishDirectory(dir, encoder.Save);
        return dir;
    }

    static BuildOptions Dense(string encoder) => new() { EncoderPath = encoder, ChunkTokens = 12, ChunkOverlap = 2 };

    /// <summary>Calls <paramref name="once"/> synchronously, on the re-embed's own thread, at the first report of <paramref name="stage"/>.</summary>
    sealed class AtFirst(string stage, Action once) : IProgress<BuildProgress>
    {
        bool _done;
        public void Report(BuildProgress value)
        {
            if (_done || value.Stage != stage) return;
            _done = true;
            once();
        }
    }

    [Fact]
    public void A_new_encoder_re_embeds_everything_with_writes_racing_and_searches_like_a_fresh_build_with_it()
    {
        using var tmp = new TempDir();
        var tiny = TinyEncoder.Copy(tmp);
        var other = OtherEncoder(tmp, tiny);
        var docs = Enumerable.Range(0, 120).Select(i => Rankings.Doc($"d{i}", i)).ToDictionary(d => d.Id);
        var live = CollectionStore.At(tmp.Path, "live");
        CollectionBuilder.Build(live, docs.Values, Dense(tiny));
        var options = new ReembedOptions { EncoderPath = other, ChunkTokens = 12, ChunkOverlap = 2 };

        using (var writer = CollectionWriter.Open(live))
        {
            Assert.True(writer.EncoderDiffers(options));
            void Write(int round)
            {
                var batch = Enumerable.Range(0, 5).Select(i => Rankings.Doc(i % 2 == 0 ? $"d{round * 10 + i}" : $"new{round}-{i}", 1000 * (round + 1) + i)).ToList();
                writer.Upsert(batch);
                foreach (var d in batch) docs[d.Id] = d;
                var gone = $"d{round * 10 + 7}";
                writer.Delete([gone]);
                docs.Remove(gone);
            }
            // Writes land while the documents are being copied (phase 1) and while the vectors are being built: the re-embed
            // must replay them with the new encoder.
            var progress = new AtFirst("read", () => { Write(1); Write(2); });
            var result = writer.Reembed(options, progress);
            Assert.True(result.Reembedded);
            Assert.True(result.ReplayedBatches >= 4, $"replayed {result.ReplayedBatches} batches");
            Assert.Equal(120, result.Documents);
            Assert.False(writer.EncoderDiffers(options));
            Write(3); // the writer now embeds with the new encoder
        }

        var manifest = live.OpenCurrent().Manifest;
        Assert.Equal(48, manifest.Dense!.Dimension);
        using (var enc = TextEncoder.Load(other, new EncoderOptions()))
            Assert.Equal(enc.Identity, manifest.Dense.EncoderIdentity);
        // EncoderDiffers reads the identity from the folder's files: the same one loading gives, for both encoders.
        Assert.Equal(manifest.Dense.EncoderIdentity, TextEncoder.Describe(other).Identity);
        using (var enc = TextEncoder.Load(tiny, new EncoderOptions()))
            Assert.Equal((enc.Identity, enc.MaxDocumentLength), TextEncoder.Describe(tiny));

        var whole = CollectionStore.At(tmp.Path, "whole");
        CollectionBuilder.Build(whole, docs.Values.OrderBy(d => d.Id, StringComparer.Ordinal), Dense(other));
        string[] queries = ["topic3 protein cell", "lava basalt crust ocean", "market price revenue topic6", "court judge patent law"];
        // Dense scores are the new encoder's exactly, replayed vectors included (BM25 statistics still count the replaced
        // rows until a compaction, as in every live collection).
        using (var a = CollectionSearcher.Open(whole))
        using (var b = CollectionSearcher.Open(live))
        {
            Assert.Equal(a.DocumentCount, b.DocumentCount);
            foreach (var q in queries)
                Rankings.SameScores(a.Rank(q, new SearchOptions { Mode = SearchMode.Dense, K = 10 }), b.Rank(q, new SearchOptions { Mode = SearchMode.Dense, K = 10 }), $"dense '{q}'");
        }

        // After a compaction (pending vectors moved into the FAISS file, replaced rows dropped) every mode equals the fresh build.
        using (var writer = CollectionWriter.Open(live)) writer.Compact();
        using (var a = CollectionSearcher.Open(whole))
        using (var b = CollectionSearcher.Open(live))
            foreach (var mode in new[] { SearchMode.Bm25, SearchMode.Dense, SearchMode.Hybrid })
                foreach (var q in queries)
                    Rankings.SameScores(a.Rank(q, new SearchOptions { Mode = mode, K = 10 }), b.Rank(q, new SearchOptions { Mode = mode, K = 10 }), $"{mode} '{q}' after compaction");
    }

    [Fact]
    public void A_cancelled_re_embed_leaves_the_old_encoder_serving_and_the_writer_usable_and_a_rerun_completes()
    {
        using var tmp = new TempDir();
        var tiny = TinyEncoder.Copy(tmp);
        var other = OtherEncoder(tmp, tiny);
        var live = CollectionStore.At(tmp.Path, "live");
        CollectionBuilder.Build(live, Enumerable.Range(0, 60).Select(i => Rankings.Doc($"d{i}", i)), Dense(tiny));
        var before = live.OpenCurrent();
        var options = new ReembedOptions { EncoderPath = other, ChunkTokens = 12, ChunkOverlap = 2 };
        using var writer = CollectionWriter.Open(live);
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => writer.Reembed(options, new AtFirst("read", cancel.Cancel), cancel.Token));
        Assert.Equal(before.Directory, live.OpenCurrent().Directory);
        Assert.Equal(64, live.OpenCurrent().Manifest.Dense!.Dimension);
        Assert.Empty(Directory.GetDirectories(live.Directory, ".building-*"));
        writer.Upsert([Rankings.Doc("after-cancel", 9999)]);

        var again = writer.Reembed(options);
        Assert.True(again.Reembedded);
        Assert.Equal(48, live.OpenCurrent().Manifest.Dense!.Dimension);
        using var searcher = CollectionSearcher.Open(live);
        Assert.Equal(61, searcher.DocumentCount);
        Assert.Contains(searcher.Rank("n9999 topic3", new SearchOptions { Mode = SearchMode.Dense, K = 61 }), h => h.DocumentId == "after-cancel");

        // The same encoder again: nothing to do.
        Assert.False(writer.Reembed(options).Reembedded);
    }
}
