using System.Text.RegularExpressions;
using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Torch.SafeTensors;
using Onnx;

namespace DeepSeek.Search.Encode.Import;

/// <summary>Settings written into the imported folder's <c>dual_encoder.json</c> and <c>tokenizer_config.json</c>.</summary>
public sealed record OnnxImportOptions
{
    public PoolingMode Pooling { get; init; } = PoolingMode.Mean;
    public bool Normalize { get; init; } = true;
    public string QueryPrefix { get; init; } = "";
    public string DocumentPrefix { get; init; } = "";
    /// <summary>Document length in tokens ([CLS]/[SEP] included); null: the graph's position table, at most 512.</summary>
    public int? MaxLength { get; init; }
    /// <summary>Query length in tokens; null: 64, or <see cref="MaxLength"/> when that is shorter.</summary>
    public int? MaxQueryLength { get; init; }
    /// <summary>The encoder's identity name; null: the output folder's name.</summary>
    public string? Name { get; init; }
    /// <summary>The vocabulary is cased: no lower-casing or accent stripping.</summary>
    public bool Cased { get; init; }
    public string? HybridFusion { get; init; }
    public float? HybridAlpha { get; init; }
    /// <summary>Extra text files to write beside the model (e.g. LICENSE, NOTICE), name → content.</summary>
    public IReadOnlyDictionary<string, string>? ExtraFiles { get; init; }
}

/// <summary>What <see cref="OnnxBertImporter.Import"/> wrote.</summary>
public sealed record OnnxImportResult(string Directory, BertConfig Config, bool HasPooler, int Tensors);

/// <summary>
/// Converts a BERT-family ONNX export (as <c>torch.onnx.export</c> or Optimum write them for <c>BertModel</c>) into a Hugging Face
/// <c>BertModel</c> folder: <c>config.json</c>, <c>model.safetensors</c> (float32), <c>vocab.txt</c> + <c>tokenizer_config.json</c>
/// and <c>dual_encoder.json</c>.
/// <para>
/// Such graphs keep embeddings, biases and LayerNorm parameters under their Hugging Face names, but the projection matrices
/// become anonymous <c>MatMul</c> initializers (<c>onnx::MatMul_851</c>, <c>1002</c>), stored [in, out]. Each is named here by
/// the <c>Add</c> that adds a named bias to its <c>MatMul</c>'s output (<c>…query.bias</c> → <c>…query.weight</c>) and transposed
/// to PyTorch's [out, in]. The configuration is read off the graph: sizes from the tensor shapes, the head count from the
/// <c>Reshape</c> that splits the query into heads, <c>layer_norm_eps</c> from the decomposed LayerNorm's <c>Add</c> (or a
/// <c>LayerNormalization</c> node), the activation from the ops between the intermediate and output projections.
/// </para>
/// Anything that cannot be mapped (an unnamed MatMul, a missing LayerNorm, an unknown activation, a shape that contradicts the
/// config, a vocabulary of another size) is one <see cref="CheckpointException"/> naming the node or tensor, and nothing is written:
/// the folder appears, complete, by one rename at the end.
/// </summary>
public static class OnnxBertImporter
{
    static readonly Regex LayerName = new(@"^encoder\.layer\.(\d+)\.", RegexOptions.CultureInvariant);

    /// <summary>Converts <paramref name="onnxPath"/> with <paramref name="vocabPath"/> into the new folder <paramref name="outDir"/>
    /// (which must not exist, or be empty).</summary>
    public static OnnxImportResult Import(string onnxPath, string vocabPath, string outDir, OnnxImportOptions? options = null)
    {
        options ??= new OnnxImportOptions();
        outDir = Path.GetFullPath(outDir);
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new InvalidInputException($"{outDir} exists and is not empty: refusing to overwrite it");
        if (File.Exists(outDir)) throw new InvalidInputException($"{outDir} is a file, not a folder");
        if (!File.Exists(vocabPath)) throw new InvalidInputException($"vocabulary not found: {vocabPath}");

        var graph = OnnxGraph.Load(onnxPath);
        var converted = Convert(graph);
        var config = converted.Config;

        int maxDoc = options.MaxLength ?? Math.Min(512, config.MaxPositionEmbeddings);
        if (maxDoc < 2 || maxDoc > config.MaxPositionEmbeddings)
            throw new InvalidInputException($"max length {maxDoc} must be between 2 and the model's {config.MaxPositionEmbeddings} positions");
        // one id per line of vocab.txt, so VocabSize is its line count
        var tokenizer = BertTokenizer.FromVocabFile(vocabPath, new BertTokenizerOptions { LowerCase = !options.Cased, StripAccents = options.Cased ? false : null, MaxLength = maxDoc });
        if (tokenizer.VocabSize != config.VocabSize)
            throw new CheckpointException($"{vocabPath} has {tokenizer.VocabSize:N0} tokens but the graph's word embeddings ('embeddings.word_embeddings.weight') have {config.VocabSize:N0} rows: not this model's vocabulary");
        int maxQuery = options.MaxQueryLength ?? Math.Min(64, maxDoc);
        var dual = new DualEncoderConfig
        {
            Name = options.Name ?? new DirectoryInfo(outDir).Name,
            Pooling = options.Pooling,
            Normalize = options.Normalize,
            MaxQueryLength = maxQuery,
            MaxDocumentLength = maxDoc,
            QueryPrefix = options.QueryPrefix,
            DocumentPrefix = options.DocumentPrefix,
            HybridFusion = options.HybridFusion,
            HybridAlpha = options.HybridAlpha,
        };
        try { dual.Validate(); }
        catch (InvalidInputException e) { throw new InvalidInputException($"encoder settings: {e.Message}", e); }

        string parent = Path.GetDirectoryName(outDir)!;
        bool createdParent = !Directory.Exists(parent);
        Directory.CreateDirectory(parent);
        try
        {
            // staged in a hidden folder beside --out, which appears complete by one rename (or not at all)
            AtomicFile.PublishDirectory(outDir, partial =>
            {
                SafeTensorsWriter.Write(Path.Combine(partial, BertCheckpoint.WeightsFile), converted.Tensors, new Dictionary<string, string> { ["format"] = "pt" });
                config.Save(Path.Combine(partial, BertCheckpoint.ConfigFile));
                tokenizer.Save(partial);
                dual.Save(partial);
                foreach (var (name, text) in options.ExtraFiles ?? new Dictionary<string, string>())
                    File.WriteAllText(Path.Combine(partial, name), text);
                // the folder must load as written before it becomes visible
                using (BertCheckpoint.Load(partial)) { }
            });
        }
        catch
        {
            try
            {
                if (createdParent && !Directory.EnumerateFileSystemEntries(parent).Any()) Directory.Delete(parent);
            }
            catch (IOException) { }
            throw;
        }
        return new OnnxImportResult(outDir, config, converted.HasPooler, converted.Tensors.Count);
    }

    internal sealed record Converted(BertConfig Config, IReadOnlyList<SafeTensorsItem> Tensors, bool HasPooler);

    /// <summary>Maps the graph's initializers to BertModel tensors and reads the configuration off the graph (see the type remarks).</summary>
    internal static Converted Convert(OnnxGraph g)
    {
        string path = g.Path;
        // names, with the "bert." prefix of BertForX exports dropped
        string prefix = g.Initializers.ContainsKey("embeddings.word_embeddings.weight") ? ""
            : g.Initializers.ContainsKey("bert.embeddings.word_embeddings.weight") ? "bert." : throw NotBert();
        string? HfName(string initializer)
        {
            if (!initializer.StartsWith(prefix, StringComparison.Ordinal)) return null;
            string n = initializer[prefix.Length..];
            return n.StartsWith("embeddings.", StringComparison.Ordinal) || n.StartsWith("encoder.layer.", StringComparison.Ordinal) || n.StartsWith("pooler.", StringComparison.Ordinal) ? n : null;
        }

        // a parameter name from the state dict that lies outside the encoder; exports name MatMul weights 'onnx::MatMul_851' or '1002'
        bool IsHeadParameter(string initializer) => HfName(initializer) == null && !initializer.StartsWith("onnx::", StringComparison.Ordinal)
            && (initializer.EndsWith(".weight", StringComparison.Ordinal) || initializer.EndsWith(".bias", StringComparison.Ordinal));

        // name → (values in PyTorch layout, shape, where it came from)
        var tensors = new Dictionary<string, (float[] Data, long[] Shape, string Source)>(StringComparer.Ordinal);
        var weightNode = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        void Put(string name, float[] data, long[] shape, string source)
        {
            if (tensors.TryGetValue(name, out var prior))
                throw new CheckpointException($"{path}: both {prior.Source} and {source} map to '{name}'");
            tensors[name] = (data, shape, source);
        }

        var consumedAsWeight = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in g.Graph.Node)
        {
            if (node.OpType is not ("MatMul" or "Gemm") || node.Input.Count < 2) continue;
            if (!g.Initializers.TryGetValue(node.Input[1], out var w)) continue; // activation × activation: attention scores, context
            if (w.Dims.Count != 2) throw new CheckpointException($"{path}: {OnnxGraph.Describe(node)} multiplies by '{w.Name}' of shape [{string.Join(", ", w.Dims)}], expected a matrix");
            bool transposed; // stored [in, out] (MatMul, Gemm transB=0) → transpose to [out, in]
            string? biasName = null;
            if (node.OpType == "Gemm")
            {
                if (node.Attribute.FirstOrDefault(a => a.Name == "transA")?.I == 1)
                    throw new CheckpointException($"{path}: {OnnxGraph.Describe(node)} has transA=1, which a BERT linear layer never has");
                transposed = node.Attribute.FirstOrDefault(a => a.Name == "transB")?.I != 1;
                if (node.Input.Count > 2 && HfName(node.Input[2]) is { } b) biasName = b;
            }
            else transposed = true;

            string? name = HfName(w.Name) is { } named && named.EndsWith(".weight", StringComparison.Ordinal) ? named : null;
            if (name == null)
            {
                // the head of a BertForX export (classifier.weight, or an anonymous weight plus classifier.bias): not part of BertModel
                string? headBias = node.OpType == "Gemm" && node.Input.Count > 2 ? node.Input[2] : BiasAddedTo(g, node.Output[0], n => n);
                if (IsHeadParameter(w.Name) || (headBias != null && IsHeadParameter(headBias))) continue;
                biasName ??= BiasAddedTo(g, node.Output[0], HfName);
                if (biasName == null || !biasName.EndsWith(".bias", StringComparison.Ordinal))
                    throw new CheckpointException($"{path}: {OnnxGraph.Describe(node)} multiplies by the unnamed initializer '{w.Name}' and no Add of a named bias follows it: cannot tell which BERT weight it is");
                name = biasName[..^"bias".Length] + "weight";
            }
            var data = g.ReadFloats(w);
            long rows = w.Dims[0], cols = w.Dims[1];
            if (transposed) { data = Transpose(data, rows, cols); (rows, cols) = (cols, rows); }
            Put(name, data, new[] { rows, cols }, $"{OnnxGraph.Describe(node)} ('{w.Name}')");
            weightNode[name] = node;
            consumedAsWeight.Add(w.Name);
        }
        foreach (var (initName, t) in g.Initializers)
        {
            if (consumedAsWeight.Contains(initName) || HfName(initName) is not { } name) continue;
            if (name == "embeddings.position_ids") continue; // a buffer, not a parameter
            if (name.EndsWith("LayerNorm.gamma", StringComparison.Ordinal)) name = name[..^"gamma".Length] + "weight";
            else if (name.EndsWith("LayerNorm.beta", StringComparison.Ordinal)) name = name[..^"beta".Length] + "bias";
            Put(name, g.ReadFloats(t), t.Dims.ToArray(), $"initializer '{initName}'");
        }

        // sizes
        var word = tensors["embeddings.word_embeddings.weight"];
        if (word.Shape.Length != 2) throw new CheckpointException($"{path}: 'embeddings.word_embeddings.weight' has shape [{string.Join(", ", word.Shape)}], expected [vocab, hidden]");
        int vocab = checked((int)word.Shape[0]), hidden = checked((int)word.Shape[1]);
        var layerIds = tensors.Keys.Select(k => LayerName.Match(k)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).Distinct().OrderBy(i => i).ToList();
        if (layerIds.Count == 0) throw new CheckpointException($"{path}: no 'encoder.layer.N.*' tensors: not a BERT encoder graph");
        for (int i = 0; i < layerIds.Count; i++)
            if (layerIds[i] != i) throw new CheckpointException($"{path}: encoder layer {i} is missing (layers found: {string.Join(", ", layerIds)})");
        int layers = layerIds.Count;
        int RowsOf(string name) => tensors.TryGetValue(name, out var t) ? checked((int)t.Shape[0]) : throw Missing(name);
        int intermediate = RowsOf("encoder.layer.0.intermediate.dense.weight");
        int positions = RowsOf("embeddings.position_embeddings.weight");
        int types = RowsOf("embeddings.token_type_embeddings.weight");
        int heads = HeadCount(g, hidden, HfName);
        double eps = LayerNormEpsilon(g, HfName);
        string act = Activation(g, weightNode.GetValueOrDefault("encoder.layer.0.output.dense.weight") ?? throw Missing("encoder.layer.0.output.dense.weight"), HfName);

        var config = new BertConfig
        {
            VocabSize = vocab,
            HiddenSize = hidden,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            IntermediateSize = intermediate,
            HiddenAct = act,
            MaxPositionEmbeddings = positions,
            TypeVocabSize = types,
            LayerNormEps = eps,
        };
        try { config.Validate(); }
        catch (InvalidInputException e) { throw new CheckpointException($"{path}: {e.Message}", e); }

        // every BertModel tensor present, with the shape the config needs; nothing else
        var expected = new List<(string Name, long[] Shape)>
        {
            ("embeddings.word_embeddings.weight", new long[] { vocab, hidden }),
            ("embeddings.position_embeddings.weight", new long[] { positions, hidden }),
            ("embeddings.token_type_embeddings.weight", new long[] { types, hidden }),
            ("embeddings.LayerNorm.weight", new long[] { hidden }),
            ("embeddings.LayerNorm.bias", new long[] { hidden }),
        };
        for (int l = 0; l < layers; l++)
        {
            string p = $"encoder.layer.{l}.";
            foreach (var proj in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                expected.Add((p + proj + ".weight", new long[] { hidden, hidden }));
                expected.Add((p + proj + ".bias", new long[] { hidden }));
            }
            expected.Add((p + "intermediate.dense.weight", new long[] { intermediate, hidden }));
            expected.Add((p + "intermediate.dense.bias", new long[] { intermediate }));
            expected.Add((p + "output.dense.weight", new long[] { hidden, intermediate }));
            expected.Add((p + "output.dense.bias", new long[] { hidden }));
            foreach (var ln in new[] { "attention.output.LayerNorm", "output.LayerNorm" })
            {
                expected.Add((p + ln + ".weight", new long[] { hidden }));
                expected.Add((p + ln + ".bias", new long[] { hidden }));
            }
        }
        bool pooler = tensors.ContainsKey("pooler.dense.weight") || tensors.ContainsKey("pooler.dense.bias");
        if (pooler)
        {
            expected.Add(("pooler.dense.weight", new long[] { hidden, hidden }));
            expected.Add(("pooler.dense.bias", new long[] { hidden }));
        }
        foreach (var (name, shape) in expected)
        {
            if (!tensors.TryGetValue(name, out var t)) throw Missing(name);
            if (!t.Shape.SequenceEqual(shape))
                throw new CheckpointException($"{path}: {t.Source} gives '{name}' the shape [{string.Join(", ", t.Shape)}], but a BERT with hidden {hidden}, FFN {intermediate} needs [{string.Join(", ", shape)}]");
        }
        var known = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var extra = tensors.Keys.Where(k => !known.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
            throw new CheckpointException($"{path}: {tensors[extra[0]].Source} maps to '{extra[0]}', which is not part of a {layers}-layer BertModel{(extra.Count > 1 ? $" (and {extra.Count - 1} more)" : "")}");

        var safetensors = expected.OrderBy(e => e.Name, StringComparer.Ordinal)
            .Select(e => SafeTensorsItem.FromFloats(e.Name, tensors[e.Name].Data, e.Shape)).ToList();
        return new Converted(config, safetensors, pooler);

        CheckpointException NotBert()
        {
            var sample = string.Join(", ", g.Initializers.Keys.Where(k => !k.StartsWith("onnx::", StringComparison.Ordinal)).Take(3).Select(k => $"'{k}'"));
            return new CheckpointException($"{path}: not a BERT graph: no 'embeddings.word_embeddings.weight' initializer{(sample.Length > 0 ? $" (it has {sample}, ...)" : "")}");
        }
        CheckpointException Missing(string name) => new($"{path}: the graph has no '{name}'{(name.Contains("LayerNorm", StringComparison.Ordinal) ? " (a missing LayerNorm)" : "")}: not a complete BERT encoder");
    }

    /// <summary>The Hugging Face name of the bias an <c>Add</c> adds to <paramref name="value"/>, or null.</summary>
    static string? BiasAddedTo(OnnxGraph g, string value, Func<string, string?> hfName)
    {
        foreach (var add in g.Consumers(value))
        {
            if (add.OpType != "Add" || add.Input.Count != 2) continue;
            string other = add.Input[0] == value ? add.Input[1] : add.Input[0];
            if (g.Initializers.ContainsKey(other) && hfName(other) is { } b) return b;
        }
        return null;
    }

    /// <summary>The <c>Add</c> node that adds the initializer Hugging Face calls <paramref name="hfBias"/>, or null.</summary>
    static NodeProto? AddOf(OnnxGraph g, string hfBias, Func<string, string?> hfName)
    {
        var init = g.Initializers.Keys.FirstOrDefault(k => hfName(k) == hfBias);
        return init == null ? null : g.Consumers(init).FirstOrDefault(n => n.OpType == "Add");
    }

    static int HeadCount(OnnxGraph g, int hidden, Func<string, string?> hfName)
    {
        foreach (var proj in new[] { "query", "key", "value" })
        {
            var add = AddOf(g, $"encoder.layer.0.attention.self.{proj}.bias", hfName);
            if (add == null) continue;
            foreach (var reshape in g.Consumers(add.Output[0]).Where(n => n.OpType == "Reshape" && n.Input.Count == 2))
            {
                var tail = g.ConstantTail(reshape.Input[1]);
                if (tail is { Length: >= 2 } && tail[^2] > 0 && tail[^1] > 0)
                {
                    long heads = tail[^2], dim = tail[^1];
                    if (heads * dim != hidden)
                        throw new CheckpointException($"{g.Path}: {OnnxGraph.Describe(reshape)} splits the {proj} into {heads} heads of {dim}, which is not the hidden size {hidden}");
                    return checked((int)heads);
                }
            }
        }
        throw new CheckpointException($"{g.Path}: no Reshape with a constant [heads, head_dim] after 'encoder.layer.0.attention.self.query' (cannot tell the number of attention heads)");
    }

    /// <summary>The epsilon of every LayerNorm (decomposed: (x − mean) / sqrt(var + eps) · γ + β; or LayerNormalization); they must agree.</summary>
    static double LayerNormEpsilon(OnnxGraph g, Func<string, string?> hfName)
    {
        var found = new List<(string Where, double Eps)>();
        foreach (var (init, _) in g.Initializers)
        {
            if (hfName(init) is not { } name || !(name.EndsWith("LayerNorm.weight", StringComparison.Ordinal) || name.EndsWith("LayerNorm.gamma", StringComparison.Ordinal))) continue;
            foreach (var n in g.Consumers(init))
            {
                if (n.OpType == "LayerNormalization")
                {
                    found.Add((name, n.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f));
                    continue;
                }
                if (n.OpType != "Mul") continue;
                string other = n.Input[0] == init ? n.Input[1] : n.Input[0];
                var div = g.Producer(other);
                var sqrt = div is { OpType: "Div", Input.Count: 2 } ? g.Producer(div.Input[1]) : null;
                var add = sqrt is { OpType: "Sqrt" } ? g.Producer(sqrt.Input[0]) : null;
                if (add is not { OpType: "Add", Input.Count: 2 })
                    throw new CheckpointException($"{g.Path}: {OnnxGraph.Describe(n)} scales by '{name}' but is not the end of a LayerNorm ((x − mean) / sqrt(var + eps))");
                float? eps = g.ConstantScalar(add.Input[1]) ?? g.ConstantScalar(add.Input[0]);
                if (eps is not float e) throw new CheckpointException($"{g.Path}: {OnnxGraph.Describe(add)} of the LayerNorm '{name}' adds no constant epsilon");
                found.Add((name, e));
            }
        }
        if (found.Count == 0) throw new CheckpointException($"{g.Path}: no LayerNorm found (neither LayerNormalization nor the decomposed form scales by a '…LayerNorm.weight')");
        // float32 constants: 1e-12 reads back as 9.9999999e-13; report the float64 nearest a short decimal
        double first = found[0].Eps;
        foreach (var (where, eps) in found)
            if (Math.Abs(eps - first) > 1e-6 * Math.Abs(first))
                throw new CheckpointException($"{g.Path}: LayerNorm '{where}' has epsilon {eps:G6} but '{found[0].Where}' has {first:G6}; BertConfig has one layer_norm_eps");
        return double.Parse(((float)first).ToString("G6", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The activation between the intermediate and output projections of a layer, from the ops on that path.</summary>
    static readonly string[] ReluOnly = ["Relu"];

    static string Activation(OnnxGraph g, NodeProto outputProjection, Func<string, string?> hfName)
    {
        var ops = new List<NodeProto>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        stack.Push(outputProjection.Input[0]);
        bool reached = false;
        while (stack.Count > 0 && ops.Count < 64)
        {
            string v = stack.Pop();
            if (!seen.Add(v)) continue;
            var n = g.Producer(v);
            if (n is null) continue;
            if (n.OpType == "Add" && n.Input.Any(i => hfName(i) is { } b && b.EndsWith("intermediate.dense.bias", StringComparison.Ordinal))) { reached = true; continue; }
            if (n.OpType is "MatMul" or "Gemm") continue;
            ops.Add(n);
            foreach (var i in n.Input) if (!g.Initializers.ContainsKey(i)) stack.Push(i);
        }
        var types = ops.Select(o => o.OpType).Where(t => t != "Constant").ToHashSet(StringComparer.Ordinal);
        string Where() => OnnxGraph.Describe(ops.FirstOrDefault() ?? outputProjection);
        if (!reached) throw new CheckpointException($"{g.Path}: the input of {OnnxGraph.Describe(outputProjection)} does not come from the intermediate projection ('…intermediate.dense.bias')");
        if (types.Contains("Gelu"))
        {
            var approx = ops.First(o => o.OpType == "Gelu").Attribute.FirstOrDefault(a => a.Name == "approximate")?.S.ToStringUtf8();
            return approx == "tanh" ? "gelu_new" : "gelu";
        }
        if (types.Contains("Erf")) return "gelu";
        if (types.Contains("Tanh") && types.Contains("Pow")) return "gelu_new";
        if (types.SetEquals(ReluOnly)) return "relu";
        if (types.Contains("Sigmoid"))
        {
            // quick_gelu multiplies by 1.702 before the sigmoid; silu does not
            var k = ops.Where(o => o.OpType == "Mul").SelectMany(o => o.Input).Select(g.ConstantScalar).FirstOrDefault(c => c != null);
            return k is float f && Math.Abs(f - 1.702f) < 1e-3 ? "quick_gelu" : "silu";
        }
        throw new CheckpointException($"{g.Path}: unknown activation at {Where()} (ops: {(types.Count > 0 ? string.Join(", ", types.OrderBy(t => t, StringComparer.Ordinal)) : "none")}); supported: gelu (Erf), gelu_new (Tanh), relu, silu, quick_gelu");
    }

    static float[] Transpose(float[] a, long rows, long cols)
    {
        var t = new float[a.Length];
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
                t[c * rows + r] = a[r * cols + c];
        return t;
    }
}
