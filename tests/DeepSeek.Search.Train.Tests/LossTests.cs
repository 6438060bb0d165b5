using DeepSeek.Search.Core;
using DeepSeek.Search.Train.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train.Tests;

public class LossTests
{
    static Tensor Rand(long rows, long cols, int seed)
    {
        var g = new Generator((ulong)seed);
        return nn.functional.normalize(randn(new[] { rows, cols }, generator: g), p: 2, dim: -1);
    }

    static double[,] Scores(Tensor q, Tensor d)
    {
        var s = q.matmul(d.t()).data<float>().ToArray();
        long b = q.shape[0], n = d.shape[0];
        var r = new double[b, n];
        for (int i = 0; i < b; i++) for (int j = 0; j < n; j++) r[i, j] = s[i * n + j];
        return r;
    }

    /// <summary>−log softmax of row i at its positive (column i), excluded columns left out: the definition of InfoNCE.</summary>
    static double ManualInfoNce(double[,] s, bool[,] exclude, double tau)
    {
        int b = s.GetLength(0), n = s.GetLength(1);
        double total = 0;
        for (int i = 0; i < b; i++)
        {
            double denom = 0;
            for (int j = 0; j < n; j++) if (!exclude[i, j]) denom += Math.Exp(s[i, j] / tau);
            total += -(s[i, i] / tau - Math.Log(denom));
        }
        return total / b;
    }

    [Fact]
    public void InfoNce_is_the_softmax_cross_entropy_over_unexcluded_candidates()
    {
        var q = Rand(3, 8, 1);
        var d = Rand(5, 8, 2);
        var exclude = new bool[3, 5];
        exclude[0, 4] = true;
        exclude[2, 1] = true;
        var mask = tensor(exclude.Cast<bool>().ToArray(), new long[] { 3, 5 });
        double loss = new InfoNceLoss(0.05).Forward(q, d, mask).item<float>();
        Assert.Equal(ManualInfoNce(Scores(q, d), exclude, 0.05), loss, 4);

        // without exclusions it differs (the excluded candidates carried probability)
        double unmasked = new InfoNceLoss(0.05).Forward(q, d, zeros(3, 5, ScalarType.Bool)).item<float>();
        Assert.NotEqual(loss, unmasked, 3);
    }

    [Fact]
    public void An_excluded_candidate_neither_changes_the_loss_nor_gets_a_gradient()
    {
        var q = Rand(2, 6, 3);
        var d0 = Rand(4, 6, 4);
        var mask = tensor(new[] { false, false, false, true, false, false, false, false }, new long[] { 2, 4 });
        var d = d0.clone().requires_grad_(true);
        var loss = new InfoNceLoss(0.1).Forward(q, d, mask);
        loss.backward();
        // column 3 is excluded for row 0 and is a plain negative of row 1: its gradient comes from row 1 only
        var changed = d0.clone();
        changed[3] = Rand(1, 6, 9)[0];
        var q0only = q.narrow(0, 0, 1);
        double a = new InfoNceLoss(0.1).Forward(q0only, d0, mask.narrow(0, 0, 1)).item<float>();
        double b = new InfoNceLoss(0.1).Forward(q0only, changed, mask.narrow(0, 0, 1)).item<float>();
        Assert.Equal(a, b, 6);
        // with row 1 also excluding it, column 3 gets no gradient at all
        var d2 = d0.clone().requires_grad_(true);
        new InfoNceLoss(0.1).Forward(q, d2, tensor(new[] { false, false, false, true, false, false, false, true }, new long[] { 2, 4 })).backward();
        Assert.Equal(0f, d2.grad!.select(0, 3).abs().sum().item<float>());
    }

    [Fact]
    public void Symmetric_InfoNce_averages_both_directions()
    {
        var q = Rand(3, 8, 5);
        var d = Rand(4, 8, 6);
        var none = zeros(3, 4, ScalarType.Bool);
        double forward = new InfoNceLoss(0.05).Forward(q, d, none).item<float>();
        // document→query: positives (first 3 documents) against the 3 queries
        double reverse = new InfoNceLoss(0.05).Forward(d.narrow(0, 0, 3), q, zeros(3, 3, ScalarType.Bool)).item<float>();
        double symmetric = new InfoNceLoss(0.05, symmetric: true).Forward(q, d, none).item<float>();
        Assert.Equal((forward + reverse) / 2, symmetric, 4);
    }

    [Fact]
    public void Learnable_temperature_matches_the_fixed_one_and_receives_a_gradient()
    {
        var q = Rand(4, 8, 7);
        var d = Rand(6, 8, 8);
        var none = zeros(4, 6, ScalarType.Bool);
        var scale = tensor((float)Math.Log(1 / 0.07)).requires_grad_(true);
        var loss = new InfoNceLoss(0.05).Forward(q, d, none, scale);
        Assert.Equal(new InfoNceLoss(0.07).Forward(q, d, none).item<float>(), loss.item<float>(), 4);
        loss.backward();
        Assert.NotEqual(0f, scale.grad!.item<float>());
    }

    [Fact]
    public void Triplet_loss_averages_violations_over_active_triplets()
    {
        // unit vectors on a circle: sim = cos(angle)
        Tensor V(params double[] angles) => tensor(angles.SelectMany(a => new[] { (float)Math.Cos(a), (float)Math.Sin(a) }).ToArray(), new long[] { angles.Length, 2 });
        var q = V(0, Math.PI / 2);
        var d = V(0.1, Math.PI / 2 + 0.1, 0.3);        // positives near their queries, one hard negative near query 0
        var none = zeros(2, 3, ScalarType.Bool);
        var s = Scores(q, d);
        double m = 0.2;
        var violations = new List<double>();
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                if (j != i) violations.Add(Math.Max(0, m - s[i, i] + s[i, j]));
        double expected = violations.Sum() / Math.Max(1, violations.Count(v => v > 0));
        Assert.Equal(expected, new TripletLoss(m).Forward(q, d, none).item<float>(), 5);
        Assert.True(expected > 0);
        // all margins satisfied → 0
        Assert.Equal(0f, new TripletLoss(0.01).Forward(V(0, Math.PI), V(0, Math.PI), zeros(2, 2, ScalarType.Bool)).item<float>());
        // excluding the violating negative removes its term
        var ex = tensor(new[] { false, false, true, false, false, false }, new long[] { 2, 3 });
        Assert.True(new TripletLoss(m).Forward(q, d, ex).item<float>() < expected);
    }

    [Fact]
    public void Invalid_settings_are_rejected()
    {
        Assert.Throws<InvalidInputException>(() => new InfoNceLoss(0));
        Assert.Throws<InvalidInputException>(() => new TripletLoss(-1));
    }
}
