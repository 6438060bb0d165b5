namespace DeepSeek.Search.Service;

/// <summary>
/// A file the server re-reads when it changes on disk, checked at each use (its modification time and length): the one
/// mechanism behind the keys file (<c>dss keys revoke</c> stops a key at its next call) and the experiments file (an
/// experiment stopped by an edit is stopped at the next search). A missing file is loaded too (<c>load</c> decides what it
/// means). What happens when a changed file does not load is the caller's choice: <see cref="Current"/> throws, unless an
/// <c>onError</c> was given, which is told and the last value that loaded is kept (so a bad edit is never half applied).
/// </summary>
sealed class WatchedFile<T> where T : class
{
    readonly string _path;
    readonly Func<string, T> _load;
    readonly Action<Exception>? _onError;
    readonly Lock _gate = new();
    T _value;
    (DateTime, long) _stamp;

    /// <summary>Loads <paramref name="path"/> now: a file that does not load here throws, whatever <paramref name="onError"/> says.</summary>
    public WatchedFile(string path, Func<string, T> load, Action<Exception>? onError = null)
    {
        _path = path;
        _load = load;
        _onError = onError;
        _stamp = Stamp();
        _value = load(path);
    }

    /// <summary>The file's path.</summary>
    public string Path => _path;

    /// <summary>The file's content as of now: re-read when it changed since the last read.</summary>
    public T Current()
    {
        var stamp = Stamp();
        lock (_gate)
        {
            if (stamp == _stamp) return _value;
            try
            {
                _value = _load(_path);
            }
            catch (Exception e) when (_onError is not null && e is Core.SearchException or IOException or UnauthorizedAccessException)
            {
                _onError(e);
            }
            // Loaded, or reported and kept (a bad edit is reported once, not at every call; its next change is read again).
            // A load that threw leaves the stamp, so the next call tries again.
            _stamp = stamp;
            return _value;
        }
    }

    (DateTime, long) Stamp()
    {
        var info = new FileInfo(_path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }
}
