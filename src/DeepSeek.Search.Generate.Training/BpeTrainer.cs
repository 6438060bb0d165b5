using System.Text.Json;
using System.Text.Json.Nodes;
using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;

namespace DeepSeek.Search.Generate.Training;

/// <summary>A tokenizer made by <see cref="BpeTrainer.Train"/>: the text of its two Hugging Face files, and how it was made.</summary>
public sealed record TrainedTokenizer(string TokenizerJson, string TokenizerConfigJson, int VocabSize, int Merges, long Words, int UniqueWords)
{
    /// <summary>Writes <c>tokenizer.json</c> and <c>tokenizer_config.json</c> into <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllText(Path.Combine(directory, ByteLevelBpeTokenizer.TokenizerFile), TokenizerJson);
        AtomicFile.WriteAllText(Path.Combine(directory, ByteLevelBpeTokenizer.TokenizerConfigFile), TokenizerConfigJson);
    }

    /// <summary>The tokenizer itself (parsed from <see cref="TokenizerJson"/>, as <see cref="ByteLevelBpeTokenizer.Load"/> would).</summary>
    public ByteLevelBpeTokenizer Load() => ByteLevelBpeTokenizer.FromJson(TokenizerJson, TokenizerConfigJson);
}

/// <summary>
/// Learns a byte-level BPE vocabulary from text, GPT-2 style, and writes it as a Hugging Face <c>tokenizer.json</c> that
/// <see cref="ByteLevelBpeTokenizer"/> and the <c>tokenizers</c> library both read: a <c>ByteLevel</c> pre-tokenizer (GPT-2 regex, no
/// prefix space), a BPE model (merges as pairs), a <c>ByteLevel</c> decoder and a <c>TemplateProcessing</c> post-processor that puts
/// BOS before every sequence. Ids: the special tokens first (BOS 0, EOS 1, PAD 2: DeepSeek's names and BOS/EOS ids), then the 256 byte
/// symbols in byte order, then one id per new merged symbol.
/// <para>
/// Training counts the pre-tokenized words (exactly the pieces the tokenizer's BPE model will see, from
/// <see cref="ByteLevelBpeTokenizer.PreTokenize"/>), then repeatedly merges the most frequent adjacent pair — ties broken by the pair's
/// text, ordinal — until the vocabulary is full or no pair occurs <see cref="MinFrequency"/> times. The result depends on the texts
/// alone (not their order, thread count or hash seeds): the same corpus gives the same file, byte for byte.
/// </para>
/// </summary>
public static class BpeTrainer
{
    public const string BosToken = "<｜begin▁of▁sentence｜>", EosToken = "<｜end▁of▁sentence｜>", PadToken = "<｜▁pad▁｜>";

    /// <summary>Pairs seen fewer times than this are never merged.</summary>
    public const int MinFrequency = 2;

    static readonly string[] Specials = { BosToken, EosToken, PadToken };

    /// <summary>The smallest vocabulary: the special tokens and the 256 bytes.</summary>
    public static int MinimumVocabSize => Specials.Length + 256;

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Learns a vocabulary of (at most) <paramref name="vocabSize"/> ids from <paramref name="texts"/>.</summary>
    public static TrainedTokenizer Train(IEnumerable<string> texts, int vocabSize, int? modelMaxLength = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (vocabSize < MinimumVocabSize)
            throw new InvalidInputException($"--vocab-size {vocabSize} is too small: a byte-level BPE needs at least {MinimumVocabSize} ids ({Specials.Length} special tokens + 256 bytes)");

        // the pre-tokenizer of the finished file, with no merges yet: its words are what the final model will merge
        var alphabet = ByteLevelBpeTokenizer.ByteAlphabet;
        var baseVocab = new List<string>(Specials);
        baseVocab.AddRange(alphabet.Select(c => c.ToString()));
        var pre = ByteLevelBpeTokenizer.FromJson(BuildJson(baseVocab, new List<(string, string)>()).ToJsonString());

        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        long words = 0;
        var gate = new object();
        Parallel.ForEach(texts, new ParallelOptions { CancellationToken = cancellation },
            () => new Dictionary<string, long>(StringComparer.Ordinal),
            (text, _, local) =>
            {
                foreach (var w in pre.PreTokenize(text))
                    local[w] = local.TryGetValue(w, out var c) ? c + 1 : 1;
                return local;
            },
            local =>
            {
                lock (gate)
                    foreach (var (w, c) in local)
                    {
                        counts[w] = counts.TryGetValue(w, out var n) ? n + c : c;
                        words += c;
                    }
            });

        var (vocab, merges) = LearnMerges(counts, baseVocab, vocabSize, cancellation);
        var json = BuildJson(vocab, merges);
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = BosToken,
            ["eos_token"] = EosToken,
            ["pad_token"] = PadToken,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = modelMaxLength ?? 1_000_000,
            ["added_tokens_decoder"] = new JsonObject(Specials.Select((s, i) => KeyValuePair.Create(i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                (JsonNode?)AddedTokenJson(s, includeId: false)))),
        };
        return new TrainedTokenizer(json.ToJsonString(Indented) + "\n", config.ToJsonString(Indented) + "\n", vocab.Count, merges.Count, words, counts.Count);
    }

    /// <summary>The merge loop over unique words (see the type remarks). Returns the vocabulary in id order and the merges in rank order.</summary>
    static (List<string> Vocab, List<(string, string)> Merges) LearnMerges(Dictionary<string, long> counts, List<string> baseVocab, int vocabSize,
        CancellationToken cancellation)
    {
        var vocab = new List<string>(baseVocab);
        var merges = new List<(string, string)>();
        // symbols: the strings words are made of (bytes, then merged pieces), interned as ints
        var symbols = new List<string>();
        var symbolIds = new Dictionary<string, int>(StringComparer.Ordinal);
        int Symbol(string s)
        {
            if (!symbolIds.TryGetValue(s, out int id)) { id = symbols.Count; symbols.Add(s); symbolIds[s] = id; }
            return id;
        }
        var known = new HashSet<string>(vocab, StringComparer.Ordinal);

        var uniqueWords = counts.Keys.Order(StringComparer.Ordinal).ToArray();
        var wordSymbols = new List<int>[uniqueWords.Length];
        var freq = new long[uniqueWords.Length];
        for (int w = 0; w < uniqueWords.Length; w++)
        {
            freq[w] = counts[uniqueWords[w]];
            var list = new List<int>(uniqueWords[w].Length);
            foreach (char c in uniqueWords[w]) list.Add(Symbol(c.ToString()));
            wordSymbols[w] = list;
        }

        var pairCount = new Dictionary<long, long>();
        var where = new Dictionary<long, HashSet<int>>();
        static long Key(int a, int b) => ((long)a << 32) | (uint)b;
        for (int w = 0; w < wordSymbols.Length; w++)
        {
            var s = wordSymbols[w];
            for (int i = 0; i + 1 < s.Count; i++)
            {
                long k = Key(s[i], s[i + 1]);
                pairCount[k] = pairCount.GetValueOrDefault(k) + freq[w];
                if (!where.TryGetValue(k, out var set)) where[k] = set = new HashSet<int>();
                set.Add(w);
            }
        }

        // most frequent first; equal counts by the pair's text (ordinal), so ties never depend on symbol numbering
        var comparer = Comparer<(long Count, int A, int B)>.Create((x, y) =>
        {
            int c = y.Count.CompareTo(x.Count);
            if (c != 0) return c;
            c = string.CompareOrdinal(symbols[x.A], symbols[y.A]);
            return c != 0 ? c : string.CompareOrdinal(symbols[x.B], symbols[y.B]);
        });
        var queue = new PriorityQueue<long, (long, int, int)>(comparer);
        foreach (var (k, c) in pairCount) queue.Enqueue(k, (c, (int)(k >> 32), (int)k));

        var changed = new HashSet<long>();
        while (vocab.Count < vocabSize && queue.TryDequeue(out long key, out var entry))
        {
            long current = pairCount.GetValueOrDefault(key);
            if (current != entry.Item1) continue; // stale entry
            if (current < MinFrequency) break;
            cancellation.ThrowIfCancellationRequested();
            int a = (int)(key >> 32), b = (int)key;
            string merged = symbols[a] + symbols[b];
            int m = Symbol(merged);
            merges.Add((symbols[a], symbols[b]));
            if (known.Add(merged)) vocab.Add(merged);

            changed.Clear();
            var affected = where[key].ToArray();
            Array.Sort(affected);
            foreach (int w in affected)
            {
                var s = wordSymbols[w];
                bool contains = false;
                for (int i = 0; i + 1 < s.Count; i++) if (s[i] == a && s[i + 1] == b) { contains = true; break; }
                if (!contains) continue;
                long f = freq[w];
                for (int i = 0; i + 1 < s.Count; i++)
                {
                    long k = Key(s[i], s[i + 1]);
                    pairCount[k] -= f;
                    changed.Add(k);
                }
                var next = new List<int>(s.Count);
                for (int i = 0; i < s.Count; i++)
                {
                    if (i + 1 < s.Count && s[i] == a && s[i + 1] == b) { next.Add(m); i++; }
                    else next.Add(s[i]);
                }
                wordSymbols[w] = next;
                for (int i = 0; i + 1 < next.Count; i++)
                {
                    long k = Key(next[i], next[i + 1]);
                    pairCount[k] = pairCount.GetValueOrDefault(k) + f;
                    if (!where.TryGetValue(k, out var set)) where[k] = set = new HashSet<int>();
                    set.Add(w);
                    changed.Add(k);
                }
            }
            where.Remove(key);
            foreach (long k in changed)
            {
                long c = pairCount[k];
                if (c <= 0) { pairCount.Remove(k); continue; }
                queue.Enqueue(k, (c, (int)(k >> 32), (int)k));
            }
        }
        return (vocab, merges);
    }

    static JsonObject AddedTokenJson(string content, bool includeId, int id = 0)
    {
        var o = new JsonObject();
        if (includeId) o["id"] = id;
        o["content"] = content;
        o["single_word"] = false;
        o["lstrip"] = false;
        o["rstrip"] = false;
        o["normalized"] = false;
        o["special"] = true;
        return o;
    }

    static JsonObject BuildJson(List<string> vocab, List<(string, string)> merges)
    {
        var vocabJson = new JsonObject();
        for (int i = 0; i < vocab.Count; i++) vocabJson[vocab[i]] = i;
        var mergesJson = new JsonArray(merges.Select(m => (JsonNode)new JsonArray(m.Item1, m.Item2)).ToArray());
        JsonObject Bos(int typeId) => new() { ["SpecialToken"] = new JsonObject { ["id"] = BosToken, ["type_id"] = typeId } };
        JsonObject Seq(string id, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Specials.Select((s, i) => (JsonNode)AddedTokenJson(s, includeId: true, i)).ToArray()),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Bos(0), Seq("A", 0)),
                ["pair"] = new JsonArray(Bos(0), Seq("A", 0), Bos(1), Seq("B", 1)),
                ["special_tokens"] = new JsonObject
                {
                    [BosToken] = new JsonObject { ["id"] = BosToken, ["ids"] = new JsonArray(0), ["tokens"] = new JsonArray(BosToken) },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = false,
                ["vocab"] = vocabJson,
                ["merges"] = mergesJson,
            },
        };
    }
}
