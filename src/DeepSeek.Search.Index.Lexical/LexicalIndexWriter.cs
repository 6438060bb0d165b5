using DeepSeek.Search.Core;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Directory = System.IO.Directory;
using LuceneDocument = Lucene.Net.Documents.Document;

namespace DeepSeek.Search.Index.Lexical;

/// <summary>
/// Builds a lexical (BM25) index: a fresh Lucene directory written in one commit, then <c>lexical.json</c>.
/// Any index already in the folder is replaced; until the new build commits, the folder has no <c>lexical.json</c>
/// and cannot be opened, so a failed build never leaves a half-written index that looks valid.
/// </summary>
public static class LexicalIndexWriter
{
    /// <summary>
    /// Indexes <paramref name="docs"/> (streamed once) into <paramref name="directory"/>. Throws
    /// <see cref="InvalidInputException"/> for invalid options, an empty id or a duplicate id.
    /// </summary>
    public static LexicalIndexInfo Build(string directory, IEnumerable<Core.Document> docs, Bm25Options? options = null)
    {
        ArgumentNullException.ThrowIfNull(docs);
        if (string.IsNullOrWhiteSpace(directory)) throw new InvalidInputException("lexical index directory is empty");
        options ??= Bm25Options.Default;
        options.Validate();

        Directory.CreateDirectory(directory);
        string infoPath = Path.Combine(directory, LexicalIndexInfo.FileName);
        if (File.Exists(infoPath)) File.Delete(infoPath);

        using var analyzer = LexicalAnalyzers.Create(options.Analyzer);
        using var dir = FSDirectory.Open(new DirectoryInfo(directory));
        var config = new IndexWriterConfig(LexicalAnalyzers.Version, analyzer)
        {
            OpenMode = OpenMode.CREATE,
            Similarity = new BM25Similarity(options.K1, options.B),
            RAMBufferSizeMB = 128,
        };
        var writer = new IndexWriter(dir, config);
        int count = 0;
        try
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var idField = new StringField(LexicalFields.Id, "", Field.Store.YES);
            var idSort = new SortedDocValuesField(LexicalFields.Id, new BytesRef());
            var contents = new TextField(LexicalFields.Contents, "", Field.Store.NO);
            var title = new TextField(LexicalFields.Title, "", Field.Store.NO);
            var body = new TextField(LexicalFields.Body, "", Field.Store.NO);
            var doc = new LuceneDocument { idField, idSort };
            if (options.FieldMode == LexicalFieldMode.Flat) doc.Add(contents);
            else { doc.Add(title); doc.Add(body); }

            foreach (var d in docs)
            {
                if (d is null) throw new InvalidInputException("document sequence contains null");
                if (string.IsNullOrEmpty(d.Id)) throw new InvalidInputException("document with an empty id");
                if (!seen.Add(d.Id)) throw new InvalidInputException($"duplicate document id '{d.Id}'");
                idField.SetStringValue(d.Id);
                idSort.SetBytesValue(new BytesRef(d.Id));
                string t = d.Title ?? "", b = d.Text ?? "";
                if (options.FieldMode == LexicalFieldMode.Flat)
                    contents.SetStringValue(t.Length == 0 ? b : b.Length == 0 ? t : t + "\n" + b);
                else
                {
                    title.SetStringValue(t);
                    body.SetStringValue(b);
                }
                writer.AddDocument(doc);
                count++;
            }
            writer.Commit();
            writer.Dispose();
        }
        catch
        {
            writer.Rollback();
            throw;
        }

        var info = new LexicalIndexInfo
        {
            Analyzer = options.Analyzer, K1 = options.K1, B = options.B, FieldMode = options.FieldMode, DocumentCount = count,
        };
        info.Write(directory);
        return info;
    }
}
