using DeepSeek.Search.Core;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Util;

namespace DeepSeek.Search.Index.Lexical.Scoring;

/// <summary>
/// The top n documents of a bag-of-words BM25 query, the same list with the same scores as Lucene's BooleanQuery of SHOULD
/// term queries sorted by score then id, found with MaxScore dynamic pruning (Turtle and Flood, 1995) instead of scoring every
/// posting. Each term has an upper bound on its score in a segment (<see cref="TermBounds"/>); once the n-th best score so far
/// exceeds the sum of the smallest bounds, those terms are "non-essential": documents are enumerated only from the postings
/// of the others, and a non-essential term's postings are skipped to a candidate (Lucene's skip lists) only while the
/// candidate can still reach the n-th score. A document is passed over only when its bound is strictly below that score, with
/// a relative slack of 1e-5 for float rounding, so ties (broken by id) are never lost.
/// <para>
/// Scores are computed as Lucene.Net 4.8's BM25Similarity and BooleanScorer compute them (idf over maxDoc, average length
/// sumTotalTermFreq / maxDoc, the 256-entry length cache in float, each term's score in float, a field's terms summed in
/// double and rounded to float, the fields summed in double); MaxScoreSearchTests check them bit for bit against Lucene's own
/// search.
/// </para>
/// </summary>
internal static class MaxScoreSearch
{
    const double Slack = 1 + 1e-5;

    static readonly float[] NormLengths = BuildNormLengths();

    static float[] BuildNormLengths()
    {
        var table = new float[256];
        for (int i = 0; i < 256; i++)
        {
            float f = SmallSingle.SByte315ToSingle((sbyte)i);
            table[i] = 1.0f / (f * f);
        }
        return table;
    }

    /// <summary>One query term of one field, as scored in one segment.</summary>
    sealed class Clause
    {
        public required int Field;
        public required float WeightValue;     // boost * idf * (k1 + 1)
        public required float[] LengthCache;   // k1 * ((1 - b) + b * length / avgdl) per norm byte
        public required DocsEnum Docs;
        public required NumericDocValues? Norms;
        public required float K1;
        public double Bound;
        public int Rank;                       // position in the segment's clauses, by bound ascending
        public int Doc = -1;

        public float Score()
        {
            float norm = Norms is null ? K1 : LengthCache[(sbyte)Norms.Get(Doc) & 0xFF];
            float freq = Docs.Freq;
            return WeightValue * freq / (freq + norm);
        }
    }

    /// <summary>A query term of one field with its collection-wide weight.</summary>
    sealed record QueryTerm(int Field, Term Term, float WeightValue, float[] LengthCache, TermContext Context);

    readonly record struct Entry(float Score, byte[] Id);

    /// <summary>Worst first: lower score, then larger id.</summary>
    sealed class WorstFirst : IComparer<Entry>
    {
        public static readonly WorstFirst Instance = new();
        public int Compare(Entry a, Entry b)
        {
            int c = a.Score.CompareTo(b.Score);
            return c != 0 ? c : -CompareIds(a.Id, b.Id);
        }
    }

    static int CompareIds(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.SequenceCompareTo(b);

    /// <summary>
    /// The top <paramref name="n"/> (score descending, id ascending) of the bag of <paramref name="terms"/> (term, boost) over
    /// <paramref name="fields"/>, among live documents that match <paramref name="restriction"/> (null: all).
    /// </summary>
    public static IReadOnlyList<Hit> Search(IndexSearcher searcher, IndexReader reader, IReadOnlyList<string> fields,
        IReadOnlyList<(string Text, float Boost)> terms, float k1, float b, int n, Query? restriction)
    {
        var queryTerms = new List<QueryTerm>();
        for (int f = 0; f < fields.Count; f++)
        {
            var cs = searcher.CollectionStatistics(fields[f]);
            float avgdl = cs.SumTotalTermFreq <= 0 ? 1f : (float)(cs.SumTotalTermFreq / (double)cs.MaxDoc);
            var cache = new float[256];
            for (int i = 0; i < cache.Length; i++) cache[i] = k1 * ((1 - b) + b * NormLengths[i] / avgdl);
            foreach (var (text, boost) in terms)
            {
                var term = new Term(fields[f], text);
                var context = TermContext.Build(reader.Context, term);
                if (context.DocFreq == 0) continue;   // in no segment of this index: no posting to score
                var ts = searcher.TermStatistics(term, context);
                float idf = (float)Math.Log(1 + (cs.MaxDoc - ts.DocFreq + 0.5D) / (ts.DocFreq + 0.5D));
                float weight = idf * boost;   // Lucene's BM25Stats.Weight (its top-level boost is 1 here)
                queryTerms.Add(new QueryTerm(f, term, weight * (k1 + 1), cache, context));
            }
        }
        if (queryTerms.Count == 0) return [];
        var top = new PriorityQueue<Entry, Entry>(n + 1, WorstFirst.Instance);
        var filter = restriction is null ? null : new QueryWrapperFilter(restriction);
        foreach (var leaf in reader.Leaves)
            SearchSegment(leaf, fields.Count, queryTerms, k1, n, filter, top);

        var hits = new List<Entry>(top.Count);
        while (top.TryDequeue(out var e, out _)) hits.Add(e);
        hits.Reverse();
        return hits.ConvertAll(e => new Hit(new BytesRef(e.Id).Utf8ToString(), e.Score));
    }

    static void SearchSegment(AtomicReaderContext leaf, int fieldCount, List<QueryTerm> queryTerms, float k1, int n,
        QueryWrapperFilter? filter, PriorityQueue<Entry, Entry> top)
    {
        var reader = leaf.AtomicReader;
        IBits? accept = reader.LiveDocs;
        if (filter != null)
        {
            var permitted = filter.GetDocIdSet(leaf, reader.LiveDocs)?.GetIterator();
            if (permitted == null) return;
            var bits = new FixedBitSet(reader.MaxDoc);
            bool any = false;
            for (int d = permitted.NextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = permitted.NextDoc()) { bits.Set(d); any = true; }
            if (!any) return;
            accept = bits;
        }

        var clauses = new List<Clause>();
        foreach (var qt in queryTerms)
        {
            var state = qt.Context.Get(leaf.Ord);
            if (state == null) continue;
            var terms = reader.GetTerms(qt.Term.Field);
            var te = terms.GetEnumerator();
            te.SeekExact(qt.Term.Bytes, state);
            int docFreq = te.DocFreq;
            var docs = te.Docs(accept, null, DocsFlags.FREQS);
            if (docs == null) continue;
            var norms = reader.GetNormValues(qt.Term.Field);
            var c = new Clause { Field = qt.Field, WeightValue = qt.WeightValue, LengthCache = qt.LengthCache, Docs = docs, Norms = norms, K1 = k1 };
            // freq / (freq + norm) < 1: the term's weight bounds its score whatever the document; the frontier is tighter.
            double bound = c.WeightValue;
            if (norms != null && TermBounds.Get(reader, norms, qt.Term, state, docFreq) is { } frontier)
            {
                bound = 0;
                for (int i = 0; i < frontier.Norms.Length; i++)
                {
                    double freq = frontier.Freqs[i];
                    bound = Math.Max(bound, c.WeightValue * freq / (freq + c.LengthCache[frontier.Norms[i]]));
                }
            }
            c.Bound = bound * Slack;
            clauses.Add(c);
        }
        if (clauses.Count == 0) return;
        clauses.Sort((x, y) => x.Bound.CompareTo(y.Bound));
        for (int j = 0; j < clauses.Count; j++) clauses[j].Rank = j;
        var prefix = new double[clauses.Count];   // prefix[j]: sum of the bounds of clauses 0..j
        for (int j = 0; j < clauses.Count; j++) prefix[j] = (j == 0 ? 0 : prefix[j - 1]) + clauses[j].Bound;

        var ids = reader.GetSortedDocValues(LexicalFields.Id);
        var idBytes = new BytesRef();
        float threshold = top.Count == n ? top.Peek().Score : float.NegativeInfinity;
        // Clauses 0 .. nonEssential-1 cannot lift a document to the threshold on their own.
        int nonEssential = 0;
        while (nonEssential < clauses.Count && prefix[nonEssential] * Slack < threshold) nonEssential++;
        if (nonEssential == clauses.Count) return;

        var heap = new ClauseHeap(clauses.Count);
        for (int j = nonEssential; j < clauses.Count; j++)
        {
            clauses[j].Doc = clauses[j].Docs.NextDoc();
            if (clauses[j].Doc != DocIdSetIterator.NO_MORE_DOCS) heap.Push(clauses[j]);
        }
        var fieldSums = new double[fieldCount];
        while (heap.Count > 0)
        {
            int doc = heap.Top.Doc;
            Array.Clear(fieldSums);
            double partial = 0;
            while (heap.Count > 0 && heap.Top.Doc == doc)
            {
                var c = heap.Top;
                float s = c.Score();
                fieldSums[c.Field] += s;
                partial += s;
                c.Doc = c.Docs.NextDoc();
                if (c.Doc == DocIdSetIterator.NO_MORE_DOCS) heap.Pop();
                else heap.ReplaceTop();
            }
            bool reachable = true;
            for (int j = nonEssential - 1; j >= 0; j--)
            {
                if ((partial + prefix[j]) * Slack < threshold) { reachable = false; break; }
                var c = clauses[j];
                if (c.Doc < doc) c.Doc = c.Docs.Advance(doc);
                if (c.Doc == doc)
                {
                    float s = c.Score();
                    fieldSums[c.Field] += s;
                    partial += s;
                }
            }
            if (!reachable) continue;
            double total = 0;
            for (int f = 0; f < fieldSums.Length; f++) total += (float)fieldSums[f];
            float score = (float)total;
            bool full = top.Count == n;
            if (full && score < threshold) continue;
            ids.Get(doc, idBytes);
            var id = idBytes.Bytes.AsSpan(idBytes.Offset, idBytes.Length);
            if (full && score == threshold && CompareIds(id, top.Peek().Id) >= 0) continue;
            var entry = new Entry(score, id.ToArray());
            if (full) top.DequeueEnqueue(entry, entry);
            else top.Enqueue(entry, entry);
            if (top.Count < n) continue;
            // the n-th score rose (or was reached): more of the weakest clauses may stop producing candidates
            threshold = top.Peek().Score;
            int before = nonEssential;
            while (nonEssential < clauses.Count && prefix[nonEssential] * Slack < threshold) nonEssential++;
            if (nonEssential == clauses.Count) return;
            if (nonEssential != before) heap.RemoveAll(c => c.Rank < nonEssential);
        }
    }

    /// <summary>A binary min-heap of clauses by current document.</summary>
    sealed class ClauseHeap(int capacity)
    {
        readonly Clause[] _items = new Clause[capacity];
        public int Count { get; private set; }
        public Clause Top => _items[0];

        public void Push(Clause c)
        {
            int i = Count++;
            _items[i] = c;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (_items[parent].Doc <= _items[i].Doc) break;
                (_items[parent], _items[i]) = (_items[i], _items[parent]);
                i = parent;
            }
        }

        public void Pop()
        {
            _items[0] = _items[--Count];
            _items[Count] = null!;
            if (Count > 0) SiftDown(0);
        }

        public void ReplaceTop() => SiftDown(0);

        public void RemoveAll(Predicate<Clause> drop)
        {
            var kept = _items.Take(Count).Where(c => !drop(c)).ToArray();
            Array.Clear(_items);
            Count = 0;
            foreach (var c in kept) Push(c);
        }

        void SiftDown(int i)
        {
            while (true)
            {
                int l = 2 * i + 1, r = l + 1, m = i;
                if (l < Count && _items[l].Doc < _items[m].Doc) m = l;
                if (r < Count && _items[r].Doc < _items[m].Doc) m = r;
                if (m == i) return;
                (_items[m], _items[i]) = (_items[i], _items[m]);
                i = m;
            }
        }
    }
}
