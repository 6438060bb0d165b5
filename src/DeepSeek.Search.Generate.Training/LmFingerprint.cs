using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Text.Tokenization;
using DeepSeek.Search.Training;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Training;

/// <summary>The <see cref="RunFingerprint"/> of a causal-LM run.</summary>
static class LmFingerprint
{
    /// <summary>SHA-256 of every setting and input that shapes the trajectory (not the step count, reporting cadence or device).</summary>
    public static string Of(LmTrainOptions o, string workDir, ScalarType compute)
    {
        var settings = o with
        {
            CorpusPath = o.CorpusPath == null ? null : RunFingerprint.FileIdentity(o.CorpusPath),
            SftPath = o.SftPath == null ? null : RunFingerprint.FileIdentity(o.SftPath),
            InitPath = o.InitPath == null ? null : RunFingerprint.FileIdentity(InitWeights(o.InitPath)),
            OutputPath = "",
            TokenizerPath = o.TokenizerPath == null ? null : "given",
            Epochs = 1,
            MaxSteps = 0,
            Device = "",
            Threads = null,
            LogEvery = 1,
            EvalEvery = 0,
            ValidationMaxBlocks = 0,
            CheckpointEvery = 0,
            KeepCheckpoints = 1,
            Resume = false,
            Overwrite = false,
            Precision = TrainingPrecision.Auto,
        };
        var parts = new JsonObject
        {
            ["settings"] = JsonSerializer.SerializeToNode(settings, LmTrainState.Json),
            ["tokenizer"] = RunFingerprint.Sha256(File.ReadAllBytes(Path.Combine(workDir, ByteLevelBpeTokenizer.TokenizerFile))),
            ["precision"] = compute.ToString(),
        };
        return RunFingerprint.Of(parts);
    }

    /// <summary>The file that identifies an --init model: its model.safetensors (or index of shards), else its config.</summary>
    static string InitWeights(string folder) => InitFiles.Select(f => Path.Combine(folder, f)).First(File.Exists);

    static readonly string[] InitFiles = ["model.safetensors", "model.safetensors.index.json", "config.json"];
}
