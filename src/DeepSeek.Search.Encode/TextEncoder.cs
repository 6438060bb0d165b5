using System.Security.Cryptography;
using DeepSeek.Search.Core;
using DeepSeek.Search.Text.Tokenization;
using TorchSharp;
using static TorchSharp.torch;
using PoolingOps = DeepSeek.Search.Encode.Pooling;
using DeepSeek.Search.Torch;

namespace DeepSeek.Search.Encode;

/// <summary>
/// A BERT dual encoder: texts → fixed-size vectors for dense retrieval, with a query tower and a document tower that share weights
/// (tied) or not.
/// <para>
/// Folder layout (<see cref="Load"/> reads it, <see cref="Save"/> writes it):
/// <code>
/// dir/
///   dual_encoder.json                      optional, see <see cref="DualEncoderConfig"/>
///   config.json + model.safetensors        tied: the one BERT (a plain Hugging Face BertModel folder works as is)
///   query/  config.json + model.safetensors    untied: the query tower
///   document/ config.json + model.safetensors  untied: the document tower
///   vocab.txt | tokenizer.json [+ tokenizer_config.json]   the tokenizer (or in query/, or EncoderOptions.TokenizerDirectory)
/// </code>
/// </para>
/// <para>
/// Encoding tokenizes (truncating to max_query_length / max_document_length, special tokens included), sorts the texts by length,
/// runs batches padded to their longest member under no_grad, pools (mean over real tokens, or [CLS]), optionally L2-normalises, and
/// returns the vectors in input order. Mean pooling over our tokenizer and model reproduces the HF reference
/// (fixtures/bert-golden mean_pooled) within 1e-4. Calls are serialised; the object is safe to share between threads.
/// </para>
/// </summary>
public sealed class TextEncoder : IDisposable
{
    readonly object _gate = new();
    readonly int _batchSize;
    readonly ScalarType _dtype;
    bool _disposed;

    TextEncoder(BertModel query, BertModel document, bool tied, BertTokenizer tokenizer, DualEncoderConfig config,
        EncoderOptions options, string name, string weightsSha256, Device device)
    {
        QueryModel = query;
        DocumentModel = document;
        Tied = tied;
        Tokenizer = tokenizer;
        Config = config;
        Name = name;
        WeightsSha256 = weightsSha256;
        Device = device;
        _batchSize = options.BatchSize;
        Precision = options.Precision;
        _dtype = options.Precision switch
        {
            EncoderPrecision.Float16 => ScalarType.Float16,
            EncoderPrecision.BFloat16 => ScalarType.BFloat16,
            _ => ScalarType.Float32,
        };
        Identity = IdentityOf(name, config, weightsSha256);
    }

    /// <summary>The precision the encoder runs in (<see cref="EncoderOptions.Precision"/>).</summary>
    public EncoderPrecision Precision { get; }

    public BertModel QueryModel { get; }
    public BertModel DocumentModel { get; }

    /// <summary>Whether both towers are the same model.</summary>
    public bool Tied { get; }

    public BertTokenizer Tokenizer { get; }

    /// <summary>True when the folder had no tokenizer and the bundled bert-base-uncased vocabulary is used.</summary>
    public bool UsesBundledVocabulary { get; private set; }

    /// <summary>Effective settings (folder's dual_encoder.json with <see cref="EncoderOptions"/> overrides applied).</summary>
    public DualEncoderConfig Config { get; }

    public string Name { get; }

    /// <summary>SHA-256 of the weight file(s): model.safetensors, or query's then document's for separate towers.</summary>
    public string WeightsSha256 { get; }

    /// <summary>
    /// What an index must record to know its vectors came from this encoder: <c>name|pooling|l2-or-raw|sha256:HEX</c>
    /// (name, pooling, normalisation, and the SHA-256 of the weight file(s)).
    /// </summary>
    public string Identity { get; }

    /// <summary>Embedding width.</summary>
    public int Dimension => DocumentModel.HiddenSize;

    /// <summary><see cref="DualEncoderConfig.Pooling"/> in effect.</summary>
    public PoolingMode Pooling => Config.Pooling;

    /// <summary>Whether embeddings are L2-normalised (so inner product = cosine).</summary>
    public bool Normalize => Config.Normalize;

    /// <summary>Query length in tokens, [CLS] and [SEP] included; longer queries are truncated.</summary>
    public int MaxQueryLength => Config.MaxQueryLength;

    /// <summary>Document (chunk) length in tokens, [CLS] and [SEP] included; a chunk of MaxDocumentLength − 2 wordpieces fits.</summary>
    public int MaxDocumentLength => Config.MaxDocumentLength;

    public Device Device { get; }

    /// <summary>Loads an encoder folder (layout in the type remarks).</summary>
    /// <summary>The one definition of <see cref="Identity"/>: name, pooling, normalisation and the weights' SHA-256.</summary>
    static string IdentityOf(string name, DualEncoderConfig config, string weightsSha256) =>
        $"{name}|{PoolingOps.Name(config.Pooling)}|{(config.Normalize ? "l2" : "raw")}|sha256:{weightsSha256}";

    /// <summary>
    /// The <see cref="Identity"/> and <see cref="MaxDocumentLength"/> that <see cref="Load"/> (with default options) gives the
    /// folder <paramref name="dir"/>, read from its files — <c>dual_encoder.json</c> and a hash of the weight files — without loading
    /// the model (a snapshot's manifest records this identity).
    /// </summary>
    public static (string Identity, int MaxDocumentLength) Describe(string dir)
    {
        if (!Directory.Exists(dir)) throw new CheckpointException($"encoder folder not found: {dir}");
        var config = Override(DualEncoderConfig.Load(dir), new EncoderOptions());
        var (_, _, sha) = Towers(dir, config);
        return (IdentityOf(config.Name ?? new DirectoryInfo(dir).Name, config, sha), config.MaxDocumentLength);
    }

    /// <summary>The folders of the query and document towers (the same one when tied) and the SHA-256 of their weight files.</summary>
    static (string QueryDir, string DocumentDir, string WeightsSha256) Towers(string dir, DualEncoderConfig config)
    {
        string queryDir = config.Tied ? dir : Path.Combine(dir, "query");
        string documentDir = config.Tied ? dir : Path.Combine(dir, "document");
        if (!config.Tied)
            foreach (var d in new[] { queryDir, documentDir })
                if (!Directory.Exists(d)) throw new CheckpointException($"{dir}: {DualEncoderConfig.FileName} says tied=false but {Path.GetFileName(d)}/ is missing");
        var weightFiles = BertCheckpoint.WeightFiles(queryDir).ToList();
        if (!config.Tied) weightFiles.AddRange(BertCheckpoint.WeightFiles(documentDir));
        return (queryDir, documentDir, Sha256Files(weightFiles));
    }

    public static TextEncoder Load(string dir, EncoderOptions? options = null)
    {
        options ??= new EncoderOptions();
        if (!Directory.Exists(dir)) throw new CheckpointException($"encoder folder not found: {dir}");
        if (options.BatchSize < 1) throw new InvalidInputException($"batch size must be positive (got {options.BatchSize})");
        TorchRuntime.Initialize();
        if (options.Threads is int threads) TorchRuntime.SetThreads(threads);
        var device = TorchRuntime.ResolveDevice(options.Device);

        var config = Override(DualEncoderConfig.Load(dir), options);
        var (queryDir, documentDir, sha) = Towers(dir, config);
        var tokenizer = LoadTokenizer(dir, queryDir, options, out bool bundledTokenizer);

        BertModel? query = null, document = null;
        try
        {
            query = BertCheckpoint.Load(queryDir);
            document = config.Tied ? query : BertCheckpoint.Load(documentDir);
            string name = options.Name ?? config.Name ?? new DirectoryInfo(dir).Name;
            var encoder = Assemble(query, document, config.Tied, tokenizer, config, options, name, sha, device);
            encoder.UsesBundledVocabulary = bundledTokenizer;
            return encoder;
        }
        catch
        {
            query?.Dispose();
            if (!ReferenceEquals(document, query)) document?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An encoder over models in memory (random init, or being trained). Pass the same model (or null) as <paramref name="document"/>
    /// for tied towers. The identity hash is that of the model.safetensors <see cref="Save"/> would write. The encoder takes ownership.
    /// </summary>
    public static TextEncoder Create(BertModel query, BertModel? document, BertTokenizer tokenizer, DualEncoderConfig? config = null,
        EncoderOptions? options = null, string name = "bert")
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(tokenizer);
        options ??= new EncoderOptions();
        if (options.BatchSize < 1) throw new InvalidInputException($"batch size must be positive (got {options.BatchSize})");
        TorchRuntime.Initialize();
        if (options.Threads is int threads) TorchRuntime.SetThreads(threads);
        var device = TorchRuntime.ResolveDevice(options.Device);
        document ??= query;
        bool tied = ReferenceEquals(query, document);
        config = Override((config ?? new DualEncoderConfig()) with { Tied = tied }, options);
        config.Validate();
        // the same bytes Load would hash after Save: model.safetensors, or query's then document's
        string sha = tied ? BertCheckpoint.WeightsSha256(query) : BertCheckpoint.WeightsSha256(query, document);
        return Assemble(query, document, tied, tokenizer, config, options, options.Name ?? config.Name ?? name, sha, device);
    }

    static TextEncoder Assemble(BertModel query, BertModel document, bool tied, BertTokenizer tokenizer, DualEncoderConfig config,
        EncoderOptions options, string name, string sha, Device device)
    {
        foreach (var (model, tower) in new[] { (query, "query"), (document, "document") })
        {
            if (tokenizer.VocabSize > model.Config.VocabSize)
                throw new CheckpointException($"the tokenizer has {tokenizer.VocabSize} ids but the {tower} model's vocab_size is {model.Config.VocabSize}");
            int max = tower == "query" ? config.MaxQueryLength : config.MaxDocumentLength;
            if (max > model.Config.MaxPositionEmbeddings)
                throw new CheckpointException($"max_{tower}_length {max} is longer than the {tower} model's max_position_embeddings {model.Config.MaxPositionEmbeddings}");
        }
        if (query.HiddenSize != document.HiddenSize)
            throw new CheckpointException($"query tower width {query.HiddenSize} differs from document tower width {document.HiddenSize}");
        var encoder = new TextEncoder(query, document, tied, tokenizer, config, options, name, sha, device);
        query.To(device, encoder._dtype == ScalarType.Float32 ? null : encoder._dtype);
        if (!tied) document.To(device, encoder._dtype == ScalarType.Float32 ? null : encoder._dtype);
        query.eval();
        document.eval();
        if (options.Precision == EncoderPrecision.Int8)
        {
            query.QuantizeInt8();
            if (!tied) document.QuantizeInt8();
        }
        else if (encoder._dtype == ScalarType.Float32 && device.type == DeviceType.CPU)
        {
            // float32 on the CPU: the native kernels over packed copies of the linear weights, where the CPU has AVX-512F
            query.PackFloat32();
            if (!tied) document.PackFloat32();
        }
        return encoder;
    }

    static DualEncoderConfig Override(DualEncoderConfig c, EncoderOptions o)
    {
        var r = c with
        {
            Pooling = o.Pooling ?? c.Pooling,
            Normalize = o.Normalize ?? c.Normalize,
            MaxQueryLength = o.MaxQueryLength ?? c.MaxQueryLength,
            MaxDocumentLength = o.MaxDocumentLength ?? c.MaxDocumentLength,
        };
        r.Validate();
        return r;
    }

    static BertTokenizer LoadTokenizer(string dir, string queryDir, EncoderOptions options, out bool bundled)
    {
        bundled = false;
        if (options.TokenizerDirectory != null) return BertTokenizer.FromFolder(options.TokenizerDirectory);
        foreach (var d in new[] { dir, queryDir })
            if (File.Exists(Path.Combine(d, "vocab.txt")) || File.Exists(Path.Combine(d, "tokenizer.json")))
                return BertTokenizer.FromFolder(d);
        // A bare Hugging Face BertModel folder (save_pretrained of the model alone) has no tokenizer files. When its
        // vocabulary size is that of Google's uncased BERT vocabulary, use the copy bundled with the Text assembly.
        var config = BertConfig.Load(Path.Combine(queryDir, BertCheckpoint.ConfigFile));
        if (config.VocabSize == BertTokenizer.BundledUncasedVocabularySize)
        {
            bundled = true;
            return BertTokenizer.BundledUncased();
        }
        throw new CheckpointException($"{dir}: no tokenizer (vocab.txt or tokenizer.json) and vocab_size {config.VocabSize} is not the bundled vocabulary's {BertTokenizer.BundledUncasedVocabularySize}; add one or pass a tokenizer folder");
    }

    /// <summary>Lower-case hex SHA-256 of the files' bytes, concatenated in the given order (the weights part of <see cref="Identity"/>).</summary>
    public static string Sha256Files(IEnumerable<string> files)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var f in files)
        {
            using var fs = File.OpenRead(f);
            int n;
            while ((n = fs.Read(buffer, 0, buffer.Length)) > 0) h.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    /// <summary>
    /// Writes the encoder folder: dual_encoder.json, tokenizer (vocab.txt + tokenizer_config.json) and the weights (root, or query/ and
    /// document/). <see cref="Load"/> of it gives identical embeddings.
    /// </summary>
    public void Save(string dir)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            Directory.CreateDirectory(dir);
            (Config with { Name = Name, Tied = Tied }).Save(dir);
            Tokenizer.Save(dir);
            if (Tied) BertCheckpoint.Save(QueryModel, dir);
            else
            {
                BertCheckpoint.Save(QueryModel, Path.Combine(dir, "query"));
                BertCheckpoint.Save(DocumentModel, Path.Combine(dir, "document"));
            }
        }
    }

    /// <summary>Embeds queries with the query tower (max_query_length tokens); one vector per query, in input order.</summary>
    public float[][] EncodeQueries(IReadOnlyList<string> queries) => Encode(queries, QueryModel, Config.MaxQueryLength, Config.QueryPrefix);

    /// <summary>Embeds documents (or chunks) with the document tower (max_document_length tokens), in input order.</summary>
    public float[][] EncodeDocuments(IReadOnlyList<string> documents) => Encode(documents, DocumentModel, Config.MaxDocumentLength, Config.DocumentPrefix);

    public float[] EncodeQuery(string query) => EncodeQueries(new[] { query })[0];

    float[][] Encode(IReadOnlyList<string> texts, BertModel model, int maxLength, string prefix)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int n = texts.Count;
        var result = new float[n][];
        if (n == 0) return result;
        var inputs = new string[n];
        for (int i = 0; i < n; i++)
            inputs[i] = texts[i] is string t ? prefix + t : throw new InvalidInputException($"text {i} of {n} is null");

        var encodings = Tokenizer.EncodeBatch(inputs, maxLength).Items;
        var order = Enumerable.Range(0, n).OrderByDescending(i => encodings[i].Length).ThenBy(i => i).ToArray();
        int dim = model.HiddenSize;

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (int start = 0; start < n; start += _batchSize)
            {
                int count = Math.Min(_batchSize, n - start);
                int seq = encodings[order[start]].Length; // longest of the batch: sorted descending
                bool padded = encodings[order[start + count - 1]].Length != seq;
                var ids = new long[count * seq];
                var mask = new long[count * seq];
                for (int b = 0; b < count; b++)
                {
                    var e = encodings[order[start + b]];
                    for (int t = 0; t < e.Length; t++)
                    {
                        ids[b * seq + t] = e.Ids[t];
                        mask[b * seq + t] = 1;
                    }
                    for (int t = e.Length; t < seq; t++) ids[b * seq + t] = Tokenizer.PadId;
                }

                float[] flat;
                using (NewDisposeScope())
                using (no_grad())
                {
                    var idsT = tensor(ids, new long[] { count, seq }).to(Device);
                    var maskT = tensor(mask, new long[] { count, seq }).to(Device);
                    // without padding the mask changes nothing; leaving it out lets SDPA take its fastest kernel
                    var output = model.Forward(idsT, padded ? maskT : null);
                    var pooled = PoolingOps.Apply(Config.Pooling, output.LastHiddenState, maskT).to(ScalarType.Float32);
                    if (Config.Normalize) pooled = PoolingOps.L2Normalize(pooled);
                    flat = pooled.cpu().contiguous().data<float>().ToArray();
                }
                for (int b = 0; b < count; b++)
                    result[order[start + b]] = flat.AsSpan(b * dim, dim).ToArray();
            }
        }
        return result;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            QueryModel.Dispose();
            if (!Tied) DocumentModel.Dispose();
        }
    }
}
