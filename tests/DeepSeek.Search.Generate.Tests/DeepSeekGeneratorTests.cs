using DeepSeek.Search.Core;
using DeepSeek.Search.Generate;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Generate.Tests;

public class DeepSeekGeneratorTests
{
    static int[] Row(long[] values, long[] shape, int row, int? length = null)
    {
        int width = (int)shape[1];
        return values.Skip(row * width).Take(length ?? width).Select(v => (int)v).ToArray();
    }

    [Theory]
    [InlineData("A", KvCacheMode.Full)]
    [InlineData("A", KvCacheMode.Latent)]
    [InlineData("B", KvCacheMode.Full)]
    [InlineData("B", KvCacheMode.Latent)]
    public void Greedy_batch_reproduces_the_golden_continuation(string variant, KvCacheMode mode)
    {
        var g = Fixtures.Load(variant);
        using var generator = DeepSeekGenerator.Load(Fixtures.ModelDir(variant));
        Assert.Null(generator.Tokenizer);
        var prompts = new[] { Row(g.I("input_ids"), g.Shape("input_ids"), 0), Row(g.I("input_ids"), g.Shape("input_ids"), 1) };
        var results = generator.Generate(prompts, new GenerationOptions { MaxNewTokens = 8, Greedy = true, CacheMode = mode });
        for (int b = 0; b < 2; b++)
        {
            var expected = Row(g.I("greedy_ids"), g.Shape("greedy_ids"), b).Skip(prompts[b].Length).ToArray();
            Assert.Equal(expected, results[b].GeneratedIds);
            Assert.Equal(FinishReason.Length, results[b].Finish);
            Assert.Equal(prompts[b], results[b].PromptIds);
        }
    }

    [Fact]
    public void Left_padded_prompts_generate_as_if_alone()
    {
        var g = Fixtures.Load("A");
        using var generator = DeepSeekGenerator.Load(Fixtures.ModelDir("A"));
        var full = Row(g.I("input_ids"), g.Shape("input_ids"), 0);
        var shorter = Row(g.I("input_ids"), g.Shape("input_ids"), 1, 6);
        var options = new GenerationOptions { MaxNewTokens = 6, Greedy = true };
        var batch = generator.Generate(new[] { full, shorter }, options);
        var alone = generator.Generate(new[] { shorter }, options);
        Assert.Equal(alone[0].GeneratedIds, batch[1].GeneratedIds);
        Assert.Equal(Row(g.I("greedy_ids"), g.Shape("greedy_ids"), 0).Skip(10).Take(6), batch[0].GeneratedIds);
    }

    [Fact]
    public void Deepseek_v2_greedy_ids_and_eos()
    {
        using var dir = new TempDir();
        using var generator = DeepSeekGenerator.Load(Fixtures.AteniaModel(dir.Path));
        var r = Fixtures.Atenia();
        var prompt = r.InputIds.Select(i => (int)i).ToArray();
        var through = generator.Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 4, Greedy = true, IgnoreEos = true })[0];
        Assert.Equal(r.GreedyIds.Select(i => (int)i), through.GeneratedIds);
        var stopped = generator.Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 4, Greedy = true })[0];
        Assert.Equal(new[] { 14, r.EosTokenId }, stopped.GeneratedIds);
        Assert.Equal(FinishReason.EndOfSequence, stopped.Finish);
    }

    [Fact]
    public async Task Streams_tokens_and_honours_cancellation()
    {
        var g = Fixtures.Load("A");
        using var generator = DeepSeekGenerator.Load(Fixtures.ModelDir("A"));
        var prompt = Row(g.I("input_ids"), g.Shape("input_ids"), 0);
        var seen = new List<GeneratedToken>();
        await foreach (var t in generator.StreamAsync(new[] { prompt }, new GenerationOptions { MaxNewTokens = 8, Greedy = true }))
            seen.Add(t);
        Assert.Equal(Enumerable.Range(0, 8), seen.Select(t => t.Index));
        Assert.Equal(Row(g.I("greedy_ids"), g.Shape("greedy_ids"), 0).Skip(10), seen.Select(t => t.TokenId));
        Assert.All(seen.Take(7), t => Assert.Null(t.Finish));
        Assert.Equal(FinishReason.Length, seen[^1].Finish);

        using var cts = new CancellationTokenSource();
        int count = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in generator.StreamAsync(new[] { prompt }, new GenerationOptions { MaxNewTokens = 8, Greedy = true }, cts.Token))
                if (++count == 2) cts.Cancel();
        });
        Assert.Equal(2, count);
        // the generator is usable again after a cancelled stream
        var again = await generator.GenerateAsync(prompt, new GenerationOptions { MaxNewTokens = 2, Greedy = true });
        Assert.Equal(2, again.GeneratedIds.Length);
    }

    [Fact]
    public void Sampling_is_seeded_and_top_k_1_is_greedy()
    {
        var g = Fixtures.Load("B");
        using var generator = DeepSeekGenerator.Load(Fixtures.ModelDir("B"));
        var prompt = Row(g.I("input_ids"), g.Shape("input_ids"), 0);
        var sampled = new GenerationOptions { MaxNewTokens = 8, Temperature = 0.9, TopP = 0.95, TopK = 50, RepetitionPenalty = 1.1, Seed = 7 };
        var a = generator.Generate(new[] { prompt }, sampled)[0].GeneratedIds;
        var b = generator.Generate(new[] { prompt }, sampled)[0].GeneratedIds;
        Assert.Equal(a, b);
        Assert.All(a, id => Assert.InRange(id, 0, 127));
        var topK1 = generator.Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 8, TopK = 1, Seed = 1 })[0].GeneratedIds;
        Assert.Equal(Row(g.I("greedy_ids"), g.Shape("greedy_ids"), 0).Skip(10), topK1);
        Assert.Throws<InvalidInputException>(() => generator.Generate(new[] { prompt }, new GenerationOptions { Temperature = 0 }));
        Assert.Throws<InvalidInputException>(() => generator.Generate(new[] { prompt }, new GenerationOptions { TopP = 1.5 }));
        Assert.Throws<InvalidInputException>(() => generator.Generate(new[] { new[] { 1, 500 } }, new GenerationOptions()));
        Assert.Throws<InvalidInputException>(() => generator.Generate(new[] { Array.Empty<int>() }, new GenerationOptions()));
    }

    [Fact]
    public void Text_streaming_and_stop_strings_with_a_tokenizer()
    {
        using var dir = new TempDir();
        foreach (var f in Directory.GetFiles(Fixtures.ModelDir("A"))) File.Copy(f, Path.Combine(dir.Path, Path.GetFileName(f)));
        DeepSeekV3Tokenizer.WriteTo(dir.Path);
        using var generator = DeepSeekGenerator.Load(dir.Path);
        Assert.NotNull(generator.Tokenizer);
        var g = Fixtures.Load("A");
        var prompt = Row(g.I("input_ids"), g.Shape("input_ids"), 0);
        var free = generator.Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 8, Greedy = true })[0];
        Assert.Equal(generator.Tokenizer!.Decode(free.GeneratedIds, skipSpecialTokens: true), free.Text);
        Assert.True(free.Text.Length > 2, free.Text);

        string stop = free.Text.Substring(free.Text.Length / 2, 1);
        int cut = free.Text.IndexOf(stop, StringComparison.Ordinal);
        var options = new GenerationOptions { MaxNewTokens = 8, Greedy = true, StopStrings = new[] { stop } };
        var stopped = generator.Generate(new[] { prompt }, options)[0];
        Assert.Equal(FinishReason.StopString, stopped.Finish);
        Assert.Equal(free.Text[..cut], stopped.Text);
        Assert.True(stopped.GeneratedIds.Length <= free.GeneratedIds.Length);

        var streamed = new System.Text.StringBuilder();
        var report = GenerationRun.Execute(new GenerationRequest { ModelDirectory = dir.Path, PromptIds = new[] { prompt }, Options = options },
            t => streamed.Append(t.Text));
        Assert.Equal(stopped.Text, streamed.ToString());
        Assert.Equal("stop", report.Sequences[0].FinishReason);
        Assert.Equal(new[] { 0, 19923, 3 }, generator.EncodePrompt("Hello!"));
        Assert.Equal(new[] { 0, 128803, 19923, 3, 128804 }, generator.EncodeChat(new[] { ChatMessage.User("Hello!") }));
    }
}

public class LogitsSamplerTests
{
    [Fact]
    public void Repetition_penalty_divides_positive_and_multiplies_negative_logits()
    {
        var sampler = new LogitsSampler(new GenerationOptions { Greedy = true, RepetitionPenalty = 2.0 });
        var logits = new[] { 1.0f, 1.5f, -1.0f, 0.9f };
        Assert.Equal(0, sampler.Next(logits, new[] { 1 }));
        Assert.Equal(new[] { 1.0f, 0.75f, -1.0f, 0.9f }, logits);
        var negative = new[] { -1.0f, -1.2f };
        new LogitsSampler(new GenerationOptions { Greedy = true, RepetitionPenalty = 2.0 }).Next(negative, new[] { 0 });
        Assert.Equal(-2.0f, negative[0]);
    }

    [Fact]
    public void Top_p_keeps_the_smallest_sufficient_set()
    {
        // probabilities ~ [0.6, 0.3, 0.1]: top_p 0.5 keeps only token 0; 0.85 keeps tokens 0 and 1
        var logits = new[] { (float)Math.Log(0.6), (float)Math.Log(0.3), (float)Math.Log(0.1) };
        var only = new LogitsSampler(new GenerationOptions { TopP = 0.5, Seed = 3 });
        for (int i = 0; i < 50; i++) Assert.Equal(0, only.Next((float[])logits.Clone(), Array.Empty<int>()));
        var two = new LogitsSampler(new GenerationOptions { TopP = 0.85, Seed = 3 });
        var seen = Enumerable.Range(0, 200).Select(_ => two.Next((float[])logits.Clone(), Array.Empty<int>())).ToHashSet();
        Assert.Equal(new HashSet<int> { 0, 1 }, seen);
        Assert.Equal(2, LogitsSampler.ArgMax(new[] { 0f, 1f, 3f, 3f }));
    }
}
