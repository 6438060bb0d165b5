using System.Text.Json;
using DeepSeek.Search.Core;
using TorchSharp;
using static TorchSharp.torch;
using DeepSeek.Search.Torch;
using DeepSeek.Search.Torch.SafeTensors;

namespace DeepSeek.Search.Encode;

/// <summary>
/// Loads and saves <see cref="BertModel"/>s in the Hugging Face layout: a folder with <c>config.json</c> and <c>model.safetensors</c>
/// (or a sharded <c>model.safetensors.index.json</c>). Accepted on load:
/// <list type="bullet">
/// <item>plain <c>BertModel</c> names (<c>embeddings.word_embeddings.weight</c>, ...) or the <c>bert.</c>-prefixed names of
/// <c>BertForMaskedLM</c>/<c>BertForSequenceClassification</c>/...; the task head's tensors outside <c>bert.</c> are ignored;</item>
/// <item>TF-era <c>LayerNorm.gamma</c>/<c>LayerNorm.beta</c> names; the <c>embeddings.position_ids</c> buffer (ignored);</item>
/// <item>F32, F16 or BF16 weights (converted to float32);</item>
/// <item>no pooler at all (the model then has none); a partial pooler is an error.</item>
/// </list>
/// Any missing, unexpected or mis-shaped tensor is a <see cref="CheckpointException"/> naming it. Saving writes float32 tensors under plain
/// BertModel names and a config.json that transformers and <see cref="Load"/> read back.
/// </summary>
public static class BertCheckpoint
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string WeightsIndexFile = "model.safetensors.index.json";

    /// <summary>The weight files of a checkpoint folder (one, or the shards of an index), for hashing.</summary>
    public static IReadOnlyList<string> WeightFiles(string dir)
    {
        string single = Path.Combine(dir, WeightsFile);
        if (File.Exists(single)) return new[] { single };
        string index = Path.Combine(dir, WeightsIndexFile);
        if (File.Exists(index))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(index));
                return doc.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!)
                    .Distinct().OrderBy(s => s, StringComparer.Ordinal).Select(f => Path.Combine(dir, f)).ToList();
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new CheckpointException($"{index}: not a safetensors index ({e.Message})", e);
            }
        }
        if (File.Exists(Path.Combine(dir, "pytorch_model.bin")))
            throw new CheckpointException($"{dir}: only pytorch_model.bin found; convert it to model.safetensors (only safetensors checkpoints are read)");
        throw new CheckpointException($"{dir}: no {WeightsFile}");
    }

    /// <summary>Loads a checkpoint folder onto <paramref name="device"/> (CPU by default).</summary>
    public static BertModel Load(string dir, Device? device = null)
    {
        if (!Directory.Exists(dir)) throw new CheckpointException($"model folder not found: {dir}");
        TorchRuntime.Initialize();
        var config = BertConfig.Load(Path.Combine(dir, ConfigFile));
        var readers = new List<SafeTensorsFile>();
        try
        {
            foreach (var f in WeightFiles(dir)) readers.Add(SafeTensorsFile.Open(f));
            var source = new Dictionary<string, (SafeTensorsFile Reader, string Name)>(StringComparer.Ordinal);
            foreach (var r in readers)
                foreach (var name in r.Entries.Keys)
                    if (!source.TryAdd(name, (r, name)))
                        throw new CheckpointException($"{dir}: tensor '{name}' is in more than one weight file");

            // BertForX checkpoints: everything of the encoder under "bert."
            bool prefixed = !source.ContainsKey("embeddings.word_embeddings.weight") && source.ContainsKey("bert.embeddings.word_embeddings.weight");
            var byModelName = new Dictionary<string, (SafeTensorsFile Reader, string Name)>(StringComparer.Ordinal);
            foreach (var (name, src) in source)
            {
                string n = name;
                if (prefixed)
                {
                    if (!n.StartsWith("bert.", StringComparison.Ordinal)) continue; // task head (cls.*, classifier.*, qa_outputs.*)
                    n = n["bert.".Length..];
                }
                if (n == "embeddings.position_ids") continue; // a buffer older transformers saved
                if (n.EndsWith("LayerNorm.gamma", StringComparison.Ordinal)) n = n[..^"gamma".Length] + "weight";
                else if (n.EndsWith("LayerNorm.beta", StringComparison.Ordinal)) n = n[..^"beta".Length] + "bias";
                if (!byModelName.TryAdd(n, src))
                    throw new CheckpointException($"{dir}: tensors '{byModelName[n].Name}' and '{name}' both map to '{n}'");
            }

            bool hasPooler = byModelName.Keys.Any(k => k.StartsWith("pooler.", StringComparison.Ordinal));
            var model = new BertModel(config, addPoolingLayer: hasPooler);
            try
            {
                var expected = model.named_parameters().ToList();
                var missing = expected.Select(p => p.name).Where(n => !byModelName.ContainsKey(n)).ToList();
                if (missing.Count > 0)
                    throw new CheckpointException($"{dir}: missing tensor{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Take(8).Select(m => $"'{Display(m)}'"))}{(missing.Count > 8 ? $" and {missing.Count - 8} more" : "")}");
                var known = expected.Select(p => p.name).ToHashSet(StringComparer.Ordinal);
                var unexpected = byModelName.Keys.Where(k => !known.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
                if (unexpected.Count > 0)
                    throw new CheckpointException($"{dir}: unexpected tensor{(unexpected.Count > 1 ? "s" : "")} {string.Join(", ", unexpected.Take(8).Select(u => $"'{byModelName[u].Name}'"))}{(unexpected.Count > 8 ? $" and {unexpected.Count - 8} more" : "")} (not part of a {config.NumHiddenLayers}-layer BertModel)");

                using (no_grad())
                {
                    foreach (var (name, p) in expected)
                    {
                        var (reader, srcName) = byModelName[name];
                        var info = reader.Entries[srcName];
                        if (!info.Shape.SequenceEqual(p.shape))
                            throw new CheckpointException($"{reader.FilePath}: tensor '{srcName}' has shape {info.ShapeText}, the config needs [{string.Join(", ", p.shape)}]");
                        if (info.DType is not (SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16))
                            throw new CheckpointException($"{reader.FilePath}: tensor '{srcName}' is {info.DType}, expected a floating-point tensor");
                        using var t = reader.ReadTensor(srcName); // F16/BF16 widen exactly to float32 in copy_
                        p.copy_(t);
                    }
                }
                if (device != null && device.type != DeviceType.CPU) model.To(device);
                return model;

                string Display(string modelName) => prefixed ? "bert." + modelName : modelName;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var r in readers) r.Dispose();
        }
    }

    /// <summary>Writes <c>config.json</c> and <c>model.safetensors</c> (float32, plain BertModel names) into <paramref name="dir"/>.</summary>
    public static void Save(BertModel model, string dir)
    {
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(dir);
        using (NewDisposeScope())
            SafeTensorsWriter.Write(Path.Combine(dir, WeightsFile), ToSafeTensors(model), SavedMetadata);
        model.Config.Save(Path.Combine(dir, ConfigFile));
    }

    static readonly IReadOnlyDictionary<string, string> SavedMetadata = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>
    /// The model's parameters as float32 safetensors items, sorted by name (what <see cref="Save"/> writes); each holds a detached
    /// view of the parameter, read when the items are written.
    /// </summary>
    public static IReadOnlyList<SafeTensorsItem> ToSafeTensors(BertModel model) =>
        model.named_parameters().Select(p => new SafeTensorsItem(p.name, SafeTensorsDType.F32, p.parameter.detach()))
            .OrderBy(t => t.Name, StringComparer.Ordinal).ToList();

    /// <summary>SHA-256 (hex) of the model.safetensors that <see cref="Save"/> would write for these models, one after the other.</summary>
    public static string WeightsSha256(params BertModel[] models)
    {
        using var sha = System.Security.Cryptography.SHA256.Create();
        using (var hashing = new System.Security.Cryptography.CryptoStream(Stream.Null, sha, System.Security.Cryptography.CryptoStreamMode.Write))
            foreach (var model in models)
                using (NewDisposeScope())
                    SafeTensorsWriter.Write(hashing, ToSafeTensors(model), SavedMetadata);
        return Convert.ToHexStringLower(sha.Hash!);
    }
}
