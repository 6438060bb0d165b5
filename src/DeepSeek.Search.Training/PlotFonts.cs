namespace DeepSeek.Search.Training;

/// <summary>
/// The font the training curves are drawn with. ScottPlot renders through SkiaSharp, which finds fonts through the system's
/// fontconfig; on a machine without fonts (a bare CUDA server is typical) every label, tick and legend would be blank. The build
/// copies DejaVu Sans (Debian's fonts-dejavu-core, which <c>make setup</c> installs) beside the program as
/// <c>fonts/DejaVuSans.ttf</c>, and every plot uses that file, so a curve reads the same wherever it was drawn.
/// </summary>
public static class PlotFonts
{
    /// <summary>The name the bundled font is registered under.</summary>
    public const string Name = "DejaVu Sans (dss)";

    static readonly Lazy<bool> Registered = new(Register, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Where the bundled font is looked for.</summary>
    public static string BundledPath => Path.Combine(AppContext.BaseDirectory, "fonts", "DejaVuSans.ttf");

    /// <summary>Makes the bundled font ScottPlot's default; false (system fonts stay in use) when the file is not there.</summary>
    public static bool Ensure() => Registered.Value;

    static bool Register()
    {
        string path = BundledPath;
        if (!File.Exists(path)) return false;
        ScottPlot.Fonts.AddFontFile(Name, path, bold: false, italic: false);
        ScottPlot.Fonts.AddFontFile(Name, path, bold: true, italic: false);
        ScottPlot.Fonts.Default = Name;
        return true;
    }
}
