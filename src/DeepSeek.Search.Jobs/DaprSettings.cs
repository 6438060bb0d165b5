using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing.Reindex;

namespace DeepSeek.Search.Jobs;

/// <summary>
/// dss serve's Dapr side (section <c>Service:Dapr</c>). On when <see cref="Enabled"/> is true, or when it is unset and a
/// sidecar is present (<c>DAPR_HTTP_PORT</c> or <c>DAPR_GRPC_PORT</c> in the environment, as the Dapr injector and
/// <c>dapr run</c> set them). Then dss serve listens for the sidecar on <see cref="AppAddress"/>:<see cref="AppPort"/>
/// (HTTP/1.1; the gRPC port stays HTTP/2 only) and serves there only: <c>POST /{CronBinding}</c> (the cron input binding:
/// runs every <see cref="Reindex"/> job), <c>GET /dapr/subscribe</c> and the <c>documents.changed</c> route.
/// </summary>
public sealed record DaprSettings
{
    /// <summary>true / false, or null (default): on exactly when a sidecar's variables are set.</summary>
    public bool? Enabled { get; init; }
    /// <summary>The address of the app listener Dapr calls (default 127.0.0.1: the sidecar is in the same pod or network namespace).</summary>
    public string AppAddress { get; init; } = "127.0.0.1";
    /// <summary>The app port Dapr calls (<c>dapr.io/app-port</c>; default 50052; 0 = a free one).</summary>
    public int AppPort { get; init; } = 50052;
    /// <summary>The sidecar's gRPC endpoint (default: Dapr.Client's, from DAPR_GRPC_ENDPOINT / DAPR_GRPC_PORT, else http://127.0.0.1:50001).</summary>
    public string? GrpcEndpoint { get; init; }
    /// <summary>The name of the cron input binding component; Dapr POSTs to <c>/{name}</c> on each tick.</summary>
    public string CronBinding { get; init; } = "reindex-cron";
    /// <summary>The state store component holding the jobs' state (watermark, run state, claim).</summary>
    public string StateStore { get; init; } = "dss-statestore";
    /// <summary>The pub/sub component of both topics.</summary>
    public string PubSub { get; init; } = "dss-pubsub";
    /// <summary>Published after each successful run: a <see cref="ReindexedEvent"/>.</summary>
    public string ReindexedTopic { get; init; } = "documents.reindexed";
    /// <summary>Subscribed: upserts and deletes pushed by upstream systems (<see cref="DocumentsChanged"/>).</summary>
    public string ChangedTopic { get; init; } = "documents.changed";
    /// <summary>The token Dapr sends as <c>dapr-api-token</c> (its APP_API_TOKEN); default: the APP_API_TOKEN variable. When set, calls without it are 401.</summary>
    public string? AppApiToken { get; init; }
    /// <summary>How long a claim holds a job (minutes; a crashed replica's claim lapses after it).</summary>
    public int LeaseMinutes { get; init; } = 360;
    /// <summary>A job that succeeded less than this ago is not run again (minutes; every replica gets the cron tick, one runs).</summary>
    public int MinIntervalMinutes { get; init; } = 60;
    /// <summary>The most documents plus ids one <c>documents.changed</c> event may carry.</summary>
    public int MaxEventDocuments { get; init; } = 1000;
    /// <summary>The re-index jobs the cron binding runs, in order.</summary>
    public ReindexJobSettings[] Reindex { get; init; } = [];

    /// <summary>Environment variables whose presence means a sidecar is there.</summary>
    public static readonly string[] SidecarVariables = ["DAPR_HTTP_PORT", "DAPR_GRPC_PORT"];

    /// <summary>Whether the Dapr side is on, given the environment (<paramref name="env"/>: a variable's value or null).</summary>
    public bool IsEnabled(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        return Enabled ?? (GrpcEndpoint is { Length: > 0 } || SidecarVariables.Any(v => env(v) is { Length: > 0 }));
    }

    /// <summary>The app token in force: the setting, else APP_API_TOKEN, else none.</summary>
    public string? EffectiveAppApiToken(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        return AppApiToken is { Length: > 0 } t ? t : env("APP_API_TOKEN") is { Length: > 0 } e ? e : null;
    }

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!System.Net.IPAddress.TryParse(AppAddress, out _))
            throw new InvalidInputException($"setting Dapr:AppAddress must be an IP address, got '{AppAddress}'") { Setting = "Dapr:AppAddress" };
        if (AppPort is < 0 or > 65535)
            throw new InvalidInputException($"setting Dapr:AppPort must be between 0 and 65535, got {AppPort}") { Setting = "Dapr:AppPort" };
        if (GrpcEndpoint is { Length: > 0 } g && !(Uri.TryCreate(g, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)))
            throw new InvalidInputException($"setting Dapr:GrpcEndpoint must be an absolute http(s) URI, got '{g}'") { Setting = "Dapr:GrpcEndpoint" };
        Name(CronBinding, "CronBinding");
        Name(StateStore, "StateStore");
        Name(PubSub, "PubSub");
        Name(ReindexedTopic, "ReindexedTopic");
        Name(ChangedTopic, "ChangedTopic");
        if (string.Equals(CronBinding, "dapr", StringComparison.OrdinalIgnoreCase))
            throw new InvalidInputException("setting Dapr:CronBinding may not be 'dapr' (the sidecar's own routes live under /dapr)") { Setting = "Dapr:CronBinding" };
        if (LeaseMinutes is < 1 or > 7 * 24 * 60)
            throw new InvalidInputException($"setting Dapr:LeaseMinutes must be between 1 and 10080, got {LeaseMinutes}") { Setting = "Dapr:LeaseMinutes" };
        if (MinIntervalMinutes is < 0 or > 7 * 24 * 60)
            throw new InvalidInputException($"setting Dapr:MinIntervalMinutes must be between 0 and 10080, got {MinIntervalMinutes}") { Setting = "Dapr:MinIntervalMinutes" };
        if (MaxEventDocuments is < 1 or > 10_000)
            throw new InvalidInputException($"setting Dapr:MaxEventDocuments must be between 1 and 10000, got {MaxEventDocuments}") { Setting = "Dapr:MaxEventDocuments" };
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Reindex.Length; i++)
        {
            var job = Reindex[i] ?? throw new InvalidInputException($"setting Dapr:Reindex:{i} is empty") { Setting = $"Dapr:Reindex:{i}" };
            job.Validate(i);
            if (!keys.Add(job.EffectiveJobKey))
                throw new InvalidInputException($"setting Dapr:Reindex:{i}: job key '{job.EffectiveJobKey}' is used twice") { Setting = $"Dapr:Reindex:{i}:JobKey" };
        }
    }

    static void Name(string value, string setting)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            throw new InvalidInputException($"setting Dapr:{setting} must be a name of letters, digits, '-', '_' or '.', got '{value}'") { Setting = $"Dapr:{setting}" };
    }
}

/// <summary>One re-index job of the cron binding: a collection and its sources (paths on the server), as <c>dss reindex -c C --source ...</c>.</summary>
public sealed record ReindexJobSettings
{
    public string Collection { get; init; } = "";
    /// <summary>JSONL files or folders of .txt/.md/.html files, read strictly and whole on each run.</summary>
    public string[] Sources { get; init; } = [];
    public int BatchSize { get; init; } = 256;
    /// <summary>The state store key (default <c>reindex-{Collection}</c>); replicas sharing a key run the job once between them.</summary>
    public string? JobKey { get; init; }
    /// <summary>"I/N": the collection here is shard I of N (<see cref="ReindexOptions.Shard"/>, as <c>dss reindex --shard</c>); null: not a shard.</summary>
    public string? Shard { get; init; }

    /// <summary>The job key; a shard's default key names the shard, so each shard's job is claimed and run on its own.</summary>
    public string EffectiveJobKey => JobKey is { Length: > 0 } k ? k
        : ShardOf is { } shard ? $"{ReindexRunner.DefaultJobKey(Collection)}-shard-{shard.Index}-of-{shard.Count}"
        : ReindexRunner.DefaultJobKey(Collection);

    /// <summary>The parsed <see cref="Shard"/>.</summary>
    public ShardOfCount? ShardOf => Shard is { Length: > 0 } s ? ShardOfCount.Parse(s) : null;

    internal void Validate(int index)
    {
        if (string.IsNullOrWhiteSpace(Collection))
            throw new InvalidInputException($"setting Dapr:Reindex:{index}:Collection is empty") { Setting = $"Dapr:Reindex:{index}:Collection" };
        if (Sources.Length == 0 || Sources.Any(string.IsNullOrWhiteSpace))
            throw new InvalidInputException($"setting Dapr:Reindex:{index}:Sources must name at least one file or folder, and no empty one") { Setting = $"Dapr:Reindex:{index}:Sources" };
        if (BatchSize < 1)
            throw new InvalidInputException($"setting Dapr:Reindex:{index}:BatchSize must be at least 1, got {BatchSize}") { Setting = $"Dapr:Reindex:{index}:BatchSize" };
        if (Shard is { Length: > 0 } s)
            try { ShardOfCount.Parse(s); }
            catch (InvalidInputException e) { throw new InvalidInputException($"setting Dapr:Reindex:{index}:Shard: {e.Message}") { Setting = $"Dapr:Reindex:{index}:Shard" }; }
    }
}
