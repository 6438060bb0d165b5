using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train.Data;

/// <summary>
/// Hard negatives refreshed with the model being trained (ANCE, Xiong et al. 2021): every corpus document is embedded with the
/// current document tower, every supervised query with the query tower, and a query's candidates become its exact inner-product
/// ranks [skip, depth) among documents not relevant to it — the documents the model now confuses with the positives, where BM25's
/// candidates only share words with the query (exact search: one [queries × corpus] product per block of queries, then top-k).
/// Candidates are written to a JSON file per refresh, so a resumed run samples from exactly the lists a straight run did.
/// </summary>
public static class DenseNegativeMiner
{
    const int QueryBlock = 256;

    /// <summary>The dense candidates of every supervised query that has no explicit negatives, keyed by query key.</summary>
    public static Dictionary<string, IReadOnlyList<string>> Mine(DualTowers towers, BertTokenizer tokenizer, TrainingCorpus corpus, SupervisedData data,
        int depth, int skip, int maxQueryLength, int maxDocumentLength, string queryPrefix = "", string documentPrefix = "")
    {
        if (depth <= skip) throw new InvalidInputException($"negative depth {depth} must be larger than the skipped ranks {skip}");
        var queries = data.Pairs.Where(p => p.Negatives.Count == 0).DistinctBy(p => p.QueryKey).ToList();
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (queries.Count == 0 || corpus.Count == 0) return result;
        var ids = corpus.Documents.Select(d => d.Id).ToArray();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var docs = DevEvaluator.EmbedAll(towers, false, new TokenizedTexts(tokenizer, ids.Select(corpus.TextOf).ToList(), maxDocumentLength, documentPrefix))
            .to(ScalarType.Float32);
        var qv = DevEvaluator.EmbedAll(towers, true, new TokenizedTexts(tokenizer, queries.Select(q => q.Query).ToList(), maxQueryLength, queryPrefix))
            .to(ScalarType.Float32);
        int maxRelevant = queries.Max(q => data.Relevant[q.QueryKey].Count);
        int k = Math.Min(ids.Length, depth + maxRelevant);
        for (int s = 0; s < queries.Count; s += QueryBlock)
        {
            int n = Math.Min(QueryBlock, queries.Count - s);
            using var block = NewDisposeScope();
            var scores = qv.narrow(0, s, n).matmul(docs.t());
            long[] top;
            using (var head = scores.topk(k, dim: 1, largest: true, sorted: true).indexes.cpu()) top = head.data<long>().ToArray();
            for (int i = 0; i < n; i++)
            {
                var q = queries[s + i];
                var relevant = data.Relevant[q.QueryKey];
                result[q.QueryKey] = top.AsSpan(i * k, k).ToArray().Select(j => ids[j]).Where(id => !relevant.Contains(id))
                    .Skip(skip).Take(depth - skip).ToList();
            }
        }
        return result;
    }

    /// <summary>Writes the candidates of a refresh atomically and durably (<see cref="AtomicFile"/>).</summary>
    public static void Save(string path, int epoch, IReadOnlyDictionary<string, IReadOnlyList<string>> candidates)
    {
        var o = new JsonObject { ["epoch"] = epoch, ["queries"] = candidates.Count };
        var c = new JsonObject();
        foreach (var (key, list) in candidates.OrderBy(kv => kv.Key, StringComparer.Ordinal)) c[key] = new JsonArray(list.Select(id => (JsonNode)id).ToArray());
        o["candidates"] = c;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, o.ToJsonString());
    }

    /// <summary>Reads a refresh written by <see cref="Save"/>; a damaged file is a <see cref="CheckpointException"/>.</summary>
    public static Dictionary<string, IReadOnlyList<string>> Load(string path, TrainingCorpus corpus)
    {
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new CheckpointException($"{path}: not a JSON object");
            var c = o["candidates"]?.AsObject() ?? throw new CheckpointException($"{path}: no 'candidates'");
            var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var (key, list) in c)
            {
                var ids = (list?.AsArray() ?? throw new CheckpointException($"{path}: candidates of '{key}' are not a list"))
                    .Select(x => x!.GetValue<string>()).ToList();
                foreach (var id in ids)
                    if (!corpus.Contains(id)) throw new CheckpointException($"{path}: candidate '{id}' of '{key}' is not in the corpus");
                result[key] = ids;
            }
            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{path}: unreadable refreshed negatives ({e.Message})", e);
        }
    }
}
