using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Jobs.Tests;

/// <summary>Real BM25-only collections on disk and JSONL sources for them.</summary>
static class JobsFixtures
{
    public static IReadOnlyList<Document> Initial() =>
    [
        new("d1", "Lava", "Magma rises through the crust and erupts as lava."),
        new("d2", "Cells", "Cells divide by mitosis."),
        new("d3", "Markets", "Markets set prices for goods."),
        new("d4", "Courts", "Courts judge cases under the law."),
    ];

    /// <summary>The source after a night: d2 changed, d4 gone, n1 and n2 new; d1 and d3 as they were.</summary>
    public static IReadOnlyList<Document> Night() =>
    [
        new("d1", "Lava", "Magma rises through the crust and erupts as lava."),
        new("d2", "Cells", "Cells divide by mitosis and by meiosis."),
        new("d3", "Markets", "Markets set prices for goods."),
        new("n1", "Planets", "Planets orbit their stars."),
        new("n2", "Bridges", "Steel bridges span rivers."),
    ];

    /// <summary>A BM25-only collection (no encoder: <c>--encoder none</c>) of <paramref name="docs"/> under <paramref name="root"/>.</summary>
    public static CollectionStore Build(string root, string name, IReadOnlyList<Document> docs)
    {
        var store = CollectionStore.At(root, name);
        CollectionBuilder.Build(store, docs, new BuildOptions());
        return store;
    }

    public static string WriteJsonl(string file, IEnumerable<Document> docs)
    {
        File.WriteAllLines(file, docs.Select(d => JsonSerializer.Serialize(new { id = d.Id, title = d.Title, text = d.Text })));
        return file;
    }

    /// <summary>The live documents of a collection: id → text.</summary>
    public static SortedDictionary<string, string> Live(CollectionStore store)
    {
        using var ds = DocumentStore.Open(store.OpenCurrent().DocumentStorePath);
        return new SortedDictionary<string, string>(ds.DocumentsAt(ds.LastSeq).ToDictionary(d => d.Id, d => d.Text), StringComparer.Ordinal);
    }
}
