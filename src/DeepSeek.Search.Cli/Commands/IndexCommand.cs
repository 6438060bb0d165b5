using System.CommandLine;
using System.Diagnostics;
using DeepSeek.Search.Core;
using DeepSeek.Search.Encode.Pretrained;
using DeepSeek.Search.Index.Lexical;
using DeepSeek.Search.Ingest;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.Indexing;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss index`: ingest a corpus and build a new generation of a collection.</summary>
static class IndexCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var corpus = new Option<string>("--corpus") { Description = "BEIR corpus.jsonl, generic JSONL (id, title, text, metadata), or a folder of .txt/.md/.html files", Required = true };
        var encoder = new Option<string>("--encoder")
        {
            Description = $"Dense encoder: {EncoderArgument.Help}; none for BM25 only",
            DefaultValueFactory = _ => PretrainedEncoders.DefaultName,
        };
        var root = CommonOptions.IndexRoot();
        var chunkTokens = new Option<int>("--chunk-tokens") { Description = "Word-piece tokens per chunk [default: the encoder's document length minus 2]" };
        var chunkOverlap = new Option<int>("--chunk-overlap") { Description = "Tokens shared by consecutive chunks", DefaultValueFactory = _ => 32 };
        var factory = new Option<string>("--faiss") { Description = "FAISS index factory string (inner product), e.g. IDMap2,Flat | IDMap2,HNSW32,Flat | IVF256,Flat", DefaultValueFactory = _ => "IDMap2,Flat" };
        var k1 = new Option<float>("--k1") { Description = "BM25 k1", DefaultValueFactory = _ => Bm25Options.Default.K1 };
        var b = new Option<float>("--b") { Description = "BM25 b", DefaultValueFactory = _ => Bm25Options.Default.B };
        var fields = new Option<string>("--fields") { Description = "BM25 fields: flat (title + body as one field, as Anserini's BEIR flat runs) or multifield (title and body scored separately)", DefaultValueFactory = _ => "flat" }.AcceptOnlyFromAmong("flat", "multifield");
        var strict = new Option<bool>("--strict") { Description = "Stop at the first malformed record instead of skipping it" };
        var device = CommonOptions.Device();
        var batch = new Option<int>("--batch-size") { Description = "Chunks per encoder batch", DefaultValueFactory = _ => 64 };
        var precision = CommonOptions.EncoderPrecision();

        var cmd = new Command("index", "Index a document collection (BM25, plus dense vectors with --encoder) as a new generation; the previous one serves until it commits.")
        { collection, corpus, encoder, root, chunkTokens, chunkOverlap, factory, k1, b, fields, strict, device, batch, precision };

        cmd.SetAction(pr =>
        {
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            var problems = 0;
            var source = DocumentSource.Open(pr.GetValue(corpus)!, new IngestOptions
            {
                Strict = pr.GetValue(strict),
                OnProblem = p =>
                {
                    if (++problems <= 20) Console.Error.WriteLine($"dss: warning: skipped {p}");
                    else if (problems == 21) Console.Error.WriteLine("dss: warning: more malformed records skipped (count below)");
                },
            });
            var options = new BuildOptions
            {
                EncoderPath = EncoderArgument.Resolve(pr.GetValue(encoder)),
                ChunkTokens = pr.GetValue(chunkTokens),
                ChunkOverlap = pr.GetValue(chunkOverlap),
                Factory = pr.GetValue(factory)!,
                Bm25 = Bm25Options.Default with
                {
                    K1 = pr.GetValue(k1),
                    B = pr.GetValue(b),
                    FieldMode = pr.GetValue(fields) == "multifield" ? LexicalFieldMode.Multifield : LexicalFieldMode.Flat,
                },
                Device = pr.GetValue(device)!,
                EncodeBatchSize = pr.GetValue(batch),
                EncoderPrecision = CommonOptions.ParseEncoderPrecision(pr.GetValue(precision)),
                Source = Path.GetFullPath(pr.GetValue(corpus)!),
            };
            var sw = Stopwatch.StartNew();
            Console.Error.WriteLine($"dss: indexing {source.Path} ({source.Kind}) into '{store.Name}' under {store.Root}");
            var gen = ConsoleProgress.Run(progress => CollectionBuilder.Build(store, source, options, progress));
            var m = gen.Manifest;
            Console.WriteLine($"indexed {m.Documents:N0} documents" +
                (m.Dense is { } d ? $", {m.Chunks:N0} chunks as {d.Dimension}-d vectors ({d.Factory})" : " (BM25 only)") +
                $" into '{m.Collection}' generation {m.Snapshot} in {sw.Elapsed.TotalSeconds:F1} s");
            if (source.Report.Skipped > 0)
                Console.WriteLine($"skipped {source.Report.Skipped:N0} malformed record(s); use --strict to stop at the first");
            return CliRunner.ExitOk;
        });
        return cmd;
    }
}
