using DeepSeek.Search.Core;
using DeepSeek.Search.Ingest;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Ingest.Tests;

public class FolderReaderTests
{
    static void Write(TempDir dir, string relative, string content)
    {
        string path = Path.Combine(dir.Path, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    [Fact]
    public void ReadsTxtMdAndHtmlRecursivelyWithRelativeIdsAndTitles()
    {
        using var dir = new TempDir();
        Write(dir, "notes.txt", "Plain text\r\nsecond line\r\n");
        Write(dir, "guide/intro.md", "Some preamble\n\n## Getting *started*  ##\n\nBody text.\n# Later heading\n");
        Write(dir, "guide/deep/page.HTML", "<html><head><title> The  Page </title><style>p{color:red}</style></head>" +
                                           "<body><h1>Header</h1><p>First <b>bold</b> para.</p><script>var x=1;</script><p>Second</p></body></html>");
        Write(dir, "site/old.htm", "<p>No title here</p>");
        Write(dir, "ignored.pdf", "%PDF");
        Write(dir, ".hidden/secret.txt", "hidden");
        Write(dir, "empty.md", "   \n");

        var problems = new List<IngestProblem>();
        var source = DocumentSource.Open(dir.Path, new IngestOptions { OnProblem = problems.Add });
        Assert.Equal(DocumentSourceKind.Folder, source.Kind);
        var docs = source.ToDictionary(d => d.Id);

        Assert.Equal(["guide/deep/page.HTML", "guide/intro.md", "notes.txt", "site/old.htm"], docs.Keys);
        Assert.Equal("notes", docs["notes.txt"].Title);
        Assert.Equal("Plain text\nsecond line", docs["notes.txt"].Text);
        Assert.Equal("Getting *started*", docs["guide/intro.md"].Title);
        Assert.Contains("Body text.", docs["guide/intro.md"].Text);
        Assert.Equal("The Page", docs["guide/deep/page.HTML"].Title);
        Assert.Equal("Header\nFirst bold para.\nSecond", docs["guide/deep/page.HTML"].Text);
        Assert.Equal("old", docs["site/old.htm"].Title);
        Assert.Equal("No title here", docs["site/old.htm"].Text);

        var p = Assert.Single(problems);
        Assert.Equal(Path.Combine(dir.Path, "empty.md"), p.File);
        Assert.Equal(1, p.Line);
        Assert.Equal("file has no text", p.Problem);
        Assert.Equal(4, source.Report.DocumentsRead);
        Assert.Equal(5, source.Report.FilesRead);
    }

    [Fact]
    public void StrictFolderThrowsForAnEmptyFile()
    {
        using var dir = new TempDir();
        Write(dir, "a.txt", "text");
        Write(dir, "b.txt", "");
        var ex = Assert.Throws<MalformedRecordException>(() => DocumentSource.Open(dir.Path, new IngestOptions { Strict = true }).ToList());
        Assert.Equal($"{Path.Combine(dir.Path, "b.txt")}:1: file has no text", ex.Message);
    }

    [Fact]
    public void MissingFolderIsInvalidInput()
    {
        using var dir = new TempDir();
        Assert.Throws<InvalidInputException>(() => FolderDocumentReader.Read(Path.Combine(dir.Path, "nope")));
    }
}
