// Float32 linear layer for CPU inference, y = x · Wᵀ + b (optionally erf GELU on the way out), with W packed once (AVX-512F; callers use libtorch elsewhere).
// A 14 × 32 register tile (28 zmm accumulators; each k step loads two weight vectors and broadcasts 14 inputs). The
// weights are packed in column panels of 32, k-major; per call, the rows of x are packed into 14-row strips of a K block
// (k-major), so every load of the inner loop is sequential. Blocks: 112 rows × 256 k of packed x (112 KB, L2) against one
// 256 × 32 weight panel (32 KB, L1) at a time. K blocks after the first add to y. dss_f32_linear_mt splits the rows
// between threads (threads.h), or the column panels when there are too few rows for every thread.
// Each output sums its K products in order, one fused multiply-add per k (libtorch's MKL sgemm sums in another order: the
// two agree to float32 rounding, Float32LinearTests).
//   Packed weight layout: [ceil(N/32)][K][32] float32, columns past N zero.
#include <immintrin.h>
#include <cstdint>
#include <vector>

#include "simd.h"
#include "threads.h"

namespace {

constexpr int MR = 14, NR = 32, KC = 256, MC = 8 * MR;

/// c (rows × 32, masks m0/m1 for the two halves) = [c +] a_strip (kc × 14, k-major) · b_panel (kc × 32) [+ bias], then GELU
/// when `gelu` (the last K block).
__attribute__((target("avx512f")))
void tile(const float* a, const float* b, int32_t kc, float* c, int64_t ldc, int32_t rows, __mmask16 m0, __mmask16 m1,
          const float* bias, bool accumulate, bool gelu) {
  __m512 acc[MR][2];
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int32_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(b + (int64_t)k * NR), b1 = _mm512_loadu_ps(b + (int64_t)k * NR + 16);
    const float* ak = a + (int64_t)k * MR;
    for (int r = 0; r < MR; r++) {
      const __m512 av = _mm512_set1_ps(ak[r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  const float* add = accumulate ? nullptr : bias;
  for (int r = 0; r < rows; r++) {
    float* cr = c + (int64_t)r * ldc;
    __m512 v0 = acc[r][0], v1 = acc[r][1];
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    } else if (add) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, add));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, add + 16));
    }
    if (gelu) { v0 = dss::gelu512(v0); v1 = dss::gelu512(v1); }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

/// Rows [0, rows) × k [k0, k0 + kc) of x into a strip (MR values per k, zeros past `rows`).
void pack_strip(const float* x, int64_t ldx, int32_t rows, int32_t k0, int32_t kc, float* a) {
  for (int32_t k = 0; k < kc; k++)
    for (int r = 0; r < MR; r++) a[(int64_t)k * MR + r] = r < rows ? x[(int64_t)r * ldx + k0 + k] : 0.0f;
}

/// y rows [0, m) × column panels [p0, p1).
void linear(const float* x, int32_t m, int32_t k, int64_t ldx, const float* packed, const float* bias, int32_t n, int32_t p0, int32_t p1,
            float* y, int64_t ldy, bool gelu) {
  thread_local std::vector<float> strips;
  if (strips.size() < (size_t)MC * KC) strips.resize((size_t)MC * KC);
  for (int32_t i0 = 0; i0 < m; i0 += MC) {
    const int32_t mc = m - i0 < MC ? m - i0 : MC, count = (mc + MR - 1) / MR;
    for (int32_t k0 = 0; k0 < k; k0 += KC) {
      const int32_t kc = k - k0 < KC ? k - k0 : KC;
      for (int32_t s = 0; s < count; s++)
        pack_strip(x + (int64_t)(i0 + s * MR) * ldx, ldx, mc - s * MR < MR ? mc - s * MR : MR, k0, kc, strips.data() + (int64_t)s * MR * kc);
      for (int32_t p = p0; p < p1; p++) {
        const float* panel = packed + ((int64_t)p * k + k0) * NR;
        const int32_t c0 = p * NR, cols = n - c0 < NR ? n - c0 : NR;
        const __mmask16 m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
        const __mmask16 m1 = cols >= 32 ? (__mmask16)0xFFFF : cols <= 16 ? (__mmask16)0 : (__mmask16)((1u << (cols - 16)) - 1);
        for (int32_t s = 0; s < count; s++)
          tile(strips.data() + (int64_t)s * MR * kc, panel, kc, y + (int64_t)(i0 + s * MR) * ldy + c0, ldy, mc - s * MR < MR ? mc - s * MR : MR,
               m0, m1, bias ? bias + c0 : nullptr, k0 > 0, gelu && k0 + kc == k);
      }
    }
  }
}

}  // namespace

extern "C" {

/// Whether dss_f32_linear_mt runs here (AVX-512F).
int32_t dss_f32_supported() { return __builtin_cpu_supports("avx512f") ? 1 : 0; }

/// Floats of packed weights for an n × k matrix.
int64_t dss_f32_packed_floats(int32_t n, int32_t k) { return (int64_t)((n + NR - 1) / NR) * k * NR; }

/// Packs w (n × k float32, row-major: PyTorch's Linear weight [out, in]) into packed (dss_f32_packed_floats). Returns 0, or -1 for bad sizes.
int32_t dss_f32_pack(const float* w, int32_t n, int32_t k, float* packed) {
  if (n <= 0 || k <= 0) return -1;
  const int32_t panels = (n + NR - 1) / NR;
  for (int32_t p = 0; p < panels; p++)
    for (int32_t j = 0; j < k; j++)
      for (int c = 0; c < NR; c++) {
        const int32_t col = p * NR + c;
        packed[((int64_t)p * k + j) * NR + c] = col < n ? w[(int64_t)col * k + j] : 0.0f;
      }
  return 0;
}

/// y (m × n, row stride ldy) = act(x (m × k, row stride ldx) · Wᵀ + bias (n, or null)) over `threads` threads; act 0: none,
/// 1: erf GELU (dss::gelu512). Returns 0, or -1 for bad sizes, an unknown act or a CPU without AVX-512F.
int32_t dss_f32_linear_mt(const float* x, int32_t m, int32_t k, int64_t ldx, const float* packed, const float* bias, int32_t n,
                          float* y, int64_t ldy, int32_t act, int32_t threads) {
  if (m < 0 || k <= 0 || n <= 0 || ldx < k || ldy < n || threads < 1 || act < 0 || act > 1 || !dss_f32_supported()) return -1;
  const bool gelu = act == 1;
  if (m == 0) return 0;
  const int32_t panels = (n + NR - 1) / NR;
  if (m >= threads * MC) {  // rows: every thread streams all the weights over its own rows
    int32_t per = (m + threads - 1) / threads;
    per = (per + MR - 1) / MR * MR;
    dss::run_slices((m + per - 1) / per, [&](int32_t t) {
      const int32_t r0 = t * per, r1 = r0 + per < m ? r0 + per : m;
      linear(x + (int64_t)r0 * ldx, r1 - r0, k, ldx, packed, bias, n, 0, panels, y + (int64_t)r0 * ldy, ldy, gelu);
    });
  } else {  // few rows (a query): the column panels are split
    const int32_t per = (panels + threads - 1) / threads;
    dss::run_slices((panels + per - 1) / per, [&](int32_t t) {
      const int32_t q0 = t * per, q1 = q0 + per < panels ? q0 + per : panels;
      linear(x, m, k, ldx, packed, bias, n, q0, q1, y, ldy, gelu);
    });
  }
  return 0;
}

}  // extern "C"
