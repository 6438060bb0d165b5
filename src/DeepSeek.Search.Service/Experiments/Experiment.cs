using System.Text.RegularExpressions;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Fusion;
using DeepSeek.Search.Rag;
using DeepSeek.Search.Rerank;
using DeepSeek.Search.Retrieve.Collections;
using DeepSeek.Search.Store;

namespace DeepSeek.Search.Service.Experiments;

/// <summary>An arm of a checked experiment: its normalised share and what it changes in a search (null: the caller's value).</summary>
public sealed record ExperimentArm(string Name, double Share, string? Collection, SearchMode? Mode, FusionMethod? Fusion, float? Alpha, ArmRerank? Rerank);

/// <summary>An arm's re-ranking: off, or on with depth, weight and model (null: the caller's, else the defaults / the collection's model).</summary>
public sealed record ArmRerank(bool Enabled, int? Depth, float? Weight, string? Model);

/// <summary>A checked experiment (<see cref="From"/>): its arms and the assignment of keys to them.</summary>
public sealed partial class Experiment
{
    readonly double[] _shares;

    Experiment(string name, string collection, bool enabled, string salt, IReadOnlyList<ExperimentArm> arms)
    {
        Name = name;
        Collection = collection;
        Enabled = enabled;
        Salt = salt;
        Arms = arms;
        _shares = [.. arms.Select(a => a.Share)];
    }

    public string Name { get; }
    public string Collection { get; }
    public bool Enabled { get; }
    public string Salt { get; }
    public IReadOnlyList<ExperimentArm> Arms { get; }

    /// <summary>The arm of <paramref name="key"/>: the same on every call (<see cref="ExperimentAssigner"/>).</summary>
    public ExperimentArm Assign(string key) => Arms[ExperimentAssigner.Pick(_shares, ExperimentAssigner.Position(Salt, key))];

    /// <summary>The arm named <paramref name="name"/>; null if none.</summary>
    public ExperimentArm? Arm(string name) => Arms.FirstOrDefault(a => a.Name == name);

    /// <summary>
    /// Checks one configured experiment (<paramref name="where"/> locates it in the configuration, for the messages): names,
    /// collections, at least two arms with distinct names and shares &gt; 0 (normalised here), and each arm's settings.
    /// </summary>
    public static Experiment From(ExperimentSettings settings, string where)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string name = CheckName(settings.Name, $"{where}: experiment", where + ":Name");
        string at = $"experiment '{name}'";
        if (string.IsNullOrWhiteSpace(settings.Collection))
            throw new InvalidInputException($"{at} names no collection (Collection)") { Setting = where + ":Collection" };
        string collection = CheckCollection(settings.Collection, at, where + ":Collection");
        var arms = settings.Arms ?? [];
        if (arms.Count < 2)
            throw new InvalidInputException($"{at} has {arms.Count} arm(s): an experiment needs at least two (Arms)") { Setting = where + ":Arms" };
        var checkedArms = new List<ExperimentArm>();
        double total = 0;
        for (int i = 0; i < arms.Count; i++)
        {
            var a = arms[i] ?? throw new InvalidInputException($"{at}: arm {i} is empty") { Setting = $"{where}:Arms:{i}" };
            string arm = CheckName(a.Name, $"{at}: arm {i}", $"{where}:Arms:{i}:Name");
            if (checkedArms.Any(c => c.Name == arm))
                throw new InvalidInputException($"{at}: two arms are named '{arm}'") { Setting = $"{where}:Arms:{i}:Name" };
            string armAt = $"{at}, arm '{arm}'";
            if (a.Share is not { } share)
                throw new InvalidInputException($"{armAt} has no Share") { Setting = $"{where}:Arms:{i}:Share" };
            if (!(share > 0) || double.IsInfinity(share))
                throw new InvalidInputException($"{armAt}: Share must be a positive number, got {share}") { Setting = $"{where}:Arms:{i}:Share" };
            total += share;
            checkedArms.Add(new ExperimentArm(arm, share,
                a.Collection is { } c ? CheckCollection(c, armAt, $"{where}:Arms:{i}:Collection") : null,
                a.Mode is { } m ? ParseMode(m, armAt, $"{where}:Arms:{i}:Mode") : null,
                a.Fusion is { } f ? ParseFusion(f, armAt, $"{where}:Arms:{i}:Fusion") : null,
                a.Alpha is { } alpha ? CheckAlpha(alpha, armAt, $"{where}:Arms:{i}:Alpha") : null,
                a.Rerank is { } r ? CheckRerank(r, armAt, $"{where}:Arms:{i}:Rerank") : null));
        }
        return new Experiment(name, collection, settings.Enabled, settings.Salt is { Length: > 0 } salt ? salt : name,
            [.. checkedArms.Select(a => a with { Share = a.Share / total })]);
    }

    static string CheckName(string? name, string what, string setting)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new InvalidInputException($"{what} has no Name") { Setting = setting };
        if (!NamePattern().IsMatch(name))
            throw new InvalidInputException($"{what}: invalid name '{name}': use up to 64 letters, digits, '.', '_' and '-', starting with a letter or digit") { Setting = setting };
        return name;
    }

    static string CheckCollection(string collection, string what, string setting)
    {
        try { _ = CollectionStore.At(".", collection); }
        catch (InvalidInputException e) { throw new InvalidInputException($"{what}: {e.Message}", e) { Setting = setting }; }
        return collection;
    }

    static SearchMode ParseMode(string mode, string what, string setting) => mode.ToUpperInvariant() switch
    {
        "BM25" => SearchMode.Bm25,
        "DENSE" => SearchMode.Dense,
        "HYBRID" => SearchMode.Hybrid,
        _ => throw new InvalidInputException($"{what}: unknown Mode '{mode}' (bm25, dense, hybrid)") { Setting = setting },
    };

    static FusionMethod ParseFusion(string fusion, string what, string setting) => fusion.ToUpperInvariant() switch
    {
        "RRF" => FusionMethod.Rrf,
        "MINMAX" => FusionMethod.MinMax,
        _ => throw new InvalidInputException($"{what}: unknown Fusion '{fusion}' (rrf, minmax)") { Setting = setting },
    };

    static float CheckAlpha(float alpha, string what, string setting) =>
        alpha is >= 0 and <= 1 ? alpha : throw new InvalidInputException($"{what}: Alpha must be in [0, 1], got {alpha}") { Setting = setting };

    static ArmRerank CheckRerank(ArmRerankSettings r, string what, string setting)
    {
        try
        {
            new RerankOptions { Depth = r.Depth ?? RerankOptions.DefaultDepth, Weight = r.Weight ?? RerankOptions.DefaultWeight }.Validate();
            if (r.Model is { Length: > 0 } model) GeneratorPool.RequireModel(model, setting + ":Model");
        }
        catch (InvalidInputException e) { throw new InvalidInputException($"{what}: {e.Message}", e) { Setting = e.Setting ?? setting }; }
        return new ArmRerank(r.Enabled, r.Depth, r.Weight, r.Model is { Length: > 0 } m ? Path.GetFullPath(m) : null);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();
}
