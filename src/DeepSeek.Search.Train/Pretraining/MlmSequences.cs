using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train.Pretraining;

/// <summary>
/// The sequences masked-LM pretraining reads: every document's wordpieces cut into consecutive, non-overlapping windows of
/// <c>maxLength − 2</c> pieces (the last one shorter), each later wrapped as <c>[CLS] window [SEP]</c>. So the whole corpus is read,
/// at the document tower's length. The pieces are held as one flat int array (4 bytes a token, well under the corpus texts' own
/// memory); documents with no text make no sequence.
/// </summary>
public sealed class MlmSequences
{
    readonly int[] _pieces;
    readonly long[] _starts; // window i is _pieces[_starts[i] .. _starts[i] + _lengths[i])
    readonly int[] _lengths;

    MlmSequences(int[] pieces, long[] starts, int[] lengths, int documents, int maxLength)
    {
        _pieces = pieces;
        _starts = starts;
        _lengths = lengths;
        Documents = documents;
        MaxLength = maxLength;
    }

    /// <summary>Number of windows (sequences).</summary>
    public int Count => _lengths.Length;

    /// <summary>Documents that gave at least one window.</summary>
    public int Documents { get; }

    /// <summary>Sequence length with [CLS] and [SEP].</summary>
    public int MaxLength { get; }

    /// <summary>Wordpieces over all windows (special tokens not counted).</summary>
    public long Tokens => _pieces.LongLength;

    /// <summary>The wordpieces of window <paramref name="i"/> (no special tokens).</summary>
    public ReadOnlySpan<int> Pieces(int i) => _pieces.AsSpan((int)_starts[i], _lengths[i]);

    /// <summary><c>[CLS] pieces [SEP]</c> of window <paramref name="i"/>.</summary>
    public int[] InputIds(int i, BertTokenizer tokenizer)
    {
        var pieces = Pieces(i);
        var ids = new int[pieces.Length + 2];
        ids[0] = tokenizer.ClsId;
        pieces.CopyTo(ids.AsSpan(1));
        ids[^1] = tokenizer.SepId;
        return ids;
    }

    /// <summary>Tokenizes <paramref name="texts"/> (in parallel) and cuts them into windows of <paramref name="maxLength"/> − 2 pieces.</summary>
    public static MlmSequences FromTexts(BertTokenizer tokenizer, IReadOnlyList<string> texts, int maxLength, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(texts);
        if (maxLength < 3) throw new InvalidInputException($"masked-LM sequences need at least 3 tokens (got {maxLength})");
        int window = maxLength - 2;
        var perDocument = new int[texts.Count][];
        Parallel.For(0, texts.Count, new ParallelOptions { CancellationToken = cancellation },
            i => perDocument[i] = tokenizer.Tokenize(texts[i]).Select(t => t.Id).ToArray());
        long total = perDocument.Sum(p => (long)p.Length);
        if (total > Array.MaxLength) throw new InvalidInputException($"the corpus has {total:N0} wordpieces, more than masked-LM pretraining holds in memory ({Array.MaxLength:N0})");
        var pieces = new int[total];
        var starts = new List<long>();
        var lengths = new List<int>();
        long at = 0;
        int documents = 0;
        foreach (var doc in perDocument)
        {
            if (doc.Length > 0) documents++;
            for (int s = 0; s < doc.Length; s += window)
            {
                starts.Add(at + s);
                lengths.Add(Math.Min(window, doc.Length - s));
            }
            doc.CopyTo(pieces, at);
            at += doc.Length;
        }
        return new MlmSequences(pieces, starts.ToArray(), lengths.ToArray(), documents, maxLength);
    }
}

/// <summary>What masking did to one chosen position.</summary>
public enum MaskAction : byte
{
    /// <summary>Replaced by [MASK] (80%).</summary>
    Mask,

    /// <summary>Replaced by a random non-special token (10%).</summary>
    Random,

    /// <summary>Left unchanged (10%), but still predicted.</summary>
    Keep,
}

/// <summary>A masked sequence: the model's input, and the positions (ascending) whose original tokens the loss predicts.</summary>
public sealed record MaskedSequence(int[] InputIds, int[] Positions, int[] Labels, MaskAction[] Actions);

/// <summary>
/// BERT's masking (Devlin et al. 2019; <c>create_pretraining_data.py</c>): of a sequence's n non-special tokens, max(1, round(n·p))
/// are chosen uniformly without replacement; a chosen token becomes [MASK] with probability 0.8, a random token with 0.1 (drawn
/// uniformly from the vocabulary minus the special tokens) and stays itself with 0.1; the loss is the cross-entropy at the chosen
/// positions only. Special tokens ([CLS], [SEP], [PAD], [UNK], [MASK], also when written in the text) are never chosen. Masking is
/// dynamic but deterministic: the draws of (epoch, sequence) come from their own <see cref="Seeds"/> stream.
/// </summary>
public sealed class MlmMasker
{
    public const int MaskStream = 0x3A5C;
    const double MaskShare = 0.8, RandomShare = 0.1;

    readonly bool[] _special;
    readonly int[] _randomPool;
    readonly int _maskId;
    readonly long _seed;

    public MlmMasker(BertTokenizer tokenizer, double probability, long seed)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (!(probability > 0 && probability < 1)) throw new InvalidInputException($"--mlm-probability must be in (0, 1) (got {probability})");
        _maskId = tokenizer.MaskId ?? throw new InvalidInputException($"the tokenizer has no mask token '{tokenizer.Options.MaskToken}': masked-LM pretraining needs one");
        Probability = probability;
        _seed = seed;
        _special = new bool[tokenizer.VocabSize];
        foreach (int id in new[] { tokenizer.ClsId, tokenizer.SepId, tokenizer.PadId, tokenizer.UnkId, _maskId }) _special[id] = true;
        _randomPool = Enumerable.Range(0, tokenizer.VocabSize).Where(id => !_special[id] && tokenizer.TryGetToken(id, out _)).ToArray();
        if (_randomPool.Length == 0) throw new InvalidInputException("the vocabulary has no ordinary tokens to mask with");
    }

    public double Probability { get; }

    public bool IsSpecial(int id) => id >= 0 && id < _special.Length && _special[id];

    /// <summary>Masks sequence <paramref name="index"/> as in <paramref name="epoch"/> (the same result every time).</summary>
    public MaskedSequence Mask(IReadOnlyList<int> inputIds, int epoch, long index) => Mask(inputIds, Seeds.At(_seed, MaskStream, epoch, index));

    public MaskedSequence Mask(IReadOnlyList<int> inputIds, Random rng)
    {
        var ids = inputIds.ToArray();
        var candidates = new List<int>(ids.Length);
        for (int i = 0; i < ids.Length; i++) if (!IsSpecial(ids[i])) candidates.Add(i);
        int k = candidates.Count == 0 ? 0 : Math.Clamp((int)Math.Round(candidates.Count * Probability, MidpointRounding.AwayFromZero), 1, candidates.Count);
        for (int i = 0; i < k; i++) // partial Fisher–Yates: the first k are a uniform sample
        {
            int j = i + rng.Next(candidates.Count - i);
            (candidates[i], candidates[j]) = (candidates[j], candidates[i]);
        }
        var positions = candidates.Take(k).Order().ToArray();
        var labels = new int[k];
        var actions = new MaskAction[k];
        for (int c = 0; c < k; c++)
        {
            int p = positions[c];
            labels[c] = ids[p];
            double u = rng.NextDouble();
            if (u < MaskShare) { ids[p] = _maskId; actions[c] = MaskAction.Mask; }
            else if (u < MaskShare + RandomShare) { ids[p] = _randomPool[rng.Next(_randomPool.Length)]; actions[c] = MaskAction.Random; }
            else actions[c] = MaskAction.Keep;
        }
        return new MaskedSequence(ids, positions, labels, actions);
    }
}
