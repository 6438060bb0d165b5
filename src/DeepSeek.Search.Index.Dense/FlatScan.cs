using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSeek.Search.Index.Dense;

/// <summary>
/// Exact inner-product top-k over a row-major float32 matrix (count × d), over FAISS's 8-bit scalar-quantised codes
/// (<see cref="SearchSq8"/>), or over the probed lists of an IVF,Flat or IVF,SQ8 index (<see cref="SearchLists"/>), for the few-query
/// searches where FAISS 1.7.3's
/// flat index leaves bandwidth unused: below its BLAS threshold FAISS scores one query on one thread, so a single query
/// reads the matrix at one core's speed. Here the rows are cut into one contiguous range per thread, every range streams
/// once per group of up to four queries (each row is read once and dotted with all of them), and each thread keeps its
/// own bounded top-k heaps, so no scores are written out; the heaps are merged at the end.
/// <para>
/// Order: best score first; equal scores by smaller id (the order <see cref="ExactVectors"/> uses). Scores are float32 sums
/// in a different order than FAISS's, so they can differ from FAISS's in the last bits (checked against FAISS's own flat
/// search in FlatScanTests, to 1e-5).
/// </para>
/// <para>
/// Filtering: with a selection bitmap, a row whose id is not selected is skipped before its floats are read.
/// </para>
/// </summary>
static unsafe class FlatScan
{
    /// <summary>Queries scored in one pass over the rows.</summary>
    const int Group = 4;

    /// <summary>Below this many rows per thread, splitting costs more than it saves (one range of 16k × 384 floats is ~25 MB).</summary>
    const long MinRowsPerThread = 16_384;

    /// <summary>
    /// The k best rows of each query (row-major nq × d), best first. <paramref name="ids"/> is null when row i's id is i.
    /// With <paramref name="bits"/> (a bitmap over ids [0, capacity), <see cref="IdSelection"/>'s layout), only selected rows
    /// are scored. The memory must stay unchanged for the duration of the call.
    /// </summary>
    public static DenseHit[][] Search(float* rows, long* ids, long count, int d, float* queries, int nq, int k, int threads,
                                      byte* bits = null, long capacity = 0) =>
        Run(new Scan(rows, null, null, ids, count, d, queries, nq, k, bits, capacity), nq, count, threads);

    /// <summary>
    /// The same search over FAISS's 8-bit scalar-quantised codes (count × d bytes) with their quantiser
    /// (<paramref name="trained"/>: vmin for each dimension, then vdiff; FAISS 1.7.3's QT_8bit decodes component i to
    /// vmin[i] + (c[i] + 0.5) / 255 · vdiff[i]). The score of a row is its decoded vector's inner product with the query,
    /// computed as a + Σ w[i]·c[i] with w[i] = q[i]·vdiff[i] / 255 and a = Σ q[i]·vmin[i] + ½ Σ w[i] (both per query, in
    /// float64), so the codes are never decoded: a quarter of the bytes of a float scan per row.
    /// </summary>
    public static DenseHit[][] SearchSq8(byte* codes, float* trained, long* ids, long count, int d, float* queries, int nq, int k,
                                         int threads, byte* bits = null, long capacity = 0)
    {
        var weights = new float[(long)nq * d];
        var offsets = new float[nq];
        fixed (float* w = weights)
        fixed (float* o = offsets)
        {
            for (int q = 0; q < nq; q++) o[q] = Sq8Weights(trained, queries + (long)q * d, d, w + (long)q * d);
            return Run(new Scan(null, codes, w, ids, count, d, queries, nq, k, bits, capacity, o), nq, count, threads);
        }
    }

    /// <summary>
    /// A query's weights over 8-bit codes (<see cref="SearchSq8"/>): w[i] = q[i]·vdiff[i] / 255 into <paramref name="weights"/>,
    /// and the returned offset a = Σ q[i]·vmin[i] + ½ Σ w[i], both summed in float64, so that a code row c scores
    /// a + Σ w[i]·c[i], the inner product of the query with its decoded vector.
    /// </summary>
    static float Sq8Weights(float* trained, float* query, int d, float* weights)
    {
        double a = 0, half = 0;
        for (int i = 0; i < d; i++)
        {
            double x = query[i];
            double w = x * trained[d + i] / 255.0;
            weights[i] = (float)w;
            a += x * trained[i];
            half += w;
        }
        return (float)(a + 0.5 * half);
    }

    /// <summary>Rows of probed IVF lists per thread at least (4k × 384 floats is 6 MB, a fraction of a millisecond's read).</summary>
    const long MinListRowsPerThread = 4_096;

    /// <summary>
    /// The k best rows of one query among the rows of several lists (an IVF index's probed lists: list j holds
    /// <paramref name="sizes"/>[j] rows at <paramref name="rows"/>[j] with their <paramref name="ids"/>[j], which are positions
    /// into <paramref name="idMap"/> when it is not null), best first. All the lists' rows, in list order, are cut into one
    /// range per thread. Selection, ties and score order as in <see cref="Search"/>. The rows are d floats each, or, with
    /// <paramref name="sq8Trained"/> (the quantiser: vmin, then vdiff), FAISS's 8-bit codes of d bytes scored as in
    /// <see cref="SearchSq8"/>, plus list j's <paramref name="listOffsets"/>[j] when given (an IVF,SQ8 index that encodes
    /// residuals adds the query's inner product with the list's centroid, as FAISS 1.7.3's IVF scanner does).
    /// </summary>
    public static DenseHit[] SearchLists(byte*[] rows, long*[] ids, long[] sizes, long* idMap, int d, float* query, int k, int threads,
                                         byte* bits = null, long capacity = 0, float* sq8Trained = null, float[]? listOffsets = null)
    {
        long total = 0;
        foreach (long size in sizes) total += size;
        int parts = (int)Math.Clamp(total / MinListRowsPerThread, 1, Math.Max(1, threads));
        float[]? weights = sq8Trained == null ? null : new float[d];
        float[]? offsets = sq8Trained == null ? null : new float[sizes.Length];
        fixed (float* w = weights)
        {
            if (sq8Trained != null)
            {
                float a = Sq8Weights(sq8Trained, query, d, w);
                for (int j = 0; j < offsets!.Length; j++) offsets[j] = a + (listOffsets?[j] ?? 0f);
            }
            var scan = new ListScan(rows, ids, sizes, idMap, d, query, k, bits, capacity, total, parts, w, offsets);
            if (parts == 1) scan.Run(0);
            else Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, scan.Run);
            var merged = scan.Heaps[0];
            for (int p = 1; p < parts; p++) merged.MergeFrom(scan.Heaps[p]);
            return merged.ToSortedHits();
        }
    }

    /// <summary>One <see cref="SearchLists"/> call: <see cref="Run"/> scans one range of the lists' rows into its own heap.</summary>
    sealed class ListScan(byte*[] rows, long*[] ids, long[] sizes, long* idMap, int d, float* query, int k, byte* bits, long capacity,
                          long total, int parts, float* weights, float[]? offsets)
    {
        public readonly TopK[] Heaps = new TopK[parts];

        public void Run(int part)
        {
            var heap = Heaps[part] = new TopK(k);
            long from = total * part / parts, to = total * (part + 1) / parts, offset = 0;
            for (int l = 0; l < sizes.Length && offset < to; offset += sizes[l], l++)
            {
                long first = Math.Max(from, offset) - offset, end = Math.Min(to, offset + sizes[l]) - offset;
                if (weights == null) ScanRows(heap, (float*)rows[l], ids[l], idMap, first, end, query, d, bits, capacity);
                else ScanCodeRows(heap, rows[l], ids[l], idMap, first, end, weights, offsets![l], d, bits, capacity);
            }
        }
    }

    /// <summary>
    /// Rows <paramref name="first"/> to <paramref name="end"/> (exclusive) of one block of float rows into <paramref name="heap"/>:
    /// row i's id is i (<paramref name="ids"/> null), ids[i], or idMap[ids[i]]; unselected ids are skipped before their floats
    /// are read. The one float scan of a single query (flat search and IVF lists alike).
    /// </summary>
    static void ScanRows(TopK heap, float* rows, long* ids, long* idMap, long first, long end, float* query, int d, byte* bits, long capacity)
    {
        for (long i = first; i < end; i++)
        {
            long id = ids == null ? i : idMap == null ? ids[i] : idMap[ids[i]];
            if (bits != null && !Selected(bits, capacity, id)) continue;
            float s = Dot(rows + i * d, query, d);
            if (s >= heap.Threshold) heap.Offer(s, id);
        }
    }

    /// <summary>
    /// <see cref="ScanRows"/> over 8-bit code rows: row i scores <paramref name="offset"/> + Σ w[j]·c[j]
    /// (<see cref="Sq8Weights"/>). The one code scan of a single query (SQ8 and IVF,SQ8 lists alike).
    /// </summary>
    static void ScanCodeRows(TopK heap, byte* codes, long* ids, long* idMap, long first, long end, float* weights, float offset, int d,
                             byte* bits, long capacity)
    {
        for (long i = first; i < end; i++)
        {
            long id = ids == null ? i : idMap == null ? ids[i] : idMap[ids[i]];
            if (bits != null && !Selected(bits, capacity, id)) continue;
            float s = offset + DotCodes(codes + i * d, weights, d);
            if (s >= heap.Threshold) heap.Offer(s, id);
        }
    }

    static DenseHit[][] Run(Scan scan, int nq, long count, int threads)
    {
        int parts = (int)Math.Clamp(count / MinRowsPerThread, 1, Math.Max(1, threads));
        scan.Start(parts);
        if (parts == 1) scan.Run(0);
        else Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, scan.Run);
        return scan.Merge(parts);
    }

    /// <summary>
    /// One search's shared inputs: float rows, or 8-bit codes with per-query weights and offsets. <see cref="Run"/> scans
    /// one range of the rows.
    /// </summary>
    sealed class Scan(float* rows, byte* codes, float* weights, long* ids, long count, int d, float* queries, int nq, int k,
                      byte* bits, long capacity, float* offsets = null)
    {
        TopK[,] _heaps = new TopK[0, 0];
        int _parts;

        public void Start(int parts)
        {
            _parts = parts;
            _heaps = new TopK[parts, nq];
        }

        public DenseHit[][] Merge(int parts)
        {
            var result = new DenseHit[nq][];
            for (int q = 0; q < nq; q++)
            {
                var merged = _heaps[0, q];
                for (int p = 1; p < parts; p++) merged.MergeFrom(_heaps[p, q]);
                result[q] = merged.ToSortedHits();
            }
            return result;
        }

        public void Run(int part)
        {
            long from = count * part / _parts, to = count * (part + 1) / _parts;
            for (int q0 = 0; q0 < nq; q0 += Group)
            {
                int g = Math.Min(Group, nq - q0);
                for (int j = 0; j < g; j++) _heaps[part, q0 + j] = new TopK(k);
                if (codes != null)
                    for (int j = 0; j < g; j++) ScanCodes(q0 + j, part, from, to);
                else if (g == Group) ScanFour(q0, part, from, to);
                else
                    for (int j = 0; j < g; j++) ScanOne(q0 + j, part, from, to);
            }
        }

        void ScanOne(int q, int part, long from, long to) =>
            ScanRows(_heaps[part, q], rows, ids, null, from, to, queries + (long)q * d, d, bits, capacity);

        void ScanCodes(int q, int part, long from, long to) =>
            ScanCodeRows(_heaps[part, q], codes, ids, null, from, to, weights + (long)q * d, offsets[q], d, bits, capacity);

        void ScanFour(int q0, int part, long from, long to)
        {
            TopK h0 = _heaps[part, q0], h1 = _heaps[part, q0 + 1], h2 = _heaps[part, q0 + 2], h3 = _heaps[part, q0 + 3];
            float* q = queries + (long)q0 * d;
            for (long i = from; i < to; i++)
            {
                long id = ids == null ? i : ids[i];
                if (bits != null && !Selected(bits, capacity, id)) continue;
                Dot4(rows + i * d, q, d, out float s0, out float s1, out float s2, out float s3);
                if (s0 >= h0.Threshold) h0.Offer(s0, id);
                if (s1 >= h1.Threshold) h1.Offer(s1, id);
                if (s2 >= h2.Threshold) h2.Offer(s2, id);
                if (s3 >= h3.Threshold) h3.Offer(s3, id);
            }
        }
    }

    /// <summary>Σ w[i]·c[i] over d byte codes: 8 codes at a time widened to floats (vpmovzxbd), two accumulators as in <see cref="Dot"/>.</summary>
    static float DotCodes(byte* c, float* w, int d)
    {
        int i = 0;
        float sum = 0;
        if (Avx2.IsSupported && d >= 8)
        {
            Vector256<float> even = default, odd = default;
            for (; i + 16 <= d; i += 16)
            {
                even = MulAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(c + i)), Vector256.Load(w + i), even);
                odd = MulAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(c + i + 8)), Vector256.Load(w + i + 8), odd);
            }
            if (i + 8 <= d) { even = MulAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(c + i)), Vector256.Load(w + i), even); i += 8; }
            sum = Vector256.Sum(even + odd);
        }
        for (; i < d; i++) sum += c[i] * w[i];
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Selected(byte* bits, long capacity, long id) =>
        (ulong)id < (ulong)capacity && (bits[id >> 3] & (1 << (int)(id & 7))) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> acc) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, acc) : acc + a * b;

    /// <summary>
    /// Σ a[i]·b[i] over d floats. The summation order is fixed so that a query scores the same alone or in a group of four
    /// (<see cref="Dot4"/> adds in the same order): 8-float blocks alternate between two accumulators (even blocks, odd
    /// blocks), which are added and reduced, then the d mod 8 remaining floats are added one at a time.
    /// </summary>
    internal static float Dot(float* a, float* b, int d)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && d >= 8)
        {
            Vector256<float> even = default, odd = default;
            for (; i + 16 <= d; i += 16)
            {
                even = MulAdd(Vector256.Load(a + i), Vector256.Load(b + i), even);
                odd = MulAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), odd);
            }
            if (i + 8 <= d) { even = MulAdd(Vector256.Load(a + i), Vector256.Load(b + i), even); i += 8; }
            sum = Vector256.Sum(even + odd);
        }
        for (; i < d; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>One row against four consecutive queries (q, q + d, q + 2d, q + 3d), the row loaded once; each sum in <see cref="Dot"/>'s order.</summary>
    static void Dot4(float* row, float* q, int d, out float s0, out float s1, out float s2, out float s3)
    {
        int i = 0;
        s0 = s1 = s2 = s3 = 0;
        float* q1 = q + d, q2 = q + 2 * d, q3 = q + 3 * d;
        if (Vector256.IsHardwareAccelerated && d >= 8)
        {
            Vector256<float> e0 = default, e1 = default, e2 = default, e3 = default, o0 = default, o1 = default, o2 = default, o3 = default;
            for (; i + 16 <= d; i += 16)
            {
                var r = Vector256.Load(row + i);
                e0 = MulAdd(r, Vector256.Load(q + i), e0);
                e1 = MulAdd(r, Vector256.Load(q1 + i), e1);
                e2 = MulAdd(r, Vector256.Load(q2 + i), e2);
                e3 = MulAdd(r, Vector256.Load(q3 + i), e3);
                r = Vector256.Load(row + i + 8);
                o0 = MulAdd(r, Vector256.Load(q + i + 8), o0);
                o1 = MulAdd(r, Vector256.Load(q1 + i + 8), o1);
                o2 = MulAdd(r, Vector256.Load(q2 + i + 8), o2);
                o3 = MulAdd(r, Vector256.Load(q3 + i + 8), o3);
            }
            if (i + 8 <= d)
            {
                var r = Vector256.Load(row + i);
                e0 = MulAdd(r, Vector256.Load(q + i), e0);
                e1 = MulAdd(r, Vector256.Load(q1 + i), e1);
                e2 = MulAdd(r, Vector256.Load(q2 + i), e2);
                e3 = MulAdd(r, Vector256.Load(q3 + i), e3);
                i += 8;
            }
            s0 = Vector256.Sum(e0 + o0); s1 = Vector256.Sum(e1 + o1); s2 = Vector256.Sum(e2 + o2); s3 = Vector256.Sum(e3 + o3);
        }
        for (; i < d; i++)
        {
            float r = row[i];
            s0 += r * q[i]; s1 += r * q1[i]; s2 += r * q2[i]; s3 += r * q3[i];
        }
    }

    /// <summary>
    /// The best k (score, id) pairs offered so far: a binary heap with the worst kept pair at the root. Worse means a lower
    /// score, or an equal score and a larger id. <see cref="Threshold"/> is the root's score once k pairs are kept (before
    /// that, −∞), so the scan's test <c>s ≥ Threshold</c> lets through every pair that might be kept.
    /// </summary>
    sealed class TopK(int k)
    {
        readonly float[] _scores = new float[k];
        readonly long[] _ids = new long[k];
        int _count;

        public float Threshold = float.NegativeInfinity;

        static bool Worse(float s, long id, float t, long tid) => s < t || (s == t && id > tid);

        public void Offer(float s, long id)
        {
            if (_count < k)
            {
                // Sift up from the new leaf.
                int i = _count++;
                while (i > 0)
                {
                    int parent = (i - 1) >> 1;
                    if (!Worse(s, id, _scores[parent], _ids[parent])) break;
                    _scores[i] = _scores[parent]; _ids[i] = _ids[parent];
                    i = parent;
                }
                _scores[i] = s; _ids[i] = id;
                if (_count == k) Threshold = _scores[0];
                return;
            }
            if (Worse(s, id, _scores[0], _ids[0]) || (s == _scores[0] && id == _ids[0])) return;
            // Replace the root and sift down.
            int at = 0;
            while (true)
            {
                int child = 2 * at + 1;
                if (child >= k) break;
                if (child + 1 < k && Worse(_scores[child + 1], _ids[child + 1], _scores[child], _ids[child])) child++;
                if (!Worse(_scores[child], _ids[child], s, id)) break;
                _scores[at] = _scores[child]; _ids[at] = _ids[child];
                at = child;
            }
            _scores[at] = s; _ids[at] = id;
            Threshold = _scores[0];
        }

        public void MergeFrom(TopK other)
        {
            for (int i = 0; i < other._count; i++) Offer(other._scores[i], other._ids[i]);
        }

        public DenseHit[] ToSortedHits()
        {
            var hits = new DenseHit[_count];
            for (int i = 0; i < _count; i++) hits[i] = new DenseHit(_ids[i], _scores[i]);
            Array.Sort(hits, static (x, y) => x.Score != y.Score ? y.Score.CompareTo(x.Score) : x.Id.CompareTo(y.Id));
            return hits;
        }
    }
}
