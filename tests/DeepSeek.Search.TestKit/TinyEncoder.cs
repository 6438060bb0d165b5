namespace DeepSeek.Search.TestKit;

/// <summary>The tiny BERT golden fixture (2 layers, 64 hidden) as an encoder folder, with the MiniLM vocabulary beside it.</summary>
public static class TinyEncoder
{
    public static string Copy(TempDir tmp)
    {
        var dir = tmp.File("enc");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Repo.SharedPath("fixtures", "bert-golden", "tiny", "hf"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.Copy(Repo.SharedPath("models", "all-MiniLM-L6-v2-tokenizer", "vocab.txt"), Path.Combine(dir, "vocab.txt"));
        return dir;
    }
}
