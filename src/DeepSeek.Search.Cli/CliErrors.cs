using DeepSeek.Search.Core;

namespace DeepSeek.Search.Cli;

/// <summary>
/// The CLI's wording of library errors. Library messages speak in library terms (settings such as <c>mode</c>), since
/// other front ends receive them too; where an error is about a setting, the CLI names the flag that sets it.
/// </summary>
static class CliErrors
{
    /// <summary>Library setting → the flag that sets it; a setting not listed is spelled <c>--setting</c>.</summary>
    static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        ["mode"] = "--mode",
        ["encoder"] = "--encoder",
    };

    public static string Flag(string setting) => Flags.TryGetValue(setting, out var flag) ? flag : "--" + setting;

    /// <summary>The message the CLI prints for <paramref name="e"/> (after <c>dss: error: </c>).</summary>
    public static string Describe(SearchException e) => e switch
    {
        NoDenseIndexException d =>
            $"collection '{d.Collection}' has no dense index (it was built without {Flag("encoder")}); use {Flag(d.Setting ?? "mode")} bm25",
        _ => e.Message,
    };
}
