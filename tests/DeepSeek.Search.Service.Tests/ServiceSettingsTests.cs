using DeepSeek.Search.Core;
using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Service.Tests;

public sealed class ServiceSettingsTests
{
    [Fact]
    public void Settings_come_from_appsettings_then_DSS_variables_then_the_command_line()
    {
        using var tmp = new TempDir("dss-settings");
        File.WriteAllText(tmp.File("appsettings.json"), """{ "Service": { "Port": 1111, "MaxK": 5, "MaxQueuedCalls": 3, "IndexRoot": "from-json" } }""");
        Environment.SetEnvironmentVariable("DSS_Service__MaxQueuedCalls", "7");
        Environment.SetEnvironmentVariable("DSS_Service__MaxConcurrentCalls", "9");
        try
        {
            var s = ServiceSettings.Load(tmp.Path, ["--Service:MaxConcurrentCalls=11"]);
            Assert.Equal(1111, s.Port);              // appsettings.json
            Assert.Equal(5, s.MaxK);
            Assert.Equal("from-json", s.IndexRoot);
            Assert.Equal(7, s.MaxQueuedCalls);       // a DSS_ variable over appsettings.json
            Assert.Equal(11, s.MaxConcurrentCalls);  // the command line over a DSS_ variable
            Assert.Equal(8192, s.MaxQueryChars);     // the default
            Assert.Equal(16 * 1024 * 1024, s.MaxMessageBytes);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DSS_Service__MaxQueuedCalls", null);
            Environment.SetEnvironmentVariable("DSS_Service__MaxConcurrentCalls", null);
        }
        var e = Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, ["--Service:MaxK=0"]));
        Assert.Equal("setting MaxK must be between 1 and 10000, got 0", e.Message);
        Assert.Throws<InvalidInputException>(() => new ServiceSettings { Address = "localhost:1" }.Validate());
    }

    [Fact]
    public void Generator_settings_are_checked_when_loaded()
    {
        using var tmp = new TempDir("dss-settings");
        var s = ServiceSettings.Load(tmp.Path, ["--Service:Generator:Device=cpu"]);
        Assert.Null(s.Generator.Model);
        Assert.Equal("float32", s.Generator.DType);
        var model = Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, [$"--Service:Generator:Model={tmp.File("none")}"]));
        Assert.Contains("has no config.json", model.Message);
        Assert.Equal("Generator:Model", model.Setting);
        Assert.Contains("must be float32, bfloat16 or float16", Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, ["--Service:Generator:DType=int8"])).Message);
        Assert.Equal("fp32", s.QueryPrecision);
        Assert.Equal("int8", ServiceSettings.Load(tmp.Path, ["--Service:QueryPrecision=int8"]).QueryPrecision);
        var precision = Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, ["--Service:QueryPrecision=int4"]));
        Assert.Contains("'int4'", precision.Message);
        Assert.Equal("QueryPrecision", precision.Setting);
        Assert.Equal("nprobe=16", ServiceSettings.Load(tmp.Path, ["--Service:Collections:c1:FaissParameters=nprobe=16"]).FaissParameters()["c1"]);
        Assert.Contains("does not exist", Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, [$"--Service:Generator:InstructionsFile={tmp.File("x.txt")}"])).Message);
        File.WriteAllText(tmp.File("rules.txt"), "Answer in one sentence.");
        Assert.Equal("Answer in one sentence.", ServiceSettings.Load(tmp.Path, [$"--Service:Generator:InstructionsFile={tmp.File("rules.txt")}"]).Generator.LoadInstructions());
    }

    [Fact]
    public void Collection_encoder_settings_bind_per_collection_and_a_missing_folder_names_the_setting()
    {
        using var tmp = new TempDir("dss-settings");
        Directory.CreateDirectory(tmp.File("enc"));
        var s = ServiceSettings.Load(tmp.Path, [$"--Service:Collections:docs:Encoder={tmp.File("enc")}", "--Service:Collections:docs:ChunkTokens=32"]);
        var encoders = s.Encoders();
        Assert.Equal(["docs"], encoders.Keys);
        Assert.Equal(tmp.File("enc"), encoders["docs"].EncoderPath);
        Assert.Equal(32, encoders["docs"].ChunkTokens);
        Assert.Null(encoders["docs"].ChunkOverlap);
        Assert.Empty(ServiceSettings.Load(tmp.Path, []).Encoders());
        var missing = Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, [$"--Service:Collections:docs:Encoder={tmp.File("nope")}"]));
        Assert.Equal("Collections:docs:Encoder", missing.Setting);
        Assert.Contains(tmp.File("nope"), missing.Message);
        var negative = Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, [$"--Service:Collections:docs:Encoder={tmp.File("enc")}", "--Service:Collections:docs:ChunkOverlap=-1"]));
        Assert.Equal("Collections:docs:ChunkOverlap", negative.Setting);
        Assert.Equal("Collections:docs:Encoder", Assert.Throws<InvalidInputException>(() => ServiceSettings.Load(tmp.Path, ["--Service:Collections:docs:ChunkTokens=8"])).Setting);
    }
}
