using System.Security.Cryptography;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Training;

/// <summary>
/// The two folders of a training run, shared by <c>dss train</c> and <c>dss train-lm</c>: the output OUT (a finished model) and the
/// work folder OUT.partial, where everything is written until the run succeeds and the work folder is swapped into place. A failed
/// run therefore never touches an existing OUT, and a run stopped after a checkpoint can be resumed from OUT.partial.
/// </summary>
public static class RunFolders
{
    public const string PartialSuffix = ".partial";

    /// <summary>OUT (absolute, without a trailing separator) and its work folder.</summary>
    public static (string Output, string Work) Of(string outputPath)
    {
        string output = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputPath));
        return (output, output + PartialSuffix);
    }

    /// <summary>
    /// The output rule of every run, checkable before work that precedes the run (e.g. mining its data): an existing, non-empty
    /// <paramref name="output"/> is replaced only with <paramref name="overwrite"/>, or continued with <paramref name="resume"/>.
    /// </summary>
    public static void CheckOutput(string output, bool resume, bool overwrite)
    {
        if (File.Exists(output)) throw new InvalidInputException($"output {output} is a file, not a folder");
        bool outputUsed = Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any();
        if (outputUsed && !overwrite && !resume)
            throw new InvalidInputException($"{output} already exists; pass --overwrite to replace it (only once training succeeds) or --resume to continue its training");
    }

    /// <summary>
    /// Checks and prepares the folders. Fresh: this call created an empty work folder. Extending: the work folder is a copy of a
    /// finished output, to be trained further. <paramref name="resumable"/> says whether a work folder holds state to resume from;
    /// <paramref name="resumableWhat"/> names that state in the error when there is none.
    /// </summary>
    public static (bool Fresh, bool Extending) Prepare(string output, string work, bool resume, bool overwrite, Func<string, bool> resumable,
        string resumableWhat = "checkpoint")
    {
        CheckOutput(output, resume, overwrite);
        bool outputUsed = Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any();
        if (resume)
        {
            if (Directory.Exists(work) && resumable(work)) return (false, false);
            if (outputUsed && Checkpoints.List(output).Count > 0)
            {
                AtomicFile.ReplaceDirectory(work, copy => CopyDirectory(output, copy));
                return (false, true);
            }
            throw new InvalidInputException($"nothing to resume: no {resumableWhat} in {work} or {Path.Combine(output, Checkpoints.Folder)}");
        }
        if (Directory.Exists(work))
        {
            if (!overwrite)
                throw new InvalidInputException($"{work} holds an unfinished run: pass --resume to continue it, or --overwrite to start over");
            Directory.Delete(work, true);
        }
        Directory.CreateDirectory(work);
        return (true, false);
    }

    /// <summary>
    /// Whether a failed run's work folder holds nothing beyond what it started from (then it is removed: nothing to resume).
    /// <paramref name="freshState"/> reports other resumable state of a fresh run (dss train's masked-LM snapshot).
    /// </summary>
    public static bool NothingNew(string work, bool fresh, bool extending, string output, Func<string, bool>? freshState = null)
    {
        var checkpoints = Checkpoints.List(work);
        if (fresh) return checkpoints.Count == 0 && freshState?.Invoke(work) != true;
        if (extending) return checkpoints.Count == 0 || checkpoints[^1].Step <= (Checkpoints.List(output) is { Count: > 0 } done ? done[^1].Step : 0);
        return false;
    }

    /// <summary>Removes a failed run's work folder when <see cref="NothingNew"/> says it holds nothing to resume.</summary>
    public static void DiscardIfNothingNew(string work, bool fresh, bool extending, string output, Func<string, bool>? freshState = null)
    {
        if (!Directory.Exists(work) || !NothingNew(work, fresh, extending, output, freshState)) return;
        try { Directory.Delete(work, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Moves the finished work folder to OUT, durably (<see cref="AtomicFile.MoveDirectory"/>); an old OUT is removed only after the
    /// new one is in place, and put back when the rename fails (the work folder then stays, resumable).
    /// </summary>
    public static void SwapIntoPlace(string work, string output) => AtomicFile.MoveDirectory(work, output);

    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)), true);
        foreach (var d in Directory.GetDirectories(from)) CopyDirectory(d, Path.Combine(to, Path.GetFileName(d)));
    }

    /// <summary>
    /// What identifies an input in a run's fingerprint: length and SHA-256 of a file's first 64 MiB (enough to tell data sets apart
    /// without reading a huge corpus twice), the names and sizes of a folder's files, "missing", or "-" for none.
    /// </summary>
    public static string FileIdentity(string? path)
    {
        if (path == null) return "-";
        if (Directory.Exists(path))
            return "dir:" + string.Join(";", Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .Select(f => $"{Path.GetRelativePath(path, f)}={new FileInfo(f).Length}"));
        if (!File.Exists(path)) return "missing";
        using var s = File.OpenRead(path);
        var buffer = new byte[Math.Min(s.Length, 64L << 20)];
        s.ReadExactly(buffer);
        return $"{s.Length}:{Convert.ToHexStringLower(SHA256.HashData(buffer))[..16]}";
    }
}
