using DeepSeek.Search.Generate.Training;

namespace DeepSeek.Search.TestKit;

/// <summary>
/// A tiny DeepSeek-V3 generator trained for the re-ranking and RAG tests (compiled into each test project that needs it):
/// <see cref="LmTrainer"/> on a synthetic corpus of four topics, each document words of one topic's vocabulary, some ending in
/// a citation marker [n]. A model trained on it conditions on its context's topic, so the query likelihood of topic words
/// is higher after a passage of the same topic: what the re-ranking tests rely on. Trained once per test process.
/// </summary>
public static class TinyGenerator
{
    public static readonly string[][] Topics =
    [
        ["star", "galaxy", "orbit", "planet", "comet", "telescope", "nebula", "moon", "asteroid", "eclipse"],
        ["flour", "butter", "oven", "recipe", "dough", "sugar", "bread", "bake", "pastry", "yeast"],
        ["vaccine", "antibody", "fever", "dose", "clinic", "patient", "virus", "immune", "nurse", "therapy"],
        ["mast", "keel", "harbor", "anchor", "tide", "sail", "rudder", "deck", "sailor", "boat"],
    ];

    static readonly Lazy<string> Trained = new(Train, LazyThreadSafetyMode.ExecutionAndPublication);
    static readonly TempDir Home = new("dss-tiny-generator");

    static TinyGenerator() => AppDomain.CurrentDomain.ProcessExit += (_, _) => Home.Dispose();

    /// <summary>The trained model folder (config.json, model.safetensors, tokenizer.json): read-only, copy it to change it.</summary>
    public static string Folder => Trained.Value;

    /// <summary>Copies the trained model to <paramref name="destination"/> (e.g. a collection's generator/ folder).</summary>
    public static string CopyTo(string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var f in Directory.GetFiles(Folder)) File.Copy(f, Path.Combine(destination, Path.GetFileName(f)), overwrite: true);
        return destination;
    }

    /// <summary>A passage of <paramref name="words"/> words of topic <paramref name="topic"/>, drawn with <paramref name="seed"/>.</summary>
    public static string Passage(int topic, int words, int seed)
    {
        var rng = new Random(seed);
        return string.Join(' ', Enumerable.Range(0, words).Select(_ => Topics[topic][rng.Next(Topics[topic].Length)]));
    }

    /// <summary>Writes the synthetic training corpus (a BEIR corpus.jsonl) to <paramref name="path"/>.</summary>
    public static string WriteCorpus(string path)
    {
        // each document is read as title, a blank line, text (as SciFact's are), so "\n\n" is a known separator
        var rng = new Random(11);
        var lines = new List<string>();
        for (int i = 0; i < 1600; i++)
        {
            // runs of four documents of one topic, the runs in topic order: the model learns that a topic persists beyond the
            // end of a document (what the re-ranking tests ask of it); with the topic changing at every document (i % 4) it
            // learns which topic follows which, and a query after a passage of the preceding topic scores nearly as high
            int topic = i / 4 % Topics.Length;
            string text = Passage(topic, 24 + rng.Next(24), rng.Next());
            if (rng.Next(3) == 0) text += $" [{1 + rng.Next(5)}]";
            lines.Add(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
            {
                ["_id"] = $"d{i}", ["title"] = Passage(topic, 3, rng.Next()), ["text"] = text,
            }));
        }
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>
    /// The same training as `dss train-lm` arguments (for tests that must not train inside their own process: heavy in-process
    /// TorchSharp work beside other tests' tensors is what they avoid).
    /// </summary>
    public static string[] TrainLmArguments(string corpus, string output) =>
    [
        "train-lm", "--corpus", corpus, "--out", output, "--vocab-size", "320", "--seq-len", "64", "--batch-size", "16", "--hidden", "64",
        "--intermediate", "128", "--heads", "2", "--kv-lora-rank", "32", "--qk-nope-dim", "16", "--qk-rope-dim", "8", "--v-head-dim", "16",
        "--experts", "4", "--moe-intermediate", "64", "--max-steps", "400", "--lr", "3e-3", "--eval-every", "1000", "--log-every", "1000",
        "--val-max-blocks", "8", "--seed", "5",
    ];

    static string Train()
    {
        string corpus = WriteCorpus(Path.Combine(Home.Path, "corpus.jsonl"));
        string output = Path.Combine(Home.Path, "lm");
        LmTrainer.Train(new LmTrainOptions
        {
            CorpusPath = corpus,
            OutputPath = output,
            VocabSize = 320,
            SeqLen = 64,
            BatchSize = 16,
            Hidden = 64,
            Intermediate = 128,
            Heads = 2,
            KvLoraRank = 32,
            QkNopeHeadDim = 16,
            QkRopeHeadDim = 8,
            VHeadDim = 16,
            Experts = 4,
            MoeIntermediate = 64,
            MaxSteps = 400,
            LearningRate = 3e-3,
            EvalEvery = 1000,
            LogEvery = 1000,
            ValidationMaxBlocks = 8,
            Seed = 5,
        });
        return output;
    }
}
