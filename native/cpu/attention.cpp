// Self-attention of one encoder layer in float32 with AVX-512, for CPU inference (the float and the INT8 encoder):
// softmax(Q·Kᵀ·scale + bias)·V per (sequence, head), read straight from the fused QKV projection's output and written
// straight in the merged layout, so no permute or reshape copies are made around it.
//   qkv [batch, seq, 3, heads, dim] (the [Wq; Wk; Wv] product), bias [batch, seq] added to every query's scores for that
//   key (0, or the lowest float for padding) or null, out [batch, seq, heads, dim].
// Per (sequence, head), the keys are first transposed into a [dim, seq] panel. Then blocks of 8 queries: their scores are
// an 8 × 16 register tile per 16 keys (each query element broadcast against a row of the key panel), kept in an 8 × seq
// buffer (seq ≤ 4096) where the row maxima, exp and sums are taken; P·V accumulates a tile of query rows × head dimension,
// each value row loaded once for all the rows of the tile. exp: dss::exp512 (simd.h).
#include <immintrin.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "simd.h"
#include "threads.h"

namespace {

constexpr int QB = 8;

using dss::exp512;

/// Rows of P·V accumulated at once for V vectors of 16 per head row: rows·V accumulators plus V loaded value vectors
/// stay within the 32 zmm registers.
template <int V> constexpr int pv_rows() { return V <= 2 ? 8 : V <= 4 ? 4 : 2; }

/// One (sequence, head) with dim = 16·V. kt: [dim, seqp] scratch, scores: [QB, seqp] scratch, seqp = seq rounded up to 16.
template <int V>
__attribute__((target("avx512f")))
void head(const float* qkv, int32_t seq, int32_t heads, const float* bias, float scale, float* out, float* kt, float* scores) {
  constexpr int dim = 16 * V;
  const int64_t token = 3LL * heads * dim;                       // stride between tokens in qkv
  const float* q = qkv;
  const float* k = qkv + (int64_t)heads * dim;
  const float* v = qkv + 2LL * heads * dim;
  const int64_t out_token = (int64_t)heads * dim;
  const int32_t seqp = (seq + 15) & ~15;
  for (int32_t j = 0; j < seqp; j++) {
    const float* kj = k + (int64_t)j * token;
    for (int c = 0; c < dim; c++) kt[(int64_t)c * seqp + j] = j < seq ? kj[c] : 0.0f;
  }
  alignas(64) float qs[QB][dim];
  for (int32_t q0 = 0; q0 < seq; q0 += QB) {
    const int rows = seq - q0 < QB ? seq - q0 : QB;
    for (int r = 0; r < QB; r++)
      for (int c = 0; c < dim; c++) qs[r][c] = r < rows ? q[(int64_t)(q0 + r) * token + c] * scale : 0.0f;
    // scores[r][j] = (scale · q_r) · k_j + bias_j, 16 keys at a time
    for (int32_t j0 = 0; j0 < seqp; j0 += 16) {
      const int left = seq - j0;
      const __mmask16 live = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
      const __m512 b = bias ? _mm512_maskz_loadu_ps(live, bias + j0) : _mm512_setzero_ps();
      __m512 acc[QB];
      for (int r = 0; r < QB; r++) acc[r] = b;
      const float* panel = kt + j0;
      for (int c = 0; c < dim; c++) {
        const __m512 kc = _mm512_loadu_ps(panel + (int64_t)c * seqp);
        for (int r = 0; r < QB; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(qs[r][c]), kc, acc[r]);
      }
      for (int r = 0; r < QB; r++) _mm512_storeu_ps(scores + (int64_t)r * seqp + j0, acc[r]);
    }
    // softmax per row over the seq live keys: scores become exp(s − max), inv the reciprocal sums
    float inv[QB];
    for (int r = 0; r < rows; r++) {
      float* s = scores + (int64_t)r * seqp;
      __m512 m = _mm512_set1_ps(-INFINITY);
      int32_t j = 0;
      for (; j + 16 <= seq; j += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(s + j));
      float mx = _mm512_reduce_max_ps(m);
      for (; j < seq; j++) mx = s[j] > mx ? s[j] : mx;
      const __m512 vmx = _mm512_set1_ps(mx);
      __m512 sum = _mm512_setzero_ps();
      for (j = 0; j + 16 <= seq; j += 16) {
        const __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(s + j), vmx));
        _mm512_storeu_ps(s + j, e);
        sum = _mm512_add_ps(sum, e);
      }
      float total = _mm512_reduce_add_ps(sum);
      if (j < seq) {
        const __mmask16 tail = (__mmask16)((1u << (seq - j)) - 1);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, s + j), vmx));
        _mm512_mask_storeu_ps(s + j, tail, e);
        total += _mm512_mask_reduce_add_ps(tail, e);
      }
      inv[r] = 1.0f / total;
    }
    // out_r = inv_r · Σ_j p_rj · v_j, R rows at a time, each v_j loaded once per tile
    constexpr int R = pv_rows<V>();
    for (int r0 = 0; r0 < rows; r0 += R) {
      const int tile = rows - r0 < R ? rows - r0 : R;
      __m512 acc[R][V];
      for (int r = 0; r < R; r++)
        for (int c = 0; c < V; c++) acc[r][c] = _mm512_setzero_ps();
      for (int32_t j = 0; j < seq; j++) {
        const float* vj = v + (int64_t)j * token;
        __m512 vv[V];
        for (int c = 0; c < V; c++) vv[c] = _mm512_loadu_ps(vj + 16 * c);
        for (int r = 0; r < R; r++) {
          if (r >= tile) break;
          const __m512 p = _mm512_set1_ps(scores[(int64_t)(r0 + r) * seqp + j]);
          for (int c = 0; c < V; c++) acc[r][c] = _mm512_fmadd_ps(p, vv[c], acc[r][c]);
        }
      }
      for (int r = 0; r < tile; r++) {
        float* o = out + (int64_t)(q0 + r0 + r) * out_token;
        const __m512 vi = _mm512_set1_ps(inv[r0 + r]);
        for (int c = 0; c < V; c++) _mm512_storeu_ps(o + 16 * c, _mm512_mul_ps(acc[r][c], vi));
      }
    }
  }
}

using HeadFn = void (*)(const float*, int32_t, int32_t, const float*, float, float*, float*, float*);

HeadFn head_for(int32_t dim) {
  switch (dim / 16) {
    case 1: return head<1>;
    case 2: return head<2>;
    case 3: return head<3>;
    case 4: return head<4>;
    case 5: return head<5>;
    case 6: return head<6>;
    case 7: return head<7>;
    default: return head<8>;
  }
}

}  // namespace

extern "C" {

/// Whether dss_attention_f32 runs here (AVX-512F) and takes this head dimension (a multiple of 16, at most 128) and length.
int32_t dss_attention_supported(int32_t dim, int32_t seq) {
  return __builtin_cpu_supports("avx512f") && dim % 16 == 0 && dim > 0 && dim <= 128 && seq > 0 && seq <= 4096 ? 1 : 0;
}

/// See the file comment. Returns 0, or -1 when dss_attention_supported says no.
int32_t dss_attention_f32(const float* qkv, int32_t batch, int32_t seq, int32_t heads, int32_t dim, const float* bias, float scale,
                          float* out, int32_t threads) {
  if (!dss_attention_supported(dim, seq) || batch <= 0 || heads <= 0 || threads < 1) return -1;
  const int64_t pairs = (int64_t)batch * heads;
  auto work = [=](int64_t first, int64_t last) {
    const int64_t seqp = (seq + 15) & ~15;
    std::vector<float> scores((size_t)(QB * seqp)), kt((size_t)(dim * seqp));
    const HeadFn fn = head_for(dim);
    for (int64_t p = first; p < last; p++) {
      const int64_t b = p / heads, h = p % heads;
      fn(qkv + b * seq * 3LL * heads * dim + h * dim, seq, heads, bias ? bias + b * seq : nullptr, scale,
         out + b * seq * (int64_t)heads * dim + h * dim, kt.data(), scores.data());
    }
  };
  const int64_t per = (pairs + threads - 1) / threads;
  const int32_t parts = (int32_t)((pairs + per - 1) / per);
  dss::run_slices(parts, [&](int32_t t) { work(t * per, (t + 1) * per < pairs ? (t + 1) * per : pairs); });
  return 0;
}

}  // extern "C"
