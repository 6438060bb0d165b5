using DeepSeek.Search.Core;
using DeepSeek.Search.Ingest;
using DeepSeek.Search.Text.Tokenization;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Training;

/// <summary>
/// The text of a language-model corpus: a BEIR <c>corpus.jsonl</c>, a generic JSONL file or a folder of .txt/.md/.html files (read by
/// <see cref="DocumentSource"/>: a document is its title and text, one blank line apart), or a plain text file (<c>.txt</c> or any
/// other extension that is not JSONL), whose documents are separated by blank lines.
/// </summary>
public static class LmCorpus
{
    static readonly HashSet<string> JsonlExtensions = new(StringComparer.OrdinalIgnoreCase) { ".jsonl", ".ndjson", ".jsonlines" };

    /// <summary>The documents' texts, in corpus order (empty documents skipped). Throws when the path is missing.</summary>
    public static List<string> ReadTexts(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path) || File.Exists(path) && JsonlExtensions.Contains(Path.GetExtension(path)))
        {
            var texts = new List<string>();
            foreach (var d in DocumentSource.Open(path))
            {
                string text = string.IsNullOrWhiteSpace(d.Title) ? d.Text : string.IsNullOrWhiteSpace(d.Text) ? d.Title : d.Title + "\n\n" + d.Text;
                if (!string.IsNullOrWhiteSpace(text)) texts.Add(text.Trim());
            }
            return texts;
        }
        if (!File.Exists(path)) throw new InvalidInputException($"corpus not found: {path}");
        return SplitParagraphDocuments(File.ReadAllText(path));
    }

    /// <summary>Documents of a plain text: runs of lines separated by one or more blank lines.</summary>
    internal static List<string> SplitParagraphDocuments(string text)
    {
        var docs = new List<string>();
        var current = new System.Text.StringBuilder();
        foreach (var raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            if (raw.Trim().Length == 0)
            {
                if (current.Length > 0) { docs.Add(current.ToString()); current.Clear(); }
                continue;
            }
            if (current.Length > 0) current.Append('\n');
            current.Append(raw.TrimEnd());
        }
        if (current.Length > 0) docs.Add(current.ToString());
        return docs;
    }
}

/// <summary>
/// A tokenised corpus packed into fixed-length blocks: every document becomes its tokenizer's encoding (BOS first when the tokenizer
/// adds one) followed by EOS, the documents are concatenated in corpus order, and the stream is cut into <c>SeqLen</c>-token blocks (the
/// tail that fills no block is dropped). Every k-th block (k = round(1 / validation fraction)) is held out for validation — a
/// deterministic slice spread over the whole corpus — and the rest train.
/// </summary>
public sealed class PackedBlocks : ILmExamples
{
    PackedBlocks(int seqLen, long[] tokens, int[] train, int[] validation, int documents)
    {
        SeqLen = seqLen;
        _tokens = tokens;
        Train = train;
        Validation = validation;
        Documents = documents;
    }

    readonly long[] _tokens;

    public int SeqLen { get; }

    /// <summary>Block indices of the training and validation sets.</summary>
    public IReadOnlyList<int> Train { get; }
    public IReadOnlyList<int> Validation { get; }

    public int Documents { get; }

    /// <summary>Tokens in the packed stream (whole blocks only).</summary>
    public long Tokens => _tokens.Length;

    public int BlockCount => _tokens.Length / SeqLen;

    /// <summary>The tokens of block <paramref name="index"/> appended to <paramref name="into"/>.</summary>
    public void CopyBlock(int index, List<long> into) => into.AddRange(new ArraySegment<long>(_tokens, index * SeqLen, SeqLen));

    /// <summary>The blocks as a [rows, SeqLen] batch; every token is a target (the labels are the ids).</summary>
    public LmBatch Batch(IEnumerable<int> indices, Device device)
    {
        var ids = new List<long>();
        int rows = 0;
        foreach (int b in indices) { CopyBlock(b, ids); rows++; }
        var t = tensor(ids.ToArray(), new long[] { rows, SeqLen }, ScalarType.Int64).to(device);
        return new LmBatch(t, t, (long)rows * SeqLen);
    }

    public static PackedBlocks Build(IReadOnlyList<string> texts, ByteLevelBpeTokenizer tokenizer, int seqLen, double validationFraction,
        CancellationToken cancellation = default)
    {
        if (texts.Count == 0) throw new InvalidInputException("the corpus holds no text (no non-empty documents)");
        int eos = tokenizer.EosTokenId ?? throw new InvalidInputException("the tokenizer has no eos_token (tokenizer_config.json): documents cannot be separated");
        var encoded = new int[texts.Count][];
        Parallel.For(0, texts.Count, new ParallelOptions { CancellationToken = cancellation },
            i => encoded[i] = tokenizer.Encode(texts[i], addSpecialTokens: true, splitSpecialTokens: true));
        long total = encoded.Sum(e => (long)e.Length + 1);
        long usable = total / seqLen * seqLen;
        if (usable == 0)
            throw new InvalidInputException($"the corpus is too small: {total:N0} tokens, fewer than one --seq-len block of {seqLen}");
        if (usable > int.MaxValue) throw new InvalidInputException($"the corpus has {usable:N0} tokens; at most {int.MaxValue:N0} are supported");
        var tokens = new long[usable];
        long n = 0;
        foreach (var e in encoded)
        {
            foreach (int id in e) { if (n == usable) break; tokens[n++] = id; }
            if (n == usable) break;
            tokens[n++] = eos;
        }
        int blocks = (int)(usable / seqLen);
        var train = new List<int>();
        var validation = new List<int>();
        int every = validationFraction > 0 ? Math.Max(2, (int)Math.Round(1.0 / validationFraction)) : 0;
        for (int b = 0; b < blocks; b++)
            (every > 0 && b % every == every - 1 ? validation : train).Add(b);
        if (validationFraction > 0 && validation.Count == 0 && blocks >= 2)
        {
            validation.Add(train[^1]);
            train.RemoveAt(train.Count - 1);
        }
        if (train.Count == 0)
            throw new InvalidInputException($"the corpus is too small: {blocks} block(s) of {seqLen} tokens leave none for training after the validation slice");
        return new PackedBlocks(seqLen, tokens, train.ToArray(), validation.ToArray(), texts.Count);
    }
}
