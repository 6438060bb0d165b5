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

    /// <summary>Snapshots kept besides the current one, so a reader that resolved the previous CURRENT can finish.</summary>
    public const int SnapshotsKept = 1;

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
    /// Starts writing a new snapshot. Only one build per collection runs at a time (an exclusive lock file);
    /// dispose the writer without <see cref="SnapshotWriter.Commit"/> to throw the partial build away.
    /// </summary>
    public SnapshotWriter BeginSnapshot()
    {
        System.IO.Directory.CreateDirectory(Directory);
        FileStream lockStream;
        try
        {
            lockStream = new FileStream(Path.Combine(Directory, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException)
        {
            throw new InvalidInputException($"collection '{Name}' is being built by another process (lock held on {Path.Combine(Directory, ".lock")})");
        }
        RemoveAbandonedBuilds();
        // Snapshot folder names sort in build order: a sequence number first, then the UTC time for people.
        long next = 1 + System.IO.Directory.EnumerateDirectories(Directory, "gen-*")
            .Select(d => Path.GetFileName(d)!.Split('-'))
            .Select(parts => parts.Length > 1 && long.TryParse(parts[1], out var n) ? n : 0)
            .DefaultIfEmpty(0).Max();
        var id = $"{next:D6}-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
        return new SnapshotWriter(this, id, lockStream);
    }

    void RemoveAbandonedBuilds()
    {
        foreach (var dir in System.IO.Directory.EnumerateDirectories(Directory, ".building-*"))
            TryDelete(dir);
    }

    /// <summary>Removes snapshots older than the current one beyond <see cref="SnapshotsKept"/>.</summary>
    internal void PruneSnapshots(string currentName)
    {
        var old = System.IO.Directory.EnumerateDirectories(Directory, "gen-*")
            .Select(Path.GetFileName).OfType<string>()
            .Where(n => n != currentName)
            .OrderByDescending(n => n, StringComparer.Ordinal)
            .Skip(SnapshotsKept);
        foreach (var n in old) TryDelete(Path.Combine(Directory, n));
    }

    internal static void TryDelete(string dir)
    {
        try { System.IO.Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
