using System.CommandLine;
using DeepSeek.Search.Core;
using DeepSeek.Search.Generate.Training;
using DeepSeek.Search.Rag;
using DeepSeek.Search.Rag.Training;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>`dss train-reader`: fine-tune a generator into a RAG reader on the prompts `dss ask` builds, answers cited as [n].</summary>
static class TrainReaderCommand
{
    public static Command Create()
    {
        var collection = CommonOptions.Collection();
        var root = CommonOptions.IndexRoot();
        var model = new Option<string?>("--model")
        { Description = "The generator to fine-tune (a DeepSeek Hugging Face folder with tokenizer.json); default: the collection's own INDEX_ROOT/C/generator" };
        var questions = new Option<string>("--questions")
        { Description = "BEIR queries.jsonl whose records hold their gold answers in metadata.answers (the SQuAD BEIR view); never the questions you evaluate on", Required = true };
        var qrels = new Option<string?>("--qrels") { Description = "BEIR qrels TSV naming each question's gold passage [default: qrels/test.tsv beside the questions file]" };
        var skip = new Option<int>("--skip") { Description = "Skip this many questions first (file order)", DefaultValueFactory = _ => 0 };
        var limit = new Option<int?>("--limit") { Description = "Train on at most this many questions after --skip [default: all the rest]" };
        var output = new Option<string>("--out", "-o", "--output") { Description = "Reader folder to write (answer with it: dss ask/eval-rag --model OUT; appears only when training succeeds)", Required = true };
        var encoder = CommonOptions.EncoderOverride();
        var pairsOnly = new Option<bool>("--pairs-only")
        { Description = "Write the training pairs (OUT.pairs.jsonl) and stop: train them elsewhere (e.g. a GPU machine without the collection) with the dss train-lm command it prints" };
        var rag = new RagArguments();
        var run = new LmTrainArguments(initOption: "--model", defaultEpochs: 2);

        var cmd = new Command("train-reader",
            "Fine-tune a DeepSeek generator into a RAG reader: each question's prompt is built exactly as dss ask builds it (recall, numbered sources, " +
            "instructions), the taught answer is its gold answer cited as [n] of the source holding it (or that the sources do not contain it); " +
            "fully or with LoRA adapters (--lora-rank). Evaluate with dss eval-rag --model OUT and the same prompt options on other questions.")
        { collection, root, model, questions, qrels, skip, limit, output, encoder, pairsOnly };
        rag.AddPromptTo(cmd);
        run.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            var store = CollectionStore.At(pr.GetValue(root)!, pr.GetValue(collection)!);
            string modelPath = GeneratorPool.Resolve(pr.GetValue(model), store.Directory) ?? throw new NoGeneratorException(store.Name);
            string outputPath = pr.GetValue(output)!;
            var options = new ReaderTrainOptions
            {
                ModelPath = modelPath,
                QuestionsPath = pr.GetValue(questions)!,
                QrelsPath = pr.GetValue(qrels),
                Skip = pr.GetValue(skip),
                Limit = pr.GetValue(limit),
                Rag = rag.Options(pr),
                OutputPath = outputPath,
                PairsOnly = pr.GetValue(pairsOnly),
                Training = run.Apply(pr, new LmTrainOptions { OutputPath = outputPath }),
            };
            options.Validate();
            using var searcher = CollectionSearcher.Open(store, pr.GetValue(encoder), options.Training.Device);
            var result = TrainingRuns.Interruptible(Path.GetFullPath(outputPath), work => Checkpoints.List(work).Count > 0,
                ct => ConsoleProgress.Run(progress => ReaderTrainer.Train(options, searcher, progress, ct)));

            var p = result.Pairs;
            if (result.Training is { }) Console.WriteLine($"reader     {result.OutputPath} (dss eval-rag -c {store.Name} --model {result.OutputPath} with the same prompt options)");
            Console.WriteLine($"pairs      {p.Pairs:N0} from {p.Questions:N0} questions: {p.Gold:N0} cite the gold passage, {p.Other:N0} another source holding the answer, {p.NotInSources:N0} not in the sources; {result.PairsFile}");
            if (p.NoSources + p.TooLong > 0) Console.WriteLine($"           left out: {p.NoSources:N0} with no recalled source, {p.TooLong:N0} with an answer longer than --max-new");
            if (result.Training is not { } t)
            {
                Console.WriteLine($"train them with: dss train-lm --init {modelPath} --sft {result.PairsFile} --seq-len {result.SeqLen} --out {outputPath} [--lora-rank R] [--device cuda]");
                return CliRunner.ExitOk;
            }
            TrainingRuns.PrintPairsTraining(t, result.SeqLen, modelPath, options.Training.Lora != null);
            return CliRunner.ExitOk;
        });
        return cmd;
    }
}
