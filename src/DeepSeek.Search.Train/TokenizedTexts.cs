using DeepSeek.Search.Text.Tokenization;
using static TorchSharp.torch;

namespace DeepSeek.Search.Train;

/// <summary>
/// Texts tokenized as the encoder does at inference (prefix + text, <c>[CLS] … [SEP]</c>, truncated to the tower's length), turned into
/// padded id and mask tensors for any contiguous range (each range padded to its own longest member).
/// </summary>
public sealed class TokenizedTexts
{
    readonly IReadOnlyList<BertEncoding> _items;
    readonly int _padId;

    public TokenizedTexts(BertTokenizer tokenizer, IReadOnlyList<string> texts, int maxLength, string prefix = "")
    {
        var inputs = prefix.Length == 0 ? texts : texts.Select(t => prefix + t).ToList();
        _items = tokenizer.EncodeBatch(inputs, maxLength).Items;
        _padId = tokenizer.PadId;
    }

    public int Count => _items.Count;

    /// <summary>Number of tokens of text <paramref name="i"/>, special tokens included.</summary>
    public int Length(int i) => _items[i].Length;

    /// <summary>(input_ids, attention_mask), int64 [count, longest], of texts start..start+count on <paramref name="device"/>.</summary>
    public (Tensor Ids, Tensor Mask) Tensors(int start, int count, Device device) =>
        Tensors(Enumerable.Range(start, count).ToArray(), device);

    /// <summary>(input_ids, attention_mask), int64 [n, longest], of the texts at <paramref name="indices"/>, in that order.</summary>
    public (Tensor Ids, Tensor Mask) Tensors(IReadOnlyList<int> indices, Device device)
    {
        int count = indices.Count, seq = 0;
        foreach (int i in indices) seq = Math.Max(seq, _items[i].Length);
        var ids = new long[count * seq];
        var mask = new long[count * seq];
        for (int b = 0; b < count; b++)
        {
            var row = _items[indices[b]].Ids;
            for (int t = 0; t < seq; t++)
            {
                bool real = t < row.Count;
                ids[b * seq + t] = real ? row[t] : _padId;
                mask[b * seq + t] = real ? 1 : 0;
            }
        }
        var shape = new long[] { count, seq };
        return (tensor(ids, shape).to(device), tensor(mask, shape).to(device));
    }
}
