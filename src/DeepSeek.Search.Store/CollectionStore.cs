using System.Text.RegularExpressions;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Store;

/// <summary>
/// The on-disk home of a collection: <c>ROOT/NAME/</c> holds snapshot folders <c>gen-*</c> and a <c>CURRENT</c> file
/// naming the committed one. A build writes a new snapshot in a <c>.building-*</c> folder and switches
/// <c>CURRENT</c> to it with an atomic rename; readers resolve <c>CURRENT</c> once and see one complete snapshot.
/// An interrupted build leaves only a <c>.building-*</c> folder behind, which the next build removes.
/// </summary>
public sealed partial class CollectionStore
{
    public const string CurrentFileName = "CURRENT";
    public const string ManifestFileName = "manifest.json";
    public const string LexicalFolderName = "lexical";
    public const string DenseFileName = "dense.faiss";
    public const string DocumentStoreFileName = "documents.sqlite";
    public const string EncoderFolderName = "encoder";

    /// <summary>
    /// Old snapshots kept besides the current one. None: a reader that still reads an old snapshot holds a
    /// <see cref="ReaderLease"/>, which keeps it on disk until the reader lets go.
    /// </summary>
    public const int SnapshotsKept = 0;

    public string Root { get; }
    public string Name { get; }
    public string Directory { get; }

    CollectionStore(string root, string name)
    {
        Root = Path.GetFullPath(root);
        Name = name;
        Directory = Path.Combine(Root, name);
    }

    /// <summary>A collection name: letters, digits, '.', '_' and '-', starting with a letter or digit.</summary>
    public static CollectionStore At(string root, string name)
    {
        if (string.IsNullOrWhiteSpace(name) || !NamePattern().IsMatch(name))
            throw new InvalidInputException($"invalid collection name '{name}': use letters, digits, '.', '_' and '-', starting with a letter or digit");
        return new CollectionStore(root, name);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex NamePattern();

    public bool Exists => File.Exists(Path.Combine(Directory, CurrentFileName));

    /// <summary>Resolves CURRENT and reads its manifest. Unknown collection → <see cref="CollectionNotFoundException"/>.</summary>
    public Snapshot OpenCurrent()
    {
        var current = Path.Combine(Directory, CurrentFileName);
        string name;
        try { name = File.ReadAllText(current).Trim(); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw new CollectionNotFoundException(Name, Root); }
        if (!name.StartsWith("gen-", StringComparison.Ordinal) || name.IndexOfAny(['/', '\\']) >= 0)
            throw new IndexCorruptException($"corrupt {current}: '{name}' is not a generation name");
        var dir = Path.Combine(Directory, name);
        if (!System.IO.Directory.Exists(dir))
            throw new IndexCorruptException($"{current} names generation {name}, which is missing");
        var manifest = Manifest.Read(Path.Combine(dir, ManifestFileName));
        return new Snapshot(dir, manifest);
    }

    /// <summary>
    /// Resolves CURRENT and takes a <see cref="ReaderLease"/> on that snapshot, so it is not removed while the caller reads
    /// it; retries when a compaction or build switches CURRENT in between.
    /// </summary>
    public (Snapshot Snapshot, ReaderLease Lease) OpenCurrentLeased()
    {
        for (int attempt = 0; ; attempt++)
        {
            var snapshot = OpenCurrent();
            var lease = ReaderLease.TryAcquire(snapshot.Directory);
            if (lease != null) return (snapshot, lease);
            if (attempt >= 50) throw new IndexCorruptException($"snapshot {snapshot.Directory} is named by CURRENT but is being removed");
            Thread.Sleep(10);
        }
    }

    /// <summary>A lease on <paramref name="snapshot"/>, or null when it is gone or being removed.</summary>
    public ReaderLease? Lease(Snapshot snapshot) => snapshot.Directory.StartsWith(Directory, StringComparison.Ordinal) ? ReaderLease.TryAcquire(snapshot.Directory) : null;

    /// <summary>Takes this collection's writer lock (one writer at a time, across processes).</summary>
    public WriterLock LockWriter(string purpose) => WriterLock.Acquire(Directory, Name, purpose);

    /// <summary>
    /// Starts writing a new snapshot, taking the writer lock for its duration; dispose the writer without
    /// <see cref="SnapshotWriter.Commit"/> to throw the partial build away.
    /// </summary>
    public SnapshotWriter BeginSnapshot()
    {
        var writerLock = LockWriter("build");
        try { return BeginSnapshot(writerLock, ownsLock: true); }
        catch { writerLock.Dispose(); throw; }
    }

    /// <summary>Starts writing a new snapshot for a writer that already holds <paramref name="writerLock"/>.</summary>
    public SnapshotWriter BeginSnapshot(WriterLock writerLock) => BeginSnapshot(writerLock, ownsLock: false);

    SnapshotWriter BeginSnapshot(WriterLock writerLock, bool ownsLock)
    {
        ArgumentNullException.ThrowIfNull(writerLock);
        RemoveAbandonedBuilds();
        // Snapshot folder names sort in build order: a sequence number first, then the UTC time for people.
        long next = 1 + System.IO.Directory.EnumerateDirectories(Directory, "gen-*")
            .Select(d => Path.GetFileName(d)!.Split('-'))
            .Select(parts => parts.Length > 1 && long.TryParse(parts[1], out var n) ? n : 0)
            .DefaultIfEmpty(0).Max();
        var id = $"{next:D6}-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
        return new SnapshotWriter(this, id, ownsLock ? writerLock : null);
    }

    /// <summary>Removes build and prune folders a crashed writer left behind (call with the writer lock held).</summary>
    public void RemoveAbandonedBuilds()
    {
        if (!System.IO.Directory.Exists(Directory)) return;
        foreach (var dir in System.IO.Directory.EnumerateDirectories(Directory, ".building-*")) TryDelete(dir);
        foreach (var dir in System.IO.Directory.EnumerateDirectories(Directory, ".pruning-*")) TryDelete(dir);
    }

    /// <summary>
    /// Removes snapshots older than the current one beyond <see cref="SnapshotsKept"/>, each only if no reader holds a
    /// <see cref="ReaderLease"/> on it (one that is still read is tried again at the next commit or writer open). A snapshot
    /// is first renamed to <c>.pruning-*</c> while its readers' lock is held exclusively, so a reader never leases a
    /// half-deleted folder. Returns the snapshots removed.
    /// </summary>
    public IReadOnlyList<string> PruneSnapshots(string currentName)
    {
        var removed = new List<string>();
        var old = System.IO.Directory.EnumerateDirectories(Directory, "gen-*")
            .Select(Path.GetFileName).OfType<string>()
            .Where(n => string.CompareOrdinal(n, currentName) < 0)
            .OrderByDescending(n => n, StringComparer.Ordinal)
            .Skip(SnapshotsKept);
        foreach (var n in old)
        {
            var dir = Path.Combine(Directory, n);
            using var exclusive = ReaderLease.TryLockExclusive(dir);
            if (exclusive == null) continue;
            var doomed = Path.Combine(Directory, ".pruning-" + n);
            try { System.IO.Directory.Move(dir, doomed); }
            catch (IOException) { continue; }
            exclusive.Dispose();
            TryDelete(doomed);
            removed.Add(n);
        }
        return removed;
    }

    internal static void TryDelete(string dir)
    {
        try { System.IO.Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
