namespace DeepSeek.Search.Generate;

/// <summary>
/// Picks the next token from one row of logits (see <see cref="GenerationOptions"/> for the order of the processors). Works on a
/// float copy of the row; ties in arg-max go to the lowest id (as <c>torch.argmax</c>).
/// </summary>
internal sealed class LogitsSampler
{
    readonly GenerationOptions _options;
    readonly Random _random;

    public LogitsSampler(GenerationOptions options)
    {
        _options = options;
        _random = options.Seed is int s ? new Random(s) : new Random();
    }

    public int Next(float[] logits, IEnumerable<int> previousTokens)
    {
        if (_options.RepetitionPenalty != 1.0)
        {
            float p = (float)_options.RepetitionPenalty;
            foreach (int id in previousTokens.Distinct())
                if (id >= 0 && id < logits.Length) logits[id] = logits[id] < 0 ? logits[id] * p : logits[id] / p;
        }
        if (_options.Greedy) return ArgMax(logits);

        int v = logits.Length;
        var scores = new double[v];
        for (int i = 0; i < v; i++) scores[i] = logits[i] / _options.Temperature;
        var order = Enumerable.Range(0, v).ToArray();
        Array.Sort(order, (a, b) => scores[b].CompareTo(scores[a]) is var c && c != 0 ? c : a.CompareTo(b));
        int keep = v;
        if (_options.TopK > 0) keep = Math.Min(keep, _options.TopK);
        double max = scores[order[0]];
        var probs = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) { probs[i] = Math.Exp(scores[order[i]] - max); sum += probs[i]; }
        for (int i = 0; i < keep; i++) probs[i] /= sum;
        if (_options.TopP < 1.0)
        {
            // smallest prefix (by descending probability) whose mass reaches top_p; at least one token
            double cumulative = 0;
            int n = 0;
            while (n < keep)
            {
                cumulative += probs[n++];
                if (cumulative >= _options.TopP) break;
            }
            keep = Math.Max(1, n);
            double s2 = probs.Take(keep).Sum();
            for (int i = 0; i < keep; i++) probs[i] /= s2;
        }
        double u = _random.NextDouble(), acc = 0;
        for (int i = 0; i < keep; i++)
        {
            acc += probs[i];
            if (u < acc) return order[i];
        }
        return order[keep - 1];
    }

    internal static int ArgMax(float[] logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best] || float.IsNaN(logits[i]) && !float.IsNaN(logits[best])) best = i;
        return best;
    }
}
