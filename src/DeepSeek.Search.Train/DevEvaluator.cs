using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Train.Data;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train;

/// <summary>nDCG@10 of a dev evaluation: dense retrieval alone, and (when BM25 is available) BM25 + dense fused by RRF.</summary>
public sealed record DevScores(double DenseNdcg, double? HybridNdcg)
{
    public double Get(DevMetric metric) => metric == DevMetric.Hybrid && HybridNdcg is double h ? h : DenseNdcg;
}

/// <summary>
/// Scores the towers on a dev set the way the index would: every candidate document is embedded as title + body truncated to the
/// document length (the first chunk), every query with the query tower; exact inner-product search gives the top 100, and nDCG@10 is
/// computed with <see cref="Evaluator"/> (trec_eval conventions). Hybrid fuses the BM25 top 100 (over the same candidates) and the
/// dense top 100 with reciprocal rank fusion, k = 60, as <c>dss search --mode hybrid</c> does by default.
/// Candidates are the whole corpus, or (with a document limit) the dev positives plus a seeded sample of the rest.
/// </summary>
public sealed class DevEvaluator
{
    public const int Depth = 100, RrfK = 60;
    const int BatchSize = 64;

    readonly DevSet _dev;
    readonly string[] _docIds;
    readonly string[] _docTexts;
    readonly Dictionary<string, IReadOnlyList<Hit>>? _bm25;

    public DevEvaluator(DevSet dev, TrainingCorpus corpus, int maxDocuments = 0, long seed = 0, Bm25NegativeMiner? bm25 = null)
    {
        _dev = dev;
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
        var hybrid = _bm25 != null ? new Run() : null;
        for (int qi = 0; qi < _dev.Queries.Count; qi++)
        {
            var q = _dev.Queries[qi];
            var hits = new Hit[k];
            for (int r = 0; r < k; r++) hits[r] = new Hit(_docIds[ids[qi * k + r]], scores[qi * k + r]);
            dense.Set(q.Id, hits);
            if (hybrid != null) hybrid.Set(q.Id, Rrf(_bm25![q.Id], hits));
        }
        double denseNdcg = Evaluator.Evaluate(_dev.Queries, _dev.Qrels, dense).Ndcg;
        double? hybridNdcg = hybrid != null ? Evaluator.Evaluate(_dev.Queries, _dev.Qrels, hybrid).Ndcg : null;
        return new DevScores(denseNdcg, hybridNdcg);
    }

    /// <summary>Reciprocal rank fusion of ranked lists: Σ 1 / (k + rank), rank from 1; top <see cref="Depth"/>.</summary>
    public static IReadOnlyList<Hit> Rrf(params IReadOnlyList<Hit>[] lists)
    {
        var fused = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var list in lists)
            for (int r = 0; r < list.Count; r++)
                fused[list[r].DocumentId] = fused.GetValueOrDefault(list[r].DocumentId) + 1.0 / (RrfK + r + 1);
        return fused.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(Depth)
            .Select(p => new Hit(p.Key, (float)p.Value)).ToList();
    }

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
