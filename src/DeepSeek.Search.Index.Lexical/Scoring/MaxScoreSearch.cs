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
/// <para>
/// Within a range, the essential terms' postings are gathered a window of <see cref="Window"/> documents at a time: each adds
/// its scores into per-document slots (no merging of postings lists through a heap), then the window's candidates are
/// confirmed in id order against the non-essential terms. The essential set is fixed for a window and narrowed between windows.
/// </para>
/// <para>
/// A search is split into ranges of document ids (a segment into up to two ranges per core) taken by whichever threads work on
/// its <see cref="Plan"/>: on the thread pool when it is large and the pool has no backlog, and a hybrid search's own thread
/// once its dense side is done. Each thread keeps its own top n (ids as segment ordinals until its ranges are done) and its
/// own enumerators (<see cref="Scratch"/>, kept by the index reader's <see cref="ScratchPool"/>). The ranges share a floor:
/// the largest n-th score any thread holds (n documents score at least that much, so a document below it cannot be in the
/// top n), which every range prunes against. The top n of the union of the threads' top n is the same list as one pass would find.
/// </para>
/// </summary>
internal static class MaxScoreSearch
{
    const double Slack = 1 + 1e-5;

    /// <summary>Documents whose scores are gathered at once (a multiple of 64).</summary>
    const int Window = 2048;

    /// <summary>Documents a range holds at least: a segment smaller than twice this is searched as one range.</summary>
    internal static int MinRangeDocs { get; set; } = 65_536;

    /// <summary>Postings (summed over the query's terms) below which a search stays on the calling thread.</summary>
    internal static long MinParallelPostings { get; set; } = 32_768;

    /// <summary>Threads a search uses (half the ranges a segment is split into, at most); null: one per core (tests set more).</summary>
    internal static int? Workers { get; set; }

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
        public int Doc = -1;

        public float Score()
        {
            float norm = Norms is null ? K1 : LengthCache[(sbyte)Norms.Get(Doc) & 0xFF];
            float freq = Docs.Freq;
            return WeightValue * freq / (freq + norm);
        }
    }

    /// <summary>A query term of one field with its collection-wide weight.</summary>
    internal sealed record QueryTerm(int Field, Term Term, float WeightValue, float[] LengthCache, TermContext Context);

    /// <summary>A hit with its id's bytes: what a thread's top n becomes once its ranges are done.</summary>
    internal readonly record struct Entry(float Score, byte[] Id);

    /// <summary>
    /// A hit while a thread searches: its id as the ordinal of the segment's sorted id doc values (ordinals sort as the ids
    /// do within a segment, so no id is read for a candidate; reading one costs Lucene's compressed doc values a seek and
    /// a buffer). Ids of two segments are compared by their bytes, looked up then (score ties across segments only).
    /// </summary>
    internal readonly record struct Candidate(float Score, int Ord, SegmentIds Ids);

    /// <summary>The id doc values of one segment as one thread reads them (Lucene's instances are per thread).</summary>
    internal sealed class SegmentIds(int leaf, SortedDocValues values)
    {
        public int Leaf { get; } = leaf;

        public int Ord(int doc) => values.GetOrd(doc);

        public byte[] Bytes(int ord)
        {
            if (ord < 0) return [];   // a document without an id: sorts first, as Lucene's missing value
            var bytes = new BytesRef();
            values.LookupOrd(ord, bytes);
            return bytes.Bytes.AsSpan(bytes.Offset, bytes.Length).ToArray();
        }
    }

    /// <summary>Worst first: lower score, then larger id.</summary>
    sealed class WorstFirst : IComparer<Candidate>
    {
        public static readonly WorstFirst Instance = new();
        public int Compare(Candidate a, Candidate b)
        {
            int c = a.Score.CompareTo(b.Score);
            return c != 0 ? c : -CompareIds(a, b);
        }
    }

    static int CompareIds(Candidate a, Candidate b) =>
        a.Ids.Leaf == b.Ids.Leaf ? a.Ord.CompareTo(b.Ord) : CompareIds(a.Ids.Bytes(a.Ord), b.Ids.Bytes(b.Ord));

    /// <summary>Best first: higher score, then smaller id.</summary>
    static int BestFirst(Entry a, Entry b)
    {
        int c = b.Score.CompareTo(a.Score);
        return c != 0 ? c : CompareIds(a.Id, b.Id);
    }

    static int CompareIds(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.SequenceCompareTo(b);

    /// <summary>
    /// The hits of <paramref name="plan"/>, worked on by this thread and, for a large search on an idle pool, one pool thread
    /// per other core.
    /// </summary>
    public static IReadOnlyList<Hit> Run(Plan plan)
    {
        int workers = Workers ?? (plan.Postings >= MinParallelPostings && ThreadPool.PendingWorkItemCount == 0 ? Environment.ProcessorCount : 1);
        workers = Math.Min(workers, plan.RangeCount);
        if (workers <= 1)
        {
            plan.Work();
            return plan.Hits();
        }
        var helpers = new Task[workers - 1];
        for (int w = 0; w < helpers.Length; w++) helpers[w] = Task.Run(plan.Work);
        Exception? failure = null;
        try { plan.Work(); }
        catch (Exception ex) { failure = ex; }
        try { Task.WaitAll(helpers); }
        catch (AggregateException ex) { failure ??= ex.InnerExceptions[0]; }
        if (failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return plan.Hits();
    }

    /// <summary>
    /// The top <paramref name="n"/> (score descending, id ascending) of the bag of <paramref name="terms"/> (term, boost) over
    /// <paramref name="fields"/>, among live documents that match <paramref name="restriction"/> (null: all), ready to run:
    /// the query's terms with their weights, and the ranges of document ids still to search. Any
    /// number of threads may call <see cref="Work"/> at once (each takes ranges until none is left, into its own top n);
    /// <see cref="Hits"/> merges them once every call has returned.
    /// </summary>
    internal static Plan Prepare(IndexSearcher searcher, IndexReader reader, ScratchPool pool, IReadOnlyList<string> fields,
        IReadOnlyList<(string Text, float Boost)> terms, float k1, float b, int n, Query? restriction)
    {
        var queryTerms = new List<QueryTerm>();
        // one terms enumerator per segment and field for all of the query's terms (TermContext.Build makes one per term and
        // segment), the pool's: kept from search to search
        var scratch = pool.Rent();
        try
        {
            for (int f = 0; f < fields.Count; f++)
            {
                var cs = searcher.CollectionStatistics(fields[f]);
                float avgdl = cs.SumTotalTermFreq <= 0 ? 1f : (float)(cs.SumTotalTermFreq / (double)cs.MaxDoc);
                var cache = new float[256];
                for (int i = 0; i < cache.Length; i++) cache[i] = k1 * ((1 - b) + b * NormLengths[i] / avgdl);
                foreach (var (text, boost) in terms)
                {
                    var term = new Term(fields[f], text);
                    var context = new TermContext(reader.Context);
                    foreach (var leaf in reader.Leaves)
                    {
                        var te = scratch.TermsOf(leaf, fields[f]);
                        if (te != null && te.SeekExact(term.Bytes)) context.Register(te.GetTermState(), leaf.Ord, te.DocFreq, te.TotalTermFreq);
                    }
                    if (context.DocFreq == 0) continue;   // in no segment of this index: no posting to score
                    var ts = searcher.TermStatistics(term, context);
                    float idf = (float)Math.Log(1 + (cs.MaxDoc - ts.DocFreq + 0.5D) / (ts.DocFreq + 0.5D));
                    float weight = idf * boost;   // Lucene's BM25Stats.Weight (its top-level boost is 1 here)
                    queryTerms.Add(new QueryTerm(f, term, weight * (k1 + 1), cache, context));
                }
            }
        }
        finally { pool.Return(scratch); }
        var ranges = new List<(AtomicReaderContext Leaf, int Lo, int Hi)>();
        if (queryTerms.Count > 0)
        {
            // two ranges per thread that may work: a thread that joins late still finds some left
            int most = 2 * Math.Max(1, Workers ?? Environment.ProcessorCount);
            foreach (var leaf in reader.Leaves)
            {
                int maxDoc = leaf.AtomicReader.MaxDoc;
                int parts = Math.Clamp(maxDoc / Math.Max(1, MinRangeDocs), 1, most);
                for (int i = 0; i < parts; i++)
                    ranges.Add((leaf, (int)((long)maxDoc * i / parts), (int)((long)maxDoc * (i + 1) / parts)));
            }
        }
        return new Plan(reader, pool, restriction is null ? null : new QueryWrapperFilter(restriction), fields.Count, queryTerms, k1, n, ranges);
    }

    internal sealed class Plan
    {
        readonly int _fieldCount, _n;
        readonly float _k1;
        readonly List<QueryTerm> _terms;
        readonly List<(AtomicReaderContext Leaf, int Lo, int Hi)> _ranges;
        readonly Lazy<(bool Any, IBits? Accept)>[] _accepted;
        readonly Floor _floor = new();
        readonly List<Entry> _found = [];
        readonly ScratchPool _pool;
        int _next = -1;

        public Plan(IndexReader reader, ScratchPool pool, QueryWrapperFilter? filter, int fieldCount, List<QueryTerm> terms, float k1, int n,
            List<(AtomicReaderContext Leaf, int Lo, int Hi)> ranges)
        {
            (_pool, _fieldCount, _terms, _k1, _n, _ranges) = (pool, fieldCount, terms, k1, n, ranges);
            var leaves = reader.Leaves;
            _accepted = new Lazy<(bool, IBits?)>[leaves.Count];
            for (int i = 0; i < leaves.Count; i++)
            {
                var leaf = leaves[i];
                _accepted[i] = new(() => (Accepted(leaf, filter, out var accept), accept), LazyThreadSafetyMode.ExecutionAndPublication);
            }
            foreach (var t in terms) Postings += t.Context.DocFreq;
        }

        /// <summary>The query terms' postings, summed: what a search costs, roughly.</summary>
        public long Postings { get; }

        public int RangeCount => _ranges.Count;

        /// <summary>Searches ranges not yet taken until none is left.</summary>
        public void Work()
        {
            PriorityQueue<Candidate, Candidate>? top = null;
            Scratch? scratch = null;
            var segments = new Dictionary<int, SegmentIds>();
            try
            {
                for (int r = Interlocked.Increment(ref _next); r < _ranges.Count; r = Interlocked.Increment(ref _next))
                {
                    if (top == null)
                    {
                        top = new PriorityQueue<Candidate, Candidate>(_n + 1, WorstFirst.Instance);
                        scratch = _pool.Rent();
                    }
                    var (leaf, lo, hi) = _ranges[r];
                    var (any, accept) = _accepted[leaf.Ord].Value;
                    if (!any) continue;
                    if (!segments.TryGetValue(leaf.Ord, out var ids))
                        segments[leaf.Ord] = ids = new SegmentIds(leaf.Ord, leaf.AtomicReader.GetSortedDocValues(LexicalFields.Id));
                    SearchRange(leaf, lo, hi, accept, ids, _fieldCount, _terms, _k1, _n, top, _floor, scratch!);
                }
            }
            finally
            {
                // a range that failed may leave its window's slots dirty: such scratch is not used again
                if (scratch != null && !scratch.Dirty) _pool.Return(scratch);
            }
            if (top == null) return;
            // this thread's doc values, read by this thread: the ids of its top n
            var entries = new List<Entry>(top.Count);
            foreach (var (c, _) in top.UnorderedItems) entries.Add(new Entry(c.Score, c.Ids.Bytes(c.Ord)));
            lock (_found) _found.AddRange(entries);
        }

        /// <summary>The top n of the workers' top n: score descending, id ascending. Only once every <see cref="Work"/> call has returned.</summary>
        public IReadOnlyList<Hit> Hits()
        {
            List<Entry> hits;
            lock (_found) hits = [.. _found];
            hits.Sort(BestFirst);
            if (hits.Count > _n) hits.RemoveRange(_n, hits.Count - _n);
            return hits.ConvertAll(e => new Hit(new BytesRef(e.Id).Utf8ToString(), e.Score));
        }
    }

    /// <summary>
    /// The documents of segment <paramref name="leaf"/> a search may return (<paramref name="accept"/>: null for all, else live
    /// and permitted ones); false when there are none.
    /// </summary>
    static bool Accepted(AtomicReaderContext leaf, QueryWrapperFilter? filter, out IBits? accept)
    {
        var reader = leaf.AtomicReader;
        accept = reader.LiveDocs;
        if (filter == null) return true;
        var permitted = filter.GetDocIdSet(leaf, reader.LiveDocs)?.GetIterator();
        if (permitted == null) return false;
        var bits = new FixedBitSet(reader.MaxDoc);
        bool any = false;
        for (int d = permitted.NextDoc(); d != DocIdSetIterator.NO_MORE_DOCS; d = permitted.NextDoc()) { bits.Set(d); any = true; }
        accept = bits;
        return any;
    }

    /// <summary>The largest n-th score any range of a search holds so far: a lower bound on the search's n-th score.</summary>
    sealed class Floor
    {
        float _value = float.NegativeInfinity;

        public float Value => Volatile.Read(ref _value);

        public void Raise(float score)
        {
            float seen = Volatile.Read(ref _value);
            while (score > seen)
            {
                float was = Interlocked.CompareExchange(ref _value, score, seen);
                if (was == seen) return;
                seen = was;
            }
        }
    }

    /// <summary>
    /// What one thread reuses from range to range of a search, and from search to search of one index reader (through its
    /// <see cref="ScratchPool"/>): the window's slots, and per segment its terms enumerators and DocsEnums (Lucene's
    /// enumerators allocate their buffers when made; a reused one is repositioned by SeekExact and reset by Docs, which makes
    /// a new one instead when the old one cannot serve the term's field). Used by one thread at a time.
    /// </summary>
    internal sealed class Scratch(int fieldCount)
    {
        public readonly double[] Slots = new double[fieldCount * Window];
        public readonly double[] Partials = new double[Window];
        public readonly ulong[] Present = new ulong[Window / 64];
        public readonly double[] FieldSums = new double[fieldCount];
        readonly Dictionary<(int Leaf, string Field), TermsEnum?> _terms = [];
        readonly Dictionary<(int Leaf, int Term), DocsEnum> _docs = [];

        /// <summary>Set while a range runs: the slots are all zero again only once it returns.</summary>
        public bool Dirty;

        /// <summary>The terms enumerator of <paramref name="field"/> in segment <paramref name="leaf"/>; null when the segment has no such field.</summary>
        public TermsEnum? TermsOf(AtomicReaderContext leaf, string field)
        {
            if (!_terms.TryGetValue((leaf.Ord, field), out var te)) _terms[(leaf.Ord, field)] = te = leaf.AtomicReader.GetTerms(field)?.GetEnumerator();
            return te;
        }

        /// <summary>A DocsEnum with frequencies over the postings <paramref name="te"/> is positioned on, the one slot <paramref name="term"/> of segment <paramref name="leaf"/> kept, reset.</summary>
        public DocsEnum? Docs(AtomicReaderContext leaf, int term, TermsEnum te, IBits? accept)
        {
            var docs = te.Docs(accept, _docs.GetValueOrDefault((leaf.Ord, term)), DocsFlags.FREQS);
            if (docs != null) _docs[(leaf.Ord, term)] = docs;
            return docs;
        }
    }

    /// <summary>
    /// The <see cref="Scratch"/> of one index reader's searches (segment ordinals, enumerators and DocsEnums belong to one
    /// reader): a search's threads rent one each and return it, so a steady stream of searches allocates no enumerators or
    /// windows once every thread that searches has one. Holds at most <see cref="MaxKept"/>.
    /// </summary>
    internal sealed class ScratchPool(int fieldCount)
    {
        /// <summary>Scratch kept for reuse; more threads than this searching at once make (and then drop) their own.</summary>
        public const int MaxKept = 64;

        readonly Stack<Scratch> _free = new();

        public Scratch Rent()
        {
            lock (_free)
                if (_free.TryPop(out var scratch)) return scratch;
            return new Scratch(fieldCount);
        }

        public void Return(Scratch scratch)
        {
            lock (_free)
                if (_free.Count < MaxKept) _free.Push(scratch);
        }
    }

    /// <summary>
    /// Documents <paramref name="lo"/> (inclusive) to <paramref name="hi"/> (exclusive) of segment <paramref name="leaf"/> into
    /// <paramref name="top"/>, pruning against the larger of its own n-th score and <paramref name="floor"/>, which it raises.
    /// </summary>
    static void SearchRange(AtomicReaderContext leaf, int lo, int hi, IBits? accept, SegmentIds ids, int fieldCount, List<QueryTerm> queryTerms, float k1, int n,
        PriorityQueue<Candidate, Candidate> top, Floor floor, Scratch scratch)
    {
        var reader = leaf.AtomicReader;
        var clauses = new List<Clause>();
        for (int t = 0; t < queryTerms.Count; t++)
        {
            var qt = queryTerms[t];
            var state = qt.Context.Get(leaf.Ord);
            if (state == null) continue;
            var te = scratch.TermsOf(leaf, qt.Term.Field)!;   // a term with a state here is in this segment's field
            te.SeekExact(qt.Term.Bytes, state);
            int docFreq = te.DocFreq;
            var docs = scratch.Docs(leaf, t, te, accept);
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
        var prefix = new double[clauses.Count];   // prefix[j]: sum of the bounds of clauses 0..j
        for (int j = 0; j < clauses.Count; j++) prefix[j] = (j == 0 ? 0 : prefix[j - 1]) + clauses[j].Bound;

        // own: this range's n-th score (its ties are broken by id against its own top); threshold: what pruning compares with.
        float own = top.Count == n ? top.Peek().Score : float.NegativeInfinity;
        float threshold = Math.Max(own, floor.Value);
        // Clauses 0 .. nonEssential-1 cannot lift a document to the threshold on their own.
        int nonEssential = 0;
        while (nonEssential < clauses.Count && prefix[nonEssential] * Slack < threshold) nonEssential++;
        if (nonEssential == clauses.Count) return;

        // Window by window of document ids: the essential clauses' postings in the window add their scores into per-document
        // slots (no merging of postings lists), then the window's candidates are taken in id order. The essential set is
        // fixed for a window (its accumulated scores count those clauses) and narrowed between windows.
        var (slots, partials, present, fieldSums) = (scratch.Slots, scratch.Partials, scratch.Present, scratch.FieldSums);
        scratch.Dirty = true;   // cleared once every window is taken (each returns its slots to zero)
        for (int start = lo; start < hi;)
        {
            int end = Math.Min(hi, start + Window);
            for (int j = nonEssential; j < clauses.Count; j++)
            {
                var c = clauses[j];
                if (c.Doc < start) c.Doc = c.Docs.Advance(start);
                int d = c.Doc;
                while (d < end)
                {
                    int i = d - start;
                    float s = c.Score();
                    slots[c.Field * Window + i] += s;
                    partials[i] += s;
                    present[i >> 6] |= 1UL << i;
                    d = c.Doc = c.Docs.NextDoc();
                }
            }
            int essentialFrom = nonEssential;
            for (int word = 0; word < present.Length; word++)
            {
                for (ulong bits = present[word]; bits != 0; bits &= bits - 1)
                {
                    int i = (word << 6) | System.Numerics.BitOperations.TrailingZeroCount(bits);
                    int doc = start + i;
                    double partial = partials[i];
                    partials[i] = 0;
                    for (int f = 0; f < fieldCount; f++) { fieldSums[f] = slots[f * Window + i]; slots[f * Window + i] = 0; }
                    if (floor.Value > threshold) threshold = floor.Value;   // another range raised the floor
                    bool reachable = true;
                    for (int j = essentialFrom - 1; j >= 0; j--)
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
                    if (score < threshold) continue;
                    var entry = new Candidate(score, ids.Ord(doc), ids);
                    if (full && score == own && CompareIds(entry, top.Peek()) >= 0) continue;
                    if (full) top.DequeueEnqueue(entry, entry);
                    else top.Enqueue(entry, entry);
                    if (top.Count < n) continue;
                    own = top.Peek().Score;
                    floor.Raise(own);
                    if (own > threshold) threshold = own;
                }
                present[word] = 0;
            }
            // the n-th score rose (or was reached): more of the weakest clauses may stop producing candidates
            if (floor.Value > threshold) threshold = floor.Value;
            while (nonEssential < clauses.Count && prefix[nonEssential] * Slack < threshold) nonEssential++;
            if (nonEssential == clauses.Count) break;
            // the next window starts at the next posting of a clause still essential
            start = Math.Max(end, MinDoc(clauses, nonEssential));
        }
        scratch.Dirty = false;
    }

    /// <summary>The smallest current document of clauses <paramref name="first"/> onwards (each read up to the window's end).</summary>
    static int MinDoc(List<Clause> clauses, int first)
    {
        int min = DocIdSetIterator.NO_MORE_DOCS;
        for (int j = first; j < clauses.Count; j++) min = Math.Min(min, clauses[j].Doc);
        return min;
    }
}
