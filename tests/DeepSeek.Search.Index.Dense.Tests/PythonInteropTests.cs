using DeepSeek.Search.TestKit;

namespace DeepSeek.Search.Index.Dense.Tests;

/// <summary>Our index files are ordinary FAISS files: Python's faiss reads ours and we read Python's (skipped without python3-faiss).</summary>
public class PythonInteropTests
{
    const int D = 24;

    [PythonFaissFact]
    public void PythonReadsOurFile()
    {
        using var dir = new TempDir();
        var data = TestVectors.RandomUnit(300, D, seed: 30);
        var ids = TestVectors.Ids(300, first: 40, step: 5);
        var query = TestVectors.RandomUnit(1, D, seed: 31);
        using var index = FaissIndex.Create(D, "IDMap2,HNSW16,Flat");
        index.Add(data, ids);
        index.Write(dir.File("ours.faiss"));
        File.WriteAllBytes(dir.File("query.f32"), query.SelectMany(BitConverter.GetBytes).ToArray());

        const string script = """
            import sys, faiss, numpy as np
            index = faiss.read_index(sys.argv[1])
            q = np.fromfile(sys.argv[2], dtype='float32').reshape(1, index.d)
            D, I = index.search(q, 5)
            print(index.ntotal, index.d, ' '.join(str(int(i)) for i in I[0]))
            """;
        var (exit, output, error) = PythonRunner.Run(script, TimeSpan.FromSeconds(60), dir.File("ours.faiss"), dir.File("query.f32"));
        Assert.True(exit == 0, error);
        var parts = output.Trim().Split(' ');
        Assert.Equal("300", parts[0]);
        Assert.Equal(D.ToString(), parts[1]);
        Assert.Equal(index.Search(query, 5)[0].Select(h => h.Id.ToString()), parts[2..]);
    }

    [PythonFaissFact]
    public void WeReadPythonsFile()
    {
        using var dir = new TempDir();
        var data = TestVectors.RandomUnit(200, D, seed: 32);
        File.WriteAllBytes(dir.File("data.f32"), data.SelectMany(BitConverter.GetBytes).ToArray());
        const string script = """
            import sys, faiss, numpy as np
            x = np.fromfile(sys.argv[1], dtype='float32').reshape(-1, int(sys.argv[3]))
            index = faiss.index_factory(x.shape[1], "IDMap2,Flat", faiss.METRIC_INNER_PRODUCT)
            index.add_with_ids(x, np.arange(x.shape[0], dtype='int64') * 7)
            faiss.write_index(index, sys.argv[2])
            """;
        var (exit, _, error) = PythonRunner.Run(script, TimeSpan.FromSeconds(60), dir.File("data.f32"), dir.File("py.faiss"), D.ToString());
        Assert.True(exit == 0, error);

        using var index = FaissIndex.Read(dir.File("py.faiss"));
        Assert.Equal(200, index.Count);
        Assert.Equal("IDMap2,Flat", index.Factory);
        Assert.Equal(FaissMetric.InnerProduct, index.Metric);
        Assert.Equal(7 * 42, index.Search(data.AsSpan(42 * D, D), 1)[0][0].Id);
    }

    [PythonFaissFact]
    public void PythonReadsOurIvfWithDirectMap()
    {
        // Reconstruct gives an IVF index a direct map (array inside IDMap2, hashtable bare); the file stays a FAISS file.
        using var dir = new TempDir();
        var data = TestVectors.RandomUnit(400, D, seed: 33);
        var ids = TestVectors.Ids(400, first: 9, step: 11);
        foreach (var factory in new[] { "IDMap2,IVF8,Flat", "IVF8,Flat" })
        {
            using var index = FaissIndex.Create(D, factory);
            index.Train(data);
            index.Add(data, ids);
            index.Reconstruct([ids[0]]);
            string path = dir.File("ivf.faiss");
            index.Write(path);
            const string script = """
                import sys, faiss, numpy as np
                index = faiss.read_index(sys.argv[1])
                print(index.ntotal, ' '.join(repr(float(v)) for v in index.reconstruct(int(sys.argv[2]))))
                """;
            var (exit, output, error) = PythonRunner.Run(script, TimeSpan.FromSeconds(60), path, ids[123].ToString());
            Assert.True(exit == 0, error);
            var parts = output.Trim().Split(' ');
            Assert.Equal("400", parts[0]);
            Assert.Equal(index.Reconstruct([ids[123]]), parts[1..].Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)));
        }
    }
}
