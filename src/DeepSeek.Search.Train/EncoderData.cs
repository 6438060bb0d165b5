using DeepSeek.Search.Core;
using DeepSeek.Search.Train.Data;

namespace DeepSeek.Search.Train;

/// <summary>
/// The data of one <see cref="Trainer"/> run: the corpus, the supervision (qrels, pairs or self-supervised pseudo-pairs), the dev set
/// (judged queries, a split of the training queries, or the adaptation gate's held-out pseudo-queries), the BM25 miner of hard
/// negatives and hybrid dev scores, and the training set drawn from them.
/// </summary>
sealed class EncoderData : IDisposable
{
    readonly TrainOptions _o;
    readonly Action<string> _say;

    EncoderData(TrainOptions options, Action<string> say)
    {
        _o = options;
        _say = say;
    }

    public TrainingCorpus? Corpus { get; private set; }
    public SupervisedData? Supervised { get; private set; }
    public DevSet? Dev { get; private set; }
    public Bm25NegativeMiner? Miner { get; private set; }
    public TrainingSet Set { get; private set; } = null!;
    public int HardNegatives { get; private set; }

    /// <summary>"queries+qrels", "pairs" or "self-supervised:…".</summary>
    public string Supervision { get; private set; } = "";

    /// <summary>
    /// Label-free adaptation of an --init encoder is gated: <see cref="Dev"/> holds held-out pseudo-queries, and the adapted weights
    /// replace the --init ones only when they beat them by <see cref="Trainer.AdaptationMargin"/> in the encoder's default search.
    /// </summary>
    public bool AdaptationGate { get; private set; }

    /// <param name="describeDefault">The --init encoder's default search in words (named when the adaptation gate is set up).</param>
    public static EncoderData Load(TrainOptions options, string workDir, Func<string> describeDefault, Action<string> say,
        IProgress<ProgressEvent>? progress)
    {
        var data = new EncoderData(options, say);
        try { data.Read(workDir, describeDefault, progress); }
        catch
        {
            data.Dispose();
            throw;
        }
        return data;
    }

    void Read(string workDir, Func<string> describeDefault, IProgress<ProgressEvent>? progress)
    {
        if (_o.CorpusPath != null)
        {
            _say($"reading corpus {_o.CorpusPath}");
            Corpus = TrainingCorpus.Load(_o.CorpusPath);
        }
        SelfSupervisedPairs? self = null;
        if (_o.QrelsPath != null)
        {
            Supervised = SupervisedData.FromBeir(_o.QueriesPath!, _o.QrelsPath, Corpus!, _o.ExcludeQrelsPaths);
            Supervision = "queries+qrels";
        }
        else if (_o.PairsPath != null)
        {
            Supervised = SupervisedData.FromPairsFile(_o.PairsPath, Corpus, _o.ExcludeQrelsPaths);
            Supervision = "pairs";
        }
        else
        {
            self = new SelfSupervisedPairs(Corpus!, _o.SelfSupervision);
            Supervision = "self-supervised:" + _o.SelfSupervision.ToString().ToLowerInvariant();
            if (_o.InitPath != null && _o.DevQrelsPath == null && self.HoldOut(_o.DevFraction, _o.DevMaxQueries, _o.Seed) is { } held)
            {
                // the adaptation gate: without judged queries, held-out pseudo-queries decide whether the adapted weights replace --init's
                Dev = held;
                AdaptationGate = true;
                _say($"held out {held.Queries.Count:N0} documents and their pseudo-queries: the output keeps the --init encoder's weights unless an " +
                    $"evaluation beats them by {Trainer.AdaptationMargin} nDCG@10 in its default search ({describeDefault()})");
            }
            else if (_o.InitPath != null)
                _say("note: label-free adaptation of a pretrained encoder was measured within -0.006..+0.002 nDCG@10 of the encoder as it is " +
                    "on SciFact and SQuAD (README: pretrained encoders); without judged queries to check the result, the pretrained encoder itself is the safer choice");
        }

        if (Supervised != null)
        {
            if (_o.DevQrelsPath != null)
                Dev = SupervisedData.LoadDevSet(_o.DevQueriesPath!, _o.DevQrelsPath, Corpus!, Supervised.Relevant.Keys.ToHashSet(StringComparer.Ordinal));
            else
            {
                var (train, dev) = Supervised.SplitDev(_o.DevFraction, _o.DevMaxQueries, _o.Seed);
                Supervised = train;
                Dev = dev;
            }
            if (Supervised.ExcludedQueries > 0)
                _say($"left out {Supervised.ExcludedQueries} quer{(Supervised.ExcludedQueries == 1 ? "y" : "ies")} judged by evaluation qrels ({string.Join(", ", Supervised.ExcludedFrom.Select(Path.GetFileName))})");
        }
        else if (_o.DevQrelsPath != null)
            Dev = SupervisedData.LoadDevSet(_o.DevQueriesPath!, _o.DevQrelsPath, Corpus!, Array.Empty<string>());

        HardNegatives = _o.HardNegatives ?? (Supervised != null && Corpus != null ? 1 : 0);
        if (_o.BatchSize < 2 && HardNegatives == 0) throw new InvalidInputException("--batch-size 1 without hard negatives leaves no negatives");
        bool needBm25 = Corpus != null && (HardNegatives > 0 || Dev != null);
        if (needBm25)
        {
            _say("building the BM25 index for hard negatives and hybrid dev scores");
            Miner = Bm25NegativeMiner.Open(Path.Combine(workDir, Trainer.Bm25Folder), Corpus!, _o.HardNegativeDepth, _o.HardNegativeSkip);
        }
        Set = Supervised != null
            ? TrainingSet.Supervised(Supervised, Miner, HardNegatives, _o.Seed)
            : TrainingSet.SelfSupervised(self!, Miner, HardNegatives, _o.Seed);
        if (Set.Count == 0) throw new InvalidInputException("empty training set");
        if (Set.Count < 2 && HardNegatives == 0) throw new InvalidInputException("a single training pair and no hard negatives: nothing to contrast");
        if (Miner != null && HardNegatives > 0 && !Set.IsSelfSupervised)
            Set.Premine((d, t) =>
            {
                progress?.Report(new NegativeMiningProgress(d, t));
                if (d == t) progress?.Report(new NegativesMinedProgress(t));
            });
        _say($"training set: {Set.Count:N0} {(Set.IsSelfSupervised ? "documents (pseudo-pairs per epoch)" : "pairs")}" +
            (Supervised != null ? $" from {Supervised.QueryCount:N0} queries" : "") + (HardNegatives > 0 ? $", {HardNegatives} BM25 hard negative(s) each" : ""));
    }

    /// <summary>Closes the BM25 index (before its folder is removed from the finished output).</summary>
    public void CloseMiner()
    {
        Miner?.Dispose();
        Miner = null;
    }

    public void Dispose() => CloseMiner();
}
