namespace DeepSeek.Search.TestKit;

/// <summary>Locates the repository root and the read-only ../shared folder beside it (CI has it; tests may read it).</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>../shared, or $DSS_SHARED. Throws with a clear message when absent: tests that need it must not pass silently.</summary>
    public static string Shared
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable("DSS_SHARED") ?? Path.GetFullPath(Path.Combine(Root, "..", "shared"));
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"shared data folder not found at {dir} (set DSS_SHARED)");
            return dir;
        }
    }

    public static string SharedPath(params string[] parts) => Path.Combine([Shared, .. parts]);

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "DeepSeek.Search.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("repository root (DeepSeek.Search.sln) not found above " + AppContext.BaseDirectory);
    }
}
