using System.Diagnostics;
using System.Text.RegularExpressions;
using DeepSeek.Search.TestKit;
using YamlDotNet.RepresentationModel;

namespace DeepSeek.Search.Jobs.Tests;

/// <summary>
/// deploy/ as far as it can be checked without docker, a cluster or daprd: every YAML parses, every kustomization names files
/// that exist, the probes name the health service the server registers, the Dapr components and topics are the names the code's
/// settings default to, the app port annotation is the default AppPort, the Dockerfile's stages exist, and — when kubectl is on
/// PATH — both overlays build with <c>kubectl kustomize</c>.
/// </summary>
public partial class DeployFilesTests
{
    static readonly string Deploy = Path.Combine(Repo.Root, "deploy");

    static IEnumerable<string> YamlFiles() =>
        Directory.EnumerateFiles(Deploy, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    static List<YamlMappingNode> Documents(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(file)) stream.Load(reader);
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    static string? Scalar(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode m || !m.Children.TryGetValue(new YamlScalarNode(key), out var next)) return null;
            node = next;
        }
        return (node as YamlScalarNode)?.Value;
    }

    static IEnumerable<YamlMappingNode> AllDocuments() => YamlFiles().SelectMany(Documents);

    [Fact]
    public void Every_yaml_file_parses_and_every_kustomization_names_files_that_exist()
    {
        var files = YamlFiles().ToList();
        Assert.True(files.Count >= 15, $"only {files.Count} YAML files under deploy/");
        foreach (var f in files) Assert.NotEmpty(Documents(f));
        var kustomizations = files.Where(f => Path.GetFileName(f) == "kustomization.yaml").ToList();
        Assert.Equal(4, kustomizations.Count);
        foreach (var k in kustomizations)
        {
            var doc = Assert.Single(Documents(k));
            var dir = Path.GetDirectoryName(k)!;
            var named = new List<string>();
            if (doc.Children.TryGetValue(new YamlScalarNode("resources"), out var res)) named.AddRange(((YamlSequenceNode)res).Select(n => ((YamlScalarNode)n).Value!));
            if (doc.Children.TryGetValue(new YamlScalarNode("patches"), out var patches)) named.AddRange(((YamlSequenceNode)patches).Select(p => Scalar(p, "path")!));
            Assert.NotEmpty(named);
            foreach (var n in named)
            {
                var full = Path.GetFullPath(Path.Combine(dir, n));
                Assert.True(File.Exists(full) || File.Exists(Path.Combine(full, "kustomization.yaml")), $"{Path.GetRelativePath(Deploy, k)} names {n}, which does not exist");
            }
        }
    }

    [Fact]
    public void The_probes_name_the_health_service_the_server_registers_and_the_dapr_annotations_match_the_settings()
    {
        var workloads = Directory.GetFiles(Path.Combine(Deploy, "k8s", "base"), "*.yaml").SelectMany(Documents)
            .Where(d => Scalar(d, "kind") is "StatefulSet" or "Deployment").ToList();
        Assert.Equal(2, workloads.Count);
        var probes = 0;
        foreach (var w in workloads)
            foreach (var c in (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)w["spec"])["template"])["spec"])["containers"])
                foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
                {
                    if (((YamlMappingNode)c).Children.TryGetValue(new YamlScalarNode(probe), out var p))
                    {
                        Assert.Equal("50051", Scalar(p, "grpc", "port"));
                        var service = Scalar(p, "grpc", "service");
                        Assert.True(service is null || service == DeepSeek.Search.Service.SearchServer.HealthName("x")[..^2], $"probe service '{service}'");
                        probes++;
                    }
                }
        Assert.True(probes >= 4);
        var shard = workloads.Single(w => Scalar(w, "metadata", "name") == "dss-shard");
        var annotations = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)shard["spec"])["template"])["metadata"])["annotations"];
        string Annotation(string key) => ((YamlScalarNode)annotations[key]).Value!;
        Assert.Equal("true", Annotation("dapr.io/enabled"));
        Assert.Equal(new DaprSettings().AppPort.ToString(System.Globalization.CultureInfo.InvariantCulture), Annotation("dapr.io/app-port"));
        Assert.Equal("http", Annotation("dapr.io/app-protocol")); // the app listener is HTTP/1.1
        Assert.Equal("dss-shard", Annotation("dapr.io/app-id"));
        Assert.NotNull(((YamlMappingNode)shard["spec"]).Children[new YamlScalarNode("volumeClaimTemplates")]);
        Assert.Contains(AllDocuments(), d => Scalar(d, "kind") == "PodDisruptionBudget");
    }

    [Fact]
    public void The_dapr_components_are_the_names_and_schedule_the_code_expects()
    {
        var defaults = new DaprSettings();
        foreach (var dir in new[] { "components", "compose" })
        {
            var components = Directory.GetFiles(Path.Combine(Deploy, "dapr", dir), "*.yaml").SelectMany(Documents)
                .Where(d => Scalar(d, "kind") == "Component").ToDictionary(d => Scalar(d, "metadata", "name")!, d => d);
            Assert.Equal("bindings.cron", Scalar(components[defaults.CronBinding], "spec", "type"));
            Assert.Equal("state.redis", Scalar(components[defaults.StateStore], "spec", "type"));
            Assert.Equal("pubsub.redis", Scalar(components[defaults.PubSub], "spec", "type"));
            string Meta(YamlMappingNode c, string name) => ((YamlSequenceNode)((YamlMappingNode)c["spec"])["metadata"])
                .Cast<YamlMappingNode>().Where(m => Scalar(m, "name") == name).Select(m => Scalar(m, "value")!).Single();
            // Dapr's cron format puts seconds first: 02:00:00 every day.
            Assert.Equal("0 0 2 * * *", Meta(components[defaults.CronBinding], "schedule"));
            Assert.Equal("false", Meta(components[defaults.StateStore], "actorStateStore"));
            Assert.Contains(Directory.GetFiles(Path.Combine(Deploy, "dapr", dir), "*.yaml").SelectMany(Documents), d => Scalar(d, "kind") == "Resiliency");
        }
        var config = File.ReadAllText(Path.Combine(Deploy, "k8s", "base", "configmap.yaml"));
        foreach (var name in new[] { defaults.CronBinding, defaults.StateStore, defaults.PubSub, defaults.ReindexedTopic, defaults.ChangedTopic })
            Assert.Contains($"\"{name}\"", config);
    }

    [Fact]
    public void The_dockerfile_has_its_build_cpu_and_cuda_stages_and_the_cuda_one_uses_the_base_image_s_libtorch()
    {
        var text = File.ReadAllText(Path.Combine(Deploy, "Dockerfile"));
        var stages = StageRegex().Matches(text).ToDictionary(m => m.Groups[2].Value, m => m.Groups[1].Value);
        Assert.Equal(new[] { "build", "cpu", "cuda" }, stages.Keys.Order(StringComparer.Ordinal));
        Assert.StartsWith("debian:12", stages["cpu"]);
        Assert.StartsWith("pytorch/pytorch:", stages["cuda"]);
        Assert.Contains("-p:TorchSharpBackend=none", text);
        Assert.Contains("DSS_LIBTORCH=", text);
        var compose = File.ReadAllText(Path.Combine(Deploy, "compose.yaml"));
        Assert.Contains("network_mode: service:dss", compose);
        Assert.Contains($"--app-port={new DaprSettings().AppPort}", compose);
    }

    [Fact]
    public async Task Both_overlays_build_with_kubectl_kustomize_when_kubectl_is_there()
    {
        string? kubectl = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, "kubectl")).FirstOrDefault(File.Exists);
        if (kubectl is null)
        {
            Console.WriteLine("skipped: kubectl is not on PATH, so the overlays were only checked file by file");
            return;
        }
        foreach (var overlay in new[] { "cpu", "cuda" })
        {
            var psi = new ProcessStartInfo(kubectl, ["kustomize", Path.Combine(Deploy, "k8s", "overlays", overlay)])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            Assert.True(p.WaitForExit(60_000), "kubectl kustomize did not finish in 60 s");
            Assert.True(p.ExitCode == 0, $"kubectl kustomize overlays/{overlay}: {stderr}");
            var yaml = await stdout;
            Assert.Contains($"image: registry.example.com/dss:{overlay}", yaml);
            Assert.Contains("kind: Resiliency", yaml);
            if (overlay == "cuda") Assert.Contains("nvidia.com/gpu", yaml);
        }
    }

    [GeneratedRegex(@"^FROM\s+(\S+)\s+AS\s+(\S+)", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex StageRegex();
}
