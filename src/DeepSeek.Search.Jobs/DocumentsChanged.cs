using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Ingest;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Jobs;

/// <summary>
/// The data of a <c>documents.changed</c> event: <c>{"collection": "C", "upserts": [{"id", "title", "text", "metadata", "acl"}, ...],
/// "deletes": ["id", ...]}</c> — documents with the rules of a JSONL record of <c>dss upsert</c>. Parsed whole and checked
/// before anything is written: unknown fields, a malformed document, an id twice, an id both upserted and deleted, an empty
/// or oversized event are <see cref="InvalidInputException"/>s (the subscription answers DROP: redelivering it cannot help).
/// </summary>
public sealed record DocumentsChanged(string Collection, IReadOnlyList<Document> Upserts, IReadOnlyList<string> Deletes)
{
    static readonly HashSet<string> Fields = ["collection", "upserts", "deletes"];

    /// <summary>Parses and checks an event's data (the CloudEvent's <c>data</c>, JSON).</summary>
    public static DocumentsChanged Parse(ReadOnlySpan<byte> json, int maxDocuments)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json.ToArray()); }
        catch (JsonException ex) { throw new InvalidInputException($"documents.changed: the data is not JSON: {ex.Message}", ex); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidInputException($"documents.changed: the data must be a JSON object, got {root.ValueKind}");
            foreach (var p in root.EnumerateObject())
                if (!Fields.Contains(p.Name))
                    throw new InvalidInputException($"documents.changed: unknown field '{p.Name}' (expected collection, upserts, deletes)");
            if (!root.TryGetProperty("collection", out var c) || c.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(c.GetString()))
                throw new InvalidInputException("documents.changed: field 'collection' must be a non-empty string");
            string collection = c.GetString()!;
            _ = CollectionStore.At(Path.GetTempPath(), collection); // checks the name (InvalidInputException naming it)

            var upserts = new List<Document>();
            var ids = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("upserts", out var u) && u.ValueKind != JsonValueKind.Null)
            {
                if (u.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"documents.changed: field 'upserts' must be an array, got {u.ValueKind}");
                int i = 0;
                foreach (var el in u.EnumerateArray())
                {
                    Document d;
                    try { d = JsonlDocumentReader.ParseRecord(el.GetRawText()); }
                    catch (InvalidInputException ex) { throw new InvalidInputException($"documents.changed: upserts[{i}]: {ex.Message}", ex); }
                    if (!ids.TryAdd(d.Id, $"upserts[{i}]"))
                        throw new InvalidInputException($"documents.changed: upserts[{i}]: id '{d.Id}' is also {ids[d.Id]}");
                    upserts.Add(d);
                    i++;
                }
            }
            var deletes = new List<string>();
            if (root.TryGetProperty("deletes", out var del) && del.ValueKind != JsonValueKind.Null)
            {
                if (del.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"documents.changed: field 'deletes' must be an array, got {del.ValueKind}");
                int i = 0;
                foreach (var el in del.EnumerateArray())
                {
                    if (el.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(el.GetString()))
                        throw new InvalidInputException($"documents.changed: deletes[{i}] must be a non-empty string id, got {el.ValueKind}");
                    string id = el.GetString()!;
                    if (!ids.TryAdd(id, $"deletes[{i}]"))
                        throw new InvalidInputException($"documents.changed: deletes[{i}]: id '{id}' is also {ids[id]}");
                    deletes.Add(id);
                    i++;
                }
            }
            if (upserts.Count + deletes.Count == 0) throw new InvalidInputException("documents.changed: the event holds no upserts and no deletes");
            if (upserts.Count + deletes.Count > maxDocuments)
                throw new InvalidInputException($"documents.changed: {upserts.Count} upserts and {deletes.Count} deletes exceed the limit of {maxDocuments} per event (Dapr:MaxEventDocuments)");
            return new DocumentsChanged(collection, upserts, deletes);
        }
    }

    /// <summary>
    /// Applies the event through the collection's writer: the upserts as one acknowledged batch (documents equal to their stored
    /// version are left alone), then the deletes of the ids the collection still holds as another (an id already gone is skipped, so
    /// a redelivered event changes nothing). Both are idempotent: an event that failed between them is completed by its redelivery.
    /// </summary>
    public (int Upserted, int Deleted, int AlreadyGone) Apply(CollectionWriter writer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        int upserted = 0, deleted = 0;
        if (Upserts.Count > 0) upserted = writer.Upsert(Upserts, cancellationToken).Upserted;
        var live = new List<string>();
        if (Deletes.Count > 0)
        {
            using var reader = DocumentStore.Open(writer.Snapshot.DocumentStorePath);
            var held = reader.GetMany(Deletes, writer.LastSeq);
            live.AddRange(Deletes.Where(held.ContainsKey));
            if (live.Count > 0) deleted = writer.Delete(live, cancellationToken).Deleted;
        }
        return (upserted, deleted, Deletes.Count - live.Count);
    }
}
