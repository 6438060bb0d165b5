using DeepSeek.Search.TestKit;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train.Tests;

/// <summary>The trainers' folder writes through AtomicFile: a checkpoint is complete or absent, the output swap is all-or-nothing.</summary>
public class RunFolderDurabilityTests
{
    static void State(string dir, long step) => File.WriteAllText(Path.Combine(dir, Checkpoints.StateFile), $"{{\"step\":{step}}}\n");

    [Fact]
    public void A_checkpoint_whose_writer_throws_leaves_the_previous_ones_listable_and_no_temporary_folder()
    {
        using var work = new TempDir("dss-ckpt-fail");
        Checkpoints.Save(work.Path, 1, keep: 2, dir => State(dir, 1));
        Checkpoints.Save(work.Path, 2, keep: 2, dir => State(dir, 2));

        Assert.Throws<IOException>(() => Checkpoints.Save(work.Path, 3, keep: 2, dir =>
        {
            File.WriteAllText(Path.Combine(dir, "model.safetensors"), "half");
            throw new IOException("disk full");
        }));
        // a failing rewrite of an existing step leaves that step as it was
        Assert.Throws<IOException>(() => Checkpoints.Save(work.Path, 2, keep: 2, _ => throw new IOException("disk full")));

        Assert.Equal([1L, 2L], Checkpoints.List(work.Path).Select(c => c.Step));
        Assert.Equal("{\"step\":2}\n", File.ReadAllText(Path.Combine(Checkpoints.List(work.Path)[^1].Path, Checkpoints.StateFile)));
        Assert.Equal(["step-0000001", "step-0000002"],
            Directory.GetFileSystemEntries(Path.Combine(work.Path, Checkpoints.Folder)).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        Checkpoints.Save(work.Path, 3, keep: 2, dir => State(dir, 3));
        Assert.Equal([2L, 3L], Checkpoints.List(work.Path).Select(c => c.Step));
        Assert.Equal(["step-0000002", "step-0000003"],
            Directory.GetFileSystemEntries(Path.Combine(work.Path, Checkpoints.Folder)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Swapping_into_an_existing_output_leaves_exactly_the_new_contents()
    {
        using var root = new TempDir("dss-swap");
        var (output, work) = RunFolders.Of(Path.Combine(root.Path, "model"));
        Directory.CreateDirectory(Path.Combine(output, "query"));
        File.WriteAllText(Path.Combine(output, "old-only.txt"), "old");
        File.WriteAllText(Path.Combine(output, "query", "weights.bin"), "old");
        Directory.CreateDirectory(Path.Combine(work, "checkpoints", "step-0000004"));
        File.WriteAllText(Path.Combine(work, "train.json"), "{}\n");
        File.WriteAllText(Path.Combine(work, "checkpoints", "step-0000004", "state.json"), "new");

        RunFolders.SwapIntoPlace(work, output);

        Assert.False(Directory.Exists(work));
        Assert.Equal(["checkpoints", "train.json"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("new", File.ReadAllText(Path.Combine(output, "checkpoints", "step-0000004", "state.json")));
        Assert.Equal(["model"], Directory.GetFileSystemEntries(root.Path).Select(Path.GetFileName)); // no moved-aside old output left
    }

    [Fact]
    public void Resuming_a_finished_output_copies_it_whole_into_the_work_folder()
    {
        using var root = new TempDir("dss-extend");
        var (output, work) = RunFolders.Of(Path.Combine(root.Path, "model"));
        Directory.CreateDirectory(Path.Combine(output, "checkpoints", "step-0000002"));
        File.WriteAllText(Path.Combine(output, "checkpoints", "step-0000002", "state.json"), "{}");
        Directory.CreateDirectory(work);
        File.WriteAllText(Path.Combine(work, "stale.txt"), "not resumable");

        var (fresh, extending) = RunFolders.Prepare(output, work, resume: true, overwrite: false, resumable: _ => false);

        Assert.False(fresh);
        Assert.True(extending);
        Assert.Equal([2L], Checkpoints.List(work).Select(c => c.Step));
        Assert.False(File.Exists(Path.Combine(work, "stale.txt")));
        Assert.Equal(["model", "model" + RunFolders.PartialSuffix],
            Directory.GetFileSystemEntries(root.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
