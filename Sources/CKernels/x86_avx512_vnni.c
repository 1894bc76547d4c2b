// int8 GEMM for prefill on processors with AVX-512 VNNI: `vpdpbusd` multiplies 64 unsigned by
// 64 signed bytes and adds them into 16 int32 lanes, four times the f32 FMA rate.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <math.h>
#include "internal.h"

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

// C[i, r] = xs[i] · ws[r] · (Σ_k xu[i,k] · w[r,k] − 128 · wsums[r]) for a 4×4 tile; the bias of 128
// that makes the inputs unsigned is taken off with the row sums of W.
VNNI static void tile(const uint8_t *xu, const int8_t *w, long cols, long mr, long nr, __m512i acc[4][4]) {
    for (long a = 0; a < 4; a++)
        for (long b = 0; b < 4; b++) acc[a][b] = _mm512_setzero_si512();
    for (long k = 0; k < cols; k += 64) {
        __mmask64 mask = cols - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (cols - k)) - 1);
        __m512i xv[4], wv[4];
        for (long a = 0; a < 4; a++) xv[a] = _mm512_maskz_loadu_epi8(mask, xu + (a < mr ? a : 0) * cols + k);
        for (long b = 0; b < 4; b++) wv[b] = _mm512_maskz_loadu_epi8(mask, w + (b < nr ? b : 0) * cols + k);
        for (long a = 0; a < 4; a++)
            for (long b = 0; b < 4; b++) acc[a][b] = _mm512_dpbusd_epi32(acc[a][b], xv[a], wv[b]);
    }
}

// The four sums of four accumulators at once (a transpose-and-add tree instead of four reductions).
VNNI static inline __m128i reduce4(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
    __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
    __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

VNNI static void gemm_q8(const uint8_t *xu, const float *xs, const int8_t *w, const float *ws, const int32_t *wsums,
                         float *y, long m, long rows, long cols, long row_begin, long row_end) {
    for (long r = row_begin; r < row_end; r += 4) {
        long nr = row_end - r < 4 ? row_end - r : 4;
        for (long i = 0; i < m; i += 4) {
            long mr = m - i < 4 ? m - i : 4;
            __m512i acc[4][4];
            tile(xu + i * cols, w + r * cols, cols, mr, nr, acc);
            for (long a = 0; a < mr; a++) {
                int32_t dots[4];
                _mm_storeu_si128((__m128i *)dots, reduce4(acc[a][0], acc[a][1], acc[a][2], acc[a][3]));
                for (long b = 0; b < nr; b++) {
                    y[(i + a) * rows + r + b] = xs[i + a] * ws[r + b] * (float)(dots[b] - 128 * wsums[r + b]);
                }
            }
        }
    }
}

VNNI static void quantize_inputs(const float *x, uint8_t *xu, float *xs, long m, long cols) {
    for (long i = 0; i < m; i++) {
        const float *row = x + i * cols;
        __m512 amax = _mm512_setzero_ps();
        long c = 0;
        for (; c + 16 <= cols; c += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(row + c)));
        float maximum = _mm512_reduce_max_ps(amax);
        for (; c < cols; c++) maximum = row[c] > maximum ? row[c] : -row[c] > maximum ? -row[c] : maximum;
        xs[i] = maximum / 127.0f;
        float inverse = maximum > 0 ? 127.0f / maximum : 0.0f;
        __m512 vinv = _mm512_set1_ps(inverse);
        __m512i bias = _mm512_set1_epi32(128);
        for (c = 0; c + 16 <= cols; c += 16) {
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(row + c), vinv)), bias);
            _mm_storeu_si128((__m128i *)(xu + i * cols + c), _mm512_cvtepi32_epi8(q));
        }
        for (; c < cols; c++) xu[i * cols + c] = (uint8_t)((int)nearbyintf(row[c] * inverse) + 128);
    }
}

int ck_vnni_available(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}

void ck_gemm_q8_quantize_inputs(const float *x, uint8_t *xu, float *xs, long m, long cols) { quantize_inputs(x, xu, xs, m, cols); }

void ck_gemm_q8(const uint8_t *xu, const float *xs, const int8_t *w, const float *scales, const int32_t *row_sums,
                float *y, long m, long rows, long cols, long row_begin, long row_end) {
    gemm_q8(xu, xs, w, scales, row_sums, y, m, rows, cols, row_begin, row_end);
}
#else
#include <math.h>
#include "internal.h"
int ck_vnni_available(void) { return 0; }
void ck_gemm_q8_quantize_inputs(const float *x, uint8_t *xu, float *xs, long m, long cols) {
    (void)x; (void)xu; (void)xs; (void)m; (void)cols;
}
void ck_gemm_q8(const uint8_t *xu, const float *xs, const int8_t *w, const float *scales, const int32_t *row_sums,
                float *y, long m, long rows, long cols, long row_begin, long row_end) {
    (void)xu; (void)xs; (void)w; (void)scales; (void)row_sums; (void)y; (void)m; (void)rows; (void)cols; (void)row_begin; (void)row_end;
}
#endif
