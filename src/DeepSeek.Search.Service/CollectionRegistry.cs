using System.Collections.Concurrent;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepSeek.Search.Service;

/// <summary>
/// The collections under the index root, opened lazily: one <see cref="CollectionSearcher"/> per collection (thread-safe,
/// moves itself to newer commits), and on the first write one <see cref="CollectionWriter"/>, held (with the collection's
/// writer lock) until the collection is dropped or the server stops. A collection another process writes to is
/// <see cref="CollectionLockedException"/> (naming the holder) on write; reads still work.
/// <para>
/// With <c>autoCompact</c>, every committed write of a held writer is followed, off the caller's thread, by a check of
/// <see cref="CollectionWriter.CompactionAdvised"/> and, when advised, a <see cref="CollectionWriter.Compact"/> in the
/// background (at most one per collection; reads and writes go on meanwhile). Drop and Dispose cancel it and wait for it.
/// </para>
/// <para>
/// With an encoder configured for a collection (<c>Service:Collections:NAME:Encoder</c>), holding its writer — at start
/// (<see cref="StartConfiguredReembeds"/>) or on its first write — starts, in the same background slot as a compaction, a
/// <see cref="CollectionWriter.Reembed"/> when its vectors come from another encoder: searches and writes go on against the
/// old snapshot until the atomic switch; Drop and Dispose cancel it (nothing changes; the next start redoes it).
/// </para>
/// </summary>
public sealed class CollectionRegistry : IDisposable
{
    readonly string _root;
    readonly string _device;
    readonly EncoderPrecision _queryPrecision;
    readonly IReadOnlyDictionary<string, string> _denseParameters;
    readonly int _maxBatch;
    readonly ConcurrentDictionary<string, Lazy<CollectionSearcher>> _searchers = new(StringComparer.Ordinal);
    readonly Dictionary<string, CollectionWriter> _writers = new(StringComparer.Ordinal);
    readonly Lock _gate = new();
    readonly bool _autoCompact;
    readonly ILogger _logger;
    // the background work of each collection: a compaction or a re-embed (never both: the writer runs one at a time)
    readonly Dictionary<string, (Task Task, CancellationTokenSource Stop)> _compactions = new(StringComparer.Ordinal);
    readonly IReadOnlyDictionary<string, ReembedOptions> _encoders;
    bool _disposed;

    public CollectionRegistry(string indexRoot, string device = "cpu", int maxBatchDocuments = 1000, bool autoCompact = true, ILogger? logger = null,
        IReadOnlyDictionary<string, ReembedOptions>? encoders = null, EncoderPrecision queryPrecision = EncoderPrecision.Float32,
        IReadOnlyDictionary<string, string>? denseParameters = null)
    {
        _queryPrecision = queryPrecision;
        _denseParameters = denseParameters ?? new Dictionary<string, string>(StringComparer.Ordinal);
        _encoders = encoders ?? new Dictionary<string, ReembedOptions>(StringComparer.Ordinal);
        _root = Path.GetFullPath(indexRoot);
        _device = device;
        _maxBatch = maxBatchDocuments;
        _autoCompact = autoCompact;
        _logger = logger ?? NullLogger.Instance;
        Directory.CreateDirectory(_root);
    }

    /// <summary>Raised after a background re-embed switched a collection to a new snapshot of the configured encoder's vectors.</summary>
    public event EventHandler<(string Collection, ReembedResult Result)>? Reembedded;

    /// <summary>
    /// Opens the writer of every existing collection that has an encoder configured, which starts its background re-embed when
    /// its vectors come from another encoder. A collection another process writes to is logged and skipped.
    /// </summary>
    public void StartConfiguredReembeds()
    {
        foreach (var name in _encoders.Keys.Order(StringComparer.Ordinal))
        {
            if (!Store(name).Exists) continue;
            try { Writer(name); }
            catch (CollectionLockedException e) { Log.ReembedFailed(_logger, name, e); }
        }
    }

    /// <summary>Raised after a background compaction switched a collection to a new snapshot.</summary>
    public event EventHandler<(string Collection, CompactionResult Result)>? Compacted;

    /// <summary>The background compactions and re-embeds running now, by collection (for tests and shutdown).</summary>
    public IReadOnlyList<Task> RunningCompactions()
    {
        lock (_compactions) return [.. _compactions.Values.Select(c => c.Task)];
    }

    public string IndexRoot => _root;

    /// <summary>Raised when a collection is created or dropped (its name), so health can follow.</summary>
    public event EventHandler<string>? Changed;

    /// <summary>The store of <paramref name="name"/>: an invalid name is <see cref="InvalidInputException"/>.</summary>
    public CollectionStore Store(string name) => CollectionStore.At(_root, name);

    /// <summary>The names of the committed collections under the root, sorted.</summary>
    public IReadOnlyList<string> Names() =>
        Directory.EnumerateDirectories(_root)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => !n.StartsWith('.') && File.Exists(Path.Combine(_root, n, CollectionStore.CurrentFileName)))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>The searcher of <paramref name="name"/>, opened on first use; <see cref="CollectionNotFoundException"/> if it does not exist.</summary>
    public CollectionSearcher Searcher(string name)
    {
        var store = Store(name);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var lazy = _searchers.GetOrAdd(name, _ => new Lazy<CollectionSearcher>(() =>
        {
            if (!store.Exists) throw new CollectionNotFoundException(name, _root);
            return CollectionSearcher.Open(store, device: _device, denseParameters: _denseParameters.GetValueOrDefault(name), queryPrecision: _queryPrecision);
        }, LazyThreadSafetyMode.ExecutionAndPublication));
        try { return lazy.Value; }
        catch
        {
            _searchers.TryRemove(new KeyValuePair<string, Lazy<CollectionSearcher>>(name, lazy));
            throw;
        }
    }

    /// <summary>The searchers opened so far (name → searcher), for the per-collection gauges; opens nothing.</summary>
    public IReadOnlyDictionary<string, CollectionSearcher> OpenSearchers() =>
        _searchers.Where(kv => kv.Value.IsValueCreated).ToDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal);

    /// <summary>The writer of <paramref name="name"/>, opened (taking the writer lock) on first use.</summary>
    public CollectionWriter Writer(string name)
    {
        var store = Store(name);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_writers.TryGetValue(name, out var w)) return w;
            if (!store.Exists) throw new CollectionNotFoundException(name, _root);
            w = CollectionWriter.Open(store, Options(null));
            Hold(name, w);
            return w;
        }
    }

    /// <summary>Creates an empty collection and keeps its writer; an existing one is <see cref="InvalidInputException"/>.</summary>
    public CollectionWriter Create(string name, BuildOptions build)
    {
        var store = Store(name);
        CollectionWriter w;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (store.Exists) throw new InvalidInputException($"collection '{name}' already exists") { Setting = "collection" };
            w = CollectionWriter.Open(store, Options(build));
            Hold(name, w);
        }
        Changed?.Invoke(this, name);
        return w;
    }

    /// <summary>
    /// Deletes the collection: closes this server's searcher and writer, takes the writer lock (a writer in another process
    /// makes it <see cref="CollectionLockedException"/>) and removes the folder.
    /// </summary>
    public void Drop(string name)
    {
        var store = Store(name);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!store.Exists) throw new CollectionNotFoundException(name, _root);
            StopCompaction(name);
            if (_writers.Remove(name, out var w)) w.Dispose();
            if (_searchers.TryRemove(name, out var s) && s.IsValueCreated) s.Value.Dispose();
            using (store.LockWriter("drop"))
            {
                // CURRENT goes first: from then on the collection no longer exists for any reader or writer.
                File.Delete(Path.Combine(store.Directory, CollectionStore.CurrentFileName));
            }
            Directory.Delete(store.Directory, recursive: true);
        }
        Changed?.Invoke(this, name);
    }

    void Hold(string name, CollectionWriter writer)
    {
        _writers[name] = writer;
        if (_autoCompact) writer.Committed += (_, _) => CompactIfAdvised(name, writer);
        if (_encoders.TryGetValue(name, out var encoder)) Background(name, stop => RunReembed(name, writer, encoder, stop));
    }

    void RunReembed(string name, CollectionWriter writer, ReembedOptions encoder, CancellationToken stop)
    {
        try
        {
            if (stop.IsCancellationRequested || !writer.EncoderDiffers(encoder)) return;
            Log.ReembedStarted(_logger, name, encoder.EncoderPath, writer.Store.OpenCurrent().Manifest.Dense?.EncoderIdentity ?? "(no vectors)");
            var r = writer.Reembed(encoder, null, stop);
            Log.Reembedded(_logger, name, r.Snapshot, r.Documents, r.Chunks, r.ReplayedBatches, r.Elapsed.TotalMilliseconds, r.Encoder);
            Reembedded?.Invoke(this, (name, r));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { Log.ReembedCancelled(_logger, name); }
        catch (ObjectDisposedException) when (stop.IsCancellationRequested) { Log.ReembedCancelled(_logger, name); }
        catch (Exception e) when (e is SearchException or IOException or InvalidOperationException)
        {
            Log.ReembedFailed(_logger, name, e);
        }
    }

    // Called after each committed batch (under the writer's gate): only starts a task, which does the checking.
    void CompactIfAdvised(string name, CollectionWriter writer)
    {
        Background(name, stop => RunCompaction(name, writer, stop));
    }

    // Starts the collection's background work unless some is running; the slot is freed when it ends.
    void Background(string name, Action<CancellationToken> work)
    {
        lock (_compactions)
        {
            if (_disposed || _compactions.ContainsKey(name)) return;
            var stop = new CancellationTokenSource();
            var task = new Task(() =>
            {
                try { work(stop.Token); }
                finally { lock (_compactions) _compactions.Remove(name); }
            }, TaskCreationOptions.LongRunning);
            _compactions[name] = (task, stop);
            task.Start(TaskScheduler.Default);
        }
    }

    void RunCompaction(string name, CollectionWriter writer, CancellationToken stop)
    {
        try
        {
            if (stop.IsCancellationRequested || !writer.CompactionAdvised()) return;
            Log.CompactionStarted(_logger, name);
            var r = writer.Compact(null, stop);
            Log.Compacted(_logger, name, r.Snapshot, r.Documents, r.ReclaimedRows, r.IndexedVectors, r.Elapsed.TotalMilliseconds);
            Compacted?.Invoke(this, (name, r));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        catch (ObjectDisposedException) when (stop.IsCancellationRequested) { }
        catch (Exception e) when (e is SearchException or IOException or InvalidOperationException)
        {
            // The collection keeps serving from its current snapshot; the next write tries again.
            Log.CompactionFailed(_logger, name, e);
        }
    }

    /// <summary>Cancels the background compaction of <paramref name="name"/>, if any, and waits for it to end.</summary>
    void StopCompaction(string name)
    {
        (Task Task, CancellationTokenSource Stop) c;
        lock (_compactions)
            if (!_compactions.TryGetValue(name, out c)) return;
        c.Stop.Cancel();
        try { c.Task.Wait(); }
        catch (AggregateException) { }
        c.Stop.Dispose();
    }

    WriterOptions Options(BuildOptions? create) => new() { Device = _device, MaxBatchDocuments = _maxBatch, CreateWith = create };

    /// <summary>Closes every writer (releasing the writer locks) and searcher.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            lock (_compactions) _disposed = true;
            foreach (var name in _writers.Keys) StopCompaction(name);
            foreach (var w in _writers.Values) w.Dispose();
            _writers.Clear();
            foreach (var s in _searchers.Values)
                if (s.IsValueCreated)
                {
                    try { s.Value.Dispose(); }
                    catch (Exception e) when (e is SearchException or IOException) { }
                }
            _searchers.Clear();
        }
    }
}
