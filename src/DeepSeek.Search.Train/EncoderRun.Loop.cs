using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Train.Data;
using DeepSeek.Search.Training;
using TorchSharp;

namespace DeepSeek.Search.Train;

/// <summary>The step loop of a <see cref="Trainer"/> run.</summary>
sealed partial class EncoderRun
{
    int _refreshedEpoch = -1;

    void Loop()
    {
        double peak = _o.EffectiveLearningRate;
        long warmup = LearningRateSchedule.WarmupSteps(_at.TotalSteps, _o.WarmupRatio, _o.WarmupSteps);
        int batch = Math.Min(_o.BatchSize, _data.Set.Count);
        double lossSum = 0;
        int lossCount = 0;
        double intervalSeconds = 0;
        long intervalPairs = 0;
        double lastNorm = 0;
        int[]? order = null;
        int orderEpoch = -1;
        Say($"training {_at.TotalSteps - _at.Step:N0} step(s) of {batch} pairs on {_runtime.DeviceKind} ({_runtime.PrecisionName}), {_at.StepsPerEpoch:N0} steps per epoch");

        while (!_at.Finished && !_dev.Stopped)
        {
            _ct.ThrowIfCancellationRequested();
            if (orderEpoch != _at.Epoch) { order = _data.Set.Order(_at.Epoch); orderEpoch = _at.Epoch; }
            if (_o.RefreshNegativesEvery > 0 && _data.Supervised != null && _data.Miner != null && _data.HardNegatives > 0)
            {
                int refresh = _at.Epoch / _o.RefreshNegativesEvery * _o.RefreshNegativesEvery;
                if (refresh > 0 && refresh != _refreshedEpoch) RefreshNegatives(refresh);
            }
            long started = Stopwatch.GetTimestamp();

            var examples = new List<TrainingExample>(batch);
            for (int i = _at.BatchInEpoch * batch; i < (_at.BatchInEpoch + 1) * batch; i++) examples.Add(_data.Set.Example(_at.Epoch, order![i]));
            var contrastive = ContrastiveBatch.From(examples);

            double lr = LearningRateSchedule.At(_at.Step, _at.TotalSteps, warmup, peak);
            foreach (var g in _optimizer.ParamGroups) g.LearningRate = lr;
            double loss = _model.Step.Run(contrastive);
            if (!double.IsFinite(loss))
                throw new SearchException($"the loss became {loss} at step {_at.Step + 1}; lower --lr (now {peak:G3}) or raise --temperature");
            lastNorm = torch.nn.utils.clip_grad_norm_(_clipped, _o.ClipNorm > 0 ? _o.ClipNorm : double.PositiveInfinity);
            _optimizer.step();
            _model.ClampTemperature();
            _optimizer.zero_grad();
            _model.LogitScale?.grad?.zero_();
            _model.Towers.MasterToWorking();

            int epochOfStep = _at.Epoch;
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            bool epochEnd = _at.Advance(seconds, batch, loss);
            _pairsSeen += batch;
            intervalSeconds += seconds;
            intervalPairs += batch;
            lossSum += loss;
            lossCount++;
            long step = _at.Step;
            bool last = _at.AtLast;

            if (step % _o.LogEvery == 0 || epochEnd || last)
            {
                double pps = intervalSeconds > 0 ? intervalPairs / intervalSeconds : 0;
                _curve.Add(new CurvePoint(step, epochOfStep, lossSum / lossCount, lr, _model.Temperature(), lastNorm, pps));
                _progress?.Report(new TrainStepProgress(step, _at.TotalSteps, epochOfStep, lossSum / lossCount, lr, _model.Temperature(), pps));
                lossSum = 0; lossCount = 0; intervalSeconds = 0; intervalPairs = 0;
            }
            if (_dev.Evaluator != null && ((_o.EvalEvery > 0 ? step % _o.EvalEvery == 0 : epochEnd) || last))
                Evaluate(step, epochOfStep);
            if ((_o.CheckpointEvery > 0 ? step % _o.CheckpointEvery == 0 : epochEnd) || last || _dev.Stopped)
                SaveCheckpoint();
        }
    }

    /// <summary>
    /// The hard-negative candidates for epochs from <paramref name="epoch"/> on, mined with the current towers at the start of that
    /// epoch, or read back from that refresh's file when resuming, so a resumed run samples what a straight one did.
    /// </summary>
    void RefreshNegatives(int epoch)
    {
        string path = Path.Combine(_work, Trainer.DenseNegativesFolder, $"epoch-{epoch:D4}.json");
        Dictionary<string, IReadOnlyList<string>> candidates;
        if (File.Exists(path)) candidates = DenseNegativeMiner.Load(path, _data.Corpus!);
        else
        {
            _progress?.Report(new NegativeRefreshProgress(epoch, _data.Supervised!.QueryCount));
            var sw = Stopwatch.StartNew();
            candidates = DenseNegativeMiner.Mine(_model.Towers, _model.Tokenizer, _data.Corpus!, _data.Supervised!, _o.HardNegativeDepth, _o.HardNegativeSkip,
                _o.MaxQueryLength, _o.MaxDocumentLength, _o.QueryPrefix, _o.DocumentPrefix);
            DenseNegativeMiner.Save(path, epoch, candidates);
            Say($"epoch {epoch}: hard negatives of {candidates.Count:N0} queries re-mined with the model in {sw.Elapsed.TotalSeconds:F1} s");
        }
        _data.Set.UseCandidates(candidates);
        _refreshedEpoch = epoch;
    }
}
