// Self-attention of one encoder layer in float32 with AVX-512, for the INT8 encoder's path: softmax(Q·Kᵀ·scale + bias)·V
// per (sequence, head), read straight from the fused QKV projection's output and written straight in the merged layout,
// so no permute or reshape copies are made around it.
//   qkv [batch, seq, 3, heads, dim] (the [Wq; Wk; Wv] product), bias [batch, seq] added to every query's scores for that
//   key (0, or the lowest float for padding) or null, out [batch, seq, heads, dim].
// Blocks of 8 queries: their 8 × seq scores stay in a buffer (seq ≤ 4096), the row maxima, exp and sums are taken there,
// then the 8 output rows accumulate P·V. exp is a degree-6 polynomial on [−ln2/2, ln2/2] scaled by 2ⁿ (vscalefps), within
// 2 ulp of expf over the range softmax uses.
#include <immintrin.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr int QB = 8;

__attribute__((target("avx512f")))
inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

/// One (sequence, head): queries [q0, q0 + QB) at a time. dim is a multiple of 16 and at most 128.
__attribute__((target("avx512f")))
void head(const float* qkv, int32_t seq, int32_t heads, int32_t dim, const float* bias, float scale, float* out, float* scores) {
  const int64_t token = 3LL * heads * dim;                       // stride between tokens in qkv
  const float* q = qkv;                                           // + t * token + 0 * heads * dim
  const float* k = qkv + (int64_t)heads * dim;                   // + t * token
  const float* v = qkv + 2LL * heads * dim;
  const int64_t out_token = (int64_t)heads * dim;
  const int vecs = dim / 16;
  for (int32_t q0 = 0; q0 < seq; q0 += QB) {
    const int rows = seq - q0 < QB ? seq - q0 : QB;
    // scores[r][j] = scale · q_r · k_j + bias_j
    for (int32_t j = 0; j < seq; j++) {
      const float* kj = k + (int64_t)j * token;
      __m512 kv[8];
      for (int c = 0; c < vecs; c++) kv[c] = _mm512_loadu_ps(kj + 16 * c);
      const float b = bias ? bias[j] : 0.0f;
      for (int r = 0; r < rows; r++) {
        const float* qr = q + (int64_t)(q0 + r) * token;
        __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(qr), kv[0]);
        for (int c = 1; c < vecs; c++) acc = _mm512_fmadd_ps(_mm512_loadu_ps(qr + 16 * c), kv[c], acc);
        scores[r * seq + j] = _mm512_reduce_add_ps(acc) * scale + b;
      }
    }
    // softmax per row, then out_r = Σ_j p_rj · v_j
    float inv[QB];
    for (int r = 0; r < rows; r++) {
      float* s = scores + r * seq;
      int32_t j = 0;
      __m512 m = _mm512_set1_ps(-INFINITY);
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
    for (int r = 0; r < rows; r++) {
      __m512 acc[8];
      for (int c = 0; c < vecs; c++) acc[c] = _mm512_setzero_ps();
      const float* p = scores + r * seq;
      for (int32_t j = 0; j < seq; j++) {
        const __m512 pj = _mm512_set1_ps(p[j]);
        const float* vj = v + (int64_t)j * token;
        for (int c = 0; c < vecs; c++) acc[c] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 16 * c), acc[c]);
      }
      float* o = out + (int64_t)(q0 + r) * out_token;
      const __m512 vi = _mm512_set1_ps(inv[r]);
      for (int c = 0; c < vecs; c++) _mm512_storeu_ps(o + 16 * c, _mm512_mul_ps(acc[c], vi));
    }
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
    std::vector<float> scores((size_t)QB * seq);
    for (int64_t p = first; p < last; p++) {
      const int64_t b = p / heads, h = p % heads;
      head(qkv + b * seq * 3LL * heads * dim + h * dim, seq, heads, dim, bias ? bias + b * seq : nullptr, scale,
           out + b * seq * (int64_t)heads * dim + h * dim, scores.data());
    }
  };
  if (threads == 1 || pairs == 1) { work(0, pairs); return 0; }
  const int64_t per = (pairs + threads - 1) / threads;
  std::vector<std::thread> helpers;
  for (int32_t t = 1; t < threads && t * per < pairs; t++) helpers.emplace_back(work, t * per, (t + 1) * per < pairs ? (t + 1) * per : pairs);
  work(0, per < pairs ? per : pairs);
  for (auto& h : helpers) h.join();
  return 0;
}

}  // extern "C"
