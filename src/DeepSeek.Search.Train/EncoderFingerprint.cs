using System.Globalization;
using System.Text.Json.Nodes;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Training;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train;

/// <summary>The <see cref="RunFingerprint"/> of a dual-encoder run.</summary>
static class EncoderFingerprint
{
    /// <summary>SHA-256 of every setting and input that shapes the trajectory (not epochs/steps, evaluation cadence or device).</summary>
    public static string Of(TrainOptions o, EncoderModel model, EncoderData data, ScalarType compute)
    {
        var parts = new JsonObject
        {
            ["model"] = o.InitPath != null ? "init:" + FilesHash(ModelFiles(o.InitPath)) : $"scratch:{o.Layers}/{o.Hidden}/{o.Heads}/{o.Ffn}/{o.MaxPositions}",
            ["tokenizer"] = $"{model.Tokenizer.VocabSize}:{(o.TokenizerPath != null ? FilesHash(TokenizerFiles(o.TokenizerPath)) : o.InitPath != null ? FilesHash(TokenizerFiles(o.InitPath)) : "bundled")}",
            ["untied"] = !model.Towers.Tied,
            ["pooling"] = model.Pooling.ToString(),
            ["normalize"] = model.Normalize,
            ["lengths"] = $"{o.MaxQueryLength}/{o.MaxDocumentLength}",
            ["prefixes"] = o.QueryPrefix + "\u0001" + o.DocumentPrefix,
            ["corpus"] = FileIdentity(o.CorpusPath),
            ["queries"] = FileIdentity(o.QueriesPath),
            ["qrels"] = FileIdentity(o.QrelsPath),
            ["pairs"] = FileIdentity(o.PairsPath),
            ["exclude"] = string.Join(",", (data.Supervised?.ExcludedFrom ?? []).Select(FileIdentity)),
            ["dev"] = FileIdentity(o.DevQueriesPath) + FileIdentity(o.DevQrelsPath) + $"/{o.DevFraction}/{o.DevMaxQueries}/{o.EvalDocuments}/{o.DevMetric}",
            ["self"] = data.Supervised == null ? o.SelfSupervision.ToString() : "",
            ["negatives"] = $"{data.HardNegatives}/{o.HardNegativeDepth}/{o.HardNegativeSkip}" + (o.RefreshNegativesEvery > 0 ? $"/refresh {o.RefreshNegativesEvery}" : ""),
            ["loss"] = $"{o.Loss}/{o.Temperature.ToString("R", CultureInfo.InvariantCulture)}/{o.LearnTemperature}/{o.Symmetric}/{o.Margin.ToString("R", CultureInfo.InvariantCulture)}",
            ["batch"] = $"{o.BatchSize}/{o.ChunkSize}",
            ["optimizer"] = $"{o.EffectiveLearningRate.ToString("R", CultureInfo.InvariantCulture)}/{o.WarmupRatio.ToString("R", CultureInfo.InvariantCulture)}/{o.WarmupSteps}/{o.WeightDecay.ToString("R", CultureInfo.InvariantCulture)}/{o.ClipNorm.ToString("R", CultureInfo.InvariantCulture)}",
            ["seed"] = o.Seed,
            ["precision"] = compute.ToString(),
        };
        // only with pretraining on, so that runs without it keep the fingerprints their checkpoints were made with
        if (o.MlmEpochs > 0)
            parts["mlm"] = $"{o.MlmEpochs}/{o.EffectiveMlmLearningRate.ToString("R", CultureInfo.InvariantCulture)}/{o.MlmBatchSize}/{o.MlmProbability.ToString("R", CultureInfo.InvariantCulture)}";
        return RunFingerprint.Of(parts);
    }

    static IEnumerable<string> ModelFiles(string dir)
    {
        foreach (var d in new[] { dir, Path.Combine(dir, "query"), Path.Combine(dir, "document") })
        {
            string config = Path.Combine(d, BertCheckpoint.ConfigFile);
            if (!File.Exists(config)) continue;
            yield return config;
            foreach (var f in BertCheckpoint.WeightFiles(d)) yield return f;
        }
    }

    static IEnumerable<string> TokenizerFiles(string dir) =>
        TokenizerFileNames.Select(f => Path.Combine(dir, f)).Where(File.Exists);

    static readonly string[] TokenizerFileNames = ["vocab.txt", "tokenizer.json", "tokenizer_config.json"];

    static string FilesHash(IEnumerable<string> files) => TextEncoder.Sha256Files(files)[..16];

    static string FileIdentity(string? path) => RunFingerprint.FileIdentity(path);
}
