using System.CommandLine;
using DeepSeek.Search.Core;
using Proto = DeepSeek.Search.Service.V1;

namespace DeepSeek.Search.Cli.Commands;

/// <summary>
/// `dss outcome --server URL`: reports what a user did with an online experiment's results (the ReportOutcome RPC through
/// the Client library's <c>ReportOutcomeAsync</c>), and prints the experiment and arm it was counted for.
/// </summary>
static class OutcomeCommand
{
    public static Command Create()
    {
        var server = QueryCommand.Server();
        var key = QueryCommand.Key();
        var collection = CommonOptions.Collection();
        var experiment = new Option<string>("--experiment") { Description = "The experiment's name, as dss query --experiment-key printed it", Required = true };
        var experimentKey = new Option<string?>("--experiment-key")
        { Description = "The user or session id the searches sent: the server recomputes its arm (give this, --arm, or both)" };
        var arm = new Option<string?>("--arm") { Description = "The arm the search reported (with --experiment-key too, they must agree)" };
        var kind = new Option<string>("--kind")
        { Description = "What happened: click (the user opened or used a hit) or judgment (a relevance judgment, with --value)", DefaultValueFactory = _ => "click" };
        var value = new Option<double?>("--value") { Description = "The outcome's value, finite, |value| <= 1000000; default 1" };
        var cmd = new Command("outcome", "Report an online experiment's outcome (a click, a judgment) to a running dss serve (gRPC).")
        { server, key, collection, experiment, experimentKey, arm, kind, value };
        cmd.SetAction(pr =>
        {
            var outcome = pr.GetValue(kind) switch
            {
                "click" => Proto.OutcomeKind.Click,
                "judgment" => Proto.OutcomeKind.Judgment,
                var other => throw new InvalidInputException($"--kind must be click or judgment, got '{other}'") { Setting = "kind" },
            };
            if (pr.GetValue(experimentKey) is null && pr.GetValue(arm) is null)
                throw new InvalidInputException("give --experiment-key (the searches' key) or --arm (the arm they reported)") { Setting = "experiment-key" };
            using var client = QueryCommand.Connect(pr.GetValue(server)!, pr.GetValue(key));
            var ack = client.ReportOutcomeAsync(pr.GetValue(collection)!, pr.GetValue(experiment)!, outcome, pr.GetValue(experimentKey), pr.GetValue(arm),
                pr.GetValue(value)).GetAwaiter().GetResult();
            Console.WriteLine($"outcome {pr.GetValue(kind)} counted for experiment '{ack.Experiment}', arm '{ack.Arm}'");
            return CliRunner.ExitOk;
        });
        return cmd;
    }
}
