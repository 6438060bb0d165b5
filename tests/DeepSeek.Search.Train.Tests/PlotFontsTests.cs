using DeepSeek.Search.TestKit;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train.Tests;

public class PlotFontsTests
{
    [Fact]
    public void Curves_are_drawn_with_the_bundled_font_so_their_text_shows_without_system_fonts()
    {
        Assert.True(File.Exists(PlotFonts.BundledPath), $"the build should copy DejaVu Sans to {PlotFonts.BundledPath}");
        Assert.True(PlotFonts.Ensure());
        Assert.Equal(PlotFonts.Name, ScottPlot.Fonts.Default);

        // text is drawn: two plots that differ only in their title differ in their pixels (blank titles would not)
        using var tmp = new TempDir();
        byte[] Render(string title)
        {
            var plot = new ScottPlot.Plot();
            plot.Title(title);
            string path = tmp.File(title.Length + ".png");
            plot.SavePng(path, 300, 120);
            return File.ReadAllBytes(path);
        }
        Assert.NotEqual(Render("loss"), Render("validation nDCG@10"));
    }
}
