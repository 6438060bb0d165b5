using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepSeek.Search.Core;
using static TorchSharp.torch;
using DeepSeek.Search.Torch.SafeTensors;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Generate;

/// <summary>How routed experts are written to a checkpoint.</summary>
public enum ExpertLayout
{
    /// <summary><c>mlp.experts.{e}.{gate,up,down}_proj.weight</c>: hub checkpoints, 4.x and default 5.x saves (<c>save_original_format=True</c>).</summary>
    PerExpert,

    /// <summary><c>mlp.experts.gate_up_proj</c> [E, 2·Im, H] and <c>mlp.experts.down_proj</c> [E, H, Im]: 5.x <c>save_original_format=False</c>.</summary>
    Fused,
}

/// <summary>Options of <see cref="DeepSeekCheckpoint.Save"/>.</summary>
public sealed record DeepSeekSaveOptions
{
    public ExpertLayout ExpertLayout { get; init; } = ExpertLayout.PerExpert;

    /// <summary>Stored dtype of the weights: F32, BF16 or F16; null = the model's dtype. The correction bias is always F32.</summary>
    public SafeTensorsDType? DType { get; init; }

    /// <summary>Above this many bytes the weights are split into <c>model-0000i-of-0000n.safetensors</c> shards with an index; 0 = one file.</summary>
    public long MaxShardBytes { get; init; }
}

/// <summary>
/// Loads and saves <see cref="DeepSeekModel"/>s in the Hugging Face layout: a folder with <c>config.json</c> and <c>model.safetensors</c>
/// or shards listed by <c>model.safetensors.index.json</c> (<c>weight_map</c>), memory-mapped. Accepted on load:
/// <list type="bullet">
/// <item>routed experts per expert (<c>mlp.experts.{e}.gate_proj.weight</c>, ...) or fused (<c>mlp.experts.gate_up_proj</c>
/// [E, 2·Im, H], gate rows first, or its [E, H, 2·Im] transpose; <c>mlp.experts.down_proj</c> [E, H, Im]), decided per layer;</item>
/// <item>F32, F16, BF16 (and F64) weights, converted to the model dtype; FP8 (<c>F8_E4M3</c>/<c>F8_E5M2</c>) weights with a
/// <c>weight_scale_inv</c> companion, dequantised block-wise on load (<see cref="Float8.Dequantize"/>,
/// <c>quantization_config.weight_block_size</c>, default 128×128);</item>
/// <item>the multi-token-prediction layers after the last decoder layer (<c>model.layers.61.*</c> of V3: <c>num_nextn_predict_layers</c>),
/// <c>rotary_emb.inv_freq</c> buffers of old saves, and <c>lm_head.weight</c> of tied models — all ignored, as transformers does.</item>
/// </list>
/// Every tensor is checked against the config from the headers alone before any data is read: a missing, unexpected or mis-shaped tensor
/// (or a non-float one) is a <see cref="CheckpointException"/> naming it; truncated files and headers that lie about their offsets are
/// rejected by <see cref="SafeTensorsFile"/>. Saving writes <c>config.json</c> (the source config's keys and style preserved),
/// <c>generation_config.json</c> and the weights in the layout transformers 4.x and 5.x both load.
/// </summary>
public static class DeepSeekCheckpoint
{
    public const string WeightsFile = "model.safetensors";
    public const string WeightsIndexFile = "model.safetensors.index.json";
    public const string GenerationConfigFile = "generation_config.json";

    static readonly Regex LayerName = new(@"^model\.layers\.(\d+)\.", RegexOptions.CultureInvariant);

    /// <summary>The weight files of a checkpoint folder (one, or the shards named by the index), in order.</summary>
    public static IReadOnlyList<string> WeightFiles(string dir)
    {
        string single = Path.Combine(dir, WeightsFile);
        string index = Path.Combine(dir, WeightsIndexFile);
        if (File.Exists(index))
        {
            var map = ReadIndex(index);
            return map.Values.Distinct().OrderBy(s => s, StringComparer.Ordinal).Select(f => Path.Combine(dir, f)).ToList();
        }
        if (File.Exists(single)) return new[] { single };
        if (File.Exists(Path.Combine(dir, "pytorch_model.bin")))
            throw new CheckpointException($"{dir}: only pytorch_model.bin found; convert it to model.safetensors (only safetensors checkpoints are read)");
        throw new CheckpointException($"{dir}: no {WeightsFile} or {WeightsIndexFile}");
    }

    static Dictionary<string, string> ReadIndex(string index)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(index));
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.GetProperty("weight_map").EnumerateObject())
            {
                string file = p.Value.GetString() ?? throw new CheckpointException($"{index}: weight_map['{p.Name}'] is null");
                if (file.Contains('/') || file.Contains('\\') || file.Contains(".."))
                    throw new CheckpointException($"{index}: weight_map['{p.Name}'] = '{file}' is not a file name in the checkpoint folder");
                map[p.Name] = file;
            }
            if (map.Count == 0) throw new CheckpointException($"{index}: empty weight_map");
            return map;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CheckpointException($"{index}: not a safetensors index ({e.Message})", e);
        }
    }

    /// <summary>One source tensor: its file and header entry.</summary>
    sealed record Source(SafeTensorsFile File, SafeTensorsEntry Entry)
    {
        public string Describe => $"{Path.GetFileName(File.FilePath)}: '{Entry.Name}'";
    }

    /// <summary>How to fill (part of) a model tensor: from a source, optionally FP8-scaled and/or transposed, into a slice.</summary>
    sealed record LoadStep(Tensor Target, string TargetName, Source From, Source? ScaleInv, bool Transpose, int Expert, long RowOffset, long Rows);

    /// <summary>Whether <paramref name="dir"/> holds a model: a config.json, or a PEFT adapter folder over one.</summary>
    public static bool IsModelFolder(string dir) =>
        File.Exists(Path.Combine(dir, DeepSeekConfig.FileName)) || File.Exists(Path.Combine(dir, LoraAdapters.ConfigFile));

    /// <summary>Loads a checkpoint folder (see the type remarks) onto the options' device and dtype (float32 on the CPU by default).</summary>
    public static DeepSeekModel Load(string dir, DeepSeekModelOptions? options = null)
    {
        if (!Directory.Exists(dir)) throw new CheckpointException($"model folder not found: {dir}");
        TorchRuntime.Initialize();
        options ??= new DeepSeekModelOptions();
        if (!File.Exists(Path.Combine(dir, DeepSeekConfig.FileName)) && File.Exists(Path.Combine(dir, LoraAdapters.ConfigFile)))
        {
            // a PEFT adapter folder stands for its base with the adapter applied (as peft's AutoPeftModelForCausalLM reads it)
            if (options.Adapter != null) throw new InvalidInputException($"{dir} is itself an adapter folder; --adapter {options.Adapter} cannot be added to it") { Setting = "adapter" };
            return Load(LoraAdapters.BaseOf(dir), options with { Adapter = dir });
        }
        var config = DeepSeekConfig.Load(Path.Combine(dir, DeepSeekConfig.FileName));
        var placement = options.Resolve();
        var files = new List<SafeTensorsFile>();
        try
        {
            var sources = OpenSources(dir, files);
            var model = DeepSeekModel.CreateEmpty(config, placement);
            model.ExpertDispatch = options.ExpertDispatch;
            try
            {
                var steps = Plan(dir, config, model, sources);
                using (no_grad())
                    foreach (var step in steps) Execute(step, config);
                if (options.Adapter is { } adapter)
                {
                    var adapters = LoraAdapters.Load(model, adapter);
                    if (options.MergeAdapter) adapters.Merge();
                    else model.Adapters = adapters;
                }
                return model;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var f in files) f.Dispose();
        }
    }

    static Dictionary<string, Source> OpenSources(string dir, List<SafeTensorsFile> files)
    {
        var paths = WeightFiles(dir);
        foreach (var path in paths) files.Add(SafeTensorsFile.Open(path));
        var sources = new Dictionary<string, Source>(StringComparer.Ordinal);
        foreach (var f in files)
            foreach (var entry in f.Entries.Values)
                if (!sources.TryAdd(entry.Name, new Source(f, entry)))
                    throw new CheckpointException($"{dir}: tensor '{entry.Name}' is in both {Path.GetFileName(sources[entry.Name].File.FilePath)} and {Path.GetFileName(f.FilePath)}");
        string index = Path.Combine(dir, WeightsIndexFile);
        if (File.Exists(index))
        {
            foreach (var (name, file) in ReadIndex(index))
            {
                if (!sources.TryGetValue(name, out var s))
                    throw new CheckpointException($"{index}: tensor '{name}' is listed in {file} but no shard holds it");
                if (Path.GetFileName(s.File.FilePath) != file)
                    throw new CheckpointException($"{index}: tensor '{name}' is listed in {file} but found in {Path.GetFileName(s.File.FilePath)}");
            }
        }
        return sources;
    }

    static List<LoadStep> Plan(string dir, DeepSeekConfig config, DeepSeekModel model, Dictionary<string, Source> sources)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        var problems = new List<string>();
        var steps = new List<LoadStep>();
        long im = config.MoeIntermediateSize, hidden = config.HiddenSize;

        foreach (var (name, target) in model.NamedTensors())
        {
            if (name.EndsWith(".mlp.experts.gate_up_proj", StringComparison.Ordinal) || name.EndsWith(".mlp.experts.down_proj", StringComparison.Ordinal))
            {
                bool gateUp = name.EndsWith("gate_up_proj", StringComparison.Ordinal);
                string prefix = name[..name.LastIndexOf('.')];
                if (sources.TryGetValue(name, out var s))
                {
                    long[] want = target.shape, alt = { want[0], want[2], want[1] };
                    bool transpose = !s.Entry.Shape.SequenceEqual(want) && s.Entry.Shape.SequenceEqual(alt);
                    if (!transpose) CheckShape(s, want, problems);
                    AddStep(name, target, s, transpose, -1, 0, 0);
                }
                else
                {
                    for (int e = 0; e < config.NRoutedExperts; e++)
                    {
                        if (gateUp)
                        {
                            PerExpert($"{prefix}.{e}.gate_proj.weight", e, 0, new[] { im, hidden });
                            PerExpert($"{prefix}.{e}.up_proj.weight", e, im, new[] { im, hidden });
                        }
                        else PerExpert($"{prefix}.{e}.down_proj.weight", e, 0, new[] { hidden, im });
                    }
                }

                void PerExpert(string srcName, int e, long rowOffset, long[] shape)
                {
                    if (!sources.TryGetValue(srcName, out var s)) { missing.Add(srcName); return; }
                    CheckShape(s, shape, problems);
                    AddStep(name, target, s, false, e, rowOffset, shape[0]);
                }
                continue;
            }
            if (!sources.TryGetValue(name, out var src)) { missing.Add(name); continue; }
            CheckShape(src, target.shape, problems);
            AddStep(name, target, src, false, -1, 0, 0);
        }

        void AddStep(string targetName, Tensor target, Source s, bool transpose, int expert, long rowOffset, long rows)
        {
            used.Add(s.Entry.Name);
            Source? scale = null;
            if (s.Entry.DType is SafeTensorsDType.F8_E4M3 or SafeTensorsDType.F8_E5M2)
            {
                string scaleName = s.Entry.Name + "_scale_inv";
                if (!sources.TryGetValue(scaleName, out scale)) { missing.Add(scaleName); return; }
                used.Add(scaleName);
                if (s.Entry.Shape.Length != 2) problems.Add($"{s.Describe} is FP8 but not 2-D {s.Entry.ShapeText}");
                else
                {
                    var block = config.Fp8BlockSize ?? new[] { 128, 128 };
                    long[] want = { (s.Entry.Shape[0] + block[0] - 1) / block[0], (s.Entry.Shape[1] + block[1] - 1) / block[1] };
                    if (!scale.Entry.Shape.SequenceEqual(want))
                        problems.Add($"{scale.Describe} has shape {scale.Entry.ShapeText}, a {s.Entry.ShapeText} weight in {block[0]}×{block[1]} blocks needs [{want[0]}, {want[1]}]");
                    if (!SafeTensorsFile.IsFloat(scale.Entry.DType)) problems.Add($"{scale.Describe} is {scale.Entry.DType}, expected a float scale");
                }
            }
            else if (!SafeTensorsFile.IsFloat(s.Entry.DType))
                problems.Add($"{s.Describe} is {s.Entry.DType}, expected a floating-point tensor");
            steps.Add(new LoadStep(target, targetName, s, scale, transpose, expert, rowOffset, rows));
        }

        var unexpected = new List<string>();
        foreach (var name in sources.Keys)
        {
            if (used.Contains(name) || Ignored(name, config)) continue;
            unexpected.Add(name);
        }

        if (missing.Count > 0 || unexpected.Count > 0 || problems.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing tensor{(missing.Count > 1 ? "s" : "")} {List(missing)}");
            if (unexpected.Count > 0)
                parts.Add($"unexpected tensor{(unexpected.Count > 1 ? "s" : "")} {List(unexpected.OrderBy(n => n, StringComparer.Ordinal).ToList())} (not part of this {config.ModelType} config: {config.NumHiddenLayers} layers, {config.NRoutedExperts} experts)");
            parts.AddRange(problems.Take(8));
            throw new CheckpointException($"{dir}: {string.Join("; ", parts)}");
        }
        return steps;
    }

    static string List(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(8).Select(m => $"'{m}'")) + (names.Count > 8 ? $" and {names.Count - 8} more" : "");

    static void CheckShape(Source s, long[] want, List<string> problems)
    {
        if (!s.Entry.Shape.SequenceEqual(want))
            problems.Add($"{s.Describe} has shape {s.Entry.ShapeText}, the config needs [{string.Join(", ", want)}]");
    }

    /// <summary>Tensors transformers skips: MTP layers, old rotary buffers, the tied LM head, FP8 scales of skipped tensors.</summary>
    static bool Ignored(string name, DeepSeekConfig config)
    {
        if (name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)) return true;
        if (name == "lm_head.weight" && config.TieWordEmbeddings) return true;
        var m = LayerName.Match(name);
        if (m.Success && int.TryParse(m.Groups[1].Value, out int layer) && layer >= config.NumHiddenLayers
            && layer < config.NumHiddenLayers + Math.Max(config.NumNextnPredictLayers, config.Version == DeepSeekVersion.V3 ? 1 : 0))
            return true;
        return false;
    }

    static void Execute(LoadStep step, DeepSeekConfig config)
    {
        using var scope = NewDisposeScope();
        var t = step.From.File.ReadTensor(step.From.Entry.Name);
        if (step.ScaleInv != null)
        {
            var block = config.Fp8BlockSize ?? new[] { 128, 128 };
            t = Float8.Dequantize(t, step.ScaleInv.File.ReadTensor(step.ScaleInv.Entry.Name), block[0], block[1], step.From.Entry.Name);
        }
        if (step.Transpose) t = t.transpose(1, 2);
        var target = step.Target;
        if (step.Expert >= 0)
        {
            target = target[step.Expert];
            if (step.Rows > 0) target = target.narrow(0, step.RowOffset, step.Rows);
        }
        target.copy_(t);
    }

    static readonly IReadOnlyDictionary<string, string> SavedMetadata = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>
    /// Writes <c>config.json</c>, <c>generation_config.json</c> and the weights of <paramref name="model"/> into <paramref name="dir"/>
    /// (see <see cref="DeepSeekSaveOptions"/>); the result loads with <see cref="Load"/> and with transformers' <c>from_pretrained</c>.
    /// </summary>
    public static void Save(DeepSeekModel model, string dir, DeepSeekSaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new DeepSeekSaveOptions();
        var dtype = options.DType ?? model.DType switch
        {
            ScalarType.BFloat16 => SafeTensorsDType.BF16,
            ScalarType.Float16 => SafeTensorsDType.F16,
            _ => SafeTensorsDType.F32,
        };
        if (dtype is not (SafeTensorsDType.F32 or SafeTensorsDType.BF16 or SafeTensorsDType.F16))
            throw new InvalidInputException($"checkpoints are saved as F32, BF16 or F16 (got {dtype})");
        Directory.CreateDirectory(dir);
        using var scope = NewDisposeScope();
        var items = ToItems(model, options.ExpertLayout, dtype);

        foreach (var stale in Directory.EnumerateFiles(dir, "model-*-of-*.safetensors")) File.Delete(stale);
        string indexPath = Path.Combine(dir, WeightsIndexFile);
        long total = items.Sum(i => i.Tensor.NumberOfElements * SafeTensorsFile.ElementSize(i.DType));
        if (options.MaxShardBytes <= 0 || total <= options.MaxShardBytes)
        {
            if (File.Exists(indexPath)) File.Delete(indexPath);
            SafeTensorsWriter.Write(Path.Combine(dir, WeightsFile), items, SavedMetadata);
        }
        else
        {
            var shards = new List<List<SafeTensorsItem>> { new() };
            long size = 0;
            foreach (var item in items)
            {
                long bytes = item.Tensor.NumberOfElements * SafeTensorsFile.ElementSize(item.DType);
                if (shards[^1].Count > 0 && size + bytes > options.MaxShardBytes) { shards.Add(new()); size = 0; }
                shards[^1].Add(item);
                size += bytes;
            }
            var weightMap = new JsonObject();
            for (int i = 0; i < shards.Count; i++)
            {
                string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                SafeTensorsWriter.Write(Path.Combine(dir, file), shards[i], SavedMetadata);
                foreach (var item in shards[i]) weightMap[item.Name] = file;
            }
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
            AtomicFile.WriteAllText(indexPath, index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            string single = Path.Combine(dir, WeightsFile);
            if (File.Exists(single)) File.Delete(single);
        }

        string dtypeName = dtype switch { SafeTensorsDType.BF16 => "bfloat16", SafeTensorsDType.F16 => "float16", _ => "float32" };
        model.Config.Save(Path.Combine(dir, DeepSeekConfig.FileName), dtypeName);
        var generation = new JsonObject
        {
            ["_from_model_config"] = true,
            ["bos_token_id"] = model.Config.BosTokenId is int b ? JsonValue.Create(b) : null,
            ["eos_token_id"] = model.Config.EosTokenIds.Count == 1 ? JsonValue.Create(model.Config.EosTokenIds[0])
                : new JsonArray(model.Config.EosTokenIds.Select(e => (JsonNode)JsonValue.Create(e)!).ToArray()),
        };
        AtomicFile.WriteAllText(Path.Combine(dir, GenerationConfigFile), generation.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The safetensors entries <see cref="Save"/> writes, sorted by name (views of the parameters, in the current dispose scope).</summary>
    internal static List<SafeTensorsItem> ToItems(DeepSeekModel model, ExpertLayout layout, SafeTensorsDType dtype)
    {
        var items = new List<SafeTensorsItem>();
        long im = model.Config.MoeIntermediateSize;
        foreach (var (name, tensor) in model.NamedTensors())
        {
            var t = tensor.detach();
            if (name.EndsWith("e_score_correction_bias", StringComparison.Ordinal)) { items.Add(new(name, SafeTensorsDType.F32, t)); continue; }
            bool gateUp = name.EndsWith(".mlp.experts.gate_up_proj", StringComparison.Ordinal);
            bool down = name.EndsWith(".mlp.experts.down_proj", StringComparison.Ordinal);
            if (layout == ExpertLayout.PerExpert && (gateUp || down))
            {
                string prefix = name[..name.LastIndexOf('.')];
                for (int e = 0; e < t.shape[0]; e++)
                {
                    if (gateUp)
                    {
                        items.Add(new($"{prefix}.{e}.gate_proj.weight", dtype, t[e].narrow(0, 0, im)));
                        items.Add(new($"{prefix}.{e}.up_proj.weight", dtype, t[e].narrow(0, im, im)));
                    }
                    else items.Add(new($"{prefix}.{e}.down_proj.weight", dtype, t[e]));
                }
                continue;
            }
            items.Add(new(name, dtype, t));
        }
        return items.OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
    }
}
