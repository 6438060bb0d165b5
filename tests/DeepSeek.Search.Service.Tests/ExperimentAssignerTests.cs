using System.Globalization;
using DeepSeek.Search.Service.Experiments;

namespace DeepSeek.Search.Service.Tests;

/// <summary>The assignment of keys to arms, as pure functions: stable, split as configured, independent across salts.</summary>
public sealed class ExperimentAssignerTests
{
    const int Keys = 10_000;

    static IEnumerable<string> UserKeys(string prefix = "user-") => Enumerable.Range(0, Keys).Select(i => prefix + i.ToString(CultureInfo.InvariantCulture));

    static Experiment Make(string name, params double[] shares) => Experiment.From(new ExperimentSettings
    {
        Name = name,
        Collection = "docs",
        Arms = [.. shares.Select((s, i) => new ArmSettings { Name = "arm" + i.ToString(CultureInfo.InvariantCulture), Share = s })],
    }, "test");

    [Theory]
    [InlineData(new double[] { 50, 50 })]
    [InlineData(new double[] { 90, 10 })]
    [InlineData(new double[] { 0.5, 0.3, 0.2 })]
    [InlineData(new double[] { 1, 1, 1, 1 })]
    public void Over_10000_keys_each_arm_gets_its_share_within_2_percent(double[] shares)
    {
        var experiment = Make("split", shares);
        double total = shares.Sum();
        foreach (var keys in new[] { UserKeys(), UserKeys("session-"), Enumerable.Range(0, Keys).Select(_ => Guid.NewGuid().ToString()) })
        {
            var counts = keys.GroupBy(k => experiment.Assign(k).Name).ToDictionary(g => g.Key, g => g.Count());
            for (int i = 0; i < shares.Length; i++)
            {
                double got = counts.GetValueOrDefault("arm" + i.ToString(CultureInfo.InvariantCulture)) / (double)Keys;
                Assert.True(Math.Abs(got - shares[i] / total) <= 0.02, $"arm{i}: {got:P2} of the keys, configured {shares[i] / total:P2}");
            }
        }
    }

    [Fact]
    public void A_key_gets_the_same_arm_on_every_call_and_in_every_process()
    {
        var experiment = Make("stable", 50, 50);
        var first = UserKeys().Take(1000).ToDictionary(k => k, k => experiment.Assign(k).Name);
        // Again, and from an experiment made anew from the same settings: the same arms.
        var again = Make("stable", 50, 50);
        foreach (var (key, arm) in first)
        {
            Assert.Equal(arm, experiment.Assign(key).Name);
            Assert.Equal(arm, again.Assign(key).Name);
        }
        // The positions are a fixed function of salt and key (no per-process seed, unlike string.GetHashCode): pinned here,
        // so that a change of the hash, which would move every caller to another arm, cannot pass unnoticed (the values were
        // computed by a separate Python implementation of FNV-1a + the MurmurHash3 finaliser, not by this code).
        Assert.Equal(0.9651770929340273, ExperimentAssigner.Position("stable", "user-0"), 15);
        Assert.Equal(0.24027675040997565, ExperimentAssigner.Position("stable", "user-1"), 15);
        Assert.Equal(0.08800587151199579, ExperimentAssigner.Position("checkout-2026", "4f6c2a"), 15);
    }

    [Fact]
    public void Different_salts_split_the_same_keys_independently()
    {
        var a = Make("first", 50, 50);
        var b = Experiment.From(new ExperimentSettings
        {
            Name = "first", Salt = "reshuffled", Collection = "docs",
            Arms = [new ArmSettings { Name = "arm0", Share = 50 }, new ArmSettings { Name = "arm1", Share = 50 }],
        }, "test");
        var cells = UserKeys().GroupBy(k => (a.Assign(k).Name, b.Assign(k).Name)).ToDictionary(g => g.Key, g => g.Count() / (double)Keys);
        // Independent 50/50 splits: each of the four combinations holds a quarter of the keys.
        Assert.Equal(4, cells.Count);
        Assert.All(cells, c => Assert.True(Math.Abs(c.Value - 0.25) <= 0.02, $"{c.Key}: {c.Value:P2}"));
        // The salt defaults to the name: another experiment's name gives another split too.
        var c2 = Make("second", 50, 50);
        double same = UserKeys().Count(k => a.Assign(k).Name == c2.Assign(k).Name) / (double)Keys;
        Assert.True(Math.Abs(same - 0.5) <= 0.02, $"{same:P2} of the keys in the same arm of both");
    }

    [Fact]
    public void Pick_maps_positions_to_cumulative_shares()
    {
        double[] shares = [0.9, 0.1];
        Assert.Equal(0, ExperimentAssigner.Pick(shares, 0));
        Assert.Equal(0, ExperimentAssigner.Pick(shares, 0.8999));
        Assert.Equal(1, ExperimentAssigner.Pick(shares, 0.9));
        Assert.Equal(1, ExperimentAssigner.Pick(shares, 0.99999999));
        // Shares whose rounded sum falls short of 1 leave nothing unassigned: the last arm takes the rest.
        Assert.Equal(2, ExperimentAssigner.Pick([1 / 3.0, 1 / 3.0, 0.3333], 0.9999999));
        Assert.All(Enumerable.Range(0, 1000), i => Assert.InRange(ExperimentAssigner.Position("s", i.ToString(CultureInfo.InvariantCulture)), 0, 0.9999999999));
    }
}
