using DeepSeek.Search.Generate;
using static TorchSharp.torch;

namespace DeepSeek.Search.Rerank;

/// <summary>
/// The one batched forward pass of the re-rankers: rows of different lengths left-padded so that every row ends at the last
/// position (padding masked out, positions counting real tokens only, as <see cref="DeepSeekGenerator"/> pads prompts), under
/// <c>no_grad</c>, on the model's device. Rows padded like this give every real position the logits it has unpadded.
/// </summary>
static class LeftPadded
{
    /// <summary>Logits [rows, longest, V] of <paramref name="rows"/>; call inside a dispose scope.</summary>
    public static Tensor Logits(DeepSeekModel model, int[][] rows, int pad)
    {
        int b = rows.Length, longest = rows.Max(r => r.Length);
        var ids = new long[b * longest];
        var mask = new long[b * longest];
        var positions = new long[b * longest];
        for (int r = 0; r < b; r++)
        {
            int offset = longest - rows[r].Length;
            for (int j = 0; j < longest; j++)
            {
                int k = j - offset;
                bool real = k >= 0;
                ids[r * longest + j] = real ? rows[r][k] : pad;
                mask[r * longest + j] = real ? 1 : 0;
                positions[r * longest + j] = real ? k : 0;
            }
        }
        using var noGrad = no_grad();
        var shape = new long[] { b, longest };
        return model.Forward(tensor(ids, shape), cache: null, attentionMask: tensor(mask, shape), positionIds: tensor(positions, shape));
    }

    /// <summary>The pad id of a model: its config's, else its tokenizer's, else 0.</summary>
    public static int PadId(DeepSeekModel model, Text.Tokenization.ByteLevelBpeTokenizer tokenizer) => model.Config.PadTokenId ?? tokenizer.PadTokenId ?? 0;

    /// <summary>Scores <paramref name="rows"/> in length-sorted batches of <paramref name="batchSize"/> (cancellation checked before each).</summary>
    public static float[] ScoreSorted(int[][] rows, int batchSize, Func<int[][], float[]> scoreBatch, CancellationToken cancellationToken)
    {
        var scores = new float[rows.Length];
        var order = Enumerable.Range(0, rows.Length).OrderBy(i => rows[i].Length).ToArray();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = order.Skip(start).Take(batchSize).ToArray();
            var s = scoreBatch(batch.Select(i => rows[i]).ToArray());
            for (int j = 0; j < batch.Length; j++) scores[batch[j]] = s[j];
        }
        return scores;
    }
}
