using DeepSeek.Search.Encode;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using DeepSeek.Search.Torch;
using DeepSeek.Search.Torch.SafeTensors;

namespace DeepSeek.Search.Train.Pretraining;

/// <summary>
/// The masked-LM head of Hugging Face's <c>BertForMaskedLM</c> (<c>BertOnlyMLMHead</c>), parameter for parameter:
/// <c>cls.predictions.transform.dense</c> (H→H) → the config's <c>hidden_act</c> → <c>cls.predictions.transform.LayerNorm</c> →
/// decoder tied to the word embeddings (<c>embeddings.word_embeddings.weight</c>, [V, H], passed to <see cref="Forward"/>) +
/// <c>cls.predictions.bias</c> [V]. It exists only during pretraining: the saved encoder stays a plain BertModel.
/// <para>
/// Weights start as HF's <c>_init_weights</c> (dense normal(0, initializer_range) from a seeded generator, zero biases, LayerNorm 1/0),
/// or from the <c>cls.predictions.*</c> tensors of a BertForMaskedLM checkpoint (<see cref="TryLoad"/>).
/// </para>
/// </summary>
public sealed class BertMlmHead : nn.Module
{
    /// <summary>What HF prefixes the head's parameter names with (this module's own names start at <c>predictions.</c>).</summary>
    public const string HfPrefix = "cls.";

    readonly Predictions _predictions;

    public BertMlmHead(BertConfig config, long seed) : base("BertOnlyMLMHead")
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _predictions = new Predictions(config);
        register_module("predictions", _predictions);
        using var _ = no_grad();
        var gen = new Generator((ulong)seed);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("LayerNorm.weight", StringComparison.Ordinal)) Scalars.With(1.0, one => p.fill_(one));
            else if (name.EndsWith("bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0.0, config.InitializerRange, gen);
        }
    }

    public BertConfig Config { get; }

    /// <summary>Vocabulary logits [n, V] of hidden states [n, H], the decoder being <paramref name="wordEmbeddings"/> [V, H].</summary>
    public Tensor Forward(Tensor hidden, Tensor wordEmbeddings) => _predictions.Forward(hidden, wordEmbeddings);

    /// <summary>Parameters under their Hugging Face names (<c>cls.predictions.…</c>).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> HfParameters() => named_parameters().Select(p => (HfPrefix + p.name, p.parameter));

    /// <summary>
    /// Loads the head from the weights of a Hugging Face BertForMaskedLM folder when they hold all of its tensors with the right shapes
    /// (<c>cls.predictions.decoder.bias</c> stands for <c>cls.predictions.bias</c>; TF-era <c>gamma</c>/<c>beta</c> LayerNorm names
    /// are accepted); false, leaving the weights as they are, when they do not (a plain BertModel checkpoint has no head).
    /// </summary>
    public bool TryLoad(string dir)
    {
        IReadOnlyList<string> files;
        try { files = BertCheckpoint.WeightFiles(dir); }
        catch (Core.CheckpointException) { return false; }
        var readers = new List<SafeTensorsFile>();
        try
        {
            foreach (var f in files) readers.Add(SafeTensorsFile.Open(f));
            var found = new List<(Parameter Target, SafeTensorsFile Reader, string Name)>();
            foreach (var (name, p) in HfParameters())
            {
                var candidates = new List<string> { name };
                if (name == HfPrefix + "predictions.bias") candidates.Add(HfPrefix + "predictions.decoder.bias");
                if (name.EndsWith("LayerNorm.weight", StringComparison.Ordinal)) candidates.Add(name[..^"weight".Length] + "gamma");
                if (name.EndsWith("LayerNorm.bias", StringComparison.Ordinal)) candidates.Add(name[..^"bias".Length] + "beta");
                var hit = readers.SelectMany(r => candidates.Where(c => r.Entries.ContainsKey(c)).Select(c => (r, c))).FirstOrDefault();
                if (hit.r is null) return false;
                var info = hit.r.Entries[hit.c];
                if (!info.Shape.SequenceEqual(p.shape) || info.DType is not (SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16)) return false;
                found.Add((p, hit.r, hit.c));
            }
            using (no_grad())
                foreach (var (p, reader, name) in found)
                {
                    using var t = reader.ReadTensor(name);
                    p.copy_(t);
                }
            return true;
        }
        finally
        {
            foreach (var r in readers) r.Dispose();
        }
    }

    sealed class Predictions : nn.Module
    {
        readonly Transform _transform;

        public Predictions(BertConfig c) : base("BertLMPredictionHead")
        {
            _transform = new Transform(c);
            register_module("transform", _transform);
            register_parameter("bias", new Parameter(zeros(c.VocabSize)));
        }

        // Looked up on every call, never cached in a field: Module.to(device or dtype) replaces registered parameters with new
        // tensors and disposes the old ones, so a cached reference would be an empty handle after moving the head to a GPU.
        Parameter Bias => get_parameter("bias") ?? throw new InvalidOperationException("the masked-LM head lost its bias");

        public Tensor Forward(Tensor hidden, Tensor wordEmbeddings) => Functional.Affine(_transform.Forward(hidden), wordEmbeddings, Bias);
    }

    sealed class Transform : nn.Module
    {
        readonly Linear _dense;
        readonly LayerNorm _norm;
        readonly string _act;

        public Transform(BertConfig c) : base("BertPredictionHeadTransform")
        {
            _act = c.HiddenAct;
            _dense = nn.Linear(c.HiddenSize, c.HiddenSize);
            _norm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
            register_module("dense", _dense);
            register_module("LayerNorm", _norm);
        }

        public Tensor Forward(Tensor x) => _norm.forward(Functional.Activation(Functional.Affine(x, _dense.weight!, _dense.bias), _act));
    }
}
