using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Cli.Tests;

/// <summary>
/// Shared, built once per test class: a temp index root, a small BEIR corpus with queries and qrels, and the
/// tiny Hugging Face BERT fixture (../shared/fixtures/bert-golden/tiny) with a vocabulary beside it.
/// </summary>
public sealed class CliFixture : IDisposable
{
    readonly TempDir _tmp = new("dss-cli");
    public string Root => _tmp.Path;
    public string IndexRoot => Path.Combine(Root, "indexes");
    public string Corpus => Path.Combine(Root, "corpus.jsonl");
    public string Queries => Path.Combine(Root, "queries.jsonl");
    public string Qrels => Path.Combine(Root, "qrels.tsv");
    public string Encoder => Path.Combine(Root, "tiny-encoder");

    public static readonly (string Id, string Title, string Text)[] Docs =
    [
        ("d1", "Apoptosis and p53", "The tumour suppressor p53 triggers apoptosis after DNA damage."),
        ("d2", "Photosynthesis", "Plants convert light into chemical energy in chloroplasts."),
        ("d3", "Vaccines", "Vaccination trains the immune system with antigens."),
        ("d4", "Volcanoes", "Magma rises through the crust and erupts as lava."),
        ("d5", "Black holes", "Gravity so strong that light cannot escape the event horizon."),
        ("d6", "Insulin", "Insulin lowers blood glucose by promoting uptake into cells."),
    ];

    public CliFixture()
    {
        File.WriteAllLines(Corpus, Docs.Select(d => $"{{\"_id\": \"{d.Id}\", \"title\": \"{d.Title}\", \"text\": \"{d.Text}\"}}"));
        File.WriteAllLines(Queries,
        [
            "{\"_id\": \"q1\", \"text\": \"p53 apoptosis\"}",
            "{\"_id\": \"q2\", \"text\": \"lava eruption magma\"}",
            "{\"_id\": \"q3\", \"text\": \"blood glucose insulin\"}",
            "{\"_id\": \"q4\", \"text\": \"a query nobody judged\"}",
        ]);
        File.WriteAllText(Qrels, "query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq2\td4\t2\r\nq3\td6\t1\r\n");
        CopyTinyEncoder(Encoder);
    }

    /// <summary>The tiny golden BERT (no vocab in its folder) plus the MiniLM/bert-base-uncased vocabulary it was made with.</summary>
    public static void CopyTinyEncoder(string dest, string variant = "tiny")
    {
        Directory.CreateDirectory(dest);
        foreach (var f in Directory.GetFiles(Repo.SharedPath("fixtures", "bert-golden", variant, "hf")))
            File.Copy(f, Path.Combine(dest, Path.GetFileName(f)));
        File.Copy(Repo.SharedPath("models", "all-MiniLM-L6-v2-tokenizer", "vocab.txt"), Path.Combine(dest, "vocab.txt"));
    }

    public string PathOf(string name) => Path.Combine(Root, name);

    public void Dispose() => _tmp.Dispose();
}
