using DeepSeek.Search.Core;

namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>IdSelection: FAISS's bitmap layout, Count, ranges, and the errors for ids it cannot hold.</summary>
public class IdSelectionTests
{
    [Fact]
    public void BitLayout_IsFaissIdSelectorBitmap()
    {
        var selection = new IdSelection(20);
        Assert.Equal(3, selection.Bits.Length);
        selection.Add(0);
        selection.Add(9);
        selection.Add(15);
        selection.Add(19);
        // id i is bit (i & 7) of byte i >> 3
        Assert.Equal(new byte[] { 0b0000_0001, 0b1000_0010, 0b0000_1000 }, selection.Bits.ToArray());
        Assert.Equal(4, selection.Count);
        Assert.Equal(20, selection.Capacity);
    }

    [Fact]
    public void Contains_FalseOutsideRange()
    {
        var selection = new IdSelection(10);
        selection.AddRange(0, 10);
        Assert.All(Enumerable.Range(0, 10), id => Assert.True(selection.Contains(id)));
        foreach (long id in new[] { -1L, 10, 11, 16, long.MaxValue, long.MinValue })
            Assert.False(selection.Contains(id), $"id {id}");
        Assert.False(new IdSelection(0).Contains(0));
    }

    [Fact]
    public void Add_Twice_CountsOnce()
    {
        var selection = new IdSelection(100);
        selection.Add(42);
        selection.Add(42);
        Assert.Equal(1, selection.Count);
        Assert.True(selection.Contains(42));
        Assert.False(selection.Contains(41));
        Assert.False(selection.Contains(43));
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(1000L)]
    [InlineData(1001L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void Add_OutsideRange_NamesIdAndCapacity(long id)
    {
        var selection = new IdSelection(1000);
        var e = Assert.Throws<InvalidInputException>(() => selection.Add(id));
        Assert.Contains($"id {id}", e.Message);
        Assert.Contains("capacity 1000", e.Message);
        Assert.Equal(0, selection.Count);
    }

    [Theory]
    [InlineData(-1L, 5L)]
    [InlineData(0L, 101L)]
    [InlineData(99L, 2L)]
    [InlineData(100L, 1L)]
    [InlineData(5L, -1L)]
    [InlineData(5L, long.MaxValue)]
    public void AddRange_OutsideRange_Throws(long first, long count)
    {
        var selection = new IdSelection(100);
        var e = Assert.Throws<InvalidInputException>(() => selection.AddRange(first, count));
        Assert.Contains(count < 0 ? "must not be negative" : "capacity 100", e.Message);
        Assert.Equal(0, selection.Count);
        Assert.All(selection.Bits.ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Capacity_Negative_Throws()
    {
        var e = Assert.Throws<InvalidInputException>(() => new IdSelection(-5));
        Assert.Contains("-5", e.Message);
        Assert.Throws<InvalidInputException>(() => new IdSelection(long.MaxValue));
    }

    [Fact]
    public void AddRange_MatchesSingleAdds_OnRandomRanges()
    {
        // Ranges within a byte, across one boundary, and spanning many whole bytes (the word-wise fill), overlapping.
        var random = new Random(5);
        for (int trial = 0; trial < 200; trial++)
        {
            long capacity = random.Next(1, 3000);
            var selection = new IdSelection(capacity);
            var model = new HashSet<long>();
            for (int r = 0; r < 6; r++)
            {
                long first = random.NextInt64(capacity);
                long count = random.NextInt64(capacity - first + 1);
                selection.AddRange(first, count);
                for (long id = first; id < first + count; id++) model.Add(id);
                if (random.Next(2) == 0)
                {
                    long single = random.NextInt64(capacity);
                    selection.Add(single);
                    model.Add(single);
                }
            }
            Assert.Equal(model.Count, selection.Count);
            for (long id = -1; id <= capacity; id++)
                Assert.True(model.Contains(id) == selection.Contains(id), $"capacity {capacity}, id {id}");
            // Nothing beyond capacity is ever set (FAISS tests whole bytes).
            for (long bit = capacity; bit < selection.Bits.Length * 8L; bit++)
                Assert.Equal(0, (selection.Bits[(int)(bit >> 3)] >> (int)(bit & 7)) & 1);
        }
    }

    [Fact]
    public void AddRange_Full_And_Empty()
    {
        var selection = new IdSelection(1_000_003);
        selection.AddRange(0, 0);
        Assert.Equal(0, selection.Count);
        selection.AddRange(0, 1_000_003);
        Assert.Equal(1_000_003, selection.Count);
        selection.AddRange(17, 1000);
        Assert.Equal(1_000_003, selection.Count);
        Assert.True(selection.Contains(1_000_002));
        Assert.False(selection.Contains(1_000_003));
        Assert.Contains("1000003", selection.ToString());
    }

    [Fact]
    public async Task ConcurrentReads_SeeTheSameSet()
    {
        var selection = new IdSelection(100_000);
        for (long id = 0; id < 100_000; id += 7) selection.Add(id);
        var counts = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            long found = 0;
            for (long id = -10; id < 100_010; id++)
                if (selection.Contains(id)) found++;
            return found;
        })));
        Assert.All(counts, c => Assert.Equal(selection.Count, c));
        Assert.Equal((100_000 + 6) / 7, selection.Count);
    }
}
