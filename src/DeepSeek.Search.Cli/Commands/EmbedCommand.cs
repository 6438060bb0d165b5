using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss embed`: one embedding per input text, from the query or the document tower of an encoder folder.</summary>
static class EmbedCommand
{
    public static Command Create()
    {
        var encoder = new Option<string>("--encoder", "-e") { Description = $"Encoder: {EncoderArgument.Help}", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Folder with vocab.txt or tokenizer.json, when the encoder folder has none" };
        var input = new Option<string?>("--input", "-i") { Description = "Texts to embed: .jsonl (objects with \"text\", optional \"id\"/\"_id\" and \"title\"), .json (array of strings or such objects), or plain text (one per line); '-' reads stdin" };
        var text = new Option<string[]>("--text", "-t") { Description = "A text to embed (repeatable)", AllowMultipleArgumentsPerToken = false };
        var query = new Option<bool>("--query") { Description = "Use the query tower (query length limit, query prefix)" };
        var document = new Option<bool>("--document") { Description = "Use the document tower (the default)" };
        var pooling = new Option<string?>("--pooling") { Description = "Override the folder's pooling: mean or cls" }.AcceptOnlyFromAmong("mean", "cls");
        var normalize = new Option<bool?>("--normalize") { Description = "Override the folder's L2 normalisation (true/false)" };
        var maxLength = new Option<int?>("--max-length") { Description = "Override the tower's maximum length in tokens (longer texts are truncated)" };
        var json = new Option<bool>("--json") { Description = "Print JSON: encoder identity, dimension and one {id, text, embedding} per input" };
        var device = CommonOptions.Device();
        var precision = CommonOptions.EncoderPrecision();

        var cmd = new Command("embed", "Print one embedding per input text.") { encoder, tokenizer, input, text, query, document, pooling, normalize, maxLength, json, device, precision };
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(query) && pr.GetValue(document)) throw new InvalidInputException("--query and --document exclude each other");
            var items = new List<(string Id, string Text)>();
            foreach (var t in pr.GetValue(text) ?? []) items.Add(($"text{items.Count}", t));
            if (pr.GetValue(input) is { } path) items.AddRange(ReadInputs(path, items.Count));
            if (items.Count == 0) throw new InvalidInputException("nothing to embed: pass --text TEXT or --input FILE");

            var options = new EncoderOptions
            {
                Device = pr.GetValue(device)!,
                Precision = CommonOptions.ParseEncoderPrecision(pr.GetValue(precision)),
                TokenizerDirectory = pr.GetValue(tokenizer),
                Pooling = pr.GetValue(pooling) switch { "mean" => PoolingMode.Mean, "cls" => PoolingMode.Cls, _ => null },
                Normalize = pr.GetValue(normalize),
                MaxQueryLength = pr.GetValue(maxLength),
                MaxDocumentLength = pr.GetValue(maxLength),
            };
            using var enc = TextEncoder.Load(EncoderArgument.Resolve(pr.GetValue(encoder)) ?? throw new InvalidInputException("dss embed needs an encoder (got 'none')"), options);
            if (enc.UsesBundledVocabulary)
                Console.Error.WriteLine($"dss: note: {pr.GetValue(encoder)} has no vocab.txt or tokenizer.json; using the bundled bert-base-uncased vocabulary (its vocab_size matches)");
            bool isQuery = pr.GetValue(query);
            var texts = items.Select(i => i.Text).ToList();
            var vectors = isQuery ? enc.EncodeQueries(texts) : enc.EncodeDocuments(texts);

            if (pr.GetValue(json))
            {
                Console.WriteLine(Json.Serialize(new
                {
                    encoder = enc.Identity,
                    dimension = enc.Dimension,
                    tower = isQuery ? "query" : "document",
                    pooling = enc.Pooling.ToString().ToLowerInvariant(),
                    normalize = enc.Normalize,
                    max_length = isQuery ? enc.MaxQueryLength : enc.MaxDocumentLength,
                    embeddings = items.Select((it, i) => new { id = it.Id, text = it.Text, embedding = vectors[i] }),
                }));
            }
            else
            {
                for (int i = 0; i < items.Count; i++)
                    Console.WriteLine(items[i].Id + "\t" + string.Join(' ', vectors[i].Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            }
            return CliRunner.ExitOk;
        });
        return cmd;
    }

    static IEnumerable<(string Id, string Text)> ReadInputs(string path, int offset)
    {
        string content;
        if (path == "-") content = Console.In.ReadToEnd();
        else if (!File.Exists(path)) throw new InvalidInputException($"input file not found: {path}");
        else content = File.ReadAllText(path);

        var result = new List<(string, string)>();
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            JsonElement root;
            try { root = JsonDocument.Parse(content).RootElement; }
            catch (JsonException e) { throw new MalformedRecordException(path, (e.LineNumber ?? 0) + 1, "invalid JSON: " + e.Message); }
            if (root.ValueKind != JsonValueKind.Array) throw new MalformedRecordException(path, 1, "expected a JSON array of strings or objects with \"text\"");
            foreach (var el in root.EnumerateArray()) result.Add(FromElement(el, path, 1, offset + result.Count));
            return result;
        }
        var lines = content.Split('\n');
        bool jsonl = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase);
        for (int n = 0; n < lines.Length; n++)
        {
            var line = lines[n].TrimEnd('\r');
            if (line.Length == 0 && (jsonl || n == lines.Length - 1)) continue;
            if (!jsonl) { result.Add(($"text{offset + result.Count}", line)); continue; }
            JsonElement el;
            try { el = JsonDocument.Parse(line).RootElement; }
            catch (JsonException e) { throw new MalformedRecordException(path, n + 1, "invalid JSON: " + e.Message); }
            result.Add(FromElement(el, path, n + 1, offset + result.Count));
        }
        return result;
    }

    static (string, string) FromElement(JsonElement el, string path, long line, int index)
    {
        if (el.ValueKind == JsonValueKind.String) return ($"text{index}", el.GetString()!);
        if (el.ValueKind != JsonValueKind.Object || !el.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
            throw new MalformedRecordException(path, line, "expected a string or an object with a string \"text\"");
        string id = el.TryGetProperty("_id", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()!
            : el.TryGetProperty("id", out var b) && b.ValueKind is JsonValueKind.String or JsonValueKind.Number ? b.ToString()
            : $"text{index}";
        string text = t.GetString()!;
        if (el.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String && title.GetString() is { Length: > 0 } ti)
            text = Text.Chunking.TextChunker.ComposeText(ti, text);
        return (id, text);
    }
}
