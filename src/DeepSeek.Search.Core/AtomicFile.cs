namespace DeepSeek.Search.Core;

/// <summary>
/// Writes that a crash leaves either complete or absent, for every file or folder here that must survive one: write beside the
/// target (same file system), flush the data to disk, rename over the target, then flush the parent folder so the rename itself is
/// durable (POSIX). Readers see the old content or the new, never a torn one. The temporary names carry the process id, so two
/// processes writing one target do not share a temporary.
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
        string tmp = full + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
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
    /// first and deleted after, so a crash leaves the old folder, the new one, or the old one under a <c>.old-PID</c> name beside
    /// it). A failing <paramref name="fill"/> leaves the target untouched and no temporary folder.
    /// </summary>
    public static void ReplaceDirectory(string path, Action<string> fill)
    {
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        string parent = Path.GetDirectoryName(full)!;
        string tmp = full + ".tmp-" + Environment.ProcessId, old = full + ".old-" + Environment.ProcessId;
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
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
        bool replacing = Directory.Exists(full);
        if (replacing)
        {
            if (Directory.Exists(old)) Directory.Delete(old, true);
            Directory.Move(full, old);
        }
        Directory.Move(tmp, full);
        FsyncDirectory(parent);
        if (replacing) TryDeleteDirectory(old);
    }

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
