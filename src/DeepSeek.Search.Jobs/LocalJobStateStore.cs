using System.Globalization;
using System.Text.Json;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Jobs;

/// <summary>
/// Job state without a sidecar: one JSON file (by default <c>reindex-job.json</c> in the collection's folder) holding, per
/// key, the state and a version number that is its ETag; replaced whole through Core's <see cref="AtomicFile"/> (a crash
/// leaves the old file or the new one). Compare-and-write is exact within a process (one lock per file); across processes
/// the single-writer rule is the collection's <c>writer.lock</c>, which the runner's <c>CollectionWriter</c> holds for the
/// whole run, so two <c>dss reindex</c> of one collection never run at once (the second fails at once naming the holder).
/// </summary>
public sealed class LocalJobStateStore : IJobStateStore
{
    /// <summary>The file name of the job state in a collection's folder.</summary>
    public const string FileName = "reindex-job.json";

    static readonly Dictionary<string, object> Gates = new(StringComparer.Ordinal);
    readonly string _path;
    readonly object _gate;

    public LocalJobStateStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _path = Path.GetFullPath(path);
        lock (Gates)
        {
            if (!Gates.TryGetValue(_path, out var g)) Gates[_path] = g = new object();
            _gate = g;
        }
    }

    /// <summary>The store of a collection folder: <c>DIR/reindex-job.json</c>.</summary>
    public static LocalJobStateStore InCollection(string collectionDirectory) => new(Path.Combine(collectionDirectory, FileName));

    /// <summary>The state file.</summary>
    public string FilePath => _path;

    public string Describe => _path;

    public Task<JobStateEntry> ReadAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        lock (_gate)
        {
            var all = Load();
            return Task.FromResult(all.TryGetValue(key, out var e)
                ? new JobStateEntry(e.State, e.Version.ToString(CultureInfo.InvariantCulture))
                : new JobStateEntry(null, ""));
        }
    }

    public Task<bool> TryWriteAsync(string key, ReindexJobState state, string etag, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(etag);
        lock (_gate)
        {
            var all = Load();
            string current = all.TryGetValue(key, out var e) ? e.Version.ToString(CultureInfo.InvariantCulture) : "";
            if (!string.Equals(current, etag, StringComparison.Ordinal)) return Task.FromResult(false);
            all[key] = new Entry((e?.Version ?? 0) + 1, state);
            AtomicFile.WriteAllText(_path, JsonSerializer.Serialize(all, JobJson.Options));
            return Task.FromResult(true);
        }
    }

    sealed record Entry(long Version, ReindexJobState State);

    Dictionary<string, Entry> Load()
    {
        if (!File.Exists(_path)) return new Dictionary<string, Entry>(StringComparer.Ordinal);
        try
        {
            var read = JsonSerializer.Deserialize<Dictionary<string, Entry>>(File.ReadAllText(_path), JobJson.Options);
            return read is null ? new(StringComparer.Ordinal) : new(read, StringComparer.Ordinal);
        }
        catch (JsonException ex)
        {
            throw new InvalidInputException($"job state file {_path} is not valid JSON ({ex.Message}): fix or delete it (it holds only the last run's watermark)", ex);
        }
    }
}

/// <summary>The JSON of job state and events: camelCase, as Dapr.Client's default serializer writes it.</summary>
static class JobJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
