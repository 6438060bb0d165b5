using DeepSeek.Search.Core;
using Microsoft.Extensions.Logging;

namespace DeepSeek.Search.Service.Experiments;

/// <summary>
/// The experiments of a running server: those of <see cref="ServiceSettings.ExperimentsFile"/>, re-read when the file
/// changes (through <see cref="WatchedFile{T}"/>, the keys file's mechanism), else the fixed <see cref="ServiceSettings.Experiments"/>.
/// An edit applies from the next search, whole: a file that no longer loads is logged and the last set that loaded goes on
/// serving; a removed file stops every experiment. At start the file must exist and load.
/// </summary>
public sealed class ExperimentCatalog
{
    readonly WatchedFile<ExperimentSet>? _file;
    readonly ExperimentSet _fixed;

    public ExperimentCatalog(ServiceSettings settings, ILogger<ExperimentCatalog> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        _fixed = ExperimentSet.From(settings.Experiments, $"{ServiceSettings.SectionName}:{nameof(ServiceSettings.Experiments)}");
        if (settings.ExperimentsFile is not { Length: > 0 } path) return;
        path = Path.GetFullPath(path);
        if (!File.Exists(path))
            throw new InvalidInputException($"setting ExperimentsFile names '{path}', which does not exist") { Setting = nameof(ServiceSettings.ExperimentsFile) };
        _file = new WatchedFile<ExperimentSet>(path, p =>
        {
            var set = ExperimentSet.Load(p);
            int running = set.All.Count(e => e.Enabled);
            Log.ExperimentsLoaded(logger, p, running, set.All.Count - running);
            return set;
        }, e => Log.ExperimentsReloadFailed(logger, path, e.Message));
    }

    /// <summary>The experiments as of now.</summary>
    public ExperimentSet Current => _file?.Current() ?? _fixed;
}

/// <summary>An experiment name no configured experiment of the collection has: NOT_FOUND.</summary>
public sealed class ExperimentNotFoundException : SearchException
{
    public ExperimentNotFoundException(string experiment, string collection) : base($"unknown experiment '{experiment}' on collection '{collection}'") { }
}

/// <summary>An outcome for an experiment that is configured but stopped: FAILED_PRECONDITION (outcomes of a stopped experiment are not counted).</summary>
public sealed class ExperimentStoppedException : SearchException
{
    public ExperimentStoppedException(string experiment) : base($"experiment '{experiment}' is stopped: its outcomes are no longer counted") { }
}
