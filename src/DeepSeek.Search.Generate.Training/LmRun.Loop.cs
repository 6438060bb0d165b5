using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Training;
using TorchSharp;
using DeepSeek.Search.Torch;
using static TorchSharp.torch;

namespace DeepSeek.Search.Generate.Training;

/// <summary>The step loop of a <see cref="LmTrainer"/> run.</summary>
sealed partial class LmRun
{
    double LearningRate(long step)
    {
        long total = _at.TotalSteps, warmup = LearningRateSchedule.WarmupSteps(total, _o.WarmupRatio, _o.WarmupSteps);
        double peak = _o.LearningRate, floor = peak * _o.MinLearningRateRatio;
        return _o.Schedule switch
        {
            LmSchedule.Cosine => LearningRateSchedule.Cosine(step, total, warmup, peak, floor),
            LmSchedule.Linear => LearningRateSchedule.At(step, total, warmup, peak, floor),
            _ => step < warmup ? peak * (step + 1) / warmup : peak,
        };
    }

    void Loop()
    {
        double lossSum = 0, auxSum = 0, intervalSeconds = 0, lastNorm = 0;
        int lossCount = 0;
        long intervalTokens = 0;
        var intervalCounts = new SortedDictionary<int, long[]>();
        int[]? order = null;
        int orderEpoch = -1;
        var weights = _model.Weights;
        var observer = _model.Observer;
        if (!_at.Finished)
            Say($"training {_at.TotalSteps - _at.Step:N0} step(s) of {_batch} × {(_o.SftPath != null ? "≤" : "")}{_o.SeqLen} tokens on {_runtime.DeviceKind} " +
                $"({(weights.FrozenBase ? $"{_model.Adapters}, base frozen in {(_runtime.BFloat16 ? "bf16" : "fp32")}" : _runtime.BFloat16 ? "bf16, fp32 master weights" : "fp32")}), {_at.StepsPerEpoch:N0} steps per epoch");

        while (!_at.Finished)
        {
            _ct.ThrowIfCancellationRequested();
            if (orderEpoch != _at.Epoch) { order = _data.Order(_at.Epoch); orderEpoch = _at.Epoch; }
            long started = Stopwatch.GetTimestamp();
            double lr = LearningRate(_at.Step);
            foreach (var g in _optimizer.ParamGroups) g.LearningRate = lr;

            double loss, aux = 0;
            long batchTokens;
            using (var scope = NewDisposeScope())
            {
                using var batch = _data.Examples.Batch(order!.Skip(_at.BatchInEpoch * _batch).Take(_batch), _runtime.Device);
                observer.ResetCounts();
                observer.Sequences = batch.Ids.shape[0];
                var logits = weights.Compute.Forward(batch.Ids, observer);
                var ce = LmTrainer.CausalLmLoss(logits, batch.Labels);
                batchTokens = batch.Tokens;
                var balance = observer.TakeLoss();
                var total = balance is null ? ce : ce.Plus(balance);
                total.backward();
                loss = ce.item<float>();
                if (balance is not null) aux = balance.item<float>();
                if (!double.IsFinite(loss) || !double.IsFinite(aux))
                    throw new SearchException($"the loss became {loss + aux} at step {_at.Step + 1}; lower --lr (now {_o.LearningRate:G3})");
                weights.GradientsToMaster();
                lastNorm = nn.utils.clip_grad_norm_(_clipped, _o.ClipNorm > 0 ? _o.ClipNorm : double.PositiveInfinity);
                _optimizer.step();
                _optimizer.zero_grad();
                if (!weights.FrozenBase) BiasBalancer.Update(weights.Master, observer.Counts, _o.BiasUpdateSpeed);
                weights.MasterToWorking();
            }
            foreach (var (layer, c) in observer.Counts)
            {
                if (!intervalCounts.TryGetValue(layer, out var acc)) intervalCounts[layer] = acc = new long[c.Length];
                for (int e = 0; e < c.Length; e++) acc[e] += c[e];
            }

            long tokens = batchTokens;
            _tokensSeen += tokens;
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            _at.Advance(seconds, tokens, loss);
            intervalSeconds += seconds;
            intervalTokens += tokens;
            lossSum += loss;
            auxSum += aux;
            lossCount++;
            long step = _at.Step;
            bool last = _at.AtLast;

            if (step % _o.LogEvery == 0 || last)
            {
                double tps = intervalSeconds > 0 ? intervalTokens / intervalSeconds : 0;
                var loads = intervalCounts.Select(kv => new ExpertLoad(kv.Key, kv.Value)).ToList();
                double? auxMean = _o.SeqAuxLoss > 0 ? auxSum / lossCount : null;
                _curve.Add(new LmCurvePoint(step, _tokensSeen, lossSum / lossCount, auxMean, lr, lastNorm, tps,
                    loads.Count > 0 ? loads.Max(l => l.MaxOverMean) : null, loads.Count > 0 ? loads.Sum(l => l.Idle) : null));
                _progress?.Report(new LmStepProgress(step, _at.TotalSteps, lossSum / lossCount, auxMean, lr, tps, loads));
                lossSum = auxSum = intervalSeconds = 0;
                lossCount = 0;
                intervalTokens = 0;
                intervalCounts = new SortedDictionary<int, long[]>();
            }
            if ((_o.EvalEvery > 0 && step % _o.EvalEvery == 0) || last)
                _validation.At(step, last, _at.TotalSteps, _tokensSeen, _curve);
            if ((_o.CheckpointEvery > 0 && step % _o.CheckpointEvery == 0) || last) SaveCheckpoint();
        }
    }
}
