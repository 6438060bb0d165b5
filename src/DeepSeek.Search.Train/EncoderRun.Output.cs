using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Torch;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train;

/// <summary>The output of a <see cref="Trainer"/> run: the encoder folder, its curve and train.json, swapped into place.</summary>
sealed partial class EncoderRun
{
    static readonly string[] TowerFolders = ["query", "document"];

    TrainResult Finish()
    {
        _ct.ThrowIfCancellationRequested();
        var evaluator = _dev.Evaluator;
        string best = Path.Combine(_work, Trainer.BestFolder);
        bool useBest = evaluator != null && Directory.Exists(best);
        foreach (var stale in TowerFolders.Select(d => Path.Combine(_work, d)))
            if (Directory.Exists(stale)) Directory.Delete(stale, true);
        if (useBest) RunFolders.CopyDirectory(best, _work);
        if (_data.AdaptationGate)
            Say(_dev.BestStep == 0
                ? $"kept the --init encoder's weights: no evaluation beat them by {Trainer.AdaptationMargin} nDCG@10 on the {evaluator!.QueryCount} held-out pseudo-queries ({_dev.BestMetric:F4})"
                : $"the adapted weights of step {_dev.BestStep} beat the --init encoder's on the {evaluator!.QueryCount} held-out pseudo-queries: nDCG@10 {_dev.DefaultScore(_dev.InitialDev):F4} → {_dev.BestMetric:F4}");
        else TrainingCheckpoint.SaveTowers(_model.Towers, _work);
        if (_o.InitWeight is double w && w > 0)
        {
            Say($"interpolating the weights with the --init encoder's: {w:0.##} × init + {1 - w:0.##} × trained");
            WeightAveraging.Interpolate(_work, _o.InitPath!, w);
        }
        _model.Tokenizer.Save(_work);
        string name = _o.Name ?? Path.GetFileName(_output);
        var (hybridFusion, hybridAlpha, hybridReason) = HybridDefault();
        Say($"hybrid default: {hybridFusion}{(hybridFusion == "minmax" ? $" {hybridAlpha:0.0#}" : "")} ({hybridReason})");
        new DualEncoderConfig
        {
            Name = name,
            Pooling = _model.Pooling,
            Normalize = _model.Normalize,
            MaxQueryLength = _o.MaxQueryLength,
            MaxDocumentLength = _o.MaxDocumentLength,
            Tied = _model.Towers.Tied,
            QueryPrefix = _o.QueryPrefix,
            DocumentPrefix = _o.DocumentPrefix,
            HybridFusion = hybridFusion,
            HybridAlpha = hybridAlpha,
        }.Save(_work);
        _curve.WriteCsv(Path.Combine(_work, TrainingCurve.CsvFile));
        _curve.WritePng(Path.Combine(_work, TrainingCurve.PngFile));

        var supervised = _data.Supervised;
        var result = new TrainResult
        {
            OutputPath = _output,
            Supervision = _data.Supervision,
            TrainingExamples = _data.Set.Count,
            TrainingQueries = supervised?.QueryCount ?? _data.Set.Count,
            DevQueries = evaluator?.QueryCount ?? 0,
            DevDocuments = evaluator?.DocumentCount ?? 0,
            ExcludedQueries = supervised?.ExcludedQueries ?? 0,
            ExcludedQrels = supervised?.ExcludedFrom ?? [],
            Steps = _at.Step,
            TotalSteps = _at.TotalSteps,
            StepsPerEpoch = _at.StepsPerEpoch,
            StoppedEarly = _dev.Stopped,
            ResumedFromStep = _at.ResumedFrom,
            FirstLoss = _at.FirstLoss,
            LastLoss = _at.LastLoss,
            InitialDev = _dev.InitialDev,
            BestDev = _dev.BestDev,
            BestStep = evaluator != null ? _dev.BestStep : null,
            SavedBest = useBest,
            KeptInit = _data.AdaptationGate ? _dev.BestStep == 0 : null,
            PairsPerSecond = _at.SessionRate,
            TrainSeconds = _at.TrainSeconds,
            FinalTemperature = _model.Temperature(),
            Device = _runtime.Device.ToString(),
            Precision = _runtime.PrecisionName,
            Parameters = _model.Towers.TrainableParameters().Sum(p => p.Parameter.numel()),
            Runtime = TorchRuntime.Describe(),
            Mlm = _mlm,
        };
        var summary = new JsonObject
        {
            ["result"] = JsonSerializer.SerializeToNode(result, TrainState.Json),
            ["options"] = JsonSerializer.SerializeToNode(_o, TrainState.Json),
            ["fingerprint"] = _fingerprint,
        };
        AtomicFile.WriteAllText(Path.Combine(_work, Trainer.SummaryFile), summary.ToJsonString(TrainState.Json) + "\n");

        _data.CloseMiner();
        foreach (var d in new[] { Trainer.Bm25Folder, Trainer.BestFolder, Pretraining.MaskedLmSnapshot.Folder })
            if (Directory.Exists(Path.Combine(_work, d))) Directory.Delete(Path.Combine(_work, d), true);

        RunFolders.SwapIntoPlace(_work, _output);
        _progress?.Report(new ProgressNote($"wrote {_output}"));
        return result;
    }

    /// <summary>
    /// The hybrid fusion recorded in dual_encoder.json: --hybrid-alpha when given; with labels and BM25, the best setting on the
    /// dev queries at the best step (<see cref="DevScores.Recommend"/>: dense alone unless a fusion is clearly better); without
    /// labels, the --init encoder's own recommendation (nothing here can measure a better one), else min-max 0.1 (self-supervised)
    /// or 0.5 (supervised), the weights measured for encoders trained from scratch (README).
    /// </summary>
    (string Fusion, float Alpha, string Reason) HybridDefault()
    {
        var supervised = _data.Supervised;
        var init = _model.InitSettings;
        if (_o.HybridAlpha is float given) return ("minmax", given, "--hybrid-alpha");
        if (supervised != null && _dev.BestDev?.Recommend() is { } r)
            return (r.Fusion, r.Alpha, $"best on {_dev.Evaluator!.QueryCount} dev queries: nDCG@10 {r.Ndcg:F4}, dense alone {_dev.BestDev.DenseNdcg:F4}");
        if (supervised == null && init is { HybridFusion: { } f })
            return (f, init.HybridAlpha ?? 0.5f, "the --init encoder's recommendation");
        return ("minmax", supervised == null ? 0.1f : 0.5f, supervised == null ? "self-supervised default" : "supervised default, no dev set with BM25");
    }
}
