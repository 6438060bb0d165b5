using DeepSeek.Search.Train.Data;
using DeepSeek.Search.Training;

namespace DeepSeek.Search.Train.Tests;

public class ScheduleAndBatchTests
{
    [Fact]
    public void Learning_rate_warms_up_linearly_then_decays_linearly()
    {
        const double peak = 1e-3;
        Assert.Equal(peak / 4, LearningRateSchedule.At(0, 20, 4, peak), 12);
        Assert.Equal(peak, LearningRateSchedule.At(3, 20, 4, peak), 12);
        Assert.Equal(peak, LearningRateSchedule.At(4, 20, 4, peak), 12);
        Assert.Equal(peak * 6 / 16, LearningRateSchedule.At(14, 20, 4, peak), 12);
        Assert.Equal(peak / 16, LearningRateSchedule.At(19, 20, 4, peak), 12);
        var all = Enumerable.Range(0, 20).Select(s => LearningRateSchedule.At(s, 20, 4, peak)).ToList();
        Assert.All(all, lr => Assert.True(lr > 0));
        Assert.Equal(peak, LearningRateSchedule.At(0, 10, 0, peak), 12);
        Assert.Equal(2, LearningRateSchedule.WarmupSteps(20, 0.1, null));
        Assert.Equal(5, LearningRateSchedule.WarmupSteps(20, 0.1, 5));
    }

    [Fact]
    public void Cosine_and_floored_linear_schedules_end_at_the_floor()
    {
        const double peak = 1e-3, floor = 1e-4;
        Assert.Equal(peak / 4, LearningRateSchedule.Cosine(0, 20, 4, peak, floor), 12);
        Assert.Equal(peak, LearningRateSchedule.Cosine(4, 20, 4, peak, floor), 12);
        Assert.Equal((peak + floor) / 2, LearningRateSchedule.Cosine(12, 20, 4, peak, floor), 12);
        Assert.Equal(floor, LearningRateSchedule.Cosine(20, 20, 4, peak, floor), 12);
        var cosine = Enumerable.Range(4, 16).Select(s => LearningRateSchedule.Cosine(s, 20, 4, peak, floor)).ToList();
        Assert.True(cosine.Zip(cosine.Skip(1)).All(p => p.First > p.Second));
        Assert.Equal(floor + (peak - floor) * 6 / 16, LearningRateSchedule.At(14, 20, 4, peak, floor), 12);
        Assert.Equal(LearningRateSchedule.At(14, 20, 4, peak), LearningRateSchedule.At(14, 20, 4, peak, 0), 15);
    }

    [Fact]
    public void Seeds_are_reproducible_and_position_dependent()
    {
        Assert.Equal(Seeds.Mix(42, 1, 2), Seeds.Mix(42, 1, 2));
        Assert.NotEqual(Seeds.Mix(42, 1, 2), Seeds.Mix(42, 2, 1));
        Assert.NotEqual(Seeds.Mix(42, 1, 2), Seeds.Mix(43, 1, 2));
        Assert.Equal(Seeds.At(7, 1, 2, 3).Next(), Seeds.At(7, 1, 2, 3).Next());
    }

    [Fact]
    public void Batch_puts_positives_first_and_masks_documents_relevant_to_a_row()
    {
        var rel0 = new HashSet<string> { "a", "b" };     // query 0 has two positives: a and b
        var examples = new[]
        {
            new TrainingExample("q0", new TrainingText("a", "A"), [new TrainingText("n1", "N1")], rel0),
            new TrainingExample("q0", new TrainingText("b", "B"), [], rel0),
            new TrainingExample("q1", new TrainingText("c", "C"), [new TrainingText("a", "A")], new HashSet<string> { "c" }),
        };
        var batch = ContrastiveBatch.From(examples);
        Assert.Equal(["A", "B", "C", "N1", "A"], batch.Documents);
        Assert.Equal(["q0", "q0", "q1"], batch.Queries);
        bool Ex(int i, int j) => batch.Exclude[i * 5 + j];
        // row 0 (positive a): b is its other positive, and the duplicate a at column 4 is too
        Assert.True(Ex(0, 1)); Assert.True(Ex(0, 4)); Assert.False(Ex(0, 0)); Assert.False(Ex(0, 2)); Assert.False(Ex(0, 3));
        Assert.True(Ex(1, 0)); Assert.True(Ex(1, 4)); Assert.False(Ex(1, 1));
        // row 2: a is a true negative for q1
        Assert.False(Ex(2, 0)); Assert.False(Ex(2, 4)); Assert.False(Ex(2, 2));
        Assert.Equal(4, batch.ExcludedCount);
    }

    [Fact]
    public void Free_text_positives_are_keyed_by_their_text()
    {
        Assert.Equal(new TrainingText(null, "x").Key, new TrainingText(null, "x").Key);
        Assert.NotEqual(new TrainingText(null, "x").Key, new TrainingText("x", "x").Key);
    }
}
