using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using DeepSeek.Search.Core;

namespace DeepSeek.Search.Encode.Pretrained;

/// <summary>
/// Reads the embedded (manifest) resources of a .NET assembly file without loading it: ECMA-335 §II.22.24 (ManifestResource
/// table) and §II.24.2.4 (each resource in the CLI header's Resources directory is a 4-byte little-endian length, then the bytes).
/// </summary>
public static class ManifestResources
{
    /// <summary>The names of the resources embedded in <paramref name="assemblyPath"/>.</summary>
    public static IReadOnlyList<string> Names(string assemblyPath)
    {
        using var pe = Open(assemblyPath, out var md);
        return md.ManifestResources.Select(h => md.GetManifestResource(h))
            .Where(r => r.Implementation.IsNil).Select(r => md.GetString(r.Name)).ToList();
    }

    /// <summary>Copies the embedded resource <paramref name="name"/> of <paramref name="assemblyPath"/> to <paramref name="destination"/>.</summary>
    public static long Extract(string assemblyPath, string name, string destination) => Extract(assemblyPath, (name, destination));

    /// <summary>Copies several embedded resources of one assembly (opened once) to their destinations; returns the bytes written.</summary>
    public static long Extract(string assemblyPath, params (string Name, string Destination)[] resources)
    {
        using var pe = Open(assemblyPath, out var md);
        var wanted = resources.ToDictionary(r => r.Name, r => r.Destination, StringComparer.Ordinal);
        var dir = pe.PEHeaders.CorHeader!.ResourcesDirectory;
        long total = 0;
        foreach (var h in md.ManifestResources)
        {
            var r = md.GetManifestResource(h);
            if (!r.Implementation.IsNil || !wanted.Remove(md.GetString(r.Name), out var destination)) continue;
            string name = md.GetString(r.Name);
            if (dir.Size == 0 || !pe.PEHeaders.TryGetDirectoryOffset(dir, out _))
                throw new CheckpointException($"{assemblyPath}: has no resource section");
            var block = pe.GetSectionData(dir.RelativeVirtualAddress);
            if (r.Offset < 0 || r.Offset + 4 > dir.Size || r.Offset + 4 > block.Length)
                throw new CheckpointException($"{assemblyPath}: resource '{name}' lies outside the resource section (truncated file?)");
            var reader = block.GetReader((int)r.Offset, block.Length - (int)r.Offset);
            int length = reader.ReadInt32();
            if (length < 0 || r.Offset + 4L + length > dir.Size)
                throw new CheckpointException($"{assemblyPath}: resource '{name}' claims {length} bytes, more than the resource section holds (truncated file?)");
            File.WriteAllBytes(destination, reader.ReadBytes(length));
            total += length;
        }
        if (wanted.Count > 0)
            throw new CheckpointException($"{assemblyPath}: no embedded resource '{wanted.Keys.First()}' (it has: {string.Join(", ", Names(assemblyPath))})");
        return total;
    }

    static PEReader Open(string path, out MetadataReader md)
    {
        if (!File.Exists(path)) throw new CheckpointException($"assembly not found: {path}");
        var pe = new PEReader(File.OpenRead(path));
        try
        {
            if (!pe.HasMetadata) throw new CheckpointException($"{path}: not a .NET assembly (no CLI metadata)");
            md = pe.GetMetadataReader();
            return pe;
        }
        catch (BadImageFormatException e)
        {
            pe.Dispose();
            throw new CheckpointException($"{path}: not a readable .NET assembly ({e.Message})", e);
        }
        catch
        {
            pe.Dispose();
            throw;
        }
    }
}
