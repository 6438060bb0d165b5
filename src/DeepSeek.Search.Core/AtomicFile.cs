namespace DeepSeek.Search.Core;

/// <summary>
/// Writes that a crash leaves either complete or absent, for every file or folder here that must survive one: write beside the
/// target (same file system), flush the data to disk, rename over the target, then flush the parent folder so the rename itself is
/// durable (POSIX). Readers see the old content or the new, never a torn one. Temporaries are hidden siblings of the target
/// (<c>.NAME.tmp-PID-RANDOM</c>), unique to each call, so two writers of one target (threads or processes) never share one, and
/// a failing writer removes its own.
/// <list type="bullet">
/// <item><see cref="Write"/>, <see cref="WriteAllText"/>, <see cref="WriteAllBytes"/>: replace one file.</item>
/// <item><see cref="ReplaceDirectory"/>: replace a folder (an existing one is swapped out); <see cref="MoveDirectory"/>: the same
/// with a folder already built elsewhere.</item>
/// <item><see cref="PublishDirectory"/>: create a folder that must not be there yet (absent or empty); losing a race to another
/// writer is an <see cref="IOException"/> and leaves the winner's folder as it is.</item>
/// <item><see cref="FlushTree"/>, <see cref="FsyncDirectory"/>: the flushing steps, for writers that rename by themselves.</item>
/// </list>
/// </summary>
public static class AtomicFile
{
    /// <summary>Replaces <paramref name="path"/> with <paramref name="contents"/> (UTF-8, no BOM).</summary>
    public static void WriteAllText(string path, string contents) =>
        Write(path, fs =>
        {
            using var w = new StreamWriter(fs, leaveOpen: true);
            w.Write(contents);
        });

    /// <summary>Replaces <paramref name="path"/> with <paramref name="bytes"/>.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, fs => fs.Write(copy));
    }

    /// <summary>Replaces <paramref name="path"/> with what <paramref name="write"/> writes to the stream it is given.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        if (!Directory.Exists(Path.GetDirectoryName(full))) throw new DirectoryNotFoundException($"Could not find a part of the path '{full}'.");
        string tmp = Temporary(full, "tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
        FsyncDirectory(Path.GetDirectoryName(full)!);
    }

    /// <summary>
    /// Replaces the folder <paramref name="path"/> with one that <paramref name="fill"/> writes into the (empty) folder it is given:
    /// the folder is filled beside the target, its files flushed to disk, then renamed into place (an existing target is moved aside
    /// first and deleted after, so a crash leaves the old folder, the new one, or the old one under a hidden <c>.NAME.old-PID-RANDOM</c>
    /// name beside it). A failing <paramref name="fill"/> leaves the target untouched and no temporary folder.
    /// </summary>
    public static void ReplaceDirectory(string path, Action<string> fill)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        string tmp = Fill(full, fill);
        try { Commit(tmp, full); }
        catch
        {
            TryDeleteDirectory(tmp);
            throw;
        }
    }

    /// <summary>
    /// Replaces the folder <paramref name="path"/> with the existing folder <paramref name="source"/> (on the same file system), for a
    /// folder its writer builds in place over a long time (a training run's work folder): as <see cref="ReplaceDirectory"/> from its
    /// flushing step on (files flushed, an existing target moved aside, the source renamed into place, the parents flushed, the old
    /// target deleted). When the rename fails, an existing target is put back and <paramref name="source"/> stays where it was.
    /// </summary>
    public static void MoveDirectory(string source, string path)
    {
        string from = Path.GetFullPath(source).TrimEnd(Path.DirectorySeparatorChar);
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        FlushTree(from);
        Commit(from, full);
        string fromParent = Path.GetDirectoryName(from)!;
        if (fromParent != Path.GetDirectoryName(full)) FsyncDirectory(fromParent);
    }

    /// <summary>Renames the flushed folder <paramref name="from"/> to <paramref name="full"/>, swapping an existing one out.</summary>
    static void Commit(string from, string full)
    {
        string old = Temporary(full, "old");
        bool replacing = Directory.Exists(full);
        bool movedAside = false;
        try
        {
            if (replacing) { Directory.Move(full, old); movedAside = true; }
            Directory.Move(from, full);
        }
        catch
        {
            if (movedAside && !Directory.Exists(full)) Directory.Move(old, full);
            throw;
        }
        FsyncDirectory(Path.GetDirectoryName(full)!);
        if (replacing) TryDeleteDirectory(old);
    }

    /// <summary>
    /// Creates the folder <paramref name="path"/>, which must be absent or an empty folder, from what <paramref name="fill"/> writes
    /// into the (empty) folder it is given: filled beside the target, flushed to disk, renamed into place, the parent flushed. The
    /// folder is complete or absent. A failing <paramref name="fill"/> leaves no temporary folder; when another writer has put a
    /// non-empty folder at <paramref name="path"/> first, this one's is removed and the <see cref="IOException"/> of the rename (or of
    /// removing the empty target) is thrown, the winner's folder untouched.
    /// </summary>
    public static void PublishDirectory(string path, Action<string> fill)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        string tmp = Fill(full, fill);
        try
        {
            if (Directory.Exists(full)) Directory.Delete(full); // empty, or this throws: somebody else's folder stays
            Directory.Move(tmp, full);
        }
        catch
        {
            TryDeleteDirectory(tmp);
            throw;
        }
        FsyncDirectory(Path.GetDirectoryName(full)!);
    }

    /// <summary>A new hidden temporary folder beside <paramref name="full"/>, filled and flushed (removed if filling fails).</summary>
    static string Fill(string full, Action<string> fill)
    {
        string tmp = Temporary(full, "tmp");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            FlushTree(tmp);
        }
        catch
        {
            TryDeleteDirectory(tmp);
            throw;
        }
        return tmp;
    }

    /// <summary>The hidden sibling <c>.NAME.KIND-PID-RANDOM</c> of <paramref name="full"/>, unique to this call.</summary>
    static string Temporary(string full, string kind) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{kind}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}");

    /// <summary>Flushes every file under <paramref name="directory"/> to disk (before a commit makes them visible).</summary>
    public static void FlushTree(string directory)
    {
        foreach (var f in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            using var fs = new FileStream(f, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            fs.Flush(flushToDisk: true);
        }
        foreach (var d in Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories)) FsyncDirectory(d);
        FsyncDirectory(directory);
    }

    /// <summary>Makes a rename inside <paramref name="directory"/> durable (POSIX: fsync the directory).</summary>
    public static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* best effort on filesystems that refuse */ }
    }

    static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static void TryDeleteDirectory(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
