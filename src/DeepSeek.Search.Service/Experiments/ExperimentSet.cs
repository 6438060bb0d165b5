using DeepSeek.Search.Core;
using Microsoft.Extensions.Configuration;

namespace DeepSeek.Search.Service.Experiments;

/// <summary>
/// The experiments a server serves, all checked (<see cref="From"/>, <see cref="Load"/>): names unique, at most one
/// running experiment per collection. Immutable: a reload makes a new set, so a search sees one whole configuration.
/// </summary>
public sealed class ExperimentSet
{
    /// <summary>No experiments.</summary>
    public static readonly ExperimentSet Empty = new([]);

    readonly Dictionary<string, Experiment> _running;

    ExperimentSet(IReadOnlyList<Experiment> experiments)
    {
        All = experiments;
        _running = experiments.Where(e => e.Enabled).ToDictionary(e => e.Collection, StringComparer.Ordinal);
    }

    /// <summary>Every experiment, running or stopped, in configuration order.</summary>
    public IReadOnlyList<Experiment> All { get; }

    /// <summary>The running experiment on <paramref name="collection"/>; null if none.</summary>
    public Experiment? Running(string collection) => _running.GetValueOrDefault(collection);

    /// <summary>The experiment named <paramref name="name"/>, running or stopped; null if none.</summary>
    public Experiment? Named(string name) => All.FirstOrDefault(e => e.Name == name);

    /// <summary>
    /// Checks <paramref name="experiments"/> (<paramref name="where"/>: the configuration path of the array, for the messages);
    /// the first problem is an <see cref="InvalidInputException"/> naming the experiment, the setting and the value.
    /// </summary>
    public static ExperimentSet From(IReadOnlyList<ExperimentSettings>? experiments, string where)
    {
        if (experiments is null || experiments.Count == 0) return Empty;
        var list = new List<Experiment>();
        for (int i = 0; i < experiments.Count; i++)
        {
            var e = Experiment.From(experiments[i] ?? new ExperimentSettings(), $"{where}:{i}");
            if (list.Any(o => o.Name == e.Name))
                throw new InvalidInputException($"two experiments are named '{e.Name}'") { Setting = $"{where}:{i}:Name" };
            if (e.Enabled && list.FirstOrDefault(o => o.Enabled && o.Collection == e.Collection) is { } other)
                throw new InvalidInputException($"experiments '{other.Name}' and '{e.Name}' both run on collection '{e.Collection}': stop one (Enabled: false)") { Setting = $"{where}:{i}:Enabled" };
            list.Add(e);
        }
        return new ExperimentSet(list);
    }

    /// <summary>
    /// Reads an experiments file: JSON <c>{"Experiments": [ … ]}</c>, the shape of the section <c>Service:Experiments</c>,
    /// bound by .NET configuration like the settings (a property no record has is an error, so a misspelt setting is not
    /// ignored). A missing file holds no experiments. Any problem is an <see cref="InvalidInputException"/> naming the file.
    /// </summary>
    public static ExperimentSet Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) return Empty;
        try
        {
            using var bytes = new MemoryStream(File.ReadAllBytes(path));
            var config = new ConfigurationBuilder().AddJsonStream(bytes).Build();
            var unknown = config.GetChildren().Select(c => c.Key).Where(k => !string.Equals(k, FileSection, StringComparison.OrdinalIgnoreCase)).ToList();
            if (unknown.Count > 0)
                throw new InvalidInputException($"unknown setting '{unknown[0]}' (the file holds {{\"{FileSection}\": [ … ]}})") { Setting = unknown[0] };
            var list = config.GetSection(FileSection).Get<List<ExperimentSettings>>(o => o.ErrorOnUnknownConfiguration = true);
            return From(list, FileSection);
        }
        catch (InvalidInputException e)
        {
            throw new InvalidInputException($"experiments file {path}: {e.Message}", e) { Setting = e.Setting };
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or InvalidOperationException or System.Text.Json.JsonException)
        {
            throw new InvalidInputException($"experiments file {path} is not valid: {Messages(e)}", e);
        }
    }

    /// <summary>The messages of an exception and its inner ones (the binder's outer message does not name the setting; an inner one does).</summary>
    static string Messages(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null; x = x.InnerException) parts.Add(x.Message);
        return string.Join(" ", parts);
    }

    /// <summary>The top-level property of an experiments file.</summary>
    public const string FileSection = "Experiments";
}
