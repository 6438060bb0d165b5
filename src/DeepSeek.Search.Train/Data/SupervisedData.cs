using System.Globalization;
using System.Text;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train.Data;

/// <summary>A dev set: queries and graded judgments over the corpus, for nDCG@10 during training.</summary>
public sealed record DevSet(IReadOnlyList<EvalQuery> Queries, Qrels Qrels);

/// <summary>
/// Supervised training pairs: from BEIR <c>queries.jsonl</c> + a training qrels file over a corpus (<see cref="FromBeir"/>), or from a
/// JSONL pairs file (<see cref="FromPairsFile"/>). Training pairs never come from evaluation judgments: a qrels file named
/// <c>test.tsv</c> is refused, and the queries of any <c>test.tsv</c> beside the training qrels, and of every
/// <c>--exclude-qrels</c> file, are dropped (<see cref="ExcludedQueries"/> counts them).
/// </summary>
public sealed class SupervisedData
{
    SupervisedData(IReadOnlyList<PairSpec> pairs, int excludedQueries, IReadOnlyList<string> excludedFrom)
    {
        Pairs = pairs;
        ExcludedQueries = excludedQueries;
        ExcludedFrom = excludedFrom;
        var relevant = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var p in pairs)
        {
            if (!relevant.TryGetValue(p.QueryKey, out var set)) relevant[p.QueryKey] = set = new HashSet<string>(StringComparer.Ordinal);
            set.Add(p.Positive.Key);
        }
        Relevant = relevant;
    }

    /// <summary>One entry per (query, positive).</summary>
    public IReadOnlyList<PairSpec> Pairs { get; }

    /// <summary>Query key → keys of all its positives.</summary>
    public IReadOnlyDictionary<string, HashSet<string>> Relevant { get; }

    /// <summary>Distinct training queries.</summary>
    public int QueryCount => Relevant.Count;

    /// <summary>Queries dropped because evaluation qrels judge them.</summary>
    public int ExcludedQueries { get; }

    /// <summary>The qrels files whose queries were kept out of training.</summary>
    public IReadOnlyList<string> ExcludedFrom { get; }

    /// <summary>Throws when <paramref name="path"/> is an evaluation split (<c>test.tsv</c>).</summary>
    public static void RefuseEvaluationSplit(string path, string option)
    {
        if (string.Equals(System.IO.Path.GetFileNameWithoutExtension(path), "test", StringComparison.OrdinalIgnoreCase))
            throw new InvalidInputException($"{option} {path} is the evaluation (test) split: training pairs and dev sets must never come from evaluation qrels (use qrels/train.tsv)");
    }

    /// <summary>The evaluation qrels whose queries must be kept out: the explicit ones plus a <c>test.tsv</c> beside <paramref name="qrelsPath"/>.</summary>
    public static IReadOnlyList<string> EvaluationQrels(string? qrelsPath, IEnumerable<string> explicitExcludes)
    {
        var list = explicitExcludes.Select(System.IO.Path.GetFullPath).ToList();
        if (qrelsPath != null && System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(qrelsPath)) is { } dir)
        {
            string test = System.IO.Path.Combine(dir, "test.tsv");
            if (File.Exists(test) && !list.Contains(test)) list.Add(test);
        }
        if (qrelsPath != null && list.Contains(System.IO.Path.GetFullPath(qrelsPath)))
            throw new InvalidInputException($"--qrels {qrelsPath} is also given as evaluation qrels to exclude");
        return list;
    }

    static HashSet<string> ExcludedQueryIds(IEnumerable<string> qrelsFiles)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in qrelsFiles) ids.UnionWith(QrelsReader.Read(f).QueryIds);
        return ids;
    }

    /// <summary>
    /// Pairs from BEIR queries and a training qrels file: every judgment with a grade above 0 becomes (query text, document text).
    /// A judged query missing from the queries file, or a judged document missing from the corpus, is an error; so is a result with no pairs.
    /// </summary>
    public static SupervisedData FromBeir(string queriesPath, string qrelsPath, TrainingCorpus corpus, IEnumerable<string>? excludeQrels = null)
    {
        RefuseEvaluationSplit(qrelsPath, "--qrels");
        var excludeFiles = EvaluationQrels(qrelsPath, excludeQrels ?? []);
        var excluded = ExcludedQueryIds(excludeFiles);
        var queries = QueriesReader.Read(queriesPath).ToDictionary(q => q.Id, q => q.Text, StringComparer.Ordinal);
        var qrels = QrelsReader.Read(qrelsPath);

        var missingQueries = qrels.QueryIds.Where(id => !queries.ContainsKey(id)).ToList();
        if (missingQueries.Count > 0)
            throw new InvalidInputException($"{qrelsPath}: {missingQueries.Count} judged query id(s) are not in {queriesPath}, e.g. {Sample(missingQueries)}");
        var missingDocs = qrels.QueryIds.SelectMany(q => qrels.For(q).Keys).Where(d => !corpus.Contains(d)).Distinct().ToList();
        if (missingDocs.Count > 0)
            throw new InvalidInputException($"{qrelsPath}: {missingDocs.Count} judged document id(s) are not in the corpus {corpus.Path}, e.g. {Sample(missingDocs)}");

        var pairs = new List<PairSpec>();
        int dropped = 0;
        foreach (var qid in qrels.QueryIds)
        {
            if (excluded.Contains(qid)) { dropped++; continue; }
            foreach (var (did, grade) in qrels.For(qid))
                if (grade > 0) pairs.Add(new PairSpec(qid, queries[qid], corpus.Item(did), []));
        }
        if (pairs.Count == 0)
            throw new InvalidInputException($"empty training set: {qrelsPath} has no positive judgment" + (dropped > 0 ? $" outside the {dropped} excluded evaluation queries" : ""));
        return new SupervisedData(pairs, dropped, excludeFiles);
    }

    /// <summary>
    /// Pairs from a JSONL file, one object per line: <c>query</c> (text, required), optional <c>query_id</c>, the positive as
    /// <c>positive</c> (text) or <c>positive_id</c> (a corpus id), and optional <c>negatives</c> (texts) or <c>negative_ids</c>.
    /// Ids need <paramref name="corpus"/> and must be in it. Lines whose <c>query_id</c> is judged by an excluded qrels file are dropped.
    /// </summary>
    public static SupervisedData FromPairsFile(string path, TrainingCorpus? corpus, IEnumerable<string>? excludeQrels = null)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"pairs file not found: {path}");
        var excludeFiles = (excludeQrels ?? []).Select(System.IO.Path.GetFullPath).ToList();
        var excluded = ExcludedQueryIds(excludeFiles);
        var pairs = new List<PairSpec>();
        int dropped = 0;
        var droppedIds = new HashSet<string>(StringComparer.Ordinal);
        long lineNo = 0;
        using var reader = new StreamReader(path, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument json;
            try { json = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new MalformedRecordException(path, lineNo, "invalid JSON: " + e.Message.ReplaceLineEndings(" "), e); }
            using (json)
            {
                var o = json.RootElement;
                if (o.ValueKind != JsonValueKind.Object) throw new MalformedRecordException(path, lineNo, "expected a JSON object");
                string query = String(o, "query") ?? throw new MalformedRecordException(path, lineNo, "missing \"query\" (a non-empty string)");
                if (string.IsNullOrWhiteSpace(query)) throw new MalformedRecordException(path, lineNo, "\"query\" is empty");
                string? qid = Id(o, "query_id") ?? Id(o, "qid");
                if (qid != null && excluded.Contains(qid)) { if (droppedIds.Add(qid)) dropped++; continue; }

                string? posText = String(o, "positive");
                string? posId = Id(o, "positive_id");
                if ((posText == null) == (posId == null))
                    throw new MalformedRecordException(path, lineNo, "give exactly one of \"positive\" (text) or \"positive_id\" (a corpus id)");
                var positive = posId != null ? Lookup(posId, "positive_id") : Text(posText!, "positive");

                var negatives = new List<TrainingText>();
                if (o.TryGetProperty("negatives", out var negs))
                {
                    if (negs.ValueKind != JsonValueKind.Array) throw new MalformedRecordException(path, lineNo, "\"negatives\" must be an array of strings");
                    foreach (var n in negs.EnumerateArray())
                        negatives.Add(n.ValueKind == JsonValueKind.String ? Text(n.GetString()!, "negatives")
                            : throw new MalformedRecordException(path, lineNo, "\"negatives\" must be an array of strings"));
                }
                if (o.TryGetProperty("negative_ids", out var negIds))
                {
                    if (negIds.ValueKind != JsonValueKind.Array) throw new MalformedRecordException(path, lineNo, "\"negative_ids\" must be an array of ids");
                    foreach (var n in negIds.EnumerateArray())
                        negatives.Add(n.ValueKind is JsonValueKind.String or JsonValueKind.Number ? Lookup(n.ToString(), "negative_ids")
                            : throw new MalformedRecordException(path, lineNo, "\"negative_ids\" must be an array of ids"));
                }
                negatives.RemoveAll(n => n.Key == positive.Key);
                pairs.Add(new PairSpec(qid ?? "\u0001q:" + query, query, positive, negatives));

                TrainingText Lookup(string id, string field)
                {
                    if (corpus == null) throw new MalformedRecordException(path, lineNo, $"\"{field}\" refers to corpus ids but no --corpus was given");
                    if (!corpus.Contains(id)) throw new MalformedRecordException(path, lineNo, $"{field} '{id}' is not in the corpus {corpus.Path}");
                    return corpus.Item(id);
                }

                TrainingText Text(string text, string field) => string.IsNullOrWhiteSpace(text)
                    ? throw new MalformedRecordException(path, lineNo, $"\"{field}\" has an empty text")
                    : new TrainingText(null, text);
            }
        }
        if (pairs.Count == 0)
            throw new InvalidInputException($"empty training set: {path} has no pairs" + (dropped > 0 ? $" outside the {dropped} excluded evaluation queries" : ""));
        return new SupervisedData(pairs, dropped, excludeFiles);

        static string? String(JsonElement o, string key) =>
            o.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        static string? Id(JsonElement o, string key) =>
            o.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.String or JsonValueKind.Number && v.ToString() is { Length: > 0 } s ? s : null;
    }

    /// <summary>
    /// Holds out a seeded share of the queries as a dev set (all their pairs leave training). Only queries whose positives are all corpus
    /// documents can be judged; when none can, or the fraction is 0, the dev set is null.
    /// </summary>
    public (SupervisedData Train, DevSet? Dev) SplitDev(double fraction, int maxQueries, long seed)
    {
        if (fraction <= 0 || maxQueries <= 0) return (this, null);
        var byQuery = Pairs.GroupBy(p => p.QueryKey, StringComparer.Ordinal).ToList();
        var eligible = byQuery.Where(g => g.All(p => p.Positive.Id != null)).Select(g => g.Key).ToList();
        if (eligible.Count < 2 || byQuery.Count < 2) return (this, null);
        int count = (int)Math.Round(fraction * byQuery.Count, MidpointRounding.AwayFromZero);
        count = Math.Clamp(count, 1, Math.Min(maxQueries, Math.Min(eligible.Count, byQuery.Count - 1)));
        var rng = new Random(Seeds.Mix(seed, 0x0DE7, 0));
        var shuffled = eligible.ToArray();
        rng.Shuffle(shuffled);
        var dev = shuffled.Take(count).ToHashSet(StringComparer.Ordinal);

        var qrels = new Qrels();
        var queries = new List<EvalQuery>();
        foreach (var g in byQuery.Where(g => dev.Contains(g.Key)))
        {
            string id = g.Key.StartsWith('\u0001') ? "dev" + queries.Count.ToString(CultureInfo.InvariantCulture) : g.Key;
            queries.Add(new EvalQuery(id, g.First().Query));
            foreach (var p in g.DistinctBy(p => p.Positive.Id)) qrels.Add(id, p.Positive.Id!, 1);
        }
        var train = new SupervisedData(Pairs.Where(p => !dev.Contains(p.QueryKey)).ToList(), ExcludedQueries, ExcludedFrom);
        return (train, new DevSet(queries, qrels));
    }

    /// <summary>
    /// A dev set from BEIR files over the corpus. Queries judged by an evaluation (test) qrels file are refused, and a dev query that is
    /// also a training query is an error.
    /// </summary>
    public static DevSet LoadDevSet(string queriesPath, string qrelsPath, TrainingCorpus corpus, IReadOnlyCollection<string> trainingQueryKeys)
    {
        RefuseEvaluationSplit(qrelsPath, "--dev-qrels");
        var all = QueriesReader.Read(queriesPath).ToDictionary(q => q.Id, StringComparer.Ordinal);
        var qrels = QrelsReader.Read(qrelsPath);
        var missing = qrels.QueryIds.Where(q => !all.ContainsKey(q)).ToList();
        if (missing.Count > 0) throw new InvalidInputException($"{qrelsPath}: {missing.Count} judged query id(s) are not in {queriesPath}, e.g. {Sample(missing)}");
        var missingDocs = qrels.QueryIds.SelectMany(q => qrels.For(q).Keys).Where(d => !corpus.Contains(d)).Distinct().ToList();
        if (missingDocs.Count > 0) throw new InvalidInputException($"{qrelsPath}: {missingDocs.Count} judged document id(s) are not in the corpus {corpus.Path}, e.g. {Sample(missingDocs)}");
        var overlap = qrels.QueryIds.Where(trainingQueryKeys.Contains).ToList();
        if (overlap.Count > 0) throw new InvalidInputException($"{qrelsPath}: {overlap.Count} dev query id(s) are also training queries, e.g. {Sample(overlap)}");
        if (qrels.Count == 0) throw new InvalidInputException($"{qrelsPath}: no judgments");
        return new DevSet(qrels.QueryIds.Select(q => all[q]).ToList(), qrels);
    }

    static string Sample(IReadOnlyList<string> ids) => string.Join(", ", ids.Take(3).Select(i => $"'{i}'")) + (ids.Count > 3 ? ", ..." : "");
}
