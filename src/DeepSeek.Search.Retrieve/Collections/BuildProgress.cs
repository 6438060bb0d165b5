namespace DeepSeek.Search.Retrieve.Collections;

/// <summary>Progress of a build: the stage, and how far through it (Total 0 when unknown).</summary>
public readonly record struct BuildProgress(string Stage, long Done, long Total);
