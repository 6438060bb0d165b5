using DeepSeek.Search.Ingest;

namespace DeepSeek.Search.Ingest.Tests;

public class MarkdownAndHtmlTests
{
    [Theory]
    [InlineData("# Title\nbody", "Title")]
    [InlineData("   ### Deep title ###\nbody", "Deep title")]
    [InlineData("intro\n\nSetext Title\n=====\nbody", "Setext Title")]
    [InlineData("Second Level\n---\n", "Second Level")]
    [InlineData("```\n# not a title\n```\n# Real", "Real")]
    [InlineData("#hashtag is not a heading\n# Yes", "Yes")]
    [InlineData("#\n# After empty", "After empty")]
    [InlineData("no heading at all", null)]
    public void FindsTheFirstHeading(string md, string? expected)
    {
        Assert.Equal(expected, MarkdownText.Parse(md).Title);
    }

    [Fact]
    public void FrontMatterTitleWinsAndFrontMatterLeavesTheBody()
    {
        var (title, body) = MarkdownText.Parse("---\ntitle: \"From YAML\"\ntags: [a]\n---\n# Heading\ntext\n");
        Assert.Equal("From YAML", title);
        Assert.Equal("# Heading\ntext\n", body);

        var (t2, b2) = MarkdownText.Parse("---\nauthor: me\n---\n# Heading\n");
        Assert.Equal("Heading", t2);
        Assert.Equal("# Heading\n", b2);
    }

    [Fact]
    public void HtmlKeepsBlocksAsLinesAndDropsNonContent()
    {
        const string html = """
            <!doctype html>
            <html><head><title>T</title><script>alert(1)</script></head>
            <body>
              <nav>Menu</nav>
              <div>Line   one
                 continues <span>inline</span></div>
              <ul><li>item 1</li><li>item 2</li></ul>
              <p>a<br>b</p>
              <table><tr><td>c1</td><td>c2</td></tr><tr><th>h</th></tr></table>
              <pre>  code
                more</pre>
              <noscript>enable js</noscript><template><p>tpl</p></template>
              <p hidden>invisible</p>
              <style>.x{}</style>
              <!-- a comment -->
              tail &amp; entity
            </body></html>
            """;
        var (title, text) = HtmlTextExtractor.Extract(html);
        Assert.Equal("T", title);
        Assert.Equal("Menu\nLine one continues inline\nitem 1\nitem 2\na\nb\nc1 c2\nh\n  code\n    more\ntail & entity", text);
    }

    [Fact]
    public void HtmlWithoutTitleOrBodyIsHandled()
    {
        Assert.Equal((null, ""), HtmlTextExtractor.Extract(""));
        Assert.Equal((null, "just text"), HtmlTextExtractor.Extract("just text"));
    }

    [Fact]
    public void DeeplyNestedHtmlDoesNotOverflow()
    {
        string html = string.Concat(Enumerable.Repeat("<div>", 20000)) + "deep" + string.Concat(Enumerable.Repeat("</div>", 20000));
        Assert.Equal("deep", HtmlTextExtractor.Extract(html).Text);
    }
}
