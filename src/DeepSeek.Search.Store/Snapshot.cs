namespace DeepSeek.Search.Store;

/// <summary>One committed, complete snapshot of a collection (a <c>gen-ID</c> folder): its folder and its manifest.</summary>
public sealed record Snapshot(string Directory, Manifest Manifest)
{
    public string LexicalPath => Path.Combine(Directory, CollectionStore.LexicalFolderName);
    public string DensePath => Path.Combine(Directory, CollectionStore.DenseFileName);
    public string DocumentStorePath => Path.Combine(Directory, CollectionStore.DocumentStoreFileName);
    public bool HasDense => Manifest.Dense is not null;
}
