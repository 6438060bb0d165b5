using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Client;

/// <summary>
/// A typed client of the <c>deepseek.search.v1.SearchService</c>: one HTTP/2 channel, the credential on every call,
/// optional deadlines and cancellation, and grpc-dotnet's built-in retry policy where a retry is safe. Thread-safe;
/// share one instance. Failures surface as <see cref="RpcException"/> carrying the server's status and detail.
/// <para>Retries (at most <see cref="MaxAttempts"/> attempts, exponential backoff 50 ms → 1 s):</para>
/// <list type="table">
/// <listheader><term>RPC</term><description>retried on</description></listheader>
/// <item><term>Search, SearchBatch, GetDocument, GetCollection, ListCollections</term><description>UNAVAILABLE and
/// RESOURCE_EXHAUSTED (reads change nothing; the server answers RESOURCE_EXHAUSTED when it is busy)</description></item>
/// <item><term>UpsertDocuments</term><description>UNAVAILABLE: re-sending the same documents is idempotent (equal
/// documents are left unchanged); the stream is replayed from its first batch</description></item>
/// <item><term>DeleteDocuments</term><description>never: a delete that reached the server but whose answer was lost
/// would be retried as a delete of unknown ids (INVALID_ARGUMENT)</description></item>
/// <item><term>CreateCollection, DropCollection</term><description>never: a repeat answers ALREADY_EXISTS / NOT_FOUND</description></item>
/// <item><term>Ask</term><description>never: a server stream already partly read cannot be replayed, and a repeat generates again</description></item>
/// <item><term>ReportOutcome</term><description>never: the contract counts every call (not idempotent), so a retry whose
/// first attempt landed would count the outcome twice</description></item>
/// </list>
/// <para>Online experiments: a <see cref="Proto.SearchRequest"/> or <see cref="Proto.AskRequest"/> carrying
/// <c>ExperimentKey</c> is served by the key's arm, named in <see cref="Proto.SearchResponse.Experiment"/> /
/// <see cref="Proto.SearchResponse.Arm"/> (an Ask's in its <see cref="Proto.AskResult"/>); report what the user did with
/// <see cref="ReportOutcomeAsync"/>.</para>
/// </summary>
public sealed class SearchClient : IDisposable
{
    /// <summary>Attempts per call, the first included, for the RPCs that are retried.</summary>
    public const int MaxAttempts = 4;

    readonly GrpcChannel _channel;
    readonly Proto.SearchService.SearchServiceClient _stub;
    readonly SearchCredential _credential;

    /// <summary>A client of the server at <paramref name="address"/> (e.g. <c>http://127.0.0.1:50051</c>).</summary>
    /// <param name="address">The server's address: http (h2c) or https.</param>
    /// <param name="credential">The API key or bearer token sent with every call.</param>
    /// <param name="options">Channel options (an <c>HttpHandler</c> for TLS, message sizes); its <c>ServiceConfig</c>
    /// is replaced by the retry policy above unless it already has one.</param>
    public SearchClient(string address, SearchCredential credential, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(credential);
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new ArgumentException($"a server address must be an absolute http:// or https:// URL, got '{address}'", nameof(address));
        options ??= new GrpcChannelOptions();
        options.ServiceConfig ??= RetryConfig();
        _channel = GrpcChannel.ForAddress(uri, options);
        _stub = new Proto.SearchService.SearchServiceClient(_channel);
        _credential = credential;
        Address = uri;
    }

    /// <summary>The server's address.</summary>
    public Uri Address { get; }

    /// <summary>The retry policy described on the class: one method config for the reads, one for the upsert stream.</summary>
    public static ServiceConfig RetryConfig()
    {
        static MethodName M(string method) => new() { Service = "deepseek.search.v1.SearchService", Method = method };
        static RetryPolicy Policy(params StatusCode[] codes)
        {
            var p = new RetryPolicy { MaxAttempts = MaxAttempts, InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromSeconds(1), BackoffMultiplier = 2 };
            foreach (var c in codes) p.RetryableStatusCodes.Add(c);
            return p;
        }
        var reads = new MethodConfig { RetryPolicy = Policy(StatusCode.Unavailable, StatusCode.ResourceExhausted) };
        foreach (var m in new[] { "Search", "SearchBatch", "GetDocument", "GetCollection", "ListCollections" }) reads.Names.Add(M(m));
        var upsert = new MethodConfig { RetryPolicy = Policy(StatusCode.Unavailable) };
        upsert.Names.Add(M("UpsertDocuments"));
        var config = new ServiceConfig();
        config.MethodConfigs.Add(reads);
        config.MethodConfigs.Add(upsert);
        return config;
    }

    CallOptions Call(TimeSpan? timeout, CancellationToken cancel) =>
        new(new Metadata { { _credential.Header, _credential.Value } }, timeout is { } t ? DateTime.UtcNow + t : null, cancel);

    /// <summary>One search.</summary>
    public async Task<Proto.SearchResponse> SearchAsync(Proto.SearchRequest request, TimeSpan? timeout = null, CancellationToken cancel = default) =>
        await _stub.SearchAsync(request, Call(timeout, cancel)).ResponseAsync.ConfigureAwait(false);

    /// <summary>Several searches in one call, answered in request order.</summary>
    public async Task<Proto.SearchBatchResponse> SearchBatchAsync(IEnumerable<Proto.SearchRequest> searches, TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        var request = new Proto.SearchBatchRequest();
        request.Searches.Add(searches);
        return await _stub.SearchBatchAsync(request, Call(timeout, cancel)).ResponseAsync.ConfigureAwait(false);
    }

    /// <summary>One document by id (NOT_FOUND when unknown or hidden from the caller).</summary>
    public async Task<Proto.GetDocumentResponse> GetDocumentAsync(string collection, string id, TimeSpan? timeout = null, CancellationToken cancel = default) =>
        await _stub.GetDocumentAsync(new Proto.GetDocumentRequest { Collection = collection, Id = id }, Call(timeout, cancel)).ResponseAsync.ConfigureAwait(false);

    /// <summary>
    /// Streams <paramref name="batches"/> (each atomic, numbered from 1 in order) to <paramref name="collection"/> and
    /// returns their acknowledgements in order: each batch is durable and visible once acknowledged. A failed batch ends
    /// the call with its status; the batches acknowledged before it stay.
    /// </summary>
    public async Task<IReadOnlyList<Proto.UpsertAck>> UpsertAsync(string collection, IEnumerable<IReadOnlyList<Proto.Document>> batches,
        TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        using var call = _stub.UpsertDocuments(Call(timeout, cancel));
        var acks = new List<Proto.UpsertAck>();
        var reading = Task.Run(async () =>
        {
            await foreach (var ack in call.ResponseStream.ReadAllAsync(cancel).ConfigureAwait(false)) acks.Add(ack);
        }, cancel);
        long number = 0;
        try
        {
            foreach (var batch in batches)
            {
                var request = new Proto.UpsertRequest { Collection = collection, BatchNumber = ++number };
                request.Documents.Add(batch);
                await call.RequestStream.WriteAsync(request, cancel).ConfigureAwait(false);
            }
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // The server ended the call (a bad batch); its status is what the reader sees below.
        }
        catch (InvalidOperationException) when (reading.IsCompleted)
        {
            // Writing after the call finished: the reader has the status.
        }
        await reading.ConfigureAwait(false);
        return acks;
    }

    /// <summary>Deletes <paramref name="ids"/> in one atomic batch (never retried: see the class).</summary>
    public async Task<Proto.DeleteDocumentsResponse> DeleteAsync(string collection, IEnumerable<string> ids, TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        var request = new Proto.DeleteDocumentsRequest { Collection = collection };
        request.Ids.Add(ids);
        return await _stub.DeleteDocumentsAsync(request, Call(timeout, cancel)).ResponseAsync.ConfigureAwait(false);
    }

    /// <summary>Describes one collection.</summary>
    public async Task<Proto.CollectionInfo> GetCollectionAsync(string collection, TimeSpan? timeout = null, CancellationToken cancel = default) =>
        (await _stub.GetCollectionAsync(new Proto.GetCollectionRequest { Collection = collection }, Call(timeout, cancel)).ResponseAsync.ConfigureAwait(false)).Collection;

    /// <summary>The collections the credential may read.</summary>
    public async Task<IReadOnlyList<Proto.CollectionInfo>> ListCollectionsAsync(TimeSpan? timeout = null, CancellationToken cancel = default) =>
        (await _stub.ListCollectionsAsync(new Proto.ListCollectionsRequest(), Call(timeout, cancel)).ResponseAsync.ConfigureAwait(false)).Collections;

    /// <summary>Creates an empty collection (admin right).</summary>
    public async Task<Proto.CollectionInfo> CreateCollectionAsync(Proto.CreateCollectionRequest request, TimeSpan? timeout = null, CancellationToken cancel = default) =>
        (await _stub.CreateCollectionAsync(request, Call(timeout, cancel)).ResponseAsync.ConfigureAwait(false)).Collection;

    /// <summary>Drops a collection and everything in it (admin right).</summary>
    public async Task DropCollectionAsync(string collection, TimeSpan? timeout = null, CancellationToken cancel = default) =>
        await _stub.DropCollectionAsync(new Proto.DropCollectionRequest { Collection = collection }, Call(timeout, cancel)).ResponseAsync.ConfigureAwait(false);

    /// <summary>
    /// Asks a question (RAG): yields the answer's deltas as the server streams them, then the one result with the citations.
    /// Never retried (a second attempt would generate again). Cancelling <paramref name="cancel"/> stops the server's generation.
    /// </summary>
    public async IAsyncEnumerable<Proto.AskResponse> AskAsync(Proto.AskRequest request, TimeSpan? timeout = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancel = default)
    {
        using var call = _stub.Ask(request, Call(timeout, cancel));
        await foreach (var message in call.ResponseStream.ReadAllAsync(cancel).ConfigureAwait(false)) yield return message;
    }

    /// <summary>
    /// Reports an outcome (a click, a relevance judgment) of an online experiment's arm: the arm of <paramref name="experimentKey"/>
    /// (recomputed by the server) or <paramref name="arm"/> as a search reported it (give one, or both when they agree).
    /// Returns the experiment and arm it was counted for. Never retried: the server counts every call (the contract makes
    /// no promise of idempotence), so a retry after a lost answer would count the outcome twice; a failure is the caller's
    /// to judge. NOT_FOUND for an experiment the collection does not run, FAILED_PRECONDITION for a stopped one,
    /// INVALID_ARGUMENT naming a bad field.
    /// </summary>
    /// <param name="collection">The collection the experiment runs on (the one the searches named).</param>
    /// <param name="experiment">The experiment's name, as the response reported it.</param>
    /// <param name="kind">What happened.</param>
    /// <param name="experimentKey">The caller's experiment key, or null.</param>
    /// <param name="arm">The arm the response reported, or null.</param>
    /// <param name="value">The outcome's value (finite, |value| ≤ 10⁶); null: 1.</param>
    /// <param name="timeout">The call's deadline from now; null: none.</param>
    /// <param name="cancel">Cancels the call.</param>
    public async Task<Proto.ReportOutcomeResponse> ReportOutcomeAsync(string collection, string experiment, Proto.OutcomeKind kind,
        string? experimentKey = null, string? arm = null, double? value = null, TimeSpan? timeout = null, CancellationToken cancel = default)
    {
        var request = new Proto.ReportOutcomeRequest
        {
            Collection = collection, Experiment = experiment, Kind = kind, ExperimentKey = experimentKey ?? "", Arm = arm ?? "",
        };
        if (value is { } v) request.Value = v;
        return await _stub.ReportOutcomeAsync(request, Call(timeout, cancel)).ResponseAsync.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Dispose() => _channel.Dispose();
}
