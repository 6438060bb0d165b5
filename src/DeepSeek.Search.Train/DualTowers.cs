using DeepSeek.Search.Encode;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using PoolingOps = DeepSeek.Search.Encode.Pooling;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train;

/// <summary>
/// The towers being trained: the query model and the document model (the same object when tied), in float32 on the training device —
/// the master weights the optimizer updates and checkpoints save. With <see cref="ScalarType.BFloat16"/> compute, each tower also has a
/// bf16 working copy that runs the forward and backward passes; after backward its gradients are copied (as float32) into the master
/// parameters, and after the optimizer step the master weights are copied back (mixed precision with fp32 master weights: TorchSharp
/// 0.107 has no autocast). Pooling, normalisation and the loss run in float32 either way.
/// The pooler of a BERT checkpoint is kept (so Hugging Face loads the saved model without warnings) but not trained: no pooling mode
/// uses it.
/// </summary>
public sealed class DualTowers : IDisposable
{
    readonly BertModel? _queryWork, _documentWork;
    readonly List<(string Name, Parameter Master, Parameter? Work)> _trainable = new();

    public DualTowers(BertModel query, BertModel? document, PoolingMode pooling, bool normalize, Device device, ScalarType compute)
    {
        if (compute is not (ScalarType.Float32 or ScalarType.BFloat16)) throw new ArgumentException($"unsupported compute type {compute}");
        Query = query;
        Document = document ?? query;
        Tied = ReferenceEquals(Query, Document);
        Pooling = pooling;
        Normalize = normalize;
        Device = device;
        Compute = compute;
        Query.To(device);
        if (!Tied) Document.To(device);
        if (compute == ScalarType.BFloat16)
        {
            _queryWork = WorkingCopy(Query);
            _documentWork = Tied ? _queryWork : WorkingCopy(Document);
        }
        Collect(Query, _queryWork, Tied ? "" : "query.");
        if (!Tied) Collect(Document, _documentWork, "document.");
    }

    public BertModel Query { get; }
    public BertModel Document { get; }
    public bool Tied { get; }
    public PoolingMode Pooling { get; }
    public bool Normalize { get; }
    public Device Device { get; }
    public ScalarType Compute { get; }

    /// <summary>Master parameters that train (both towers; names prefixed query./document. when untied), pooler excluded.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => _trainable.Select(t => (t.Name, t.Master));

    /// <summary>The model the document tower's passes run on: its bf16 working copy, or the fp32 master itself.</summary>
    internal BertModel DocumentWorking => _documentWork ?? Document;

    /// <summary>The document tower's trainable master parameters (all of them when tied).</summary>
    internal IEnumerable<(string Name, Parameter Parameter)> DocumentParameters() =>
        _trainable.Where(t => Tied || t.Name.StartsWith("document.", StringComparison.Ordinal)).Select(t => (t.Name, t.Master));

    /// <summary>Untied: the document tower's master weights (pooler included) become the query tower's too; working copies follow.</summary>
    internal void CopyDocumentIntoQuery()
    {
        if (Tied) return;
        CopyWeights(Document, Query);
        MasterToWorking();
    }

    /// <summary>Copies the weights of <paramref name="query"/> (and <paramref name="document"/> when untied) into the master towers.</summary>
    internal void LoadWeights(BertModel query, BertModel? document)
    {
        CopyWeights(query, Query);
        if (!Tied) CopyWeights(document ?? throw new ArgumentNullException(nameof(document)), Document);
        MasterToWorking();
    }

    static void CopyWeights(BertModel from, BertModel to)
    {
        using var _ = no_grad();
        var source = from.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in to.named_parameters())
        {
            if (!source.TryGetValue(name, out var s) || !s.shape.SequenceEqual(p.shape))
                throw new Core.CheckpointException($"tower weights do not match: '{name}' is missing or has another shape");
            p.copy_(s);
        }
    }

    BertModel WorkingCopy(BertModel master)
    {
        var work = new BertModel(master.Config, master.HasPooler);
        work.To(Device, ScalarType.BFloat16);
        using (no_grad())
            foreach (var ((_, m), (_, w)) in master.named_parameters().Zip(work.named_parameters())) w.copy_(m);
        return work;
    }

    void Collect(BertModel master, BertModel? work, string prefix)
    {
        var workParams = work?.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in master.named_parameters())
        {
            bool pooler = name.StartsWith("pooler.", StringComparison.Ordinal);
            p.requires_grad = !pooler;
            var w = workParams?[name];
            if (w is not null) w.requires_grad = !pooler;
            if (!pooler) _trainable.Add((prefix + name, p, w));
        }
    }

    /// <summary>Pooled (and, if set, L2-normalised) float32 embeddings [n, hidden] of one tower.</summary>
    public Tensor Embed(bool query, Tensor ids, Tensor mask)
    {
        var model = query ? (_queryWork ?? Query) : (_documentWork ?? Document);
        var hidden = model.Forward(ids, mask).LastHiddenState.to(ScalarType.Float32);
        var pooled = PoolingOps.Apply(Pooling, hidden, mask);
        return Normalize ? PoolingOps.L2Normalize(pooled) : pooled;
    }

    /// <summary>After backward in bf16: the working gradients, as float32, become the master gradients. No-op in float32.</summary>
    public void GradientsToMaster()
    {
        if (_queryWork is not null) MixedPrecision.GradientsToMaster(_trainable.Select(t => (t.Master, t.Work)));
    }

    /// <summary>After the optimizer step in bf16: the master weights are copied into the working copies, whose gradients are zeroed.</summary>
    public void MasterToWorking()
    {
        if (_queryWork is not null) MixedPrecision.MasterToWorking(_trainable.Select(t => (t.Master, t.Work)));
    }

    public void Dispose()
    {
        _queryWork?.Dispose();
        if (!ReferenceEquals(_documentWork, _queryWork)) _documentWork?.Dispose();
        Query.Dispose();
        if (!Tied) Document.Dispose();
    }
}
