namespace DeepSeek.Search.Ingest;

/// <summary>What a <see cref="DocumentSource"/> path holds.</summary>
public enum DocumentSourceKind
{
    /// <summary>A JSON Lines file: BEIR corpus records (<c>_id</c>) or generic records (<c>id</c>), decided per record.</summary>
    JsonLines,

    /// <summary>A folder of <c>.txt</c>, <c>.md</c>, <c>.html</c>/<c>.htm</c> files, read recursively.</summary>
    Folder,
}
