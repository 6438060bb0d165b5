using System.CommandLine;
using DeepSeek.Search.Cli;
using DeepSeek.Search.Cli.Commands;

var root = new RootCommand("dss — DeepSeek.Search: hybrid (BM25 + dense) semantic search, from one command line.")
{
    IndexCommand.Create(),
    WriteCommands.Upsert(),
    WriteCommands.Delete(),
    WriteCommands.Compact(),
    ReindexCommand.Create(),
    ShardCommand.Create(),
    SearchCommand.Create(),
    QueryCommand.Create(),
    OutcomeCommand.Create(),
    AskCommand.Create(),
    LoadtestCommand.Create(),
    EvalCommand.Create(),
    EvalRagCommand.Create(),
    CompareCommand.Create(),
    EmbedCommand.Create(),
    InfoCommand.Create(),
    EncoderCommand.Create(),
    TrainCommand.Create(),
    TrainLmCommand.Create(),
    TrainRerankerCommand.Create(),
    TrainReaderCommand.Create(),
    GenerateCommand.Create(),
    ServeCommand.Create(),
    KeysCommand.Create(),
};
return CliRunner.Invoke(root, args);
