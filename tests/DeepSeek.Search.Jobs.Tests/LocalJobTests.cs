using System.Text.Json;
using DeepSeek.Search.Indexing;
using DeepSeek.Search.Store;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Jobs.Tests;

/// <summary>The job without a sidecar (as <c>dss reindex</c> runs it): local state beside the collection, the writer lock as the single-writer rule.</summary>
public class LocalJobTests
{
    [Fact]
    public async Task The_local_runner_reindexes_keeps_its_watermark_beside_the_collection_and_the_writer_lock_keeps_a_second_writer_out()
    {
        using var tmp = new TempDir("dss-local-job");
        var store = JobsFixtures.Build(tmp.Path, "docs", JobsFixtures.Initial());
        var source = new[] { JobSources.Open(JobsFixtures.WriteJsonl(tmp.File("night.jsonl"), JobsFixtures.Night())) };
        var state = LocalJobStateStore.InCollection(store.Directory);
        var runner = new ReindexRunner(state, NoJobEvents.Instance, new RunnerOptions { WriterLockHeld = true });
        using (var writer = CollectionWriter.Open(store))
        {
            Assert.Throws<CollectionLockedException>(() => CollectionWriter.Open(store));
            var outcome = await runner.RunAsync(ReindexRunner.DefaultJobKey("docs"), writer, source);
            Assert.Equal(JobOutcomeKind.Ran, outcome.Kind);
            Assert.False(outcome.Published);
            Assert.Equal(new[] { "d1", "d2", "d3", "d4", "n1", "n2" }, JobsFixtures.Live(store).Keys);
            var (saved, etag) = await state.ReadAsync("reindex-docs");
            Assert.Equal(ReindexJobState.Succeeded, saved!.LastStatus);
            Assert.Equal(outcome.Report!.RunId, saved.LastRunId);
            Assert.Equal(writer.LastSeq, saved.LastSeq);
            Assert.Null(saved.ClaimId);
            Assert.Equal("2", etag); // claim, then finish
            // A stale ETag loses, as in the Dapr store.
            Assert.False(await state.TryWriteAsync("reindex-docs", saved, "1"));
            Assert.True(await state.TryWriteAsync("reindex-docs", saved with { ClaimId = "dead", Owner = "killed", LeaseUntilUtc = DateTime.UtcNow.AddHours(5) }, "2"));
        }
        Assert.True(File.Exists(Path.Combine(store.Directory, LocalJobStateStore.FileName)));
        Assert.Empty(Directory.GetFiles(store.Directory, ".reindex-job.json.tmp*"));

        // A killed run left its claim: with the writer lock held it is a dead runner's, taken over and the run done.
        using (var writer = CollectionWriter.Open(store))
        {
            var next = await runner.RunAsync("reindex-docs", writer, source);
            Assert.Equal(JobOutcomeKind.Ran, next.Kind);
            Assert.Equal((0L, 0L, 5L), (next.Report!.Added, next.Report.Changed, next.Report.Unchanged));
            var (saved, _) = await state.ReadAsync("reindex-docs");
            Assert.Equal(2, saved!.Runs);
            Assert.Null(saved.Owner);
        }
        // The file is plain JSON, readable by anyone who wants the watermark.
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(store.Directory, LocalJobStateStore.FileName))).RootElement;
        Assert.Equal("succeeded", json.GetProperty("reindex-docs").GetProperty("state").GetProperty("lastStatus").GetString());
    }

    [Fact]
    public void Settings_turn_on_with_a_sidecar_s_variables_and_name_the_bad_value()
    {
        var env = new Dictionary<string, string> { ["DAPR_HTTP_PORT"] = "3500", ["APP_API_TOKEN"] = "t" };
        Assert.True(new DaprSettings().IsEnabled(v => env.GetValueOrDefault(v)));
        Assert.False(new DaprSettings().IsEnabled(_ => null));
        Assert.False(new DaprSettings { Enabled = false }.IsEnabled(v => env.GetValueOrDefault(v)));
        Assert.Equal("t", new DaprSettings().EffectiveAppApiToken(v => env.GetValueOrDefault(v)));
        Assert.Null(DaprApp.Create(new DaprSettings(), _ => null));
        var ex = Assert.Throws<Core.InvalidInputException>(() => new DaprSettings { AppPort = 70000 }.Validate());
        Assert.Contains("Dapr:AppPort", ex.Message);
        Assert.Contains("70000", ex.Message);
        ex = Assert.Throws<Core.InvalidInputException>(() => new DaprSettings { PubSub = "a/b" }.Validate());
        Assert.Contains("'a/b'", ex.Message);
        ex = Assert.Throws<Core.InvalidInputException>(() => new DaprSettings { Reindex = [new ReindexJobSettings { Collection = "docs" }] }.Validate());
        Assert.Contains("Dapr:Reindex:0:Sources", ex.Message);
        ex = Assert.Throws<Core.InvalidInputException>(() => new DaprSettings { Reindex = [new ReindexJobSettings { Collection = "docs", Sources = ["/srv"], Shard = "3/2" }] }.Validate());
        Assert.Contains("Dapr:Reindex:0:Shard", ex.Message);
        Assert.Contains("'3/2'", ex.Message);
        // Each shard's job has its own key, so the replicas of two shards never take each other's night.
        var shard0 = new ReindexJobSettings { Collection = "docs", Sources = ["/srv"], Shard = "0/2" };
        var shard1 = shard0 with { Shard = "1/2" };
        Assert.Equal("reindex-docs-shard-0-of-2", shard0.EffectiveJobKey);
        Assert.NotEqual(shard0.EffectiveJobKey, shard1.EffectiveJobKey);
        Assert.Equal(new Indexing.Reindex.ShardOfCount(1, 2), shard1.ShardOf);
        new DaprSettings { Reindex = [shard0, shard1] }.Validate();
    }
}
