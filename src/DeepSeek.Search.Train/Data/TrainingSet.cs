using DeepSeek.Search.Training;
namespace DeepSeek.Search.Train.Data;

/// <summary>
/// The examples of training: supervised pairs (fixed) or self-supervised pseudo-pairs (new every epoch), each with hard negatives —
/// explicit ones from a pairs file, else sampled from the query's BM25 candidates. Batch order and every sample are drawn from
/// <see cref="Seeds"/> streams keyed by (epoch, example), so the examples of step N are the same in a straight and a resumed run.
/// </summary>
public sealed class TrainingSet
{
    const int OrderStream = 1, ExampleStream = 2;

    readonly SupervisedData? _supervised;
    readonly SelfSupervisedPairs? _self;
    readonly Bm25NegativeMiner? _miner;
    readonly int _hardNegatives;
    readonly long _seed;
    IReadOnlyDictionary<string, IReadOnlyList<string>>? _refreshed;

    TrainingSet(SupervisedData? supervised, SelfSupervisedPairs? self, Bm25NegativeMiner? miner, int hardNegatives, long seed)
    {
        _supervised = supervised;
        _self = self;
        _miner = miner;
        _hardNegatives = hardNegatives;
        _seed = seed;
    }

    public static TrainingSet Supervised(SupervisedData data, Bm25NegativeMiner? miner, int hardNegatives, long seed) =>
        new(data, null, miner, hardNegatives, seed);

    public static TrainingSet SelfSupervised(SelfSupervisedPairs pairs, Bm25NegativeMiner? miner, int hardNegatives, long seed) =>
        new(null, pairs, miner, hardNegatives, seed);

    /// <summary>Examples per epoch.</summary>
    public int Count => _supervised?.Pairs.Count ?? _self!.Count;

    public bool IsSelfSupervised => _self != null;

    /// <summary>The order examples are visited in during <paramref name="epoch"/> (a seeded permutation).</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Count).ToArray();
        Seeds.At(_seed, OrderStream, epoch, 0).Shuffle(order);
        return order;
    }

    /// <summary>Mines the BM25 candidates of every supervised query up front (in parallel); reports (done, total).</summary>
    public void Premine(Action<int, int>? report = null)
    {
        if (_supervised == null || _miner == null || _hardNegatives == 0) return;
        var queries = _supervised.Pairs.Where(p => p.Negatives.Count == 0).DistinctBy(p => p.QueryKey).ToList();
        int done = 0;
        Parallel.ForEach(queries, p =>
        {
            _miner.Candidates(p.QueryKey, p.Query, _supervised.Relevant[p.QueryKey]);
            int d = Interlocked.Increment(ref done);
            if (d % 64 == 0 || d == queries.Count) report?.Invoke(d, queries.Count);
        });
    }

    /// <summary>
    /// Replaces the BM25 candidates of supervised queries with refreshed ones (<see cref="DenseNegativeMiner"/>) for the examples
    /// drawn from now on; queries missing from <paramref name="candidates"/> keep their BM25 candidates. Null restores BM25.
    /// </summary>
    public void UseCandidates(IReadOnlyDictionary<string, IReadOnlyList<string>>? candidates) => _refreshed = candidates;

    /// <summary>Example <paramref name="index"/> as used in <paramref name="epoch"/>.</summary>
    public TrainingExample Example(int epoch, int index)
    {
        var rng = Seeds.At(_seed, ExampleStream, epoch, index);
        if (_supervised != null)
        {
            var p = _supervised.Pairs[index];
            var relevant = _supervised.Relevant[p.QueryKey];
            IReadOnlyList<TrainingText> negatives;
            if (_hardNegatives == 0) negatives = [];
            else if (p.Negatives.Count > 0) negatives = SampleTexts(p.Negatives, _hardNegatives, rng);
            else if (_miner != null)
                negatives = _miner.Sample(_refreshed != null && _refreshed.TryGetValue(p.QueryKey, out var dense) ? dense : _miner.Candidates(p.QueryKey, p.Query, relevant), _hardNegatives, rng);
            else negatives = [];
            return new TrainingExample(p.Query, p.Positive, negatives, relevant);
        }
        else
        {
            var p = _self!.Make(index, rng);
            var relevant = new HashSet<string>(StringComparer.Ordinal) { p.Positive.Key };
            var negatives = _miner != null && _hardNegatives > 0
                ? _miner.Sample(_miner.CandidatesUncached(p.Query, relevant), _hardNegatives, rng)
                : [];
            return new TrainingExample(p.Query, p.Positive, negatives, relevant);
        }
    }

    static IReadOnlyList<TrainingText> SampleTexts(IReadOnlyList<TrainingText> items, int count, Random rng)
    {
        if (items.Count <= count) return items;
        var copy = items.ToArray();
        for (int i = 0; i < count; i++)
        {
            int j = i + rng.Next(copy.Length - i);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }
        return copy.Take(count).ToList();
    }
}
