using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.Experiments;
using Grpc.Core;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Service.Grpc;

/// <summary>Online experiments: the arm of a search (assigned by <see cref="Experiment.Assign"/>, applied to the request) and ReportOutcome.</summary>
sealed partial class SearchRpcService
{
    /// <summary>The longest experiment key accepted, in characters.</summary>
    public const int MaxExperimentKeyChars = 256;

    /// <summary>
    /// The running experiment of <paramref name="collection"/> and the arm of <paramref name="key"/> in it; null when the key
    /// is empty or the collection runs no experiment (stopped and removed experiments assign nothing).
    /// </summary>
    (Experiment, ExperimentArm)? AssignArm(string collection, string key, string field)
    {
        if (key.Length == 0) return null;
        CheckKey(key, field);
        if (_experiments.Current.Running(collection) is not { } experiment) return null;
        return (experiment, experiment.Assign(key));
    }

    static void CheckKey(string key, string field)
    {
        if (key.Length > MaxExperimentKeyChars)
            throw new InvalidInputException($"{field}: experiment key of {key.Length} characters is longer than the limit of {MaxExperimentKeyChars}") { Setting = "experiment_key" };
    }

    /// <summary>The settings of a recall an arm may change: those of a Search and of an Ask's first stage alike.</summary>
    record struct Recall(string Collection, Proto.SearchMode Mode, Proto.FusionMethod Fusion, float? Alpha, Proto.RerankSettings? Rerank);

    /// <summary>
    /// The one application of an arm: its settings in place of the ones they name; the rest is the caller's. Search
    /// (<see cref="WithArm(Proto.SearchRequest, ExperimentArm)"/>) and Ask (<see cref="WithArm(Proto.AskRequest, ExperimentArm)"/>)
    /// only map their requests to and from <see cref="Recall"/>.
    /// </summary>
    static Recall WithArm(Recall r, ExperimentArm arm)
    {
        if (arm.Collection is { } collection) r.Collection = collection;
        if (arm.Mode is { } mode)
            r.Mode = mode switch { SearchMode.Bm25 => Proto.SearchMode.Bm25, SearchMode.Dense => Proto.SearchMode.Dense, _ => Proto.SearchMode.Hybrid };
        if (arm.Fusion is { } fusion) r.Fusion = fusion == FusionMethod.MinMax ? Proto.FusionMethod.Minmax : Proto.FusionMethod.Rrf;
        if (arm.Alpha is { } alpha) r.Alpha = alpha;
        if (arm.Rerank is { Enabled: false }) r.Rerank = null;
        else if (arm.Rerank is { } rerank)
        {
            r.Rerank = r.Rerank?.Clone() ?? new Proto.RerankSettings();
            if (rerank.Depth is { } depth) r.Rerank.Depth = depth;
            if (rerank.Weight is { } weight) r.Rerank.Weight = weight;
        }
        return r;
    }

    /// <summary>A search request with the arm applied (<see cref="WithArm(Recall, ExperimentArm)"/>).</summary>
    static Proto.SearchRequest WithArm(Proto.SearchRequest request, ExperimentArm arm)
    {
        var a = WithArm(new Recall(request.Collection, request.Mode, request.Fusion, request.HasAlpha ? request.Alpha : null, request.Rerank), arm);
        var r = request.Clone();
        (r.Collection, r.Mode, r.Fusion, r.Rerank) = (a.Collection, a.Mode, a.Fusion, a.Rerank);
        if (a.Alpha is { } alpha) r.Alpha = alpha; else r.ClearAlpha();
        return r;
    }

    /// <summary>An Ask request with the arm applied to its recall (<see cref="WithArm(Recall, ExperimentArm)"/>).</summary>
    static Proto.AskRequest WithArm(Proto.AskRequest request, ExperimentArm arm)
    {
        var a = WithArm(new Recall(request.Collection, request.Mode, request.Fusion, request.HasAlpha ? request.Alpha : null, request.Rerank), arm);
        var r = request.Clone();
        (r.Collection, r.Mode, r.Fusion, r.Rerank) = (a.Collection, a.Mode, a.Fusion, a.Rerank);
        if (a.Alpha is { } alpha) r.Alpha = alpha; else r.ClearAlpha();
        return r;
    }

    /// <summary>A search as it will run: the request with its arm applied, and the experiment and arm (null: none).</summary>
    readonly record struct ArmedSearch(Proto.SearchRequest Request, Experiment? Experiment, ExperimentArm? Arm);

    /// <summary>
    /// The caller's right on the collection the request names, the arm of its key (<see cref="AssignArm"/>) applied, and the
    /// caller's right on the arm's collection: all before any work, so a forbidden arm collection runs nothing.
    /// </summary>
    ArmedSearch Resolve(Proto.SearchRequest request, Identity identity, string at)
    {
        Authorize(identity, request.Collection, AccessRight.Read);
        if (AssignArm(request.Collection, request.ExperimentKey, $"{at}experiment_key") is not (Experiment experiment, ExperimentArm arm))
            return new ArmedSearch(request, null, null);
        var armed = WithArm(request, arm);
        Authorize(identity, armed.Collection, AccessRight.Read);
        return new ArmedSearch(armed, experiment, arm);
    }

    void RecordArm(Proto.SearchResponse response)
    {
        if (response.Arm.Length > 0) _metrics.RecordArmSearch(response.Experiment, response.Arm, response.Timings.TotalMs);
    }

    public override Task<Proto.ReportOutcomeResponse> ReportOutcome(Proto.ReportOutcomeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var identity = ServiceInterceptor.IdentityOf(context);
        Authorize(identity, request.Collection, AccessRight.Read);
        if (request.Experiment.Length == 0) throw new InvalidInputException("experiment: an experiment name is required") { Setting = "experiment" };
        string kind = request.Kind switch
        {
            Proto.OutcomeKind.Click => "click",
            Proto.OutcomeKind.Judgment => "judgment",
            Proto.OutcomeKind.Unspecified => throw new InvalidInputException("kind: an outcome names its kind (OUTCOME_KIND_CLICK or OUTCOME_KIND_JUDGMENT)") { Setting = "kind" },
            _ => throw new InvalidInputException($"kind: unknown outcome kind {(int)request.Kind}") { Setting = "kind" },
        };
        double value = request.HasValue ? request.Value : 1;
        if (!(value >= -1_000_000 && value <= 1_000_000))
            throw new InvalidInputException($"value: an outcome's value must be a finite number in [-1000000, 1000000], got {value}") { Setting = "value" };
        if (request.ExperimentKey.Length == 0 && request.Arm.Length == 0)
            throw new InvalidInputException("experiment_key: give the caller's experiment_key or the arm the search reported") { Setting = "experiment_key" };
        CheckKey(request.ExperimentKey, "experiment_key");
        var experiment = _experiments.Current.Named(request.Experiment) is { } e && e.Collection == request.Collection ? e
            : throw new ExperimentNotFoundException(request.Experiment, request.Collection);
        if (!experiment.Enabled) throw new ExperimentStoppedException(experiment.Name);
        ExperimentArm arm;
        if (request.Arm.Length > 0)
        {
            arm = experiment.Arm(request.Arm) ?? throw new InvalidInputException(
                $"arm: experiment '{experiment.Name}' has no arm '{request.Arm}' (its arms: {string.Join(", ", experiment.Arms.Select(a => a.Name))})") { Setting = "arm" };
            if (request.ExperimentKey.Length > 0 && experiment.Assign(request.ExperimentKey).Name != arm.Name)
                throw new InvalidInputException($"arm: the experiment key is in arm '{experiment.Assign(request.ExperimentKey).Name}' of experiment '{experiment.Name}', not '{arm.Name}'") { Setting = "arm" };
        }
        else arm = experiment.Assign(request.ExperimentKey);
        _metrics.RecordOutcome(experiment.Name, arm.Name, kind, value);
        return Task.FromResult(new Proto.ReportOutcomeResponse { Experiment = experiment.Name, Arm = arm.Name });
    }
}
