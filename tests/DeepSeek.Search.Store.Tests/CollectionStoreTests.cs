using DeepSeek.Search.Core;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Store.Tests;

public class CollectionStoreTests
{
    static Manifest NewManifest(long docs) => new()
    {
        Collection = "", Snapshot = "", CreatedUtc = DateTime.UtcNow, Documents = docs,
        Lexical = new Manifest.LexicalSection("english", 0.9f, 0.4f, "contents"),
    };

    [Fact]
    public void Unknown_collection_is_a_clear_error()
    {
        using var tmp = new TempDir();
        var e = Assert.Throws<CollectionNotFoundException>(() => CollectionStore.At(tmp.Path, "nope").OpenCurrent());
        Assert.Contains("nope", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    public void Bad_names_are_rejected(string name)
    {
        Assert.Throws<InvalidInputException>(() => CollectionStore.At("/tmp", name));
    }

    [Fact]
    public void Commit_switches_current_and_removes_old_snapshots_no_reader_holds()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c1");
        string first;
        using (var w = store.BeginSnapshot())
        {
            File.WriteAllText(Path.Combine(w.Directory, "payload.txt"), "one");
            first = w.Commit(NewManifest(1)).Directory;
        }
        Assert.Equal(1, store.OpenCurrent().Manifest.Documents);
        Assert.Equal(3, store.OpenCurrent().Manifest.FileSizes["payload.txt"]);

        var (held, lease) = store.OpenCurrentLeased();
        using (var w = store.BeginSnapshot()) w.Commit(NewManifest(2));
        Assert.True(Directory.Exists(held.Directory), "a leased snapshot stays");
        lease.Dispose();
        using (var w = store.BeginSnapshot()) w.Commit(NewManifest(3));

        var current = store.OpenCurrent();
        Assert.Equal(3, current.Manifest.Documents);
        Assert.Equal("c1", current.Manifest.Collection);
        Assert.False(Directory.Exists(first));
        Assert.Single(Directory.GetDirectories(store.Directory, "gen-*"));
        Assert.Empty(Directory.GetDirectories(store.Directory, ".pruning-*"));
    }

    [Fact]
    public void A_lease_taken_on_a_snapshot_being_removed_is_refused()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c7");
        Snapshot s;
        using (var w = store.BeginSnapshot()) s = w.Commit(NewManifest(1));
        Assert.NotNull(store.Lease(s));
        Directory.Move(s.Directory, Path.Combine(store.Directory, ".pruning-x"));
        Assert.Null(store.Lease(s));
    }

    [Fact]
    public void A_snapshot_is_a_gen_folder_named_by_CURRENT_and_the_manifest_generation_field()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c5");
        Snapshot s;
        using (var w = store.BeginSnapshot()) s = w.Commit(NewManifest(1));
        var name = Path.GetFileName(s.Directory);
        Assert.StartsWith("gen-", name);
        Assert.Equal(name + "\n", File.ReadAllText(Path.Combine(store.Directory, CollectionStore.CurrentFileName)));
        Assert.Contains($"\"generation\": \"{name}\"", File.ReadAllText(Path.Combine(s.Directory, CollectionStore.ManifestFileName)));
        Assert.Equal(name, store.OpenCurrent().Manifest.Snapshot);
    }

    [Fact]
    public void Abandoned_build_leaves_previous_generation_serving()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c2");
        using (var w = store.BeginSnapshot()) w.Commit(NewManifest(7));

        using (var w = store.BeginSnapshot())
        {
            File.WriteAllText(Path.Combine(w.Directory, "half.bin"), "partial");
            // no commit: simulated failure mid-build
        }
        Assert.Equal(7, store.OpenCurrent().Manifest.Documents);
        Assert.Empty(Directory.GetDirectories(store.Directory, ".building-*"));
    }

    [Fact]
    public void Crashed_build_folder_is_ignored_then_cleaned_by_next_build()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c3");
        using (var w = store.BeginSnapshot()) w.Commit(NewManifest(2));
        var crashed = Path.Combine(store.Directory, ".building-crashed");
        Directory.CreateDirectory(crashed);
        File.WriteAllText(Path.Combine(crashed, "manifest.json"), "{ half");
        Assert.Equal(2, store.OpenCurrent().Manifest.Documents);
        using (var w = store.BeginSnapshot()) Assert.False(Directory.Exists(crashed));
    }

    [Fact]
    public void Concurrent_builds_of_one_collection_are_refused()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c4");
        using var first = store.BeginSnapshot();
        var e = Assert.Throws<CollectionLockedException>(() => store.BeginSnapshot());
        Assert.Contains($"pid {Environment.ProcessId}", e.Message);
    }

    [Fact]
    public void Corrupt_manifest_and_corrupt_current_are_reported()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c5");
        Snapshot g;
        using (var w = store.BeginSnapshot()) g = w.Commit(NewManifest(1));
        File.WriteAllText(Path.Combine(g.Directory, CollectionStore.ManifestFileName), "{\"format_version\": 1, \"documents\": ");
        var e = Assert.Throws<IndexCorruptException>(() => store.OpenCurrent());
        Assert.Contains("manifest", e.Message);

        File.WriteAllText(Path.Combine(store.Directory, CollectionStore.CurrentFileName), "../../etc");
        Assert.Throws<IndexCorruptException>(() => store.OpenCurrent());
    }

    [Fact]
    public void Newer_format_version_is_a_mismatch()
    {
        using var tmp = new TempDir();
        var store = CollectionStore.At(tmp.Path, "c6");
        using (var w = store.BeginSnapshot()) w.Commit(NewManifest(1) with { FormatVersion = 99 });
        Assert.Throws<IndexMismatchException>(() => store.OpenCurrent());
    }
}
