using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Store.Tests;

/// <summary><see cref="AtomicFile"/>: a write is complete or absent; a failing writer leaves the target as it was and no temporary.</summary>
public class AtomicFileTests
{
    static string[] Entries(string dir) => Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void Files_are_replaced_whole_and_a_failing_writer_leaves_the_old_content()
    {
        using var tmp = new TempDir();
        string path = tmp.File("a.json");
        AtomicFile.WriteAllText(path, "first\n");
        AtomicFile.WriteAllText(path, "second\n");
        Assert.Equal("second\n", File.ReadAllText(path));
        AtomicFile.WriteAllBytes(tmp.File("b.bin"), new byte[] { 1, 2, 3 });
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(tmp.File("b.bin")));

        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("half"u8);
            throw new InvalidOperationException("writer failed");
        }));
        Assert.Equal("writer failed", e.Message);
        Assert.Equal("second\n", File.ReadAllText(path));
        Assert.Equal(new[] { "a.json", "b.bin" }, Entries(tmp.Path)); // no temporary behind

        // a missing folder names the target, not a temporary
        var missing = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.WriteAllText(tmp.File("nope/c.json"), "x"));
        Assert.Contains(tmp.File("nope/c.json"), missing.Message);
    }

    [Fact]
    public void Replacing_a_folder_keeps_exactly_the_new_contents()
    {
        using var tmp = new TempDir();
        string dir = Path.Combine(tmp.Path, "enc");
        AtomicFile.ReplaceDirectory(dir, d => { File.WriteAllText(Path.Combine(d, "old.txt"), "old"); Directory.CreateDirectory(Path.Combine(d, "sub")); });
        AtomicFile.ReplaceDirectory(dir, d => File.WriteAllText(Path.Combine(d, "new.txt"), "new"));
        Assert.Equal(new[] { "new.txt" }, Entries(dir));
        Assert.Equal(new[] { "enc" }, Entries(tmp.Path));

        Assert.Throws<IOException>(() => AtomicFile.ReplaceDirectory(dir, d =>
        {
            File.WriteAllText(Path.Combine(d, "partial.txt"), "partial");
            throw new IOException("disk full");
        }));
        Assert.Equal(new[] { "new.txt" }, Entries(dir));
        Assert.Equal("new", File.ReadAllText(Path.Combine(dir, "new.txt")));
        Assert.Equal(new[] { "enc" }, Entries(tmp.Path)); // no temporary folder behind
    }

    [Fact]
    public void Publishing_a_folder_creates_it_once_and_never_overwrites_another_writers()
    {
        using var tmp = new TempDir();
        string dir = Path.Combine(tmp.Path, "parent", "enc");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.PublishDirectory(dir, _ => throw new InvalidOperationException("fill failed")));
        Assert.False(Directory.Exists(dir));
        Assert.Empty(Entries(Path.Combine(tmp.Path, "parent")));

        Directory.CreateDirectory(dir); // an empty target is taken over
        AtomicFile.PublishDirectory(dir, d => File.WriteAllText(Path.Combine(d, "model.txt"), "first"));
        Assert.Equal("first", File.ReadAllText(Path.Combine(dir, "model.txt")));

        // a second writer loses: the first one's folder stays as it is, the loser's staging folder is gone
        Assert.ThrowsAny<IOException>(() => AtomicFile.PublishDirectory(dir, d => File.WriteAllText(Path.Combine(d, "model.txt"), "second")));
        Assert.Equal(new[] { "model.txt" }, Entries(dir));
        Assert.Equal("first", File.ReadAllText(Path.Combine(dir, "model.txt")));
        Assert.Equal(new[] { "enc" }, Entries(Path.Combine(tmp.Path, "parent")));
    }
}
