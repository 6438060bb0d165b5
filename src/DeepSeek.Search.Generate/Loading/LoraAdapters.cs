using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Torch;
using DeepSeek.Search.Torch.SafeTensors;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate;

/// <summary>
/// The LoRA settings of an adapter: rank r, α (scaling α/r, or α/√r with rsLoRA) and the linear modules it adapts, named as PEFT's
/// <c>target_modules</c> (the last part of a module name: <c>q_proj</c>, <c>kv_a_proj_with_mqa</c>, <c>kv_b_proj</c>, <c>o_proj</c>,
/// <c>q_a_proj</c>, <c>q_b_proj</c>, <c>gate_proj</c>, <c>up_proj</c>, <c>down_proj</c>, <c>lm_head</c>). Routed experts are fused
/// parameters, not linear modules, so neither PEFT's target_modules nor this adapts them (the dense MLPs and the shared experts are).
/// </summary>
public sealed record LoraSettings
{
    /// <summary>The attention projections MLA has (those of them a model has are adapted).</summary>
    public static readonly IReadOnlyList<string> DefaultTargets = ["q_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"];

    public int Rank { get; init; } = 8;

    /// <summary>lora_alpha; null = 2·rank.</summary>
    public double? Alpha { get; init; }

    public IReadOnlyList<string> Targets { get; init; } = DefaultTargets;
    public bool UseRsLora { get; init; }

    public double EffectiveAlpha => Alpha ?? 2.0 * Rank;
    public double Scaling => UseRsLora ? EffectiveAlpha / Math.Sqrt(Rank) : EffectiveAlpha / Rank;

    /// <summary>"q_proj,kv_proj" → target names; <c>kv_proj</c> stands for MLA's two key/value projections.</summary>
    public static IReadOnlyList<string> ParseTargets(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return DefaultTargets;
        var names = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "kv_proj") names.AddRange(["kv_a_proj_with_mqa", "kv_b_proj"]);
            else if (part == "attention") names.AddRange(DefaultTargets);
            else if (part == "mlp") names.AddRange(["gate_proj", "up_proj", "down_proj"]);
            else names.Add(part);
        }
        return names.Distinct(StringComparer.Ordinal).ToList();
    }

    public void Validate()
    {
        if (Rank < 1 || Rank > 4096) throw new InvalidInputException($"--lora-rank must be between 1 and 4096 (got {Rank})") { Setting = "lora-rank" };
        if (!(EffectiveAlpha > 0 && double.IsFinite(EffectiveAlpha))) throw new InvalidInputException($"--lora-alpha must be a positive number (got {EffectiveAlpha})") { Setting = "lora-alpha" };
        if (Targets.Count == 0) throw new InvalidInputException("--lora-targets names no module") { Setting = "lora-targets" };
    }
}

/// <summary>
/// Low-rank adapters attached to a <see cref="DeepSeekModel"/>, in Hugging Face PEFT's on-disk layout: a folder with
/// <c>adapter_config.json</c> (<c>peft_type</c> LORA, <c>r</c>, <c>lora_alpha</c>, <c>target_modules</c>, ...) and
/// <c>adapter_model.safetensors</c> whose tensors are named as PEFT's <c>get_peft_model_state_dict</c> names them:
/// <c>base_model.model.{module}.lora_A.weight</c> [r, in] and <c>.lora_B.weight</c> [out, r]. <c>PeftModel.from_pretrained(base, DIR)</c>
/// on the base folder loads such a folder (checked on transformers 5.17 + peft: <c>bench/gpu-lora-peft.sh</c>). New adapters are
/// initialised as PEFT's default (<c>init_lora_weights=True</c>): A ~ kaiming-uniform(a=√5), i.e. U(−1/√in, 1/√in), B = 0, so an untrained
/// adapter leaves the model's outputs unchanged.
/// </summary>
public sealed class LoraAdapters : IDisposable
{
    public const string ConfigFile = "adapter_config.json", WeightsFile = "adapter_model.safetensors", PeftPrefix = "base_model.model.";

    readonly List<(string Module, LinearLayer Layer, LowRankAdapter Adapter)> _attached = new();
    bool _disposed;

    LoraAdapters(LoraSettings settings) => Settings = settings;

    public LoraSettings Settings { get; }

    /// <summary>The adapted modules' names (HF names, e.g. <c>model.layers.0.self_attn.q_proj</c>).</summary>
    public IReadOnlyList<string> Modules => _attached.ConvertAll(a => a.Module);

    /// <summary>A and B of every adapted module under their PEFT names, in module order (A before B).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedTensors()
    {
        foreach (var (module, _, adapter) in _attached)
        {
            yield return ($"{PeftPrefix}{module}.lora_A.weight", adapter.A);
            yield return ($"{PeftPrefix}{module}.lora_B.weight", adapter.B);
        }
    }

    /// <summary>The adapters' parameters (what a LoRA run trains; the base stays frozen).</summary>
    public IEnumerable<Parameter> Parameters => NamedTensors().Select(t => (Parameter)t.Tensor);

    public long ParameterCount => NamedTensors().Sum(t => t.Tensor.numel());

    /// <summary>The linear modules of <paramref name="model"/> by HF name.</summary>
    /// <remarks>TorchSharp also lists modules under their C# field names (<c>&lt;Attention&gt;k__BackingField</c>); only the registered HF names count, each layer once.</remarks>
    static List<(string Name, LinearLayer Layer)> LinearModules(DeepSeekModel model)
    {
        var seen = new HashSet<LinearLayer>(ReferenceEqualityComparer.Instance);
        return model.named_modules()
            .Where(m => m.module is LinearLayer && !m.name.Contains('<', StringComparison.Ordinal))
            .Where(m => seen.Add((LinearLayer)m.module))
            .Select(m => (m.name, (LinearLayer)m.module)).ToList();
    }

    static string LastPart(string name) => name[(name.LastIndexOf('.') + 1)..];

    /// <summary>New adapters (PEFT's default initialisation, seeded) on every linear module of <paramref name="model"/> named by the settings.</summary>
    public static LoraAdapters Attach(DeepSeekModel model, LoraSettings settings, long? seed = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var modules = LinearModules(model);
        var known = modules.Select(m => LastPart(m.Name)).ToHashSet(StringComparer.Ordinal);
        // MLA's query is either q_proj or q_a_proj + q_b_proj (q_lora_rank): the one a model lacks is skipped; any other target must exist
        var unknown = settings.Targets.Where(t => !known.Contains(t) && t is not ("q_proj" or "q_a_proj" or "q_b_proj")).ToList();
        if (unknown.Count > 0)
            throw new InvalidInputException($"--lora-targets: the model has no linear module named {string.Join(", ", unknown.Select(u => $"'{u}'"))}; it has {string.Join(", ", known.Order(StringComparer.Ordinal))} (kv_proj = kv_a_proj_with_mqa + kv_b_proj)") { Setting = "lora-targets" };
        var targets = settings.Targets.Where(known.Contains).ToList();
        if (targets.Count == 0) throw new InvalidInputException($"--lora-targets {string.Join(",", settings.Targets)}: none of them is a linear module of the model") { Setting = "lora-targets" };
        var result = new LoraAdapters(settings with { Targets = targets });
        using var gen = seed is long s ? new Generator((ulong)s) : null;
        using (no_grad())
        {
            foreach (var (name, layer) in modules.Where(m => targets.Contains(LastPart(m.Name))))
            {
                long outF = layer.Weight.shape[0], inF = layer.Weight.shape[1];
                double bound = 1.0 / Math.Sqrt(inF); // kaiming_uniform_(a=√5): sqrt(6 / ((1 + 5)·fan_in))
                var a = new Parameter(empty(new[] { (long)settings.Rank, inF }, ScalarType.Float32).uniform_(-bound, bound, gen).to(model.Device));
                var b = new Parameter(zeros(new[] { outF, (long)settings.Rank }, ScalarType.Float32, model.Device));
                result.Add(name, layer, new LowRankAdapter(a, b, settings.Scaling));
            }
        }
        return result;
    }

    void Add(string module, LinearLayer layer, LowRankAdapter adapter)
    {
        if (layer.Adapter != null) throw new InvalidInputException($"module {module} already has an adapter");
        layer.Adapter = adapter;
        _attached.Add((module, layer, adapter));
    }

    /// <summary>Loads a PEFT LoRA folder onto <paramref name="model"/> (unmerged: the base weights are untouched until <see cref="Merge"/>).</summary>
    public static LoraAdapters Load(DeepSeekModel model, string directory, bool trainable = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var settings = ReadSettings(directory);
        string weights = Path.Combine(directory, WeightsFile);
        if (!File.Exists(weights)) throw new CheckpointException($"adapter folder {directory}: {WeightsFile} is missing");
        var modules = LinearModules(model).ToDictionary(m => m.Name, m => m.Layer, StringComparer.Ordinal);
        var result = new LoraAdapters(settings);
        try
        {
            using var file = SafeTensorsFile.Open(weights);
            var byModule = new SortedDictionary<string, (string? A, string? B)>(StringComparer.Ordinal);
            foreach (var name in file.Entries.Keys)
            {
                string rest = name.StartsWith(PeftPrefix, StringComparison.Ordinal) ? name[PeftPrefix.Length..]
                    : throw new CheckpointException($"adapter {weights}: tensor '{name}' is not a PEFT name (base_model.model.MODULE.lora_A.weight)");
                bool isA = rest.EndsWith(".lora_A.weight", StringComparison.Ordinal), isB = rest.EndsWith(".lora_B.weight", StringComparison.Ordinal);
                if (!isA && !isB) throw new CheckpointException($"adapter {weights}: tensor '{name}' is neither lora_A nor lora_B (other PEFT tensors, e.g. modules_to_save or biases, are not supported)");
                string module = rest[..^".lora_A.weight".Length];
                byModule.TryGetValue(module, out var pair);
                byModule[module] = isA ? (name, pair.B) : (pair.A, name);
            }
            if (byModule.Count == 0) throw new CheckpointException($"adapter {weights} holds no LoRA tensors");
            foreach (var (module, (aName, bName)) in byModule)
            {
                if (!modules.TryGetValue(module, out var layer))
                    throw new CheckpointException($"adapter {directory}: the base model has no linear module '{module}' (an adapter for another model?)");
                if (aName is null || bName is null) throw new CheckpointException($"adapter {weights}: module '{module}' lacks its {(aName is null ? "lora_A" : "lora_B")} tensor");
                var a = file.ReadTensor(aName);
                var b = file.ReadTensor(bName);
                long outF = layer.Weight.shape[0], inF = layer.Weight.shape[1];
                if (a.dim() != 2 || b.dim() != 2 || a.shape[0] != settings.Rank || a.shape[1] != inF || b.shape[0] != outF || b.shape[1] != settings.Rank)
                {
                    string got = $"lora_A [{string.Join(", ", a.shape)}], lora_B [{string.Join(", ", b.shape)}]";
                    a.Dispose(); b.Dispose();
                    throw new CheckpointException($"adapter {directory}: module '{module}' has {got}; rank {settings.Rank} on a [{outF}, {inF}] weight needs lora_A [{settings.Rank}, {inF}] and lora_B [{outF}, {settings.Rank}]");
                }
                var pa = new Parameter(a.to(ScalarType.Float32).to(model.Device), requires_grad: trainable);
                var pb = new Parameter(b.to(ScalarType.Float32).to(model.Device), requires_grad: trainable);
                a.Dispose(); b.Dispose();
                result.Add(module, layer, new LowRankAdapter(pa, pb, settings.Scaling));
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>The base folder a PEFT adapter folder names (base_model_name_or_path; a relative path is read from the adapter folder).</summary>
    public static string BaseOf(string directory)
    {
        string path = Path.Combine(directory, ConfigFile);
        string? name;
        try { name = JsonNode.Parse(File.ReadAllText(path))?["base_model_name_or_path"]?.GetValue<string>(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new CheckpointException($"{path}: invalid JSON or base_model_name_or_path ({e.Message})", e); }
        if (string.IsNullOrWhiteSpace(name)) throw new CheckpointException($"{path}: no base_model_name_or_path; load the base with --model BASE --adapter {directory}");
        string full = Path.IsPathRooted(name) ? name : Path.GetFullPath(Path.Combine(directory, name));
        if (!File.Exists(Path.Combine(full, DeepSeekConfig.FileName)))
            throw new CheckpointException($"{path}: its base model '{name}' is not a model folder here; load it with --model BASE --adapter {directory}");
        return full;
    }

    /// <summary>The settings of a PEFT LoRA folder's adapter_config.json; what this engine cannot apply exactly is an error naming the field.</summary>
    public static LoraSettings ReadSettings(string directory)
    {
        string path = Path.Combine(directory, ConfigFile);
        if (!Directory.Exists(directory)) throw new InvalidInputException($"adapter folder not found: {directory}") { Setting = "adapter" };
        if (!File.Exists(path)) throw new InvalidInputException($"adapter folder {directory} has no {ConfigFile} (a PEFT LoRA folder, e.g. from dss train-lm --lora-rank)") { Setting = "adapter" };
        JsonObject config;
        try { config = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new CheckpointException($"{path}: invalid JSON ({e.Message})", e); }
        string? Text(string key) => config[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        bool Flag(string key) => config[key] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
        bool Empty(string key) => config[key] is null || config[key] is JsonObject { Count: 0 } || config[key] is JsonArray { Count: 0 };
        if (Text("peft_type") is { } type && type != "LORA") throw new CheckpointException($"{path}: peft_type '{type}' is not LORA");
        if (Flag("fan_in_fan_out")) throw new CheckpointException($"{path}: fan_in_fan_out adapters (Conv1D layouts) are not supported");
        if (Flag("use_dora")) throw new CheckpointException($"{path}: DoRA adapters (use_dora) are not supported");
        if (Text("bias") is { } bias && bias != "none") throw new CheckpointException($"{path}: bias '{bias}' is not supported (only \"none\")");
        foreach (var key in new[] { "rank_pattern", "alpha_pattern", "modules_to_save", "layers_to_transform" })
            if (!Empty(key)) throw new CheckpointException($"{path}: {key} is not supported");
        int rank = config["r"] is JsonValue r && r.TryGetValue<int>(out var ri) ? ri : throw new CheckpointException($"{path}: no integer 'r'");
        double alpha = config["lora_alpha"] is JsonValue a && a.TryGetValue<double>(out var ad) ? ad : 8; // PEFT's default lora_alpha
        var targets = config["target_modules"] switch
        {
            JsonArray arr => arr.Select(t => t?.GetValue<string>() ?? "").ToList(),
            JsonValue v when v.TryGetValue<string>(out var regex) => throw new CheckpointException($"{path}: target_modules as a regular expression ('{regex}') is not supported; list the module names"),
            _ => throw new CheckpointException($"{path}: no target_modules"),
        };
        var settings = new LoraSettings { Rank = rank, Alpha = alpha, Targets = targets, UseRsLora = Flag("use_rslora") };
        try { settings.Validate(); }
        catch (InvalidInputException e) { throw new CheckpointException($"{path}: {e.Message}", e); }
        return settings;
    }

    /// <summary>Writes the adapters as a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors, float32), naming the base folder.</summary>
    public void Save(string directory, string baseModelPath)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Directory.CreateDirectory(directory);
        var items = NamedTensors().Select(t => new SafeTensorsItem(t.Name, SafeTensorsDType.F32, t.Tensor.detach())).ToList();
        SafeTensorsWriter.Write(Path.Combine(directory, WeightsFile), items, new Dictionary<string, string> { ["format"] = "pt" });
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModelPath,
            ["r"] = Settings.Rank,
            ["lora_alpha"] = Settings.EffectiveAlpha,
            ["lora_dropout"] = 0.0,
            ["target_modules"] = new JsonArray(Settings.Targets.Select(t => (JsonNode)t).ToArray()),
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["use_rslora"] = Settings.UseRsLora,
            ["use_dora"] = false,
            ["init_lora_weights"] = true,
            ["inference_mode"] = true,
            ["modules_to_save"] = null,
            ["layers_to_transform"] = null,
            ["rank_pattern"] = new JsonObject(),
            ["alpha_pattern"] = new JsonObject(),
        };
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Folds every adapter into its base weight (W ← W + scaling·B·A, in the weight's dtype) and detaches them (PEFT's merge_and_unload).</summary>
    public void Merge()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using (no_grad())
            foreach (var (_, layer, adapter) in _attached)
            {
                using var delta = adapter.WeightDelta(layer.Weight.dtype);
                layer.Weight.PlusInPlace(delta);
            }
        Dispose();
    }

    /// <summary>Detaches the adapters from their layers and frees them (the base weights are as they were, unless merged).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, layer, adapter) in _attached)
        {
            if (ReferenceEquals(layer.Adapter, adapter)) layer.Adapter = null;
            adapter.Dispose();
        }
        _attached.Clear();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"LoRA r={Settings.Rank} alpha={Settings.EffectiveAlpha} on {_attached.Count} modules ({string.Join(",", Settings.Targets)})");
}
