using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Progress;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Train.Data;
using DeepSeek.Search.Torch.SafeTensors;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace DeepSeek.Search.Train.Tests;

/// <summary>One SciFact slice shared by the trainer tests: 300 training queries, 60 held-out ones (test.tsv), 600 documents.</summary>
public sealed class TrainerFixture : IDisposable
{
    public SciFactSlice Slice { get; } = new(trainQueries: 300, heldOutQueries: 60, documents: 600);

    /// <summary>A 2-layer, 64-wide model from scratch on the slice's train.tsv: the shape of fixtures/bert-golden/tiny.</summary>
    public TrainOptions Tiny(string output) => new()
    {
        OutputPath = output,
        CorpusPath = Slice.Corpus,
        QueriesPath = Slice.Queries,
        QrelsPath = Slice.TrainQrels,
        Layers = 2, Hidden = 64, Heads = 4, Ffn = 128,
        MaxQueryLength = 32, MaxDocumentLength = 96,
        BatchSize = 16,
        LearningRate = 1e-3,
        LogEvery = 1,
    };

    public void Dispose() => Slice.Dispose();

    /// <summary>Dense nDCG@10 of an encoder on the held-out (test.tsv) queries, exact search over the slice's corpus.</summary>
    public double HeldOutNdcg(TextEncoder encoder)
    {
        var corpus = TrainingCorpus.Load(Slice.Corpus);
        var docs = encoder.EncodeDocuments(corpus.Documents.Select(TextChunker.ComposeText).ToList());
        var held = Slice.HeldOutQueryIds.ToHashSet(StringComparer.Ordinal);
        var queries = QueriesReader.Read(Slice.Queries).Where(q => held.Contains(q.Id)).ToList();
        var vectors = encoder.EncodeQueries(queries.Select(q => q.Text).ToList());
        var run = new Run();
        for (int i = 0; i < queries.Count; i++)
        {
            var hits = docs.Select((d, j) => new Hit(corpus.Documents[j].Id, Dot(vectors[i], d))).OrderByDescending(h => h.Score).Take(100).ToList();
            run.Set(queries[i].Id, hits);
        }
        return Evaluator.Evaluate(queries, QrelsReader.Read(Slice.HeldOutQrels), run).Ndcg;

        static float Dot(float[] a, float[] b) { float s = 0; for (int k = 0; k < a.Length; k++) s += a[k] * b[k]; return s; }
    }

    /// <summary>Tensor names and shapes from a safetensors header.</summary>
    public static SortedDictionary<string, string> SafeTensorsHeader(string path)
    {
        using var f = DeepSeek.Search.Torch.SafeTensors.SafeTensorsFile.Open(path);
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in f.Entries.Values) result[e.Name] = e.DType + "[" + string.Join(",", e.Shape) + "]";
        return result;
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; would post to the thread pool) and can cancel at a chosen report.</summary>
    public sealed class Recorder(Func<ProgressEvent, bool>? cancelWhen = null) : IProgress<ProgressEvent>
    {
        public CancellationTokenSource Cancel { get; } = new();
        public List<ProgressEvent> Reports { get; } = new();

        public void Report(ProgressEvent value)
        {
            Reports.Add(value);
            if (cancelWhen?.Invoke(value) == true) Cancel.Cancel();
        }

        public List<double> Losses => Reports.OfType<TrainStepProgress>().Select(r => r.Loss).ToList();
    }
}
