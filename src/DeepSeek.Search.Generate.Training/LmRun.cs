using DeepSeek.Search.Torch;
using DeepSeek.Search.Torch.SafeTensors;
using DeepSeek.Search.Training;
using TorchSharp.Modules;

namespace DeepSeek.Search.Generate.Training;

/// <summary>
/// One <see cref="LmTrainer"/> run, put together from pieces that each do one job: Training's prologue (<see cref="TrainingRuntime"/>)
/// and position (<see cref="RunPosition"/>), the data (<see cref="LmData"/>), the model (<see cref="LmModel"/>), the fingerprint
/// (<see cref="LmFingerprint"/>) and validation (<see cref="LmValidation"/>); this file orders them and saves and restores checkpoints,
/// <c>LmRun.Loop.cs</c> runs the steps, <c>LmRun.Output.cs</c> writes the model folder.
/// </summary>
sealed partial class LmRun : IDisposable
{
    readonly LmTrainOptions _o;
    readonly string _output, _work;
    readonly bool _extending;
    readonly IProgress<ProgressEvent>? _progress;
    readonly CancellationToken _ct;
    readonly Action<DeepSeekModel>? _onFinished;

    TrainingRuntime _runtime = null!; // set in Execute (touching torch earlier would load the bundled libtorch first)
    LmData _data = null!;
    LmModel _model = null!;
    AdamW _optimizer = null!;
    List<Parameter> _clipped = null!;
    LmValidation _validation = null!;
    LmTrainingCurve _curve = new();
    string _fingerprint = "";

    RunPosition _at = null!; // step, data position, schedule length, time, first/last loss
    long _tokensSeen;
    int _batch;

    public LmRun(LmTrainOptions o, string output, string work, bool extending, IProgress<ProgressEvent>? progress,
        Action<DeepSeekModel>? onFinished, CancellationToken ct)
    {
        _onFinished = onFinished;
        _o = o;
        _output = output;
        _work = work;
        _extending = extending;
        _progress = progress;
        _ct = ct;
    }

    void Say(string message) => _progress?.Report(new ProgressNote(message));

    public LmTrainResult Execute()
    {
        _runtime = TrainingRuntime.Start(_o.Device, _o.Threads, _o.Precision);
        var checkpoint = _o.Resume && Checkpoints.List(_work) is { Count: > 0 } saved ? saved[^1] : default;

        _data = LmData.Load(_o, _work, resuming: checkpoint.Path != null, Say, _ct);
        _ct.ThrowIfCancellationRequested();
        var tokenizer = _data.Tokenizer;
        _model = new LmModel(_o, _o.InitPath != null ? LmModel.InitConfig(_o.InitPath, tokenizer.VocabSize)
            : _o.ModelConfig(tokenizer.VocabSize, tokenizer.BosTokenId, tokenizer.EosTokenId, tokenizer.PadTokenId));
        _fingerprint = LmFingerprint.Of(_o, _work, _runtime.Compute);
        _batch = Math.Min(_o.BatchSize, _data.Examples.Train.Count);
        _at = RunPosition.Plan(_data.Examples.Train.Count, _o.BatchSize, _o.MaxSteps, _o.Epochs);
        LmTrainState? state = null;
        if (checkpoint.Path != null) state = CheckState(checkpoint.Path);

        _model.Build(checkpoint.Path, _runtime, Say);
        (_optimizer, _clipped) = _model.BuildOptimizer();
        _validation = new LmValidation(_o, _data, _model, _runtime.Device, _progress, _ct);
        if (checkpoint.Path != null) Restore(checkpoint.Path, state!);
        else _validation.Initial(_at.TotalSteps, _tokensSeen, _curve);
        Loop();
        return Finish();
    }

    // ---------------------------------------------------------------- checkpoint + restore

    LmTrainState CheckState(string checkpointDir)
    {
        var state = Checkpoints.ReadState<LmTrainState>(checkpointDir, LmTrainState.Json, LmTrainState.CurrentFormat);
        state.CheckResumable(checkpointDir, _fingerprint, _at.TotalSteps, _extending,
            "corpus, tokenizer, model size, batch, learning rate, balancing or seed differ", Say);
        return state;
    }

    /// <summary>Continues from a checkpoint: the optimizer, the curve, the position and the first validation.</summary>
    void Restore(string checkpointDir, LmTrainState state)
    {
        Checkpoints.LoadOptimizer(_optimizer, checkpointDir);
        _model.Weights.MasterToWorking();
        _curve = LmTrainingCurve.ReadCsv(Path.Combine(checkpointDir, LmTrainingCurve.CsvFile));
        _curve.TruncateAfter(state.Step);
        _at.Restore(state, _curve.Points.Select(p => p.Loss));
        _tokensSeen = state.TokensSeen;
        _validation.Restore(_curve);
        Say($"resumed from step {state.Step} of {_at.TotalSteps}");
    }

    void SaveCheckpoint()
    {
        var state = _at.Stamp(new LmTrainState { TokensSeen = _tokensSeen }, _fingerprint, _o.Seed);
        string final = Checkpoints.Save(_work, _at.Step, _o.KeepCheckpoints, tmp =>
        {
            if (_model.Adapters is { } adapters) adapters.Save(tmp, Path.GetFullPath(_o.InitPath!));
            else DeepSeekCheckpoint.Save(_model.Weights.Master, tmp, new DeepSeekSaveOptions { ExpertLayout = ExpertLayout.Fused, DType = SafeTensorsDType.F32 });
            Checkpoints.SaveOptimizer(_optimizer, tmp);
            _curve.WriteCsv(Path.Combine(tmp, LmTrainingCurve.CsvFile));
            Checkpoints.WriteState(tmp, state, LmTrainState.Json);
        });
        _curve.WriteCsv(Path.Combine(_work, LmTrainingCurve.CsvFile));
        _progress?.Report(new LmCheckpointProgress(_at.Step, _at.TotalSteps, Path.GetFileName(final)));
    }

    public void Dispose()
    {
        _optimizer?.Dispose();
        _model?.Dispose();
    }
}
