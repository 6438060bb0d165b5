using System.Globalization;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Store;

/// <summary>
/// The one-writer-per-collection rule, across processes: an exclusive, non-blocking OS lock (<c>flock</c>) on
/// <c>COLLECTION/writer.lock</c>, whose text names the holder (pid, host, since, what it is doing). A second writer fails
/// at once with <see cref="CollectionLockedException"/> naming the holder; it never waits. The lock dies with its process
/// (kill -9 included), so a crashed writer never leaves the collection locked; the file itself stays and is overwritten.
/// </summary>
public sealed class WriterLock : IDisposable
{
    public const string FileName = "writer.lock";

    readonly FileStream _stream;

    WriterLock(FileStream stream, string holder)
    {
        _stream = stream;
        Holder = holder;
    }

    /// <summary>What this lock's file says: "pid P on host H since T (purpose)".</summary>
    public string Holder { get; }

    /// <summary>Takes the writer lock of the collection folder <paramref name="collectionDirectory"/> (created if missing).</summary>
    public static WriterLock Acquire(string collectionDirectory, string collectionName, string purpose)
    {
        Directory.CreateDirectory(collectionDirectory);
        var path = Path.Combine(collectionDirectory, FileName);
        FileStream stream;
        try
        {
            // FileShare.None is flock(LOCK_EX | LOCK_NB) on Unix: it fails at once while another handle holds the lock.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
        }
        catch (IOException)
        {
            throw new CollectionLockedException(collectionName, ReadHolder(path));
        }
        var holder = string.Create(CultureInfo.InvariantCulture,
            $"pid {Environment.ProcessId} on host {Environment.MachineName} since {DateTime.UtcNow:yyyy-MM-dd'T'HH:mm:ss'Z'} ({purpose})");
        try
        {
            // The holder's name goes into a file beside the lock: the lock file itself cannot be read by another process
            // while it is held (on Unix .NET opens every file with flock, shared or exclusive).
            AtomicFile.WriteAllText(path + HolderSuffix, holder + "\n");
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        return new WriterLock(stream, holder);
    }

    const string HolderSuffix = ".holder";

    static string ReadHolder(string path)
    {
        try
        {
            var text = File.ReadAllText(path + HolderSuffix).Trim();
            return text.Length > 0 ? text : "an unknown process";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "an unknown process (no holder record)";
        }
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>A write to a collection while another writer holds it; the message names the holder.</summary>
public sealed class CollectionLockedException : InvalidInputException
{
    public CollectionLockedException(string collection, string holder)
        : base($"collection '{collection}' is locked by another writer: {holder}; wait for it to finish (one writer per collection)")
    {
        Collection = collection;
        Holder = holder;
    }

    public string Collection { get; }
    public string Holder { get; }
}
