using DeepSeek.Search.Core;
using DeepSeek.Search.Service.Auth;
using DeepSeek.Search.Service.Experiments;
using Microsoft.Extensions.Configuration;

namespace DeepSeek.Search.Service;

/// <summary>
/// Settings of the gRPC server. <see cref="Load"/> reads them from the section <c>Service</c> of, in increasing precedence,
/// <c>appsettings.json</c> (in the given folder), environment variables prefixed <c>DSS_</c> (<c>DSS_Service__Port=50051</c>)
/// and the command line (<c>--Service:Port=50051</c>): the usual .NET order.
/// </summary>
public sealed record ServiceSettings
{
    /// <summary>The configuration section the settings are read from.</summary>
    public const string SectionName = "Service";

    /// <summary>The folder holding the collections (one folder each).</summary>
    public string IndexRoot { get; init; } = "indexes";
    /// <summary>The IP address to listen on: loopback by default (h2c unless <see cref="Tls"/> is configured).</summary>
    public string Address { get; init; } = "127.0.0.1";
    /// <summary>The TCP port; 0 picks a free one (read it from <see cref="SearchServer.Address"/> after start).</summary>
    public int Port { get; init; } = 50051;
    /// <summary>The API keys file; null: <see cref="DefaultKeysFile"/>.</summary>
    public string? KeysFile { get; init; }
    /// <summary>The longest query accepted, in characters.</summary>
    public int MaxQueryChars { get; init; } = 8192;
    /// <summary>The largest k accepted.</summary>
    public int MaxK { get; init; } = 1000;
    /// <summary>The most documents in one upsert or delete batch, and the most searches in one SearchBatch.</summary>
    public int MaxBatchDocuments { get; init; } = 1000;
    /// <summary>The largest request message accepted, in bytes.</summary>
    public int MaxMessageBytes { get; init; } = 16 * 1024 * 1024;
    /// <summary>Calls of SearchService served at once; more wait in a queue.</summary>
    public int MaxConcurrentCalls { get; init; } = 64;
    /// <summary>Calls allowed to wait for a slot; beyond that a call is RESOURCE_EXHAUSTED at once.</summary>
    public int MaxQueuedCalls { get; init; } = 256;
    /// <summary>Where the encoder runs for dense searches and upserts ("cpu", "cuda", "cuda:N").</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>The query encoder's precision: fp32 (default) or int8 (CPU: about 3× faster per query here; upserts encode as
    /// each collection's manifest says, whatever this is).</summary>
    public string QueryPrecision { get; init; } = "fp32";
    /// <summary>
    /// Compact a collection in the background when its writes make it advisable (removed rows reach 10% of the documents,
    /// or 50,000 vectors wait outside the FAISS file), as <c>dss upsert</c> does after its batches.
    /// </summary>
    public bool AutoCompact { get; init; } = true;

    /// <summary>
    /// Settings per collection (section <c>Service:Collections:NAME</c>, e.g. <c>DSS_Service__Collections__scifact__Encoder=/models/e5</c>):
    /// see <see cref="CollectionSettings"/>.
    /// </summary>
    public IReadOnlyDictionary<string, CollectionSettings> Collections { get; init; } = new Dictionary<string, CollectionSettings>(StringComparer.Ordinal);

    /// <summary>The re-embeds the settings ask for: per collection with an <see cref="CollectionSettings.Encoder"/>, its options.</summary>
    public IReadOnlyDictionary<string, Indexing.ReembedOptions> Encoders() =>
        Collections.Where(kv => kv.Value.Encoder is { Length: > 0 })
            .ToDictionary(kv => kv.Key, kv => new Indexing.ReembedOptions
            {
                EncoderPath = Path.GetFullPath(kv.Value.Encoder!), ChunkTokens = kv.Value.ChunkTokens, ChunkOverlap = kv.Value.ChunkOverlap,
            }, StringComparer.Ordinal);

    /// <summary>The FAISS search-time parameters the settings give, per collection that has some.</summary>
    public IReadOnlyDictionary<string, string> FaissParameters() =>
        Collections.Where(kv => kv.Value.FaissParameters is { Length: > 0 })
            .ToDictionary(kv => kv.Key, kv => kv.Value.FaissParameters!, StringComparer.Ordinal);

    /// <summary>The generator used by re-ranking and Ask (section <c>Service:Generator</c>).</summary>
    public GeneratorSettings Generator { get; init; } = new();

    /// <summary>TLS for the gRPC listener (section <c>Service:Tls</c>); off unless <see cref="TlsSettings.CertificateFile"/> is set.</summary>
    public TlsSettings Tls { get; init; } = new();

    /// <summary>JWT bearer tokens (section <c>Service:Jwt</c>); off unless <see cref="JwtSettings.Algorithm"/> is set.</summary>
    public JwtSettings Jwt { get; init; } = new();

    /// <summary>
    /// The TCP port of the Prometheus scrape endpoint (<c>/metrics</c>, plain HTTP/1.1, a listener of its own: the gRPC one is
    /// HTTP/2 only); null (the default): no metrics listener; 0 picks a free one (<see cref="SearchServer.MetricsAddress"/>).
    /// </summary>
    public int? MetricsPort { get; init; }
    /// <summary>The IP address of the metrics listener: loopback by default.</summary>
    public string MetricsAddress { get; init; } = "127.0.0.1";
    /// <summary>An OTLP endpoint (e.g. <c>http://127.0.0.1:4317</c>) to export the call and search-stage spans to; null (the default): no export.</summary>
    public string? TracingOtlpEndpoint { get; init; }
    /// <summary>The Dapr sidecar side (section <c>Service:Dapr</c>; on when a sidecar is present): see <see cref="Jobs.DaprSettings"/>.</summary>
    public Jobs.DaprSettings Dapr { get; init; } = new();

    /// <summary>
    /// Online experiments (section <c>Service:Experiments</c>, an array): fixed while the server runs. To stop one without a
    /// restart, keep them in <see cref="ExperimentsFile"/> instead.
    /// </summary>
    public IReadOnlyList<ExperimentSettings> Experiments { get; init; } = [];
    /// <summary>
    /// A JSON file <c>{"Experiments": [ … ]}</c> (the shape of <see cref="Experiments"/>) re-read when it changes: an edit
    /// (e.g. <c>"Enabled": false</c>) applies from the next search; an edit that does not load is logged and ignored.
    /// </summary>
    public string? ExperimentsFile { get; init; }

    /// <summary>
    /// The query front over a sharded collection (section <c>Service:Front</c>): with shards listed, this server holds no
    /// collections and forwards every call to the shard servers (see <see cref="Front.FrontSettings"/>).
    /// </summary>
    public Front.FrontSettings Front { get; init; } = new();

    /// <summary>The keys file used: <see cref="KeysFile"/>, else <see cref="DefaultKeysFile"/>.</summary>
    public string EffectiveKeysFile => KeysFile is { Length: > 0 } k ? k : DefaultKeysFile();

    /// <summary>
    /// <c>$DSS_HOME/keys.json</c>, else <c>$XDG_CONFIG_HOME/dss/keys.json</c>, else <c>~/.config/dss/keys.json</c>: keys are
    /// per-user configuration, kept apart from the index root (which may be shared or copied).
    /// </summary>
    public static string DefaultKeysFile()
    {
        if (Environment.GetEnvironmentVariable("DSS_HOME") is { Length: > 0 } home) return Path.Combine(home, "keys.json");
        if (Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg) return Path.Combine(xdg, "dss", "keys.json");
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "dss", "keys.json");
    }

    /// <summary>Reads the settings: appsettings.json in <paramref name="directory"/>, then DSS_ variables, then <paramref name="args"/>.</summary>
    public static ServiceSettings Load(string directory, string[] args)
    {
        var config = new ConfigurationBuilder()
            .SetBasePath(Path.GetFullPath(directory))
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables("DSS_")
            .AddCommandLine(args)
            .Build();
        var settings = config.GetSection(SectionName).Get<ServiceSettings>() ?? new ServiceSettings();
        settings.Validate();
        return settings;
    }

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(IndexRoot)) throw new InvalidInputException("setting IndexRoot is empty") { Setting = "IndexRoot" };
        if (!System.Net.IPAddress.TryParse(Address, out _))
            throw new InvalidInputException($"setting Address must be an IP address, got '{Address}'") { Setting = "Address" };
        Check(Port, 0, 65535, nameof(Port));
        Check(MaxQueryChars, 1, int.MaxValue, nameof(MaxQueryChars));
        Check(MaxK, 1, 10_000, nameof(MaxK));
        Check(MaxBatchDocuments, 1, 10_000, nameof(MaxBatchDocuments));
        Check(MaxMessageBytes, 1024, int.MaxValue / 2, nameof(MaxMessageBytes));
        Check(MaxConcurrentCalls, 1, 100_000, nameof(MaxConcurrentCalls));
        Check(MaxQueuedCalls, 0, 1_000_000, nameof(MaxQueuedCalls));
        try { Encode.EncoderPrecisions.Parse(QueryPrecision); }
        catch (InvalidInputException e) { throw new InvalidInputException($"setting QueryPrecision: {e.Message}") { Setting = nameof(QueryPrecision) }; }
        foreach (var (name, c) in Collections)
        {
            string at = $"Collections:{name}";
            try { Store.CollectionStore.At(Path.GetFullPath(IndexRoot), name); }
            catch (InvalidInputException e) { throw new InvalidInputException($"setting {at}: {e.Message}") { Setting = at }; }
            if (c.Encoder is { Length: > 0 } enc && !Directory.Exists(enc))
                throw new InvalidInputException($"setting {at}:Encoder: encoder folder not found: '{enc}'") { Setting = $"{at}:Encoder" };
            if (c.Encoder is not { Length: > 0 } && (c.ChunkTokens is not null || c.ChunkOverlap is not null))
                throw new InvalidInputException($"setting {at}: ChunkTokens and ChunkOverlap need Encoder") { Setting = $"{at}:Encoder" };
            if (c.ChunkTokens is < 0) throw new InvalidInputException($"setting {at}:ChunkTokens must be 0 or more, got {c.ChunkTokens}") { Setting = $"{at}:ChunkTokens" };
            if (c.ChunkOverlap is < 0) throw new InvalidInputException($"setting {at}:ChunkOverlap must be 0 or more, got {c.ChunkOverlap}") { Setting = $"{at}:ChunkOverlap" };
        }
        Jwt.Validate();
        Generator.Validate();
        Tls.Validate();
        Dapr.Validate();
        Front.Validate();
        if (MetricsPort is { } metrics)
        {
            Check(metrics, 0, 65535, nameof(MetricsPort));
            if (metrics != 0 && metrics == Port)
                throw new InvalidInputException($"setting MetricsPort must differ from Port: both are {Port}") { Setting = nameof(MetricsPort) };
            if (!System.Net.IPAddress.TryParse(MetricsAddress, out _))
                throw new InvalidInputException($"setting MetricsAddress must be an IP address, got '{MetricsAddress}'") { Setting = nameof(MetricsAddress) };
        }
        if (Experiments.Count > 0 && ExperimentsFile is { Length: > 0 })
            throw new InvalidInputException("settings Experiments and ExperimentsFile are both set: keep the experiments in one place") { Setting = nameof(ExperimentsFile) };
        _ = ExperimentSet.From(Experiments, $"{SectionName}:{nameof(Experiments)}");
        if (TracingOtlpEndpoint is { Length: > 0 } otlp
            && !(Uri.TryCreate(otlp, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
            throw new InvalidInputException($"setting TracingOtlpEndpoint must be an absolute http(s) URI, got '{otlp}'") { Setting = nameof(TracingOtlpEndpoint) };
    }

    static void Check(int value, int min, int max, string name)
    {
        if (value < min || value > max)
            throw new InvalidInputException($"setting {name} must be between {min} and {max}, got {value}") { Setting = name };
    }
}

/// <summary>
/// The generator of re-ranking and Ask. <see cref="Model"/> null (the default): each collection uses its own
/// <c>generator/</c> folder when it has one (a model trained on it by <c>dss train-lm --out INDEX_ROOT/C/generator</c>);
/// a collection without one answers FAILED_PRECONDITION to re-ranking and Ask.
/// </summary>
public sealed record GeneratorSettings
{
    /// <summary>A Hugging Face DeepSeek model folder (config.json, safetensors, tokenizer.json), or a PEFT adapter folder over one, every collection uses.</summary>
    public string? Model { get; init; }
    /// <summary>
    /// The model every collection re-ranks with (a <c>dss train-reranker</c> folder: pointwise; any other generator: query likelihood);
    /// null: a collection's own <c>reranker/</c> folder when it has one, else the generator.
    /// </summary>
    public string? RerankModel { get; init; }
    /// <summary>Where the generator runs: "cpu", "cuda", "cuda:N".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Weights' dtype: float32, bfloat16 or float16.</summary>
    public string DType { get; init; } = "float32";
    /// <summary>A file holding Ask's instructions (the system turn); null: the default (answer only from the sources, cite them as [n]).</summary>
    public string? InstructionsFile { get; init; }

    /// <summary>The instructions of <see cref="InstructionsFile"/>, read once at start; null for the default.</summary>
    public string? LoadInstructions()
    {
        if (string.IsNullOrWhiteSpace(InstructionsFile)) return null;
        if (!File.Exists(InstructionsFile))
            throw new InvalidInputException($"setting Generator:InstructionsFile names '{InstructionsFile}', which does not exist") { Setting = "Generator:InstructionsFile" };
        return File.ReadAllText(InstructionsFile);
    }

    public void Validate()
    {
        if (!DeepSeek.Search.Generate.DeepSeekModelOptions.DTypeNames.Contains(DType))
            throw new InvalidInputException($"setting Generator:DType must be float32, bfloat16 or float16, got '{DType}'") { Setting = "Generator:DType" };
        if (string.IsNullOrWhiteSpace(Device)) throw new InvalidInputException("setting Generator:Device is empty") { Setting = "Generator:Device" };
        if (Model is { Length: > 0 } m) DeepSeek.Search.Rag.GeneratorPool.RequireModel(m, "Generator:Model");
        if (RerankModel is { Length: > 0 } r) DeepSeek.Search.Rag.GeneratorPool.RequireModel(r, "Generator:RerankModel");
        if (InstructionsFile is { Length: > 0 } f && !File.Exists(f))
            throw new InvalidInputException($"setting Generator:InstructionsFile names '{f}', which does not exist") { Setting = "Generator:InstructionsFile" };
    }
}

/// <summary>Settings of one collection (section <c>Service:Collections:NAME</c>).</summary>
public sealed record CollectionSettings
{
    /// <summary>
    /// The encoder folder the collection's vectors are to be made with (a Hugging Face BertModel folder, e.g. one
    /// <c>dss encoder pull</c> made). When the server opens the collection and its vectors come from another encoder (or chunk
    /// window), it re-embeds the collection in the background (<see cref="Indexing.CollectionWriter.Reembed"/>): the old snapshot
    /// serves searches and takes writes until the atomic switch; a shutdown cancels it (nothing changes, the next start redoes it).
    /// Null: the collection's own encoder.
    /// </summary>
    public string? Encoder { get; init; }
    /// <summary>With <see cref="Encoder"/>: the chunk window in word pieces (0: as long as the encoder allows); null: the collection's.</summary>
    public int? ChunkTokens { get; init; }
    /// <summary>With <see cref="Encoder"/>: the chunk overlap in word pieces; null: the collection's.</summary>
    public int? ChunkOverlap { get; init; }
    /// <summary>FAISS search-time parameters of the collection's dense index, as <c>dss search --faiss-params</c> takes them
    /// (<c>nprobe=16</c> for IVF, <c>efSearch=128</c> for HNSW); null: FAISS's defaults.</summary>
    public string? FaissParameters { get; init; }
}
