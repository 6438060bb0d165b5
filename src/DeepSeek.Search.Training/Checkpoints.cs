using System.Globalization;
using System.Text.Json;
using DeepSeek.Search.Core;
using TorchSharp.Modules;

namespace DeepSeek.Search.Training;

/// <summary>
/// The checkpoint folders of a training run, shared by every trainer: <c>checkpoints/step-NNNNNNN/</c> under the run's work folder,
/// each holding the model's weights (written by the trainer), <c>optimizer.bin</c> (TorchSharp's optimizer state) and
/// <c>state.json</c> (the trainer's state record). A checkpoint is written into a hidden temporary folder and renamed
/// (<see cref="AtomicFile.ReplaceDirectory"/>), so the newest complete one (a folder with its <c>state.json</c>) is always loadable;
/// older ones beyond a count are deleted.
/// </summary>
public static class Checkpoints
{
    public const string Folder = "checkpoints", StateFile = "state.json", OptimizerFile = "optimizer.bin";

    public static string NameOf(long step) => "step-" + step.ToString("D7", CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes checkpoint <paramref name="step"/> of the run in <paramref name="workDir"/>: <paramref name="writeContents"/> fills a
    /// temporary folder, which is then flushed and renamed into place (<see cref="AtomicFile.ReplaceDirectory"/>: a failing
    /// <paramref name="writeContents"/> leaves the checkpoints as they were); all but the newest <paramref name="keep"/> are removed.
    /// Returns its folder.
    /// </summary>
    public static string Save(string workDir, long step, int keep, Action<string> writeContents)
    {
        string root = Path.Combine(workDir, Folder);
        Directory.CreateDirectory(root);
        string final = Path.Combine(root, NameOf(step));
        AtomicFile.ReplaceDirectory(final, writeContents);
        foreach (var old in List(workDir).SkipLast(keep)) Directory.Delete(old.Path, true);
        return final;
    }

    /// <summary>Complete checkpoints of a run folder, oldest first.</summary>
    public static IReadOnlyList<(long Step, string Path)> List(string workDir)
    {
        string root = Path.Combine(workDir, Folder);
        if (!Directory.Exists(root)) return [];
        var list = new List<(long, string)>();
        foreach (var d in Directory.GetDirectories(root))
        {
            string name = Path.GetFileName(d);
            if (name.StartsWith("step-", StringComparison.Ordinal) && long.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out long step)
                && File.Exists(Path.Combine(d, StateFile)))
                list.Add((step, d));
        }
        return list.OrderBy(x => x.Item1).ToList();
    }

    /// <summary>Writes a checkpoint's state record.</summary>
    public static void WriteState<T>(string checkpointDir, T state, JsonSerializerOptions json) =>
        File.WriteAllText(Path.Combine(checkpointDir, StateFile), JsonSerializer.Serialize(state, json) + "\n");

    /// <summary>
    /// Reads a trainer's <see cref="TrainingState"/> record from a checkpoint; an unreadable one, or one of another
    /// <paramref name="currentFormat"/>, is a <see cref="CheckpointException"/> naming the file.
    /// </summary>
    public static T ReadState<T>(string checkpointDir, JsonSerializerOptions json, int currentFormat) where T : TrainingState
    {
        string path = Path.Combine(checkpointDir, StateFile);
        T state;
        try
        {
            state = JsonSerializer.Deserialize<T>(File.ReadAllText(path), json) ?? throw new CheckpointException($"{path}: empty");
        }
        catch (JsonException e) { throw new CheckpointException($"{path}: unreadable training state ({e.Message})", e); }
        if (state.Format != currentFormat)
            throw new CheckpointException($"{path}: checkpoint format {state.Format}, this build reads {currentFormat}");
        return state;
    }

    /// <summary>Writes the optimizer's state (TorchSharp's format: moments and step counts) into a checkpoint folder.</summary>
    public static void SaveOptimizer(OptimizerHelper optimizer, string checkpointDir) =>
        optimizer.save_state_dict(Path.Combine(checkpointDir, OptimizerFile));

    /// <summary>Loads a checkpoint's optimizer state; an unreadable one is a <see cref="CheckpointException"/> naming the folder.</summary>
    public static void LoadOptimizer(OptimizerHelper optimizer, string checkpointDir)
    {
        try { optimizer.load_state_dict(Path.Combine(checkpointDir, OptimizerFile)); }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or EndOfStreamException)
        {
            throw new CheckpointException($"{checkpointDir}: unreadable optimizer state ({e.Message})", e);
        }
    }
}
