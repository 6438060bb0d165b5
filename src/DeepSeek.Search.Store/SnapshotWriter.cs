using DeepSeek.Search.Core;

namespace DeepSeek.Search.Store;

/// <summary>
/// A snapshot being built in <c>.building-ID/</c>. Writers of each part put their files at the paths given here;
/// <see cref="Commit"/> writes the manifest, flushes everything to disk, renames the folder to <c>gen-ID</c> and
/// atomically points CURRENT at it. Disposing without a commit deletes the partial folder; a crash leaves it
/// for the next build to remove, and CURRENT still names the previous snapshot.
/// </summary>
public sealed class SnapshotWriter : IDisposable
{
    readonly CollectionStore _store;
    readonly WriterLock? _lock;
    bool _committed, _disposed;

    internal SnapshotWriter(CollectionStore store, string id, WriterLock? ownedLock)
    {
        _store = store;
        _lock = ownedLock;
        Id = id;
        Directory = Path.Combine(store.Directory, ".building-" + id);
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Id { get; }
    /// <summary>The folder name of the committed snapshot, <c>gen-ID</c> (what CURRENT and the manifest name).</summary>
    public string SnapshotName => "gen-" + Id;
    public string Directory { get; }
    public string LexicalPath => Path.Combine(Directory, CollectionStore.LexicalFolderName);
    public string DensePath => Path.Combine(Directory, CollectionStore.DenseFileName);
    public string DocumentStorePath => Path.Combine(Directory, CollectionStore.DocumentStoreFileName);

    /// <summary>Commits the snapshot and returns it. File sizes are filled into the manifest here.</summary>
    public Snapshot Commit(Manifest manifest)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_committed) throw new InvalidOperationException("snapshot already committed");
        var sizes = System.IO.Directory.EnumerateFiles(Directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(Directory, f).Replace('\\', '/'), f => new FileInfo(f).Length);
        manifest = manifest with { Collection = _store.Name, Snapshot = SnapshotName, FileSizes = sizes };
        AtomicFile.FlushTree(Directory);
        AtomicFile.WriteAllText(Path.Combine(Directory, CollectionStore.ManifestFileName), manifest.ToJson());

        var final = Path.Combine(_store.Directory, SnapshotName);
        System.IO.Directory.Move(Directory, final);
        AtomicFile.FsyncDirectory(_store.Directory);
        AtomicFile.WriteAllText(Path.Combine(_store.Directory, CollectionStore.CurrentFileName), SnapshotName + "\n");
        _committed = true;
        _store.PruneSnapshots(SnapshotName);
        return new Snapshot(final, manifest);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_committed) CollectionStore.TryDelete(Directory);
        _lock?.Dispose();
    }
}
