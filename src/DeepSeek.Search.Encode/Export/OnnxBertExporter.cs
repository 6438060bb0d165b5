using DeepSeek.Search.Core;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using static DeepSeek.Search.Encode.Export.OnnxAttributes;
using static TorchSharp.torch;

namespace DeepSeek.Search.Encode.Export;

/// <summary>What <see cref="OnnxBertExporter.Export"/> wrote.</summary>
public sealed record OnnxExportResult(string Path, int Opset, int Nodes, long Parameters, long Bytes);

/// <summary>
/// Writes one tower of an encoder as an ONNX model (opset <see cref="Opset"/>, IR version 8) that any ONNX runtime can run
/// without us: the graph a Hugging Face BERT export has (inputs <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c>,
/// int64 [batch, sequence]; output <c>last_hidden_state</c> [batch, sequence, hidden]), plus <c>sentence_embedding</c>
/// [batch, hidden]: the encoder's own pooling (mean over the mask, or [CLS]) and L2 normalisation when it normalises, as
/// sentence-transformers' ONNX exports name it. Standard operators only (Gather, MatMul, Softmax, LayerNormalization, Erf...),
/// float32 weights stored in the file. The text side (WordPiece, prefixes, truncation) is not in the graph: the folder's
/// vocab.txt and dual_encoder.json say what a deployment must do before it.
/// <para>
/// Checked against our TorchSharp <see cref="BertModel"/> and <see cref="TextEncoder"/> by running the written file in ONNX
/// Runtime 1.31 (tests/DeepSeek.Search.Encode.Tests/OnnxExportTests.cs): states and embeddings within 1e-4.
/// </para>
/// </summary>
public static class OnnxBertExporter
{
    /// <summary>The operator set the graph is written for (LayerNormalization needs 17).</summary>
    public const int Opset = 17;

    /// <summary>Graph input and output names.</summary>
    public const string InputIds = "input_ids", AttentionMask = "attention_mask", TokenTypeIds = "token_type_ids",
        LastHiddenState = "last_hidden_state", SentenceEmbedding = "sentence_embedding";

    /// <summary>
    /// Exports <paramref name="model"/> with <paramref name="pooling"/> (and L2 normalisation when <paramref name="normalize"/>)
    /// to <paramref name="path"/>, written whole or not at all.
    /// </summary>
    public static OnnxExportResult Export(BertModel model, PoolingMode pooling, bool normalize, string path, string? docString = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var graph = new Builder(model);
        var hidden = graph.Encode();
        graph.Output(LastHiddenState, hidden, ["batch", "sequence", model.HiddenSize]);
        graph.Output(SentenceEmbedding, graph.Pool(hidden, pooling, normalize), ["batch", model.HiddenSize]);
        var onnx = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "DeepSeek.Search",
            ProducerVersion = typeof(OnnxBertExporter).Assembly.GetName().Version?.ToString() ?? "",
            DocString = docString ?? "",
            Graph = graph.Graph,
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        onnx.MetadataProps.Add(new StringStringEntryProto { Key = "pooling", Value = Pooling.Name(pooling) });
        onnx.MetadataProps.Add(new StringStringEntryProto { Key = "normalize", Value = normalize ? "true" : "false" });
        var bytes = onnx.ToByteArray();
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        AtomicFile.WriteAllBytes(full, bytes);
        return new OnnxExportResult(full, Opset, graph.Graph.Node.Count, graph.Parameters, bytes.LongLength);
    }

    /// <summary>Builds the graph node by node; each helper returns the name of the value it produced.</summary>
    sealed class Builder
    {
        readonly BertModel _model;
        readonly Dictionary<string, Tensor> _weights;
        int _next;

        public GraphProto Graph { get; } = new() { Name = "bert" };
        public long Parameters { get; private set; }

        public Builder(BertModel model)
        {
            _model = model;
            _weights = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
            foreach (var name in new[] { InputIds, AttentionMask, TokenTypeIds }) Input(name);
        }

        BertConfig Config => _model.Config;

        void Input(string name) =>
            Graph.Input.Add(new ValueInfoProto { Name = name, Type = TensorType(TensorProto.Types.DataType.Int64, ["batch", "sequence"]) });

        public void Output(string name, string value, object[] dims)
        {
            Node("Identity", [value], name);
            Graph.Output.Add(new ValueInfoProto { Name = name, Type = TensorType(TensorProto.Types.DataType.Float, dims) });
        }

        static TypeProto TensorType(TensorProto.Types.DataType type, object[] dims)
        {
            var shape = new TensorShapeProto();
            foreach (var d in dims)
                shape.Dim.Add(d is string p ? new TensorShapeProto.Types.Dimension { DimParam = p } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
            return new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } };
        }

        string Fresh(string hint) => $"{hint}_{_next++}";

        /// <summary>Adds a node with one output (named <paramref name="output"/>, or a fresh name) and returns that name.</summary>
        string Node(string op, string[] inputs, string? output = null, params AttributeProto[] attributes)
        {
            var node = new NodeProto { OpType = op, Name = Fresh(op) };
            node.Input.AddRange(inputs);
            string name = output ?? Fresh(op.ToLowerInvariant());
            node.Output.Add(name);
            node.Attribute.AddRange(attributes);
            Graph.Node.Add(node);
            return name;
        }


        /// <summary>A float32 initializer of the model's parameter <paramref name="parameter"/> (transposed first for a Linear weight, [out, in] → [in, out]).</summary>
        string Weight(string parameter, bool transpose = false)
        {
            if (!_weights.TryGetValue(parameter, out var p)) throw new CheckpointException($"ONNX export: the model has no parameter '{parameter}'");
            using var scope = NewDisposeScope();
            var t = p.detach().to(ScalarType.Float32).cpu();
            if (transpose) t = t.t();
            t = t.contiguous();
            var data = t.data<float>().ToArray();
            var proto = new TensorProto { Name = parameter, DataType = (int)TensorProto.Types.DataType.Float };
            proto.Dims.AddRange(t.shape);
            proto.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
            Graph.Initializer.Add(proto);
            Parameters += data.LongLength;
            return parameter;
        }

        string FloatConstant(string hint, params float[] values)
        {
            var proto = new TensorProto { Name = Fresh(hint), DataType = (int)TensorProto.Types.DataType.Float };
            if (values.Length != 1) proto.Dims.Add(values.Length);
            proto.FloatData.AddRange(values);
            Graph.Initializer.Add(proto);
            return proto.Name;
        }

        string IntConstant(string hint, params long[] values)
        {
            var proto = new TensorProto { Name = Fresh(hint), DataType = (int)TensorProto.Types.DataType.Int64 };
            proto.Dims.Add(values.Length);
            proto.Int64Data.AddRange(values);
            Graph.Initializer.Add(proto);
            return proto.Name;
        }

        string Linear(string x, string prefix) =>
            Node("Add", [Node("MatMul", [x, Weight(prefix + ".weight", transpose: true)]), Weight(prefix + ".bias")]);

        string LayerNorm(string x, string prefix) =>
            Node("LayerNormalization", [x, Weight(prefix + ".weight"), Weight(prefix + ".bias")], null, Int("axis", -1), Float("epsilon", (float)Config.LayerNormEps));

        /// <summary>The embeddings and every layer: last_hidden_state.</summary>
        public string Encode()
        {
            // word + token type + position embeddings (positions 0..seq-1: the first seq rows of the table), then LayerNorm
            string words = Node("Gather", [Weight("embeddings.word_embeddings.weight"), InputIds], null, Int("axis", 0));
            string types = Node("Gather", [Weight("embeddings.token_type_embeddings.weight"), TokenTypeIds], null, Int("axis", 0));
            string seq = Node("Shape", [InputIds], null, Int("start", 1), Int("end", 2));
            string positions = Node("Slice", [Weight("embeddings.position_embeddings.weight"), IntConstant("zero", 0), seq, IntConstant("axis0", 0)]);
            string x = LayerNorm(Node("Add", [Node("Add", [words, types]), positions]), "embeddings.LayerNorm");

            // The additive attention bias [batch, 1, 1, seq]: 0 for tokens, float32's lowest value for padding (as transformers).
            string keep = Node("Cast", [AttentionMask], null, Int("to", (long)TensorProto.Types.DataType.Float));
            string masked = Node("Sub", [FloatConstant("one", 1f), keep]);
            string bias = Node("Unsqueeze", [Node("Mul", [masked, FloatConstant("lowest", float.MinValue)]), IntConstant("axes12", 1, 2)]);

            for (int l = 0; l < Config.NumHiddenLayers; l++) x = Layer(x, bias, $"encoder.layer.{l}");
            return x;
        }

        string Layer(string x, string bias, string prefix)
        {
            long heads = Config.NumAttentionHeads, headDim = Config.HeadDim;
            string split = IntConstant("heads_shape", 0, 0, heads, headDim);
            string Heads(string name, params long[] perm) =>
                Node("Transpose", [Node("Reshape", [Linear(x, $"{prefix}.attention.self.{name}"), split])], null, Ints("perm", perm));
            string q = Heads("query", 0, 2, 1, 3), kT = Heads("key", 0, 2, 3, 1), v = Heads("value", 0, 2, 1, 3);
            // softmax(Q Kᵀ / √d + bias) V
            string scores = Node("Add", [Node("Mul", [Node("MatMul", [q, kT]), FloatConstant("scale", (float)(1 / Math.Sqrt(headDim)))]), bias]);
            string context = Node("MatMul", [Node("Softmax", [scores], null, Int("axis", -1)), v]);
            string merged = Node("Reshape", [Node("Transpose", [context], null, Ints("perm", 0, 2, 1, 3)), IntConstant("merged_shape", 0, 0, heads * headDim)]);
            string attended = LayerNorm(Node("Add", [Linear(merged, $"{prefix}.attention.output.dense"), x]), $"{prefix}.attention.output.LayerNorm");
            string inner = Activation(Linear(attended, $"{prefix}.intermediate.dense"));
            return LayerNorm(Node("Add", [Linear(inner, $"{prefix}.output.dense"), attended]), $"{prefix}.output.LayerNorm");
        }

        /// <summary>The activations of <see cref="BertConfig.HiddenAct"/>, as DeepSeek.Search.Torch.Functional.Activation computes them.</summary>
        string Activation(string x)
        {
            switch (Config.HiddenAct)
            {
                case "gelu": // x · ½ · (1 + erf(x / √2))
                    string erf = Node("Erf", [Node("Div", [x, FloatConstant("sqrt2", MathF.Sqrt(2))])]);
                    return Node("Mul", [Node("Mul", [x, FloatConstant("half", 0.5f)]), Node("Add", [erf, FloatConstant("one", 1f)])]);
                case "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast": // ½ · x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
                    string cube = Node("Mul", [Node("Mul", [x, x]), x]);
                    string inner = Node("Mul", [Node("Add", [x, Node("Mul", [cube, FloatConstant("c", 0.044715f)])]), FloatConstant("sqrt_2_pi", (float)Math.Sqrt(2 / Math.PI))]);
                    return Node("Mul", [Node("Mul", [x, FloatConstant("half", 0.5f)]), Node("Add", [Node("Tanh", [inner]), FloatConstant("one", 1f)])]);
                case "quick_gelu": // x · σ(1.702 x)
                    return Node("Mul", [x, Node("Sigmoid", [Node("Mul", [x, FloatConstant("k", 1.702f)])])]);
                case "relu":
                    return Node("Relu", [x]);
                case "silu" or "swish":
                    return Node("Mul", [x, Node("Sigmoid", [x])]);
                case "tanh":
                    return Node("Tanh", [x]);
                default:
                    throw new CheckpointException($"ONNX export: unsupported hidden_act '{Config.HiddenAct}'");
            }
        }

        /// <summary>Pooling and normalisation as <see cref="Pooling"/> computes them (mean: Σ h·m / max(Σ m, 1e-9); x / max(‖x‖, 1e-12)).</summary>
        public string Pool(string hidden, PoolingMode pooling, bool normalize)
        {
            string pooled;
            if (pooling == PoolingMode.Cls) // the first position: Gather with a [1] index keeps the axis, Reshape drops it
                pooled = Node("Reshape", [Node("Gather", [hidden, IntConstant("first", 0)], null, Int("axis", 1)), IntConstant("rows", 0, Config.HiddenSize)]);
            else
            {
                string mask = Node("Unsqueeze", [Node("Cast", [AttentionMask], null, Int("to", (long)TensorProto.Types.DataType.Float)), IntConstant("axis2", 2)]);
                string axis1 = IntConstant("axis1", 1);
                string sum = Node("ReduceSum", [Node("Mul", [hidden, mask]), axis1], null, Int("keepdims", 0));
                string count = Node("Max", [Node("ReduceSum", [mask, axis1], null, Int("keepdims", 0)), FloatConstant("tiny", 1e-9f)]);
                pooled = Node("Div", [sum, count]);
            }
            if (!normalize) return pooled;
            string norm = Node("Sqrt", [Node("ReduceSum", [Node("Mul", [pooled, pooled]), IntConstant("last", -1)], null, Int("keepdims", 1))]);
            return Node("Div", [pooled, Node("Max", [norm, FloatConstant("eps", 1e-12f)])]);
        }
    }
}
