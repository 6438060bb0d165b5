using DeepSeek.Search.Train.Pretraining;
using DeepSeek.Search.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train;

/// <summary>
/// One <see cref="Trainer"/> run, put together from pieces that each do one job: Training's prologue (<see cref="TrainingRuntime"/>)
/// and position (<see cref="RunPosition"/>), the model (<see cref="EncoderModel"/>), the data (<see cref="EncoderData"/>), the
/// fingerprint (<see cref="EncoderFingerprint"/>), the masked-LM phase (<see cref="MaskedLmPhase"/>), dev evaluation and best-model
/// tracking (<see cref="DevTracker"/>); this file orders them and saves and restores checkpoints, <c>EncoderRun.Loop.cs</c> runs the
/// steps, <c>EncoderRun.Output.cs</c> writes the encoder folder.
/// </summary>
sealed partial class EncoderRun : IDisposable
{
    readonly TrainOptions _o;
    readonly string _output, _work;
    readonly bool _extending;
    readonly IProgress<ProgressEvent>? _progress;
    readonly CancellationToken _ct;

    TrainingRuntime _runtime = null!; // set in Execute (touching torch earlier would load the bundled libtorch first)
    readonly EncoderModel _model;
    EncoderData _data = null!;
    AdamW _optimizer = null!;
    List<Parameter> _clipped = null!;
    RunPosition _at = null!;
    DevTracker _dev = null!;
    TrainingCurve _curve = new();
    string _fingerprint = "";
    MaskedLmSummary? _mlm;
    long _pairsSeen;

    public EncoderRun(TrainOptions o, string output, string work, bool extending, IProgress<ProgressEvent>? progress, CancellationToken ct)
    {
        _o = o;
        _extending = extending;
        _output = output;
        _work = work;
        _progress = progress;
        _ct = ct;
        _model = new EncoderModel(o);
    }

    void Say(string message) => _progress?.Report(new ProgressNote(message));

    public TrainResult Execute()
    {
        _runtime = TrainingRuntime.Start(_o.Device, _o.Threads, _o.Precision);
        random.manual_seed(_o.Seed);

        // the model first: a bad --init folder fails before the corpus is read and mined
        var checkpoint = _o.Resume && Checkpoints.List(_work) is { Count: > 0 } saved ? saved[^1] : default;
        _model.Build(checkpoint.Path, _runtime, Say);
        _data = EncoderData.Load(_o, _work, _model.DescribeDefault, Say, _progress);
        _ct.ThrowIfCancellationRequested();
        _fingerprint = EncoderFingerprint.Of(_o, _model, _data, _runtime.Compute);
        (_optimizer, _clipped) = _model.BuildOptimizer();
        _dev = new DevTracker(_o, _work, _data.AdaptationGate, _model.InitSettings);

        _at = RunPosition.Plan(_data.Set.Count, _o.BatchSize, _o.MaxSteps, _o.Epochs);
        if (checkpoint.Path != null) Restore(checkpoint.Path);
        else if (_o.MlmEpochs > 0 || MaskedLmSnapshot.Exists(_work))
            _mlm = MaskedLmPhase.Run(_o, _work, _model, _data.Corpus, _fingerprint, Say, _progress, _ct);

        if (_data.Dev != null && _data.Corpus != null)
        {
            _dev.Evaluator = new DevEvaluator(_data.Dev, _data.Corpus, _o.EvalDocuments, _o.Seed, _data.Miner,
                _data.AdaptationGate ? _model.InitSettings?.HybridAlpha : null);
            Say($"dev set: {_dev.Evaluator.QueryCount} queries over {_dev.Evaluator.DocumentCount:N0} documents");
        }
        if (_dev.Evaluator != null && _at.ResumedFrom == null) Evaluate(step: 0, epoch: 0);

        if (!_dev.Stopped) Loop();
        return Finish();
    }

    void Evaluate(long step, int epoch) => _dev.Evaluate(step, epoch, _at.TotalSteps, _model, _curve, _progress);

    // ---------------------------------------------------------------- checkpoint + restore

    void SaveCheckpoint()
    {
        var state = _at.Stamp(_dev.Stamp(new TrainState { LogitScaleBits = _model.LogitScaleBits, PairsSeen = _pairsSeen, Mlm = _mlm }), _fingerprint, _o.Seed);
        string dir = TrainingCheckpoint.Save(_work, _model.Towers, _optimizer, state, _curve, _o.KeepCheckpoints);
        _curve.WriteCsv(Path.Combine(_work, TrainingCurve.CsvFile));
        _progress?.Report(new TrainCheckpointProgress(_at.Step, _at.TotalSteps, _at.Epoch, Path.GetFileName(dir)));
    }

    /// <summary>Continues from a checkpoint: each piece takes its part of the state (position, best-model tracking, temperature, optimizer, curve).</summary>
    void Restore(string checkpointDir)
    {
        var state = TrainingCheckpoint.ReadState(checkpointDir);
        state.CheckResumable(checkpointDir, _fingerprint, _at.TotalSteps, _extending,
            "model, data files, loss, batch, learning rate or seed differ", Say, state.StoppedEarly);
        Checkpoints.LoadOptimizer(_optimizer, checkpointDir);
        _model.RestoreLogitScale(state.LogitScaleBits, checkpointDir);
        _model.Towers.MasterToWorking();
        _curve = TrainingCurve.ReadCsv(Path.Combine(checkpointDir, TrainingCurve.CsvFile));
        _curve.TruncateAfter(state.Step);
        _at.Restore(state, _curve.Points.Select(p => p.Loss));
        _dev.Restore(state, _curve);
        _pairsSeen = state.PairsSeen;
        _mlm = state.Mlm;
    }

    public void Dispose()
    {
        _data?.Dispose();
        _optimizer?.Dispose();
        _model.Dispose();
    }
}
