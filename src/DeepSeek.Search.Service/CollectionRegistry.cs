using System.Collections.Concurrent;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Service;

/// <summary>
/// The collections under the index root, opened lazily: one <see cref="CollectionSearcher"/> per collection (thread-safe,
/// moves itself to newer commits), and on the first write one <see cref="CollectionWriter"/>, held (with the collection's
/// writer lock) until the collection is dropped or the server stops. A collection another process writes to is
/// <see cref="CollectionLockedException"/> (naming the holder) on write; reads still work.
/// </summary>
public sealed class CollectionRegistry : IDisposable
{
    readonly string _root;
    readonly string _device;
    readonly int _maxBatch;
    readonly ConcurrentDictionary<string, Lazy<CollectionSearcher>> _searchers = new(StringComparer.Ordinal);
    readonly Dictionary<string, CollectionWriter> _writers = new(StringComparer.Ordinal);
    readonly Lock _gate = new();
    bool _disposed;

    public CollectionRegistry(string indexRoot, string device = "cpu", int maxBatchDocuments = 1000)
    {
        _root = Path.GetFullPath(indexRoot);
        _device = device;
        _maxBatch = maxBatchDocuments;
        Directory.CreateDirectory(_root);
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
            return CollectionSearcher.Open(store, device: _device);
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
            _writers[name] = w;
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
            _writers[name] = w;
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

    WriterOptions Options(BuildOptions? create) => new() { Device = _device, MaxBatchDocuments = _maxBatch, CreateWith = create };

    /// <summary>Closes every writer (releasing the writer locks) and searcher.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
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
