namespace DeepSeek.Search.Store;

/// <summary>One committed, complete generation of a collection: its folder and its manifest.</summary>
public sealed record Generation(string Directory, Manifest Manifest)
{
    public string LexicalPath => Path.Combine(Directory, CollectionStore.LexicalFolderName);
    public string DensePath => Path.Combine(Directory, CollectionStore.DenseFileName);
    public string DocumentStorePath => Path.Combine(Directory, CollectionStore.DocumentStoreFileName);
    public bool HasDense => Manifest.Dense is not null;
}
