using System.Text.RegularExpressions;
using DeepSeek.Search.Core;
using DeepSeek.Search.Eval;
using DeepSeek.Search.Text.Chunking;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train.Data;

/// <summary>
/// Pseudo-pairs from a corpus alone, one per usable document per epoch, drawn from a random stream the caller passes (so a pair is a
/// pure function of seed, epoch and document):
/// <list type="bullet">
/// <item><b>ICT</b> (inverse cloze task, Lee et al. 2019): a random sentence is the query; the positive is the title and the other
/// sentences; the query sentence is removed from its context 90% of the time and kept 10% (so exact matches still count).</item>
/// <item><b>Crop</b> (independent cropping, Contriever, Izacard et al. 2021): query and positive are two independent random spans of
/// 10–50% of the document's words, each losing every word with probability 0.1.</item>
/// <item><b>Title</b>: the title is the query, the body the positive.</item>
/// <item><b>Mix</b>: one of those, chosen uniformly among the ones the document supports.</item>
/// </list>
/// The positive's key is the document id, so the document itself is never a negative of its own pseudo-query.
/// </summary>
public sealed partial class SelfSupervisedPairs
{
    public const double IctRemoveProbability = 0.9;
    public const double CropMinRatio = 0.1, CropMaxRatio = 0.5, WordDeletion = 0.1;
    const int MinWords = 4;

    readonly TrainingCorpus _corpus;
    readonly SelfSupervision _mode;
    List<Prepared> _docs = new();

    sealed record Prepared(Document Doc, string[] Words, string[] Sentences, int BodyWords);

    public SelfSupervisedPairs(TrainingCorpus corpus, SelfSupervision mode)
    {
        _corpus = corpus;
        _mode = mode;
        foreach (var d in corpus.Documents)
        {
            var words = Words(TextChunker.ComposeText(d));
            var sentences = SplitSentences(d.Text);
            var p = new Prepared(d, words, sentences, Words(d.Text).Length);
            if (Modes(p).Count > 0) _docs.Add(p);
        }
        if (_docs.Count == 0)
            throw new InvalidInputException($"empty training set: no document of {corpus.Path} is usable for {mode.ToString().ToLowerInvariant()} self-supervision" +
                mode switch
                {
                    SelfSupervision.Title => " (none has both a title and a body)",
                    SelfSupervision.Ict => " (none has two sentences)",
                    _ => $" (none has {MinWords} words)",
                });
    }

    /// <summary>Documents that yield a pair (one pair each per epoch).</summary>
    public int Count => _docs.Count;

    public SelfSupervision Mode => _mode;

    /// <summary>
    /// Takes a seeded sample of the usable documents out of the training pairs and returns it as a dev set: one pseudo-query per
    /// document, drawn as a training pair would be (from a stream of its own), with that document its only relevant one. The sample is
    /// <paramref name="fraction"/> of the documents, at least one and at most <paramref name="maxQueries"/>, and always leaves one to
    /// train on. Null (nothing held out) when the fraction or the maximum is 0 or there are fewer than two documents.
    /// </summary>
    public DevSet? HoldOut(double fraction, int maxQueries, long seed)
    {
        if (fraction <= 0 || maxQueries <= 0 || _docs.Count < 2) return null;
        int count = Math.Clamp((int)Math.Round(fraction * _docs.Count, MidpointRounding.AwayFromZero), 1, Math.Min(maxQueries, _docs.Count - 1));
        var order = Enumerable.Range(0, _docs.Count).ToArray();
        new Random(Seeds.Mix(seed, HoldOutStream, 0)).Shuffle(order);
        var held = order.Take(count).Order().ToArray();
        var rng = new Random(Seeds.Mix(seed, HoldOutStream, 1));
        var queries = new List<EvalQuery>(count);
        var qrels = new Qrels();
        foreach (int i in held)
        {
            var doc = _docs[i].Doc;
            string id = PseudoQueryPrefix + doc.Id;
            queries.Add(new EvalQuery(id, Make(i, rng).Query));
            qrels.Add(id, doc.Id, 1);
        }
        var heldSet = held.ToHashSet();
        _docs = _docs.Where((_, i) => !heldSet.Contains(i)).ToList();
        return new DevSet(queries, qrels);
    }

    /// <summary>Query ids of held-out pseudo-queries: this prefix and the document id.</summary>
    public const string PseudoQueryPrefix = "pseudo:";

    const long HoldOutStream = 0x5E1F;

    /// <summary>The pseudo-pair of usable document <paramref name="index"/>, from <paramref name="rng"/>.</summary>
    public PairSpec Make(int index, Random rng)
    {
        var p = _docs[index];
        var modes = Modes(p);
        var mode = modes[modes.Count == 1 ? 0 : rng.Next(modes.Count)];
        var positiveKey = p.Doc.Id;
        return mode switch
        {
            SelfSupervision.Title => new PairSpec(p.Doc.Id, p.Doc.Title.Trim(), new TrainingText(positiveKey, p.Doc.Text), []),
            SelfSupervision.Ict => Ict(p, rng),
            _ => new PairSpec(p.Doc.Id, Crop(p.Words, rng), new TrainingText(positiveKey, Crop(p.Words, rng)), []),
        };
    }

    List<SelfSupervision> Modes(Prepared p)
    {
        bool title = p.Doc.Title.Trim().Length > 0 && p.BodyWords >= 3;
        bool ict = p.Sentences.Length >= 2;
        bool crop = p.Words.Length >= MinWords;
        var list = new List<SelfSupervision>(3);
        switch (_mode)
        {
            case SelfSupervision.Title: if (title) list.Add(SelfSupervision.Title); break;
            case SelfSupervision.Ict: if (ict) list.Add(SelfSupervision.Ict); break;
            case SelfSupervision.Crop: if (crop) list.Add(SelfSupervision.Crop); break;
            default:
                if (ict) list.Add(SelfSupervision.Ict);
                if (crop) list.Add(SelfSupervision.Crop);
                if (title) list.Add(SelfSupervision.Title);
                break;
        }
        return list;
    }

    static PairSpec Ict(Prepared p, Random rng)
    {
        int k = rng.Next(p.Sentences.Length);
        bool remove = rng.NextDouble() < IctRemoveProbability;
        var context = p.Sentences.Where((_, i) => !remove || i != k);
        string body = string.Join(" ", context);
        return new PairSpec(p.Doc.Id, p.Sentences[k], new TrainingText(p.Doc.Id, TextChunker.ComposeText(p.Doc.Title, body)), []);
    }

    /// <summary>A random span of 10–50% of <paramref name="words"/> with word deletion (at least one word is kept).</summary>
    public static string Crop(IReadOnlyList<string> words, Random rng)
    {
        int n = words.Count;
        double ratio = CropMinRatio + rng.NextDouble() * (CropMaxRatio - CropMinRatio);
        int length = Math.Clamp((int)Math.Round(ratio * n), 1, n);
        int start = rng.Next(n - length + 1);
        var kept = new List<string>(length);
        for (int i = start; i < start + length; i++)
            if (rng.NextDouble() >= WordDeletion) kept.Add(words[i]);
        if (kept.Count == 0) kept.Add(words[start + rng.Next(length)]);
        return string.Join(" ", kept);
    }

    /// <summary>Whitespace-separated words.</summary>
    public static string[] Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Sentences: split after '.', '!' or '?' followed by white space; empty pieces dropped.</summary>
    public static string[] SplitSentences(string text) =>
        SentenceBreak().Split(text.Trim()).Select(s => s.Trim()).Where(s => s.Length > 0).ToArray();

    [GeneratedRegex(@"(?<=[.!?])\s+")]
    private static partial Regex SentenceBreak();
}
