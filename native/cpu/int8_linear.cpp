// Dynamic-quantization INT8 linear layer for CPU inference: y = x · Wᵀ + b with W quantized once (symmetric int8 per
// output row) and x quantized per call (asymmetric u8 per row: u = round(x / sx) + zx over the row's [min, max], so a
// post-GELU row, nearly all ≥ 0, keeps all 256 levels), accumulated exactly in int32 and dequantized with both scales:
//   y[m][n] = sx[m] · sw[n] · (Σ_k u[m][k] · w[n][k] − zx[m] · Σ_k w[n][k]) + b[n]
// The AVX-512 VNNI kernel (vpdpbusd: 64 u8 × s8 products into 16 int32 per instruction) computes 8 rows × 32 columns per
// tile; without VNNI the same integer arithmetic runs as plain C++. dss_q8_linear_mt splits the rows between the
// library's threads (threads.h).
//
// Packed weight layout: [ceil(N/32)][K4/4][32][4] int8, K4 = K rounded up to 4, N rounded up to 32 with zero rows, so the
// 32 columns × 4 k of one step are one 128-byte run (two zmm loads).
#include <immintrin.h>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "simd.h"
#include "threads.h"

extern "C" {

/// Bytes of packed weights for an n × k matrix.
int64_t dss_q8_packed_bytes(int32_t n, int32_t k) {
  int64_t nb = (n + 31) / 32, k4 = (k + 3) / 4 * 4;
  return nb * k4 * 32;
}

/// Quantizes w (n × k float32, row-major: PyTorch's Linear weight [out, in]) into packed (dss_q8_packed_bytes), the
/// per-row scales (n) and the per-row sums of the int8 values (n). With channel (k, or null), w · diag(channel) is packed
/// instead and dss_q8_linear must be given 1 / channel as its input scales (SmoothQuant's migration of an input channel's
/// range into the weights). Returns 0, or -1 for bad sizes.
int32_t dss_q8_pack(const float* w, int32_t n, int32_t k, const float* channel, int8_t* packed, float* scales, int32_t* sums) {
  if (n <= 0 || k <= 0) return -1;
  std::vector<float> smoothed;
  if (channel) {  // W · diag(s): the input is divided by s at each call, so the product is unchanged
    smoothed.assign(w, w + (size_t)n * k);
    for (int32_t r = 0; r < n; r++) for (int32_t j = 0; j < k; j++) smoothed[(size_t)r * k + j] *= channel[j];
    w = smoothed.data();
  }
  const int32_t k4 = (k + 3) / 4 * 4, groups = k4 / 4, nb = (n + 31) / 32;
  std::memset(packed, 0, (size_t)dss_q8_packed_bytes(n, k));
  for (int32_t r = 0; r < n; r++) {
    const float* row = w + (size_t)r * k;
    float amax = 0;
    for (int32_t j = 0; j < k; j++) amax = std::fmax(amax, std::fabs(row[j]));
    float scale = amax > 0 ? amax / 127.0f : 1.0f;
    scales[r] = scale;
    int32_t sum = 0;
    const int32_t block = r / 32, lane = r % 32;
    for (int32_t j = 0; j < k; j++) {
      long q = std::lrintf(row[j] / scale);
      q = q > 127 ? 127 : q < -127 ? -127 : q;
      sum += (int32_t)q;
      packed[(((size_t)block * groups + j / 4) * 32 + lane) * 4 + j % 4] = (int8_t)q;
    }
    sums[r] = sum;
  }
  (void)nb;
  return 0;
}

}  // extern "C"

namespace {

constexpr int MR = 8, NR = 32;

/// The row's scale and zero point: [min, max] onto 0..255 (a constant row: scale 1, its value on code 0 + zero point).
inline void row_range(float lo, float hi, float* scale, int32_t* zero) {
  float s = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  *scale = s;
  *zero = (int32_t)std::lrintf(-lo / s);
}

inline uint8_t code(float v, float inv, int32_t zero) {
  long q = std::lrintf(v * inv) + zero;
  return (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
}

/// Rows [0, rows) of x (stride ldx) into u8 (stride k4; the k4 - k pad columns hold the zero point, i.e. the value 0;
/// rows past `rows` are padding whose results are never stored).
void quantize_rows(const float* x, int64_t ldx, int32_t rows, int32_t k, int32_t k4, const float* in_scale, float* scaled,
                   uint8_t* u, float* scales, int32_t* zeros) {
  for (int32_t r = 0; r < MR; r++) {
    uint8_t* out = u + (size_t)r * k4;
    if (r >= rows) { std::memset(out, 0, k4); scales[r] = 0; zeros[r] = 0; continue; }
    const float* row = x + (size_t)r * ldx;
    if (in_scale) {
      for (int32_t j = 0; j < k; j++) scaled[j] = row[j] * in_scale[j];
      row = scaled;
    }
    float lo = row[0], hi = row[0];
    for (int32_t j = 1; j < k; j++) { lo = std::fmin(lo, row[j]); hi = std::fmax(hi, row[j]); }
    row_range(lo, hi, &scales[r], &zeros[r]);
    const float inv = 1.0f / scales[r];
    for (int32_t j = 0; j < k; j++) out[j] = code(row[j], inv, zeros[r]);
    for (int32_t j = k; j < k4; j++) out[j] = (uint8_t)(zeros[r] < 0 ? 0 : zeros[r] > 255 ? 255 : zeros[r]);
  }
}

/// One MR × NR tile of int32 dot products, portable.
void tile_plain(const uint8_t* u, int32_t k4, const int8_t* p, int32_t* acc) {
  for (int r = 0; r < MR; r++)
    for (int c = 0; c < NR; c++) {
      int32_t s = 0;
      for (int32_t g = 0; g < k4 / 4; g++)
        for (int t = 0; t < 4; t++) s += (int32_t)u[(size_t)r * k4 + g * 4 + t] * (int32_t)p[((size_t)g * NR + c) * 4 + t];
      acc[r * NR + c] = s;
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
void tile_vnni(const uint8_t* u, int32_t k4, const int8_t* p, int32_t* acc) {
  __m512i a[MR][2];
  for (int r = 0; r < MR; r++) a[r][0] = a[r][1] = _mm512_setzero_si512();
  const int32_t groups = k4 / 4;
  for (int32_t g = 0; g < groups; g++) {
    const __m512i w0 = _mm512_loadu_si512(p + (size_t)g * 128), w1 = _mm512_loadu_si512(p + (size_t)g * 128 + 64);
    for (int r = 0; r < MR; r++) {
      int32_t four;
      std::memcpy(&four, u + (size_t)r * k4 + g * 4, 4);
      const __m512i b = _mm512_set1_epi32(four);
      a[r][0] = _mm512_dpbusd_epi32(a[r][0], b, w0);
      a[r][1] = _mm512_dpbusd_epi32(a[r][1], b, w1);
    }
  }
  for (int r = 0; r < MR; r++) {
    _mm512_storeu_si512(acc + r * NR, a[r][0]);
    _mm512_storeu_si512(acc + r * NR + 16, a[r][1]);
  }
}

/// quantize_rows with AVX-512: the same codes (cvtps2dq rounds to nearest even, as lrintf in the default mode).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
void quantize_rows_avx512(const float* x, int64_t ldx, int32_t rows, int32_t k, int32_t k4, const float* in_scale, float* scaled,
                          uint8_t* u, float* scales, int32_t* zeros) {
  const __m512i zero_code = _mm512_setzero_si512(), top = _mm512_set1_epi32(255);
  for (int32_t r = 0; r < MR; r++) {
    uint8_t* out = u + (size_t)r * k4;
    if (r >= rows) { std::memset(out, 0, k4); scales[r] = 0; zeros[r] = 0; continue; }
    const float* row = x + (size_t)r * ldx;
    if (in_scale) {
      int32_t j = 0;
      for (; j + 16 <= k; j += 16) _mm512_storeu_ps(scaled + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), _mm512_loadu_ps(in_scale + j)));
      for (; j < k; j++) scaled[j] = row[j] * in_scale[j];
      row = scaled;
    }
    float lo = row[0], hi = row[0];
    int32_t j = 0;
    if (k >= 16) {
      __m512 vlo = _mm512_loadu_ps(row), vhi = vlo;
      for (j = 16; j + 16 <= k; j += 16) {
        const __m512 v = _mm512_loadu_ps(row + j);
        vlo = _mm512_min_ps(vlo, v);
        vhi = _mm512_max_ps(vhi, v);
      }
      lo = _mm512_reduce_min_ps(vlo);
      hi = _mm512_reduce_max_ps(vhi);
    }
    for (; j < k; j++) { lo = std::fmin(lo, row[j]); hi = std::fmax(hi, row[j]); }
    row_range(lo, hi, &scales[r], &zeros[r]);
    const float inv = 1.0f / scales[r];
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i z = _mm512_set1_epi32(zeros[r]);
    for (j = 0; j + 16 <= k; j += 16) {
      __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(row + j), vinv)), z);
      q = _mm512_min_epi32(_mm512_max_epi32(q, zero_code), top);
      _mm_storeu_si128((__m128i*)(out + j), _mm512_cvtepi32_epi8(q));
    }
    for (; j < k; j++) out[j] = code(row[j], inv, zeros[r]);
    for (j = k; j < k4; j++) out[j] = (uint8_t)(zeros[r] < 0 ? 0 : zeros[r] > 255 ? 255 : zeros[r]);
  }
}

/// The epilogue with AVX-512: y = sx · sw · (acc − zx · Σw) + b for one tile (cols ≤ 32 valid columns), then erf GELU
/// when `gelu` (dss::gelu512).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
void dequantize_avx512(const int32_t* acc, int32_t rows, int32_t cols, const float* xs, const int32_t* xz, const float* ws,
                       const int32_t* sums, const float* bias, float* y, int64_t ldy, bool gelu) {
  for (int half = 0; half < 2; half++) {
    const int32_t c0 = half * 16;
    if (c0 >= cols) break;
    const int32_t n = cols - c0 < 16 ? cols - c0 : 16;
    const __mmask16 mask = (__mmask16)((1u << n) - 1);
    const __m512i wsum = _mm512_maskz_loadu_epi32(mask, sums + c0);
    const __m512 w = _mm512_maskz_loadu_ps(mask, ws + c0);
    const __m512 b = bias ? _mm512_maskz_loadu_ps(mask, bias + c0) : _mm512_setzero_ps();
    for (int32_t r = 0; r < rows; r++) {
      const __m512i corr = _mm512_mullo_epi32(_mm512_set1_epi32(xz[r]), wsum);
      const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_loadu_si512(acc + r * NR + c0), corr));
      const __m512 scaled = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(xs[r]), w), v);
      __m512 out = _mm512_add_ps(scaled, b);
      if (gelu) out = dss::gelu512(out);
      _mm512_mask_storeu_ps(y + (size_t)r * ldy + c0, mask, out);
    }
  }
}

bool has_vnni() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return yes;
}

}  // namespace

extern "C" {

/// Whether the VNNI kernel runs here (1) or the portable one (0); DSS_Q8_PORTABLE=1 forces the portable one.
int32_t dss_q8_vnni() {
  static const bool forced = [] { const char* v = std::getenv("DSS_Q8_PORTABLE"); return v && v[0] == '1'; }();
  return has_vnni() && !forced ? 1 : 0;
}

/// y[m][n] for rows [0, m) of x (m × k float32, row stride ldx) against packed weights (n × k): ldy the row stride of y;
/// in_scale (k: each input channel's multiplier, 1 / the channel scales given to dss_q8_pack) and bias may be null.
/// act: 0 none, 1 erf GELU applied to each output as it is written. Returns 0, or -1 for bad sizes or an unknown act.
int32_t dss_q8_linear(const float* x, int32_t m, int32_t k, int64_t ldx, const float* in_scale, const int8_t* packed, const float* wscales,
                      const int32_t* wsums, const float* bias, int32_t n, float* y, int64_t ldy, int32_t act) {
  if (m < 0 || k <= 0 || n <= 0 || ldx < k || ldy < n || act < 0 || act > 1) return -1;
  const bool gelu = act == 1;
  const int32_t k4 = (k + 3) / 4 * 4, groups = k4 / 4, blocks = (n + NR - 1) / NR;
  const bool vnni = dss_q8_vnni() == 1;
  thread_local std::vector<uint8_t> u;
  thread_local std::vector<float> scaled;
  if (u.size() < (size_t)MR * k4) u.resize((size_t)MR * k4);
  if (in_scale && scaled.size() < (size_t)k) scaled.resize(k);
  float xs[MR];
  int32_t xz[MR];
  alignas(64) int32_t acc[MR * NR];
  for (int32_t m0 = 0; m0 < m; m0 += MR) {
    const int32_t rows = m - m0 < MR ? m - m0 : MR;
    if (vnni) quantize_rows_avx512(x + (size_t)m0 * ldx, ldx, rows, k, k4, in_scale, scaled.data(), u.data(), xs, xz);
    else quantize_rows(x + (size_t)m0 * ldx, ldx, rows, k, k4, in_scale, scaled.data(), u.data(), xs, xz);
    for (int32_t b = 0; b < blocks; b++) {
      const int8_t* p = packed + (size_t)b * groups * NR * 4;
      const int32_t c0 = b * NR, cols = n - c0 < NR ? n - c0 : NR;
      if (vnni) {
        tile_vnni(u.data(), k4, p, acc);
        dequantize_avx512(acc, rows, cols, xs, xz, wscales + c0, wsums + c0, bias ? bias + c0 : nullptr, y + (size_t)m0 * ldy + c0, ldy, gelu);
        continue;
      }
      tile_plain(u.data(), k4, p, acc);
      for (int32_t r = 0; r < rows; r++) {
        float* out = y + (size_t)(m0 + r) * ldy + c0;
        for (int32_t c = 0; c < cols; c++) {
          const int32_t col = c0 + c;
          float v = xs[r] * wscales[col] * (float)(acc[r * NR + c] - xz[r] * wsums[col]);
          if (bias) v += bias[col];
          out[c] = gelu ? 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)) : v;
        }
      }
    }
  }
  return 0;
}

/// dss_q8_linear over `threads` slices of the rows (multiples of 8), the first on the calling thread.
int32_t dss_q8_linear_mt(const float* x, int32_t m, int32_t k, int64_t ldx, const float* in_scale, const int8_t* packed, const float* wscales,
                         const int32_t* wsums, const float* bias, int32_t n, float* y, int64_t ldy, int32_t act, int32_t threads) {
  if (threads < 1) return -1;
  int32_t per = (m + threads - 1) / threads;
  per = (per + MR - 1) / MR * MR;
  if (threads == 1 || per >= m) return dss_q8_linear(x, m, k, ldx, in_scale, packed, wscales, wsums, bias, n, y, ldy, act);
  const int32_t parts = (m + per - 1) / per;
  std::vector<int32_t> codes(parts, 0);
  dss::run_slices(parts, [&](int32_t t) {
    const int32_t first = t * per, rows = m - first < per ? m - first : per;
    codes[t] = dss_q8_linear(x + (size_t)first * ldx, rows, k, ldx, in_scale, packed, wscales, wsums, bias, n, y + (size_t)first * ldy, ldy, act);
  });
  for (int32_t c : codes) if (c != 0) return c;
  return 0;
}

}  // extern "C"
