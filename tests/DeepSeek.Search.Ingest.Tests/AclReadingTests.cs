using System.Text;
using System.Text.Json;
using DeepSeek.Search.Core;
using DeepSeek.Search.Core.Filtering;
using DeepSeek.Search.Ingest;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Ingest.Tests;

/// <summary>The optional <c>acl</c> of a JSONL record: <see cref="Acl.FromJson"/> and the reader's use of it.</summary>
public class AclReadingTests
{
    static Acl? Read(string json, out string? problem)
    {
        using var doc = JsonDocument.Parse(json);
        return Acl.FromJson(doc.RootElement, out problem);
    }

    [Theory]
    [InlineData("""{"principals": ["alice"], "groups": ["finance", "legal"]}""", new[] { "alice" }, new[] { "finance", "legal" })]
    [InlineData("""{"groups": ["finance"]}""", new string[0], new[] { "finance" })]
    [InlineData("""{"principals": ["alice", "alice ", "Alice", "alice"]}""", new[] { "alice", "alice ", "Alice" }, new string[0])]
    [InlineData("""{"principals": null, "groups": []}""", new string[0], new string[0])]
    [InlineData("""{}""", new string[0], new string[0])]
    [InlineData("""{"groups": ["* OR 1=1", "a) OR (b", "ünï"]}""", new string[0], new[] { "* OR 1=1", "a) OR (b", "ünï" })]
    public void ReadsPrincipalsAndGroupsVerbatim(string json, string[] principals, string[] groups)
    {
        var acl = Read(json, out var problem);
        Assert.Null(problem);
        Assert.Equal(new Acl(principals, groups), acl);
    }

    [Fact]
    public void JsonNullIsNoAcl()
    {
        Assert.Null(Read("null", out var problem));
        Assert.Null(problem);
        Assert.Null(Acl.FromJson(default, out problem));
        Assert.Null(problem);
    }

    [Theory]
    [InlineData("[\"alice\"]", "field \"acl\" must be a JSON object or null, got an array")]
    [InlineData("\"alice\"", "field \"acl\" must be a JSON object or null, got a string")]
    [InlineData("true", "field \"acl\" must be a JSON object or null, got a boolean")]
    [InlineData("""{"principal": ["alice"]}""", "field \"acl\" has an unknown key \"principal\" (expected \"principals\" or \"groups\")")]
    [InlineData("""{"groups": [], "x\"\ny": 1}""", "field \"acl\" has an unknown key \"x\\\"\\u000ay\" (expected \"principals\" or \"groups\")")]
    [InlineData("""{"groups": ["a"], "groups": ["b"]}""", "field \"acl\" has the key \"groups\" twice")]
    [InlineData("""{"groups": "finance"}""", "field \"acl.groups\" must be an array of non-empty strings, got a string")]
    [InlineData("""{"principals": {"alice": true}}""", "field \"acl.principals\" must be an array of non-empty strings, got an object")]
    [InlineData("""{"groups": ["finance", 7]}""", "field \"acl.groups\" must be an array of non-empty strings, element 2 is a number")]
    [InlineData("""{"groups": ["finance", "legal", null]}""", "field \"acl.groups\" must be an array of non-empty strings, element 3 is null")]
    [InlineData("""{"principals": [["alice"]]}""", "field \"acl.principals\" must be an array of non-empty strings, element 1 is an array")]
    [InlineData("""{"principals": ["alice", ""]}""", "field \"acl.principals\" must be an array of non-empty strings, element 2 is an empty string")]
    [InlineData("""{"principals": [" \t"]}""", "field \"acl.principals\" must be an array of non-empty strings, element 1 is blank")]
    [InlineData("""{"groups": [false]}""", "field \"acl.groups\" must be an array of non-empty strings, element 1 is a boolean")]
    [InlineData("""{"groups": ["ok", "\ud800"]}""", "field \"acl.groups\" must be an array of non-empty strings, element 2 is not valid text (an unpaired surrogate escape)")]
    [InlineData("""{"\udc00": []}""", "field \"acl\" has a key that is not valid text (an unpaired surrogate escape)")]
    public void RejectsAnythingElseWithAPreciseProblem(string json, string expected)
    {
        Assert.Null(Read(json, out var problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void RejectsOverlongNames()
    {
        Assert.Null(Read($$"""{"groups": ["{{new string('g', Acl.MaxNameLength + 1)}}"]}""", out var problem));
        Assert.Equal("field \"acl.groups\" must be an array of non-empty strings, element 1 is longer than 1024 characters", problem);
        Assert.NotNull(Read($$"""{"groups": ["{{new string('g', Acl.MaxNameLength)}}"]}""", out problem));
        Assert.Null(problem);
    }

    static string Write(TempDir dir, string content)
    {
        string path = dir.File("acl.jsonl");
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    const string Records =
        "{\"id\": \"open\", \"text\": \"no acl\"}\n" +                                                       // 1
        "{\"id\": \"nulled\", \"text\": \"x\", \"acl\": null}\n" +                                           // 2
        "{\"_id\": \"beir\", \"text\": \"x\", \"acl\": {\"principals\": [\"alice\"]}}\n" +                   // 3
        "{\"id\": \"both\", \"text\": \"x\", \"metadata\": {\"k\": 1}, \"acl\": {\"principals\": [\"bob\"], \"groups\": [\"finance\", \"legal\"]}}\n" + // 4
        "{\"id\": \"nobody\", \"text\": \"x\", \"acl\": {}}\n" +                                             // 5
        "{\"id\": \"bad1\", \"text\": \"x\", \"acl\": [\"alice\"]}\n" +                                      // 6
        "{\"id\": \"bad2\", \"text\": \"x\", \"acl\": {\"groups\": [\"finance\", 2]}}\n" +                   // 7
        "{\"id\": \"bad3\", \"text\": \"x\", \"acl\": {\"users\": [\"alice\"]}}\n" +                         // 8
        "{\"id\": \"bad4\", \"text\": \"x\", \"acl\": {\"principals\": [\"\"]}}\n" +                        // 9
        "{\"id\": \"bad5\", \"text\": \"x\", \"metadata\": {\"k\": [\"\\ud800\"]}}\n";                          // 10

    [Fact]
    public void ReaderAttachesAclsAndReportsMalformedOnesWithTheirLine()
    {
        using var dir = new TempDir();
        string path = Write(dir, Records);
        var seen = new List<IngestProblem>();
        var docs = DocumentSource.Open(path, new IngestOptions { OnProblem = seen.Add }).ToList();

        Assert.Equal(["open", "nulled", "beir", "both", "nobody"], docs.Select(d => d.Id));
        Assert.Null(docs[0].Acl);
        Assert.Null(docs[1].Acl);
        Assert.Equal(new Acl(["alice"], []), docs[2].Acl);
        Assert.Equal(new Acl(["bob"], ["finance", "legal"]), docs[3].Acl);
        Assert.Equal("{\"k\": 1}", docs[3].MetadataJson);
        Assert.Equal(new Acl([], []), docs[4].Acl);
        Assert.False(docs[4].Acl!.Permits(new Caller("alice", ["finance"])));

        Assert.Equal([6L, 7, 8, 9, 10], seen.Select(p => p.Line));
        Assert.Equal("field \"acl\" must be a JSON object or null, got an array", seen[0].Problem);
        Assert.Equal("field \"acl.groups\" must be an array of non-empty strings, element 2 is a number", seen[1].Problem);
        Assert.Equal("field \"acl\" has an unknown key \"users\" (expected \"principals\" or \"groups\")", seen[2].Problem);
        Assert.Equal("field \"acl.principals\" must be an array of non-empty strings, element 1 is an empty string", seen[3].Problem);
        Assert.Equal("field \"metadata\" holds a key or string that is not valid text (an unpaired surrogate escape)", seen[4].Problem);
    }

    [Fact]
    public void StrictModeThrowsAtTheFirstMalformedAcl()
    {
        using var dir = new TempDir();
        string path = Write(dir, Records);
        var ex = Assert.Throws<MalformedRecordException>(() => DocumentSource.Open(path, new IngestOptions { Strict = true }).ToList());
        Assert.Equal(6, ex.Line);
        Assert.Equal($"{path}:6: field \"acl\" must be a JSON object or null, got an array", ex.Message);
    }
}
