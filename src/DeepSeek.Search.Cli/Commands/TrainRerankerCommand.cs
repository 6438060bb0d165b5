using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate.Training;
using DeepSeek.Search.Rag;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Rerank.Training;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss train-reranker`: fine-tune a generator into a pointwise (yes/no) re-ranker on judged pairs, negatives mined from the collection.</summary>
static class TrainRerankerCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var root = CommonOptions.IndexRoot();
        var model = new Option<string?>("--model")
        { Description = "The generator to fine-tune (a DeepSeek Hugging Face folder with tokenizer.json); default: the collection's own INDEX_ROOT/C/generator" };
        var queries = new Option<string>("--queries") { Description = "BEIR queries.jsonl (_id, text) holding the judged queries", Required = true };
        var qrels = new Option<string>("--qrels") { Description = "BEIR qrels TSV of the training queries (e.g. qrels/train.tsv; never the queries you evaluate on): relevance ≥ 1 is a positive", Required = true };
        var output = new Option<string>("--out", "-o", "--output") { Description = "Re-ranker folder to write (use it with --rerank --model OUT; appears only when training succeeds)", Required = true };
        var negatives = new Option<int>("--negatives") { Description = "Negatives per query, drawn from the first stage's top --depth hits not judged relevant", DefaultValueFactory = _ => RerankerTrainOptions.DefaultNegatives };
        var depth = new Option<int>("--depth") { Description = "How deep in the first stage negatives are drawn", DefaultValueFactory = _ => RerankerTrainOptions.DefaultDepth };
        var mode = CommonOptions.Mode();
        var encoder = CommonOptions.EncoderOverride();
        var seqLen = new Option<int?>("--seq-len") { Description = $"Tokens per pair (prompt + answer) [default: the context the model was trained on, else {RerankerTrainOptions.DefaultSeqLen}]" };
        var run = new LmTrainArguments(initOption: "--model", defaultEpochs: 2);

        var cmd = new Command("train-reranker",
            "Fine-tune a DeepSeek generator into a pointwise re-ranker (passage + question → yes/no, scored logit(yes) − logit(no)) on judged pairs, " +
            "with negatives mined from the collection's own first stage; fully or with LoRA adapters (--lora-rank).")
        { collection, root, model, queries, qrels, output, negatives, depth, mode, encoder, seqLen };
        run.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            string modelPath = GeneratorPool.Resolve(pr.GetValue(model), store.Directory) ?? throw new NoGeneratorException(store.Name);
            string outputPath = pr.GetValue(output)!;
            var options = new RerankerTrainOptions
            {
                ModelPath = modelPath,
                QueriesPath = pr.GetValue(queries)!,
                QrelsPath = pr.GetValue(qrels)!,
                OutputPath = outputPath,
                Negatives = pr.GetValue(negatives),
                Depth = pr.GetValue(depth),
                Mode = CommonOptions.ParseMode(pr.GetValue(mode)),
                SeqLen = pr.GetValue(seqLen),
                Training = run.Apply(pr, new LmTrainOptions { OutputPath = outputPath }),
            };
            options.Validate();
            using var searcher = CollectionSearcher.Open(store, pr.GetValue(encoder), options.Training.Device);
            var result = TrainingRuns.Interruptible(Path.GetFullPath(outputPath), work => Checkpoints.List(work).Count > 0,
                ct => ConsoleProgress.Run(progress => RerankerTrainer.Train(options, searcher, progress, ct)));

            var m = result.Mined;
            var t = result.Training;
            Console.WriteLine($"re-ranker  {result.OutputPath} (pointwise; dss eval -c {store.Name} --rerank --model {result.OutputPath})");
            Console.WriteLine($"pairs      {m.Pairs.Count:N0} from {m.Queries:N0} judged queries: {m.Positives:N0} positive ({m.PositivesRetrieved:N0} retrieved in the top {options.Depth}), {m.Negatives:N0} negative; {result.PairsFile}");
            if (m.QueriesShortOfNegatives > 0) Console.WriteLine($"           {m.QueriesShortOfNegatives:N0} queries had fewer than {options.Negatives} unjudged hits in the top {options.Depth}");
            if (m.UnknownDocuments.Count > 0) Console.WriteLine($"           {m.UnknownDocuments.Count:N0} judged document id(s) not in the collection (skipped), e.g. '{m.UnknownDocuments[0]}'");
            TrainingRuns.PrintPairsTraining(t, result.SeqLen, modelPath, options.Training.Lora != null);
            return CliRunner.ExitOk;
        });
        return cmd;
    }
}
