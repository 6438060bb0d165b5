using Google.Protobuf;
using Onnx;
using static DeepSeek.Search.Encode.Export.OnnxAttributes;

namespace DeepSeek.Search.Encode.Tests;

/// <summary>
/// Builds small, runnable BERT encoder graphs in the layout <c>torch.onnx.export</c> gives a Hugging Face <c>BertModel</c> (opset 17):
/// named embeddings, biases and LayerNorm parameters, anonymous <c>MatMul</c> weights stored [in, out] with an <c>Add</c> of the named
/// bias after each, the head split by a <c>Reshape</c> to [0, 0, heads, head_dim], GELU as Erf (or tanh, or ReLU), LayerNorm
/// decomposed or as <c>LayerNormalization</c>; random weights from a seed. The knobs below break one part at a time.
/// </summary>
public sealed class SyntheticBertOnnx
{
    public int Vocab { get; init; } = 40;
    public int Hidden { get; init; } = 16;
    public int Heads { get; init; } = 4;
    public int Ffn { get; init; } = 32;
    public int Layers { get; init; } = 2;
    public int Positions { get; init; } = 24;
    public float Epsilon { get; init; } = 1e-12f;
    /// <summary>erf (gelu), tanh (gelu_new), relu, or sin (no BERT activation).</summary>
    public string Activation { get; init; } = "erf";
    /// <summary>LayerNorm as one <c>LayerNormalization</c> node instead of ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add.</summary>
    public bool FusedLayerNorm { get; init; }
    /// <summary>Prefix of every parameter name (<c>bert.</c> for BertForX exports).</summary>
    public string Prefix { get; init; } = "";
    /// <summary>A LayerNorm (e.g. <c>encoder.layer.1.attention.output.LayerNorm</c>) left out: the residual sum goes on unnormalised.</summary>
    public string? OmitLayerNorm { get; init; }
    /// <summary>The [heads, head_dim] the query's Reshape splits into, when it should differ from <see cref="Heads"/> × hidden / heads.</summary>
    public (int Heads, int Dim)? QuerySplit { get; init; }
    /// <summary>This projection's bias (e.g. <c>encoder.layer.0.attention.self.key</c>) is an anonymous initializer too.</summary>
    public string? AnonymousBias { get; init; }
    /// <summary>A BertForSequenceClassification-style head of this many labels on the [CLS] state (<c>classifier.weight</c> in a Gemm), output <c>logits</c>.</summary>
    public int ClassifierLabels { get; init; }
    /// <summary>The head as an anonymous MatMul weight plus an Add of <c>classifier.bias</c> instead of a Gemm.</summary>
    public bool ClassifierAsMatMul { get; init; }
    public int Seed { get; init; } = 7;

    /// <summary>The vocabulary lines that go with <see cref="Vocab"/>: the BERT specials, then plain words.</summary>
    public IEnumerable<string> VocabLines() =>
        new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(0, Vocab - 5).Select(i => $"w{i}"));

    public void Save(string path, string? vocabPath = null)
    {
        using (var f = File.Create(path)) Build().WriteTo(f);
        if (vocabPath != null) File.WriteAllLines(vocabPath, VocabLines());
    }

    // ---- graph construction ----

    GraphProto _g = null!;
    Random _rng = null!;
    int _anon;
    int _node;

    public ModelProto Build()
    {
        _g = new GraphProto { Name = "synthetic-bert" };
        _rng = new Random(Seed);
        _anon = 900;
        _node = 0;
        foreach (var input in new[] { "input_ids", "attention_mask", "token_type_ids" }) _g.Input.Add(Value(input, TensorProto.Types.DataType.Int64, "batch", "sequence"));
        _g.Output.Add(Value("last_hidden_state", TensorProto.Types.DataType.Float, "batch", "sequence", Hidden.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        // extended attention mask: (1 - mask) * -10000, [batch, 1, 1, sequence]
        string m = Node("Unsqueeze", "attention_mask", Ints64(1, 2));
        m = Node("Cast", new[] { m }, Int("to", (long)TensorProto.Types.DataType.Float));
        string mask = Node("Mul", Node("Sub", Scalar(1f), m), Scalar(-10000f));

        // embeddings: word + token type + position (position_ids[:, :sequence])
        Named("embeddings.position_ids", new[] { 1L, Positions }, Enumerable.Range(0, Positions).Select(i => (long)i).ToArray());
        string seq = Node("Slice", Node("Shape", "input_ids"), Ints64(1), Ints64(2));
        string positionIds = Node("Slice", P("embeddings.position_ids"), Ints64(0), seq, Ints64(1));
        string x = Node("Add", Node("Add",
            Node("Gather", Named("embeddings.word_embeddings.weight", Vocab, Hidden), "input_ids"),
            Node("Gather", Named("embeddings.token_type_embeddings.weight", 2, Hidden), "token_type_ids")),
            Node("Gather", Named("embeddings.position_embeddings.weight", Positions, Hidden), positionIds));
        x = LayerNorm("embeddings.LayerNorm", x);

        int dim = Hidden / Heads;
        for (int l = 0; l < Layers; l++)
        {
            string p = $"encoder.layer.{l}.";
            var split = QuerySplit ?? (Heads, dim);
            string q = Node("Transpose", new[] { Node("Reshape", Linear(p + "attention.self.query", x, Hidden, Hidden), Ints64(0, 0, split.Heads, split.Dim)) }, Ints("perm", 0, 2, 1, 3));
            string k = Node("Transpose", new[] { Node("Reshape", Linear(p + "attention.self.key", x, Hidden, Hidden), Ints64(0, 0, Heads, dim)) }, Ints("perm", 0, 2, 3, 1));
            string v = Node("Transpose", new[] { Node("Reshape", Linear(p + "attention.self.value", x, Hidden, Hidden), Ints64(0, 0, Heads, dim)) }, Ints("perm", 0, 2, 1, 3));
            string scores = Node("Add", Node("Div", Node("MatMul", q, k), Scalar(MathF.Sqrt(dim))), mask);
            string probs = Node("Softmax", new[] { scores }, Int("axis", -1));
            string context = Node("Reshape", Node("Transpose", new[] { Node("MatMul", probs, v) }, Ints("perm", 0, 2, 1, 3)), Ints64(0, 0, Hidden));
            x = LayerNorm(p + "attention.output.LayerNorm", Node("Add", Linear(p + "attention.output.dense", context, Hidden, Hidden), x));

            string i = Linear(p + "intermediate.dense", x, Hidden, Ffn);
            string a = Activation switch
            {
                "erf" => Node("Mul", Node("Mul", i, Node("Add", Node("Erf", Node("Div", i, Scalar(MathF.Sqrt(2f)))), Scalar(1f))), Scalar(0.5f)),
                "tanh" => Node("Mul", Node("Mul", Scalar(0.5f), i), Node("Add", Scalar(1f), Node("Tanh", Node("Mul", Scalar(MathF.Sqrt(2f / MathF.PI)),
                    Node("Add", i, Node("Mul", Scalar(0.044715f), Node("Pow", i, Scalar(3f)))))))),
                "relu" => Node("Relu", i),
                "sin" => Node("Sin", i),
                _ => throw new ArgumentOutOfRangeException(nameof(Activation), Activation, null),
            };
            x = LayerNorm(p + "output.LayerNorm", Node("Add", Linear(p + "output.dense", a, Ffn, Hidden), x));
        }
        _g.Node.Add(new NodeProto { OpType = "Identity", Name = "output", Input = { x }, Output = { "last_hidden_state" } });
        if (ClassifierLabels > 0)
        {
            string cls = Node("Reshape", Node("Gather", new[] { x, Ints64(0) }, Int("axis", 1)), Ints64(0, Hidden));
            if (ClassifierAsMatMul)
                _g.Node.Add(new NodeProto { OpType = "Identity", Name = "classifier", Input = { Linear("classifier", cls, Hidden, ClassifierLabels, prefixed: false) }, Output = { "logits" } });
            else
            {
                Init("classifier.weight", new long[] { ClassifierLabels, Hidden }, RandomFloats(ClassifierLabels * Hidden, 0.3f));
                Init("classifier.bias", new long[] { ClassifierLabels }, RandomFloats(ClassifierLabels, 0.1f));
                _g.Node.Add(new NodeProto { OpType = "Gemm", Name = "classifier", Input = { cls, "classifier.weight", "classifier.bias" }, Output = { "logits" }, Attribute = { Int("transB", 1) } });
            }
            _g.Output.Add(Value("logits", TensorProto.Types.DataType.Float, "batch", ClassifierLabels.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var model = new ModelProto { IrVersion = 8, ProducerName = "DeepSeek.Search.Encode.Tests", Graph = _g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    string P(string name) => Prefix + name;

    /// <summary>x · W + b, W an anonymous [in, out] initializer, b the named bias (or an anonymous one, see <see cref="AnonymousBias"/>).</summary>
    string Linear(string name, string x, int inputs, int outputs, bool prefixed = true)
    {
        string w = (_anon++).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Init(w, new long[] { inputs, outputs }, RandomFloats(inputs * outputs, 0.3f));
        string bias = name == AnonymousBias ? $"onnx::Add_{_anon++}" : prefixed ? P(name + ".bias") : name + ".bias";
        Init(bias, new long[] { outputs }, RandomFloats(outputs, 0.1f));
        return Node("Add", bias, Node("MatMul", x, w));
    }

    string LayerNorm(string name, string x)
    {
        if (name == OmitLayerNorm) return x;
        string w = Named(name + ".weight", Enumerable.Range(0, Hidden).Select(_ => 1f + RandomFloat(0.2f)).ToArray());
        string b = Named(name + ".bias", RandomFloats(Hidden, 0.1f));
        if (FusedLayerNorm)
            return Node("LayerNormalization", new[] { x, w, b }, Int("axis", -1), Float("epsilon", Epsilon));
        string centred = Node("Sub", x, Node("ReduceMean", new[] { x }, Ints("axes", -1)));
        string variance = Node("ReduceMean", new[] { Node("Pow", centred, Scalar(2f)) }, Ints("axes", -1));
        string normed = Node("Div", centred, Node("Sqrt", Node("Add", variance, Scalar(Epsilon))));
        return Node("Add", Node("Mul", normed, w), b);
    }

    string Named(string name, params int[] shape) => Named(name, RandomFloats(shape.Aggregate(1, (a, b) => a * b), 0.5f), shape.Select(d => (long)d).ToArray());

    string Named(string name, float[] data, long[]? shape = null)
    {
        Init(P(name), shape ?? new long[] { data.Length }, data);
        return P(name);
    }

    void Named(string name, long[] shape, long[] data) => _g.Initializer.Add(new TensorProto
    {
        Name = P(name), Dims = { shape }, DataType = (int)TensorProto.Types.DataType.Int64,
        RawData = ByteString.CopyFrom(data.SelectMany(BitConverter.GetBytes).ToArray()),
    });

    void Init(string name, long[] shape, float[] data) => _g.Initializer.Add(new TensorProto
    {
        Name = name, Dims = { shape }, DataType = (int)TensorProto.Types.DataType.Float,
        RawData = ByteString.CopyFrom(data.SelectMany(BitConverter.GetBytes).ToArray()),
    });

    float RandomFloat(float scale) => (float)(_rng.NextDouble() * 2 - 1) * scale;
    float[] RandomFloats(int n, float scale) => Enumerable.Range(0, n).Select(_ => RandomFloat(scale)).ToArray();

    string Node(string op, params string[] inputs) => Node(op, inputs, Array.Empty<AttributeProto>());

    string Node(string op, string[] inputs, params AttributeProto[] attributes)
    {
        int id = _node++;
        string output = $"/{op.ToLowerInvariant()}_{id}";
        var n = new NodeProto { OpType = op, Name = $"{op}_{id}", Input = { inputs }, Output = { output } };
        n.Attribute.AddRange(attributes);
        _g.Node.Add(n);
        return output;
    }

    /// <summary>A <c>Constant</c> node holding int64 values (a shape, axes, or slice bounds).</summary>
    string Ints64(params long[] values) =>
        Node("Constant", Array.Empty<string>(), new AttributeProto
        {
            Name = "value", Type = AttributeProto.Types.AttributeType.Tensor,
            T = new TensorProto { Dims = { values.Length }, DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(values.SelectMany(BitConverter.GetBytes).ToArray()) },
        });

    string Scalar(float value) =>
        Node("Constant", Array.Empty<string>(), new AttributeProto
        {
            Name = "value", Type = AttributeProto.Types.AttributeType.Tensor,
            T = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) },
        });


    static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params string[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(int.TryParse(d, out int v) ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }
}
