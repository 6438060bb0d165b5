namespace DeepSeek.Search.Store;

/// <summary>
/// A reader's hold on one snapshot folder: a shared OS lock (<c>flock LOCK_SH</c>) on <c>gen-ID/readers.lock</c>. Old
/// snapshots are removed only by whoever can take that lock exclusively (<see cref="CollectionStore.PruneSnapshots"/>),
/// i.e. once every reader, in any process, has let go. The lock dies with its process.
/// </summary>
public sealed class ReaderLease : IDisposable
{
    public const string FileName = "readers.lock";

    readonly FileStream _stream;

    ReaderLease(FileStream stream) => _stream = stream;

    /// <summary>
    /// Takes a lease on <paramref name="snapshotDirectory"/>; null when the folder is gone or being removed (the caller
    /// resolves CURRENT again).
    /// </summary>
    internal static ReaderLease? TryAcquire(string snapshotDirectory)
    {
        FileStream stream;
        try
        {
            // Read access + FileShare.ReadWrite is flock(LOCK_SH | LOCK_NB) on Unix; it fails while a pruner holds LOCK_EX.
            stream = new FileStream(Path.Combine(snapshotDirectory, FileName), FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite, 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // A pruner renames the folder away while holding the exclusive lock: if the folder is no longer there, the shared
        // lock just taken is on a file that is going away.
        if (!Directory.Exists(snapshotDirectory) || !File.Exists(Path.Combine(snapshotDirectory, CollectionStore.ManifestFileName)))
        {
            stream.Dispose();
            return null;
        }
        return new ReaderLease(stream);
    }

    /// <summary>Whether some reader holds a lease on the folder (tried by taking the lock exclusively); the lock is returned.</summary>
    internal static FileStream? TryLockExclusive(string snapshotDirectory)
    {
        try
        {
            return new FileStream(Path.Combine(snapshotDirectory, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public void Dispose() => _stream.Dispose();
}
