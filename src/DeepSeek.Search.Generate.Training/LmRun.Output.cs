using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Torch;
using DeepSeek.Search.Torch.SafeTensors;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Generate.Training;

/// <summary>The output of a <see cref="LmTrainer"/> run: the model folder, its curve and train_lm.json, swapped into place.</summary>
sealed partial class LmRun
{
    LmTrainResult Finish()
    {
        _ct.ThrowIfCancellationRequested();
        _validation.EnsureFinal();
        var master = _model.Weights.Master;
        if (_model.Adapters is { } adapters) adapters.Save(_work, Path.GetFullPath(_o.InitPath!)); // a PEFT LoRA folder over the --init base
        else DeepSeekCheckpoint.Save(master, _work, new DeepSeekSaveOptions { ExpertLayout = ExpertLayout.PerExpert, DType = SafeTensorsDType.F32 });
        _curve.WriteCsv(Path.Combine(_work, LmTrainingCurve.CsvFile));
        _curve.WritePng(Path.Combine(_work, LmTrainingCurve.PngFile));
        _onFinished?.Invoke(master);

        var blocks = _data.Examples;
        var result = new LmTrainResult
        {
            OutputPath = _output,
            Documents = blocks.Documents,
            Tokens = blocks.Tokens,
            TrainBlocks = blocks.Train.Count,
            ValidationBlocks = blocks.Validation.Count,
            SeqLen = _o.SeqLen,
            VocabSize = _model.Config.VocabSize,
            TrainedTokenizer = _data.TrainedTokenizer,
            Steps = _at.Step,
            TotalSteps = _at.TotalSteps,
            StepsPerEpoch = _at.StepsPerEpoch,
            ResumedFromStep = _at.ResumedFrom,
            FirstLoss = _at.FirstLoss,
            LastLoss = _at.LastLoss,
            InitialValidationLoss = _validation.InitialLoss,
            FinalValidationLoss = _validation.FinalLoss,
            FinalValidationLoads = _validation.FinalLoads,
            TokensPerSecond = _at.SessionRate,
            TrainSeconds = _at.TrainSeconds,
            Device = _runtime.Device.ToString(),
            Precision = _runtime.PrecisionName,
            Parameters = _model.Weights.Parameters.Sum(p => p.Parameter.numel()),
            Runtime = TorchRuntime.Describe(),
        };
        var summary = new JsonObject
        {
            ["result"] = JsonSerializer.SerializeToNode(result, LmTrainState.Json),
            ["options"] = JsonSerializer.SerializeToNode(_o, LmTrainState.Json),
            ["fingerprint"] = _fingerprint,
        };
        AtomicFile.WriteAllText(Path.Combine(_work, LmTrainer.SummaryFile), summary.ToJsonString(LmTrainState.Json) + "\n");

        RunFolders.SwapIntoPlace(_work, _output);
        _progress?.Report(new ProgressNote($"wrote {_output}"));
        return result;
    }
}
