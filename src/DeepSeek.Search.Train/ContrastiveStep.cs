using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Train.Losses;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train;

/// <summary>
/// Forward + backward of one batch, leaving the gradients of the loss in the master parameters (and in the learnable temperature).
/// <para>
/// With a chunk size smaller than the batch this is GradCache (Gao et al. 2021): (1) embed all queries and documents chunk by chunk
/// without a graph; (2) compute the loss on those embeddings as leaves and backpropagate to them only; (3) re-embed each chunk with a
/// graph and backpropagate the cached embedding gradients through it (∂L/∂θ = Σ ∂L/∂e · ∂e/∂θ). Memory then scales with the chunk, not
/// the batch, and the gradient is that of the full batch (up to float rounding; the model has no dropout, so the re-run is exact).
/// </para>
/// </summary>
public sealed class ContrastiveStep
{
    readonly DualTowers _towers;
    readonly BertTokenizer _tokenizer;
    readonly IContrastiveLoss _loss;
    readonly Tensor? _logitScale;

    public ContrastiveStep(DualTowers towers, BertTokenizer tokenizer, IContrastiveLoss loss, Tensor? logitScale,
        int maxQueryLength, int maxDocumentLength, string queryPrefix = "", string documentPrefix = "", int chunkSize = 0)
    {
        _towers = towers;
        _tokenizer = tokenizer;
        _loss = loss;
        _logitScale = logitScale;
        MaxQueryLength = maxQueryLength;
        MaxDocumentLength = maxDocumentLength;
        QueryPrefix = queryPrefix;
        DocumentPrefix = documentPrefix;
        ChunkSize = chunkSize;
    }

    public int MaxQueryLength { get; }
    public int MaxDocumentLength { get; }
    public string QueryPrefix { get; }
    public string DocumentPrefix { get; }

    /// <summary>Sequences per forward pass; 0 = everything in one pass.</summary>
    public int ChunkSize { get; }

    /// <summary>Runs the batch; returns the loss value. Gradients accumulate into the parameters (the caller zeroes them).</summary>
    public double Run(ContrastiveBatch batch)
    {
        using var scope = NewDisposeScope();
        var device = _towers.Device;
        var queries = new TokenizedTexts(_tokenizer, batch.Queries, MaxQueryLength, QueryPrefix);
        var documents = new TokenizedTexts(_tokenizer, batch.Documents, MaxDocumentLength, DocumentPrefix);
        var exclude = tensor(batch.Exclude, new long[] { queries.Count, documents.Count }).to(device);

        double value;
        if (ChunkSize <= 0 || (queries.Count <= ChunkSize && documents.Count <= ChunkSize))
        {
            var q = Embed(true, queries, 0, queries.Count);
            var d = Embed(false, documents, 0, documents.Count);
            var loss = _loss.Forward(q, d, exclude, _logitScale);
            loss.backward();
            value = loss.item<float>();
        }
        else
        {
            Tensor qCached, dCached;
            using (no_grad())
            {
                qCached = EmbedChunked(true, queries);
                dCached = EmbedChunked(false, documents);
            }
            var qLeaf = qCached.detach().requires_grad_(true);
            var dLeaf = dCached.detach().requires_grad_(true);
            var loss = _loss.Forward(qLeaf, dLeaf, exclude, _logitScale);
            loss.backward();
            value = loss.item<float>();
            Replay(true, queries, qLeaf.grad!);
            Replay(false, documents, dLeaf.grad!);
        }
        _towers.GradientsToMaster();
        return value;
    }

    Tensor Embed(bool query, TokenizedTexts texts, int start, int count)
    {
        var (ids, mask) = texts.Tensors(start, count, _towers.Device);
        return _towers.Embed(query, ids, mask);
    }

    Tensor EmbedChunked(bool query, TokenizedTexts texts)
    {
        var parts = new List<Tensor>();
        for (int s = 0; s < texts.Count; s += ChunkSize)
        {
            // one scope per chunk: only the embeddings outlive it, so memory is that of one chunk's activations
            using var chunkScope = NewDisposeScope();
            parts.Add(Embed(query, texts, s, Math.Min(ChunkSize, texts.Count - s)).MoveToOuterDisposeScope());
        }
        return parts.Count == 1 ? parts[0] : cat(parts, 0);
    }

    void Replay(bool query, TokenizedTexts texts, Tensor gradient)
    {
        for (int s = 0; s < texts.Count; s += ChunkSize)
        {
            using var chunkScope = NewDisposeScope();
            int n = Math.Min(ChunkSize, texts.Count - s);
            var e = Embed(query, texts, s, n);
            (e * gradient.narrow(0, s, n)).sum().backward();
        }
    }
}
