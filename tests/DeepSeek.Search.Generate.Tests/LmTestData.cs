using DeepSeek.Search.TestKit;
using DeepSeek.Search.Generate.Training;

namespace DeepSeek.Search.Generate.Tests;

/// <summary>Slices of the shared SciFact corpus (../shared/data/scifact/corpus.jsonl) for the language-model training tests.</summary>
public static class LmTestData
{
    public static string SciFactCorpus => Repo.SharedPath("data", "scifact", "corpus.jsonl");

    /// <summary>The first <paramref name="documents"/> records of the SciFact corpus as a BEIR corpus.jsonl in <paramref name="dir"/>.</summary>
    public static string SciFactSlice(string dir, int documents)
    {
        string path = Path.Combine(dir, $"scifact-{documents}.jsonl");
        File.WriteAllLines(path, File.ReadLines(SciFactCorpus).Take(documents));
        return path;
    }

    /// <summary>The texts (title, blank line, abstract) of the first <paramref name="documents"/> SciFact records.</summary>
    public static string[] SciFactTexts(int documents)
    {
        using var tmp = new TempDir("dss-lm-data");
        return LmCorpus.ReadTexts(SciFactSlice(tmp.Path, documents)).ToArray();
    }
}
