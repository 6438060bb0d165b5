using DeepSeek.Search.Core;
using DeepSeek.Search.Service.Experiments;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Service.Tests;

/// <summary>Experiments as configured: read from the settings and from an experiments file, and every mistake refused with a message naming it.</summary>
public sealed class ExperimentSettingsTests
{
    static ArmSettings Arm(string? name, double? share = 1) => new() { Name = name, Share = share };

    static ExperimentSettings Two(string name = "fusion-test", string collection = "docs") =>
        new() { Name = name, Collection = collection, Arms = [Arm("control"), Arm("minmax") with { Fusion = "minmax", Alpha = 0.3f }] };

    static string Refused(params ExperimentSettings[] experiments) =>
        Assert.Throws<InvalidInputException>(() => ExperimentSet.From(experiments, "Service:Experiments")).Message;

    [Fact]
    public void A_valid_experiment_is_checked_and_its_shares_normalised()
    {
        var set = ExperimentSet.From([Two() with { Arms = [Arm("a", 3), Arm("b", 1) with { Mode = "BM25", Collection = "other" }] }], "x");
        var e = Assert.Single(set.All);
        Assert.Same(e, set.Running("docs"));
        Assert.Same(e, set.Named("fusion-test"));
        Assert.Null(set.Running("other"));
        Assert.Equal("fusion-test", e.Salt);
        Assert.Equal([0.75, 0.25], e.Arms.Select(a => a.Share));
        Assert.Equal(Retrieve.Collections.SearchMode.Bm25, e.Arms[1].Mode);
        Assert.Equal("other", e.Arms[1].Collection);
        var stopped = ExperimentSet.From([Two() with { Enabled = false }], "x");
        Assert.Null(stopped.Running("docs"));
        Assert.NotNull(stopped.Named("fusion-test"));
    }

    [Fact]
    public void Bad_experiments_are_refused_naming_the_experiment_and_the_value()
    {
        Assert.Equal("experiment 'fusion-test', arm 'b': Share must be a positive number, got 0",
            Refused(Two() with { Arms = [Arm("a"), Arm("b", 0)] }));
        Assert.Equal("experiment 'fusion-test', arm 'b': Share must be a positive number, got -1",
            Refused(Two() with { Arms = [Arm("a"), Arm("b", -1)] }));
        Assert.Equal("experiment 'fusion-test', arm 'b' has no Share", Refused(Two() with { Arms = [Arm("a"), Arm("b", null)] }));
        Assert.Equal("experiment 'fusion-test' has 1 arm(s): an experiment needs at least two (Arms)", Refused(Two() with { Arms = [Arm("a")] }));
        Assert.Equal("experiment 'fusion-test' has 0 arm(s): an experiment needs at least two (Arms)", Refused(Two() with { Arms = null }));
        Assert.Equal("experiment 'fusion-test': two arms are named 'a'", Refused(Two() with { Arms = [Arm("a"), Arm("a")] }));
        Assert.Equal("experiment 'fusion-test': arm 1 has no Name", Refused(Two() with { Arms = [Arm("a"), Arm("")] }));
        Assert.StartsWith("experiment 'fusion-test': arm 1: invalid name 'b c'", Refused(Two() with { Arms = [Arm("a"), Arm("b c")] }), StringComparison.Ordinal);
        Assert.Equal("Service:Experiments:0: experiment has no Name", Refused(Two() with { Name = null }));
        Assert.Equal("experiment 'fusion-test' names no collection (Collection)", Refused(Two() with { Collection = " " }));
        Assert.StartsWith("experiment 'fusion-test': invalid collection name 'bad/name'", Refused(Two(collection: "bad/name")), StringComparison.Ordinal);
        Assert.StartsWith("experiment 'fusion-test', arm 'b': invalid collection name '../x'",
            Refused(Two() with { Arms = [Arm("a"), Arm("b") with { Collection = "../x" }] }), StringComparison.Ordinal);
        Assert.Equal("experiment 'fusion-test', arm 'b': unknown Mode 'sparse' (bm25, dense, hybrid)",
            Refused(Two() with { Arms = [Arm("a"), Arm("b") with { Mode = "sparse" }] }));
        Assert.Equal("experiment 'fusion-test', arm 'b': unknown Fusion 'borda' (rrf, minmax)",
            Refused(Two() with { Arms = [Arm("a"), Arm("b") with { Fusion = "borda" }] }));
        Assert.Equal("experiment 'fusion-test', arm 'b': Alpha must be in [0, 1], got 1.5",
            Refused(Two() with { Arms = [Arm("a"), Arm("b") with { Alpha = 1.5f }] }));
        Assert.Equal("experiment 'fusion-test', arm 'b': rerank depth must be between 1 and 1000, got 0",
            Refused(Two() with { Arms = [Arm("a"), Arm("b") with { Rerank = new ArmRerankSettings { Depth = 0 } }] }));
        Assert.StartsWith("experiment 'fusion-test', arm 'b': generator folder '/nonexistent/model' has no config.json",
            Refused(Two() with { Arms = [Arm("a"), Arm("b") with { Rerank = new ArmRerankSettings { Model = "/nonexistent/model" } }] }), StringComparison.Ordinal);
        Assert.Equal("two experiments are named 'fusion-test'", Refused(Two(), Two(collection: "plain")));
        Assert.Equal("experiments 'one' and 'two' both run on collection 'docs': stop one (Enabled: false)", Refused(Two("one"), Two("two")));
        // A stopped one beside a running one on the same collection is fine.
        Assert.Equal(2, ExperimentSet.From([Two("one"), Two("two") with { Enabled = false }], "x").All.Count);
    }

    [Fact]
    public void An_experiments_file_is_read_like_the_settings_and_mistakes_name_the_file()
    {
        using var tmp = new TempDir("dss-exp-file");
        string path = tmp.File("experiments.json");
        Assert.Same(ExperimentSet.Empty, ExperimentSet.Load(path));   // no file: no experiments
        File.WriteAllText(path, """
            { "Experiments": [ { "Name": "enc", "Collection": "docs", "Salt": "s1",
                "Arms": [ { "Name": "minilm", "Share": 90 }, { "Name": "arctic", "Share": 10, "Collection": "docs-arctic", "Rerank": { "Enabled": false } } ] } ] }
            """);
        var e = Assert.Single(ExperimentSet.Load(path).All);
        Assert.Equal(("enc", "docs", "s1"), (e.Name, e.Collection, e.Salt));
        Assert.Equal([0.9, 0.1], e.Arms.Select(a => Math.Round(a.Share, 12)));
        Assert.Equal(new ArmRerank(false, null, null, null), e.Arms[1].Rerank);

        string Bad(string json)
        {
            File.WriteAllText(path, json);
            return Assert.Throws<InvalidInputException>(() => ExperimentSet.Load(path)).Message;
        }
        Assert.StartsWith($"experiments file {path} is not valid:", Bad("""{ "Experiments": [ { "Name": "enc", """), StringComparison.Ordinal);
        Assert.Contains("'Shares'", Bad("""{ "Experiments": [ { "Name": "e", "Collection": "docs", "Arms": [ { "Name": "a", "Shares": 1 }, { "Name": "b", "Share": 1 } ] } ] }"""));
        Assert.Equal($"experiments file {path}: unknown setting 'Experiment' (the file holds {{\"Experiments\": [ … ]}})", Bad("""{ "Experiment": [] }"""));
        Assert.Equal($"experiments file {path}: experiment 'e', arm 'b': Share must be a positive number, got 0",
            Bad("""{ "Experiments": [ { "Name": "e", "Collection": "docs", "Arms": [ { "Name": "a", "Share": 1 }, { "Name": "b", "Share": 0 } ] } ] }"""));
        Assert.StartsWith($"experiments file {path} is not valid:",
            Bad("""{ "Experiments": [ { "Name": "e", "Collection": "docs", "Arms": [ { "Name": "a", "Share": "half" }, { "Name": "b", "Share": 1 } ] } ] }"""), StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_carry_experiments_inline_or_as_a_file_not_both()
    {
        using var tmp = new TempDir("dss-exp-settings");
        File.WriteAllText(tmp.File("appsettings.json"), """
            { "Service": { "Experiments": [ { "Name": "inline", "Collection": "docs", "Arms": [ { "Name": "a", "Share": 1 }, { "Name": "b", "Share": 1, "Mode": "bm25" } ] } ] } }
            """);
        var s = ServiceSettings.Load(tmp.Path, []);
        Assert.Equal("inline", Assert.Single(s.Experiments).Name);
        Assert.Equal("bm25", s.Experiments[0].Arms![1].Mode);
        Assert.Equal("settings Experiments and ExperimentsFile are both set: keep the experiments in one place",
            Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, ["--Service:ExperimentsFile=x.json"])).Message);
        Assert.Equal("experiment 'inline', arm 'b': Share must be a positive number, got 0",
            Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, ["--Service:Experiments:0:Arms:1:Share=0"])).Message);
        var missing = tmp.File("nosuch.json");
        Assert.Equal($"setting ExperimentsFile names '{missing}', which does not exist",
            Assert.Throws<InvalidInputException>(() => SearchServer.Build(new ServiceSettings { IndexRoot = tmp.File("indexes"), Port = 0, KeysFile = tmp.File("keys.json"), ExperimentsFile = missing }, logging: _ => { })).Message);
        File.WriteAllText(tmp.File("bad.json"), "{ not json");
        Assert.StartsWith($"experiments file {tmp.File("bad.json")} is not valid:",
            Assert.Throws<InvalidInputException>(() => SearchServer.Build(new ServiceSettings { IndexRoot = tmp.File("indexes"), Port = 0, KeysFile = tmp.File("keys.json"), ExperimentsFile = tmp.File("bad.json") }, logging: _ => { })).Message, StringComparison.Ordinal);
    }
}
