using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Train.Data;
using static TorchSharp.torch;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train;

/// <summary>
/// nDCG@10 of a dev evaluation: dense retrieval alone, and (when BM25 is available) BM25 + dense fused by RRF, plus every
/// candidate hybrid default (<see cref="Fusions"/>: RRF and min-max at dense weights 0.1 … 1.0).
/// </summary>
public sealed record DevScores(double DenseNdcg, double? HybridNdcg, IReadOnlyList<FusionScore>? Fusions = null)
{
    public double Get(DevMetric metric) => metric == DevMetric.Hybrid && HybridNdcg is double h ? h : DenseNdcg;

    /// <summary>Value equality, the fusion scores compared element by element.</summary>
    public bool Equals(DevScores? other) =>
        other is not null && DenseNdcg.Equals(other.DenseNdcg) && Nullable.Equals(HybridNdcg, other.HybridNdcg) &&
        (Fusions is null ? other.Fusions is null : other.Fusions is not null && Fusions.SequenceEqual(other.Fusions));

    public override int GetHashCode() => HashCode.Combine(DenseNdcg, HybridNdcg, Fusions?.Count);

    /// <summary>
    /// nDCG@10 of the search an encoder recording <paramref name="fusion"/> (and dense weight <paramref name="alpha"/>) runs by
    /// default: that fusion's score, RRF's when none is recorded or it was not measured; dense alone without BM25.
    /// </summary>
    public double Default(string? fusion, float? alpha)
    {
        if (fusion == "minmax" && Fusions?.FirstOrDefault(f => f.Fusion == "minmax" && Math.Abs(f.Alpha - (alpha ?? MinMaxFusion.DefaultAlpha)) < 1e-4) is { } m) return m.Ndcg;
        return HybridNdcg ?? DenseNdcg;
    }

    /// <summary>
    /// The hybrid default to record for this encoder: the best of <see cref="Fusions"/> on the dev queries, unless it beats dense
    /// retrieval alone by less than <paramref name="margin"/>; then min-max with dense weight 1, which ranks as dense alone does
    /// (BM25 gets weight 0), so a strong encoder is never dragged down by fusion for a gain the dev set cannot tell from noise.
    /// Null without BM25 on the dev set.
    /// </summary>
    public FusionScore? Recommend(double margin = 0.005)
    {
        if (Fusions is not { Count: > 0 } f) return null;
        var best = f.OrderByDescending(x => x.Ndcg).ThenByDescending(x => x.Alpha).First();
        return best.Ndcg >= DenseNdcg + margin ? best : new FusionScore("minmax", 1f, DenseNdcg);
    }
}

/// <summary>One hybrid setting (fusion, dense weight; the weight is unused by RRF) and its dev nDCG@10.</summary>
public sealed record FusionScore(string Fusion, float Alpha, double Ndcg);

/// <summary>
/// Scores the towers on a dev set the way the index would: every candidate document is embedded as title + body truncated to the
/// document length (the first chunk), every query with the query tower; exact inner-product search gives the top 100, and nDCG@10 is
/// computed with <see cref="Evaluator"/> (trec_eval conventions). Hybrid fuses the BM25 top 100 (over the same candidates) and the
/// dense top 100 with reciprocal rank fusion, k = 60, as <c>dss search --mode hybrid</c> does by default.
/// Candidates are the whole corpus, or (with a document limit) the dev positives plus a seeded sample of the rest.
/// </summary>
public sealed class DevEvaluator
{
    public const int Depth = 100;
    const int BatchSize = 64;

    readonly DevSet _dev;
    readonly string[] _docIds;
    readonly string[] _docTexts;
    readonly Dictionary<string, IReadOnlyList<Hit>>? _bm25;
    readonly float[] _alphas;

    /// <param name="alsoAlpha">a min-max dense weight to measure besides <see cref="FusionAlphas"/> (an encoder's recorded one)</param>
    public DevEvaluator(DevSet dev, TrainingCorpus corpus, int maxDocuments = 0, long seed = 0, Bm25NegativeMiner? bm25 = null, float? alsoAlpha = null)
    {
        _dev = dev;
        _alphas = alsoAlpha is float a && !FusionAlphas.Any(x => Math.Abs(x - a) < 1e-4) ? [.. FusionAlphas, a] : FusionAlphas;
        IEnumerable<Document> docs = corpus.Documents;
        if (maxDocuments > 0 && maxDocuments < corpus.Count)
        {
            var keep = dev.Queries.SelectMany(q => dev.Qrels.For(q.Id).Keys).Where(corpus.Contains).ToHashSet(StringComparer.Ordinal);
            var others = corpus.Documents.Where(d => !keep.Contains(d.Id)).Select(d => d.Id).ToArray();
            new Random(Seeds.Mix(seed, 0xE7A1, 0)).Shuffle(others);
            keep.UnionWith(others.Take(Math.Max(0, maxDocuments - keep.Count)));
            docs = corpus.Documents.Where(d => keep.Contains(d.Id));
        }
        var list = docs.ToList();
        _docIds = list.Select(d => d.Id).ToArray();
        _docTexts = list.Select(TextChunker.ComposeText).ToArray();
        if (bm25 != null)
        {
            var candidates = _docIds.ToHashSet(StringComparer.Ordinal);
            int searchDepth = candidates.Count == corpus.Count ? Depth : Math.Min(corpus.Count, Depth * 10);
            _bm25 = dev.Queries.ToDictionary(q => q.Id,
                q => (IReadOnlyList<Hit>)bm25.Search(q.Text, searchDepth).Where(h => candidates.Contains(h.DocumentId)).Take(Depth).ToList(),
                StringComparer.Ordinal);
        }
    }

    public int QueryCount => _dev.Queries.Count;
    public int DocumentCount => _docIds.Length;

    public DevScores Evaluate(DualTowers towers, BertTokenizer tokenizer, int maxQueryLength, int maxDocumentLength,
        string queryPrefix = "", string documentPrefix = "")
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var docs = EmbedAll(towers, false, new TokenizedTexts(tokenizer, _docTexts, maxDocumentLength, documentPrefix));
        var queries = EmbedAll(towers, true, new TokenizedTexts(tokenizer, _dev.Queries.Select(q => q.Text).ToList(), maxQueryLength, queryPrefix));
        int k = Math.Min(Depth, _docIds.Length);
        var (values, indices) = queries.matmul(docs.t()).topk(k, dim: 1);
        var scores = values.cpu().data<float>().ToArray();
        var ids = indices.cpu().data<long>().ToArray();

        var dense = new Run();
        var denseLists = new Dictionary<string, Hit[]>(StringComparer.Ordinal);
        for (int qi = 0; qi < _dev.Queries.Count; qi++)
        {
            var q = _dev.Queries[qi];
            var hits = new Hit[k];
            for (int r = 0; r < k; r++) hits[r] = new Hit(_docIds[ids[qi * k + r]], scores[qi * k + r]);
            dense.Set(q.Id, hits);
            denseLists[q.Id] = hits;
        }
        double denseNdcg = Evaluator.Evaluate(_dev.Queries, _dev.Qrels, dense).Ndcg;
        if (_bm25 == null) return new DevScores(denseNdcg, null);

        // the hybrid settings a search could default to, fused by the same code as dss search
        double Fused(Func<IReadOnlyList<Hit>, IReadOnlyList<Hit>, IReadOnlyList<Hit>> fuse)
        {
            var run = new Run();
            foreach (var q in _dev.Queries) run.Set(q.Id, fuse(_bm25[q.Id], denseLists[q.Id]));
            return Evaluator.Evaluate(_dev.Queries, _dev.Qrels, run).Ndcg;
        }
        double rrf = Fused((lexical, d) => ReciprocalRankFusion.Fuse([lexical, d], Depth));
        var fusions = new List<FusionScore> { new("rrf", 0f, rrf) };
        foreach (float alpha in _alphas)
            fusions.Add(new("minmax", alpha, Fused((lexical, d) => MinMaxFusion.Fuse(lexical, d, alpha, Depth))));
        return new DevScores(denseNdcg, rrf, fusions);
    }

    /// <summary>The min-max dense weights the dev evaluation tries (1.0 ranks as dense alone).</summary>
    public static readonly float[] FusionAlphas = { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f };

    /// <summary>Embeddings of all texts (batches of similar length), in input order, float32 [n, hidden] on the towers' device.</summary>
    internal static Tensor EmbedAll(DualTowers towers, bool query, TokenizedTexts texts)
    {
        var order = Enumerable.Range(0, texts.Count).OrderByDescending(texts.Length).ThenBy(i => i).ToArray();
        var sorted = new List<Tensor>();
        for (int s = 0; s < order.Length; s += BatchSize)
        {
            int n = Math.Min(BatchSize, order.Length - s);
            // one scope per batch: only the embeddings outlive it, not the activations
            using var batchScope = NewDisposeScope();
            sorted.Add(EmbedIndices(towers, query, texts, order.AsSpan(s, n).ToArray()).MoveToOuterDisposeScope());
        }
        var all = cat(sorted, 0);
        var inverse = new long[order.Length];
        for (int i = 0; i < order.Length; i++) inverse[order[i]] = i;
        return all.index_select(0, tensor(inverse).to(all.device));
    }

    static Tensor EmbedIndices(DualTowers towers, bool query, TokenizedTexts texts, int[] indices)
    {
        var (ids, mask) = texts.Tensors(indices, towers.Device);
        return towers.Embed(query, ids, mask);
    }
}
