// AVX-512 kernels. Prefill GEMMs on AVX-512's dot-product units, for compressed weights:
// - int8 (AVX-512 VNNI): `vpdpbusd` multiplies 64 unsigned by 64 signed bytes into 16 int32 lanes;
// - bf16 (AVX512-BF16): `vdpbf16ps` multiplies 32 bf16 pairs into 16 f32 lanes, twice the f32 FMA rate.
// Both take the weights as stored (row-major [rows][cols], the dot-product layout these instructions
// want) and the inputs converted once per call, and compute 4 inputs × 4 rows per tile, so each
// loaded vector feeds four instructions. int4 batches (`vpdpbusd` too) unpack their weights per call, below.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include "internal.h"

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))

// C[i, r] = xs[i] · ws[r] · (Σ_k xu[i,k] · w[r,k] − xz[i] · wsums[r]) for a 4×4 tile; the inputs' zero
// points are taken off with the row sums of W. With `prefetch`, the rows CK_GEMM_PREFETCH_ROWS ahead are asked for
// too.
VNNI static void tile_q8(const uint8_t *xu, const int8_t *w, long cols, long mr, long nr, int prefetch, __m512i acc[4][4]) {
    for (long a = 0; a < 4; a++)
        for (long b = 0; b < 4; b++) acc[a][b] = _mm512_setzero_si512();
    for (long k = 0; k < cols; k += 64) {
        __mmask64 mask = cols - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (cols - k)) - 1);
        __m512i xv[4], wv[4];
        for (long a = 0; a < 4; a++) xv[a] = _mm512_maskz_loadu_epi8(mask, xu + (a < mr ? a : 0) * cols + k);
        for (long b = 0; b < 4; b++) wv[b] = _mm512_maskz_loadu_epi8(mask, w + (b < nr ? b : 0) * cols + k);
        if (prefetch)
            for (long b = 0; b < 4; b++) _mm_prefetch((const char *)(w + (CK_GEMM_PREFETCH_ROWS + b) * cols + k), _MM_HINT_T0);
        for (long a = 0; a < 4; a++)
            for (long b = 0; b < 4; b++) acc[a][b] = _mm512_dpbusd_epi32(acc[a][b], xv[a], wv[b]);
    }
}

// The four sums of four accumulators at once (a transpose-and-add tree instead of four reductions).
VNNI static inline __m128i reduce4_epi32(__m512i a0, __m512i a1, __m512i a2, __m512i a3) {
    __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(a0, a1), _mm512_unpackhi_epi32(a0, a1));
    __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(a2, a3), _mm512_unpackhi_epi32(a2, a3));
    __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

VNNI static void gemm_q8(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *ws, const int32_t *wsums,
                         float *y, long m, long rows, long cols, long row_begin, long row_end) {
    for (long r = row_begin; r < row_end; r += 4) {
        long nr = row_end - r < 4 ? row_end - r : 4;
        for (long i = 0; i < m; i += 4) {
            long mr = m - i < 4 ? m - i : 4;
            __m512i acc[4][4];
            tile_q8(xu + i * cols, w + r * cols, cols, mr, nr, i == 0, acc);
            for (long a = 0; a < mr; a++) {
                int32_t dots[4];
                _mm_storeu_si128((__m128i *)dots, reduce4_epi32(acc[a][0], acc[a][1], acc[a][2], acc[a][3]));
                for (long b = 0; b < nr; b++) {
                    y[(i + a) * rows + r + b] = xs[i + a] * ws[r + b] * (float)(dots[b] - xz[i + a] * wsums[r + b]);
                }
            }
        }
    }
}

// Per row: the range [min, max] with 0 in it onto 0…255, 0 itself exactly on the zero point.
VNNI static void quantize_inputs(const float *x, uint8_t *xu, float *xs, int32_t *xz, long m, long cols) {
    for (long i = 0; i < m; i++) {
        const float *row = x + i * cols;
        __m512 vmin = _mm512_setzero_ps(), vmax = vmin;
        long c = 0;
        for (; c + 16 <= cols; c += 16) {
            __m512 v = _mm512_loadu_ps(row + c);
            vmin = _mm512_min_ps(vmin, v);
            vmax = _mm512_max_ps(vmax, v);
        }
        float low = _mm512_reduce_min_ps(vmin), high = _mm512_reduce_max_ps(vmax);
        for (; c < cols; c++) {
            low = row[c] < low ? row[c] : low;
            high = row[c] > high ? row[c] : high;
        }
        const float scale = (high - low) / 255.0f, inverse = scale > 0 ? 1.0f / scale : 0.0f;
        const int32_t zero = (int32_t)nearbyintf(-low * inverse);
        xs[i] = scale;
        xz[i] = zero;
        __m512 vinv = _mm512_set1_ps(inverse);
        __m512i vzero = _mm512_set1_epi32(zero), lowest = _mm512_setzero_si512(), highest = _mm512_set1_epi32(255);
        for (c = 0; c + 16 <= cols; c += 16) {
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(row + c), vinv)), vzero);
            q = _mm512_min_epi32(_mm512_max_epi32(q, lowest), highest);
            _mm_storeu_si128((__m128i *)(xu + i * cols + c), _mm512_cvtepi32_epi8(q));
        }
        for (; c < cols; c++) {
            int q = (int)nearbyintf(row[c] * inverse) + zero;
            xu[i * cols + c] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
        }
    }
}

// C[i, r] = Σ_k bf16(x[i,k]) · w[r,k] for a 4×4 tile, in f32 lanes (pairs summed by the instruction).
BF16 static void tile_bf16(const uint16_t *xb, const uint16_t *w, long cols, long mr, long nr, __m512 acc[4][4]) {
    for (long a = 0; a < 4; a++)
        for (long b = 0; b < 4; b++) acc[a][b] = _mm512_setzero_ps();
    for (long k = 0; k < cols; k += 32) {
        __mmask32 mask = cols - k >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << (cols - k)) - 1);
        __m512bh xv[4], wv[4];
        for (long a = 0; a < 4; a++) xv[a] = (__m512bh)_mm512_maskz_loadu_epi16(mask, xb + (a < mr ? a : 0) * cols + k);
        for (long b = 0; b < 4; b++) wv[b] = (__m512bh)_mm512_maskz_loadu_epi16(mask, w + (b < nr ? b : 0) * cols + k);
        for (long a = 0; a < 4; a++)
            for (long b = 0; b < 4; b++) acc[a][b] = _mm512_dpbf16_ps(acc[a][b], xv[a], wv[b]);
    }
}

BF16 static inline __m128 reduce4_ps(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
    __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
    __m512d d01 = _mm512_castps_pd(s01), d23 = _mm512_castps_pd(s23);
    __m512 s = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(d01, d23)), _mm512_castpd_ps(_mm512_unpackhi_pd(d01, d23)));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

BF16 static void gemm_bf16(const uint16_t *xb, const uint16_t *w, float *y, long m, long rows, long cols, long row_begin,
                           long row_end) {
    for (long r = row_begin; r < row_end; r += 4) {
        long nr = row_end - r < 4 ? row_end - r : 4;
        for (long i = 0; i < m; i += 4) {
            long mr = m - i < 4 ? m - i : 4;
            __m512 acc[4][4];
            tile_bf16(xb + i * cols, w + r * cols, cols, mr, nr, acc);
            for (long a = 0; a < mr; a++) {
                float dots[4];
                _mm_storeu_ps(dots, reduce4_ps(acc[a][0], acc[a][1], acc[a][2], acc[a][3]));
                for (long b = 0; b < nr; b++) y[(i + a) * rows + r + b] = dots[b];
            }
        }
    }
}

// Round to nearest even, as the weights were (vcvtneps2bf16; the tail uses the scalar rounding).
BF16 static void convert_inputs_bf16(const float *x, uint16_t *xb, long count) {
    long c = 0;
    for (; c + 16 <= count; c += 16) _mm256_storeu_si256((__m256i *)(xb + c), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + c)));
    for (; c < count; c++) xb[c] = ck_f32_to_bf16_one(x[c]);
}

// Tests force the portable instruction set to cover gemm_q8.c's plain C.
static int has_vnni(void) {
    return ck_isa() != CK_ISA_PORTABLE && ck_has(CK_FEATURE_AVX512F | CK_FEATURE_AVX512BW | CK_FEATURE_AVX512VNNI);
}

int ck_gemm_q8_quantize_inputs_avx512vnni(const float *x, uint8_t *xu, float *xs, int32_t *xz, long m, long cols) {
    if (!has_vnni()) return -1;
    quantize_inputs(x, xu, xs, xz, m, cols);
    return 0;
}

int ck_gemm_q8_avx512vnni(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales,
                          const int32_t *row_sums, float *y, long m, long rows, long cols, long row_begin, long row_end) {
    if (!has_vnni()) return -1;
    gemm_q8(xu, xs, xz, w, scales, row_sums, y, m, rows, cols, row_begin, row_end);
    return 0;
}

// ck_gemm_q8's scaling of exact int32 sums (made elsewhere, e.g. by oneDNN), 16 lanes at a time, then the
// epilogue's steps in ck_bias_scale_relu_f32's order (max(y, 0) is its `y > 0 ? y : 0`, NaN and -0 included).
VNNI static void scale_sums_q8(const float *xs, const int32_t *xz, const float *scales, const int32_t *row_sums,
                               const int32_t *sums, long ld_sums, float *y, long ld_y, long m, long n,
                               const ck_epilogue *epilogue) {
    const float *bias = epilogue ? epilogue->bias : NULL;
    const float after = epilogue ? epilogue->scale : 1;
    const int relu = epilogue && epilogue->relu;
    const __m512 afterv = _mm512_set1_ps(after), zero = _mm512_setzero_ps();
    for (long i = 0; i < m; i++) {
        const __m512 xsv = _mm512_set1_ps(xs[i]);
        const __m512i xzv = _mm512_set1_epi32(xz[i]);
        const int32_t *si = sums + i * ld_sums;
        float *yi = y + i * ld_y;
        for (long r = 0; r < n; r += 16) {
            __mmask16 mask = n - r >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - r)) - 1);
            __m512i dot = _mm512_maskz_loadu_epi32(mask, si + r);
            __m512i diff = _mm512_sub_epi32(dot, _mm512_mullo_epi32(xzv, _mm512_maskz_loadu_epi32(mask, row_sums + r)));
            __m512 scale = _mm512_mul_ps(xsv, _mm512_maskz_loadu_ps(mask, scales + r));
            __m512 out = _mm512_mul_ps(scale, _mm512_cvtepi32_ps(diff));
            if (bias) out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(mask, bias + r));
            if (after != 1) out = _mm512_mul_ps(out, afterv);
            if (relu) out = _mm512_max_ps(out, zero);
            _mm512_mask_storeu_ps(yi + r, mask, out);
        }
    }
}

int ck_gemm_q8_scale_sums_avx512vnni(const float *xs, const int32_t *xz, const float *scales, const int32_t *row_sums,
                                     const int32_t *sums, long ld_sums, float *y, long ld_y, long m, long n,
                                     const ck_epilogue *epilogue) {
    if (!has_vnni()) return -1;
    scale_sums_q8(xs, xz, scales, row_sums, sums, ld_sums, y, ld_y, m, n, epilogue);
    return 0;
}

void ck_gemm_bf16_convert_inputs(const float *x, uint16_t *xb, long m, long cols) {
    if (ck_bf16_gemm() == CK_GEMM_AVX512BF16) convert_inputs_bf16(x, xb, m * cols);
}

void ck_gemm_bf16(const uint16_t *xb, const uint16_t *w, float *y, long m, long rows, long cols, long row_begin, long row_end) {
    if (ck_bf16_gemm() == CK_GEMM_AVX512BF16) gemm_bf16(xb, w, y, m, rows, cols, row_begin, row_end);
}

// ck_dropout_f32, sixteen indices an iteration in two vectors of eight 64-bit hashes; the hash's inputs advance
// by 16 index multipliers (wrapping, as the scalar products do), and the factors multiply as the scalar code's.
__attribute__((target("avx512f,avx512dq"))) static void dropout(float *x, long n, uint64_t base, uint64_t first,
                                                                 uint32_t threshold, float scale) {
    const uint64_t *k = ck_dropout_multipliers;
    uint64_t start[16];
    for (int lane = 0; lane < 16; lane++) start[lane] = base + (first + (uint64_t)lane) * k[0];
    __m512i z0 = _mm512_loadu_si512(start), z1 = _mm512_loadu_si512(start + 8);
    const __m512i advance = _mm512_set1_epi64((long long)(16 * k[0]));
    const __m512i mix1 = _mm512_set1_epi64((long long)k[1]), mix2 = _mm512_set1_epi64((long long)k[2]);
    const __m512i limit = _mm512_set1_epi64(threshold);
    const __m512 kept = _mm512_set1_ps(scale), dropped = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        __mmask8 drop[2];
        const __m512i inputs[2] = {z0, z1};
        for (int h = 0; h < 2; h++) {
            __m512i z = inputs[h];
            z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), mix1);
            z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), mix2);
            z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
            drop[h] = _mm512_cmplt_epu64_mask(_mm512_srli_epi64(z, 40), limit);
        }
        const __m512 factor = _mm512_mask_blend_ps(_mm512_kunpackb(drop[1], drop[0]), kept, dropped);
        const __mmask16 live = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, live, _mm512_mul_ps(_mm512_maskz_loadu_ps(live, x + i), factor));
        z0 = _mm512_add_epi64(z0, advance);
        z1 = _mm512_add_epi64(z1, advance);
    }
}

int ck_dropout_f32_avx512(float *x, long n, uint64_t base, uint64_t first, uint32_t threshold, float scale) {
    // Tests force the portable instruction set to cover the scalar loop.
    if (ck_isa() == CK_ISA_PORTABLE || !ck_has(CK_FEATURE_AVX512F | CK_FEATURE_AVX512DQ)) return -1;
    dropout(x, n, base, first, threshold, scale);
    return 0;
}

// ck_attention_f32: one head, blocks of 8 queries. Keys are transposed once per call (kt[c][j], in 16 × 16 blocks: the
// compiler's loop scattered them one float at a time and took an eighth of the kernel's time), so that a score
// tile of 8 queries × 32 keys is 16 accumulators fed by two loads and eight broadcasts per dimension; the
// context of R queries × d is R · d / 16 accumulators fed by the value rows as stored. Only the keys a block's
// last query sees are computed, in tiles of 32 (16 for the last when no more are seen; the overhang masked by
// the softmax). Each query's weights stay unnormalized, and its context is divided by their sum once.
// Instantiated per head size, so that the loops over dimensions unroll and the accumulators stay in registers.
enum { ATTENTION_QUERIES = 8, ATTENTION_KEYS = 32 };

static long attention_keys(long total) { return (total + ATTENTION_KEYS - 1) / ATTENTION_KEYS * ATTENTION_KEYS; }

// Floats between rows of the transposed keys: one cache line past the keys, since rows a power of two apart
// (2 KB for 512 keys) share few of L1's sets (the transposition's share of a prefill's samples: 1.25% → 0.79%).
static long transposed_stride(long keys) { return keys + 16; }

long ck_attention_f32_avx512_scratch(long total, long d) {
    return (d * transposed_stride(attention_keys(total)) + ATTENTION_QUERIES * attention_keys(total)) * (long)sizeof(float);
}

// exp(x) for finite x ≤ 0 (scores less their maximum): internal.h's steps and constants, 2^n by vscalefps.
__attribute__((target("avx512f"))) static inline __m512 exp_nonpositive512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(ck_exp_floor));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(ck_exp_log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ck_exp_ln2_high), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ck_exp_ln2_low), r);
    __m512 p = _mm512_set1_ps(ck_exp_polynomial[0]);
    for (int term = 1; term < CK_EXP_TERMS; term++) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ck_exp_polynomial[term]));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

// A query's scores over the `visible` keys it sees become e^(s − max), zeros up to `seen`; returns 1 / Σ.
__attribute__((target("avx512f"))) static float attention_weights(float *scores, long visible, long seen) {
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (long j = 0; j < visible; j += 16) {
        const __mmask16 mask = visible - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (visible - j)) - 1);
        vmax = _mm512_mask_max_ps(vmax, mask, vmax, _mm512_maskz_loadu_ps(mask, scores + j));
    }
    const __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (long j = 0; j < seen; j += 16) {
        const __mmask16 live = seen - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (seen - j)) - 1);
        const __mmask16 mask = j >= visible ? 0 : visible - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (visible - j)) - 1);
        const __m512 e = _mm512_maskz_mov_ps(mask, exp_nonpositive512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, scores + j), shift)));
        _mm512_mask_storeu_ps(scores + j, live, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    return 1 / _mm512_reduce_add_ps(vsum);
}

// The 16 × 16 block a[r][c] transposed in registers: unpacking pairs of rows, then pairs of pairs, then two
// exchanges of 128-bit lanes.
__attribute__((target("avx512f"), always_inline)) static inline void transpose16(__m512 a[16]) {
    __m512 u[16], v[16];
    for (int r = 0; r < 16; r += 2) {
        u[r] = _mm512_unpacklo_ps(a[r], a[r + 1]);
        u[r + 1] = _mm512_unpackhi_ps(a[r], a[r + 1]);
    }
    // v[4g + m], lane L: rows 4g…4g+3 of column 4L + m.
    for (int g = 0; g < 4; g++) {
        const __m512d lo = _mm512_castps_pd(u[4 * g]), hi = _mm512_castps_pd(u[4 * g + 1]);
        const __m512d lo2 = _mm512_castps_pd(u[4 * g + 2]), hi2 = _mm512_castps_pd(u[4 * g + 3]);
        v[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, lo2));
        v[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, lo2));
        v[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi, hi2));
        v[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi, hi2));
    }
    // Column 4L + m gathers lane L of v[m], v[4 + m], v[8 + m], v[12 + m].
    for (int m = 0; m < 4; m++) {
        const __m512 w0 = _mm512_shuffle_f32x4(v[m], v[4 + m], 0x88), w1 = _mm512_shuffle_f32x4(v[m], v[4 + m], 0xdd);
        const __m512 w2 = _mm512_shuffle_f32x4(v[8 + m], v[12 + m], 0x88), w3 = _mm512_shuffle_f32x4(v[8 + m], v[12 + m], 0xdd);
        a[m] = _mm512_shuffle_f32x4(w0, w2, 0x88);
        a[4 + m] = _mm512_shuffle_f32x4(w1, w3, 0x88);
        a[8 + m] = _mm512_shuffle_f32x4(w0, w2, 0xdd);
        a[12 + m] = _mm512_shuffle_f32x4(w1, w3, 0xdd);
    }
}

// kt[c · ldkt + j] = k[j][c] for the head's d dimensions (a multiple of 16) and `keys` key slots, zero from `total` on.
__attribute__((target("avx512f"))) static void transpose_keys(const float *k, long ldkv, long total, long keys, long d, float *kt,
                                                              long ldkt) {
    for (long j = 0; j < keys; j += 16)
        for (long c = 0; c < d; c += 16) {
            __m512 a[16];
            for (int r = 0; r < 16; r++) a[r] = j + r < total ? _mm512_loadu_ps(k + (j + r) * ldkv + c) : _mm512_setzero_ps();
            transpose16(a);
            for (int r = 0; r < 16; r++) _mm512_storeu_ps(kt + (c + r) * ldkt + j, a[r]);
        }
}

// Scores of 8 queries × 16 keys (wide: 32) from key j on, stored for the first `rows` queries.
__attribute__((target("avx512f"), always_inline)) static inline void attention_scores(
    const float *const query[ATTENTION_QUERIES], const float *kt, long ldkt, long keys, long j, long d, int wide, float *scores,
    long rows) {
    __m512 acc[ATTENTION_QUERIES][2];
    for (long a = 0; a < ATTENTION_QUERIES; a++) acc[a][0] = acc[a][1] = _mm512_setzero_ps();
    for (long c = 0; c < d; c++) {
        const __m512 k0 = _mm512_loadu_ps(kt + c * ldkt + j), k1 = wide ? _mm512_loadu_ps(kt + c * ldkt + j + 16) : k0;
        for (long a = 0; a < ATTENTION_QUERIES; a++) {
            const __m512 x = _mm512_set1_ps(query[a][c]);
            acc[a][0] = _mm512_fmadd_ps(x, k0, acc[a][0]);
            if (wide) acc[a][1] = _mm512_fmadd_ps(x, k1, acc[a][1]);
        }
    }
    for (long a = 0; a < rows; a++) {
        _mm512_storeu_ps(scores + a * keys + j, acc[a][0]);
        if (wide) _mm512_storeu_ps(scores + a * keys + j + 16, acc[a][1]);
    }
}

#define ATTENTION_F32(D, R)                                                                                         \
    __attribute__((target("avx512f"))) static void attention_f32_##D(                                              \
        const float *q, long ldq, const float *k, const float *v, long ldkv, float *out, long ldo, long steps,     \
        long past, float *scratch) {                                                                               \
        const long total = past + steps, keys = attention_keys(total), ldkt = transposed_stride(keys);              \
        float *kt = scratch, *scores = scratch + D * ldkt;                                                         \
        transpose_keys(k, ldkv, total, keys, D, kt, ldkt);                                                         \
        for (long i = 0; i < steps; i += ATTENTION_QUERIES) {                                                      \
            const long rows = steps - i < ATTENTION_QUERIES ? steps - i : ATTENTION_QUERIES, seen = past + i + rows; \
            /* Rows past the last query repeat it (computed, never stored). */                                    \
            const float *query[ATTENTION_QUERIES];                                                                 \
            for (long a = 0; a < ATTENTION_QUERIES; a++) query[a] = q + (i + (a < rows ? a : rows - 1)) * ldq;     \
            for (long j = 0; j < seen; j += ATTENTION_KEYS) {                                                      \
                if (seen - j > 16) attention_scores(query, kt, ldkt, keys, j, D, 1, scores, rows);                 \
                else attention_scores(query, kt, ldkt, keys, j, D, 0, scores, rows);                               \
            }                                                                                                      \
            float inverse[ATTENTION_QUERIES];                                                                      \
            for (long a = 0; a < rows; a++) inverse[a] = attention_weights(scores + a * keys, past + i + a + 1, seen); \
            for (long a = 0; a < rows; a += R) {                                                                   \
                __m512 acc[R][D / 16];                                                                             \
                for (long b = 0; b < R; b++)                                                                       \
                    for (long c = 0; c < D / 16; c++) acc[b][c] = _mm512_setzero_ps();                             \
                const float *weights[R];                                                                           \
                for (long b = 0; b < R; b++) weights[b] = scores + (a + b < rows ? a + b : a) * keys;              \
                for (long j = 0; j < seen; j++) {                                                                  \
                    __m512 value[D / 16];                                                                          \
                    for (long c = 0; c < D / 16; c++) value[c] = _mm512_loadu_ps(v + j * ldkv + c * 16);           \
                    for (long b = 0; b < R; b++) {                                                                 \
                        const __m512 w = _mm512_set1_ps(weights[b][j]);                                            \
                        for (long c = 0; c < D / 16; c++) acc[b][c] = _mm512_fmadd_ps(w, value[c], acc[b][c]);     \
                    }                                                                                              \
                }                                                                                                  \
                for (long b = 0; b < R && a + b < rows; b++) {                                                     \
                    const __m512 normalize = _mm512_set1_ps(inverse[a + b]);                                       \
                    for (long c = 0; c < D / 16; c++)                                                              \
                        _mm512_storeu_ps(out + (i + a + b) * ldo + c * 16, _mm512_mul_ps(acc[b][c], normalize));    \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
    }

// R · D / 16 context accumulators, at most 16 of the 32 registers.
ATTENTION_F32(64, 4)
ATTENTION_F32(80, 3)
ATTENTION_F32(128, 2)

int ck_attention_f32_avx512_enabled(long d) {
    return (d == 64 || d == 80 || d == 128) && ck_isa() != CK_ISA_PORTABLE && ck_has(CK_FEATURE_AVX512F);
}

int ck_attention_f32_avx512(const float *q, long ldq, const float *k, const float *v, long ldkv, float *out, long ldo,
                            long steps, long past, long d, void *scratch) {
    if (!ck_attention_f32_avx512_enabled(d) || steps <= 0) return -1;
    switch (d) {
    case 64: attention_f32_64(q, ldq, k, v, ldkv, out, ldo, steps, past, scratch); break;
    case 80: attention_f32_80(q, ldq, k, v, ldkv, out, ldo, steps, past, scratch); break;
    default: attention_f32_128(q, ldq, k, v, ldkv, out, ldo, steps, past, scratch); break;
    }
    return 0;
}

// ck_matmul_q4 for batches on AVX-512 VNNI. The AVX2 kernel's products land four columns to a lane, so each group
// must be summed across lanes before its scale applies. Here 32 rows at a time are unpacked once per call into the
// layout `vpdpbusd` sums along, tile[k / 4][row] (the four stored nibbles u = q + 8 of one row and four columns a
// lane), so that after a group's eight instructions each lane holds one row's whole group sum, with no reduction,
// and an input's four bytes are one broadcast. The inputs are quantized per block of 32 as the AVX2 row kernel's, and
// a group's sums start at −8 · Σ x over it, so they are Σ q·x exactly, as that kernel's; one conversion and one FMA
// with the rows' scales times the input's block scale add them up (in another order than the AVX2 kernel's).
enum { Q4V_ROWS = 32, Q4V_INPUTS = 4 };
// Batches from this many inputs on, where the unpacking pays off. opt-125m on 2 Zen 4 cores, tokens/s on the AVX2
// kernel's layout with vpdpbusd (x86_avx2.c) against this one: decode of 4 sequences 449–453 / 351–355, of 8
// 522–530 / 506–524; forward passes of 8 tokens 834–851 / 725–737, of 12 941–945 / 915–1,028, of 16 1,185 / 1,222,
// of 32 1,082 / 1,366.
enum { Q4V_MIN_INPUTS = 12 };

typedef struct {
    long cols, groups;
    ck_q4_inputs inputs;
    int32_t *tile;           // [cols / 4][Q4V_ROWS], four unpacked columns of a row each
    float *tile_scales;      // [groups][Q4V_ROWS]
} q4_vnni;

// Unpacks rows [r0, r0 + n) (n ≤ Q4V_ROWS) into the tile; rows past n get zero weights and scales. Each row's 64
// columns (two groups: low nibbles then high ones of each) are a vector of 16 four-byte lanes, and sixteen rows'
// vectors transposed give sixteen tile lines.
__attribute__((target("avx512f,avx512bw,f16c"))) static void q4_unpack(const q4_vnni *p, const uint8_t *w,
                                                                        const uint16_t *scales, long r0, long n) {
    const long cols = p->cols, groups = p->groups;
    const __m256i nibble = _mm256_set1_epi8(15);
    for (long half = 0; half < Q4V_ROWS / 16; half++)
        for (long c = 0; c < cols; c += 64) {
            __m512 a[16];
            for (long l = 0; l < 16; l++) {
                const long r = half * 16 + l;
                if (r >= n) {
                    a[l] = _mm512_setzero_ps();
                    continue;
                }
                // The last group alone where the row has an odd number of them.
                const uint8_t *src = w + (r0 + r) * (cols / 2) + c / 2;
                const __m256i packed = cols - c >= 64 ? _mm256_loadu_si256((const __m256i *)src)
                                                      : _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)src));
                const __m256i low = _mm256_and_si256(packed, nibble), high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
                // [low of group 1, low of group 2, high of 1, high of 2] → [low 1, high 1, low 2, high 2]: column order.
                const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
                a[l] = _mm512_castsi512_ps(_mm512_shuffle_i64x2(both, both, _MM_SHUFFLE(3, 1, 2, 0)));
            }
            transpose16(a);
            for (long j = 0; j < 16 && c + 4 * j < cols; j++)
                _mm512_storeu_ps((float *)(p->tile + (c / 4 + j) * Q4V_ROWS + half * 16), a[j]);
        }
    for (long g = 0; g < groups; g++)
        for (long r = 0; r < Q4V_ROWS; r++)
            p->tile_scales[g * Q4V_ROWS + r] = r < n ? _cvtsh_ss(scales[(r0 + r) * groups + g]) : 0.0f;
}

// The tile's rows against inputs [i0, i0 + M) (M ≤ Q4V_INPUTS, a constant at every call): y[i][r0 + r] for r < n.
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void q4_vnni_inputs(
    const q4_vnni *p, float *y, long rows, long r0, long n, long i0, const int M) {
    const long cols = p->cols, groups = p->groups;
    __m512 acc[Q4V_INPUTS][2];
    for (int a = 0; a < M; a++) acc[a][0] = acc[a][1] = _mm512_setzero_ps();
    for (long g = 0; g < groups; g++) {
        __m512i sum[Q4V_INPUTS][2];
        for (int a = 0; a < M; a++) sum[a][0] = sum[a][1] = _mm512_set1_epi32(p->inputs.start[(i0 + a) * groups + g]);
        const int32_t *line = p->tile + g * (CK_Q4_GROUP / 4) * Q4V_ROWS;
        for (int k = 0; k < CK_Q4_GROUP / 4; k++, line += Q4V_ROWS) {
            const __m512i w0 = _mm512_loadu_si512(line), w1 = _mm512_loadu_si512(line + 16);
            for (int a = 0; a < M; a++) {
                int32_t four;
                memcpy(&four, p->inputs.xq + (i0 + a) * cols + g * CK_Q4_GROUP + 4 * k, sizeof four);
                const __m512i x = _mm512_set1_epi32(four);
                sum[a][0] = _mm512_dpbusd_epi32(sum[a][0], w0, x);
                sum[a][1] = _mm512_dpbusd_epi32(sum[a][1], w1, x);
            }
        }
        const __m512 d0 = _mm512_loadu_ps(p->tile_scales + g * Q4V_ROWS), d1 = _mm512_loadu_ps(p->tile_scales + g * Q4V_ROWS + 16);
        for (int a = 0; a < M; a++) {
            const __m512 s = _mm512_set1_ps(p->inputs.xs[(i0 + a) * groups + g]);
            acc[a][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[a][0]), _mm512_mul_ps(d0, s), acc[a][0]);
            acc[a][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[a][1]), _mm512_mul_ps(d1, s), acc[a][1]);
        }
    }
    for (long half = 0; half < 2; half++) {
        const long live = n - 16 * half;
        if (live <= 0) break;
        const __mmask16 mask = live >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << live) - 1);
        for (int a = 0; a < M; a++) _mm512_mask_storeu_ps(y + (i0 + a) * rows + r0 + 16 * half, mask, acc[a][half]);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni,f16c"))) static void q4_vnni_rows(const q4_vnni *p, const uint8_t *w,
                                                                                      const uint16_t *scales, float *y, long m,
                                                                                      long rows, long row_begin, long row_end) {
    for (long r0 = row_begin; r0 < row_end; r0 += Q4V_ROWS) {
        const long n = row_end - r0 < Q4V_ROWS ? row_end - r0 : Q4V_ROWS;
        q4_unpack(p, w, scales, r0, n);
        long i = 0;
        for (; i + Q4V_INPUTS <= m; i += Q4V_INPUTS) q4_vnni_inputs(p, y, rows, r0, n, i, Q4V_INPUTS);
        switch (m - i) {
        case 3: q4_vnni_inputs(p, y, rows, r0, n, i, 3); break;
        case 2: q4_vnni_inputs(p, y, rows, r0, n, i, 2); break;
        case 1: q4_vnni_inputs(p, y, rows, r0, n, i, 1); break;
        }
    }
}

int ck_q4_vnni(void) { return ck_q8_gemm() == CK_GEMM_AVX512VNNI && has_vnni() && ck_has(CK_FEATURE_F16C); }

int ck_q4_vnni_takes(long m) { return m >= Q4V_MIN_INPUTS && ck_q4_vnni(); }

static size_t q4_vnni_tile_bytes(long cols) {
    return (size_t)(cols / 4 * Q4V_ROWS) * sizeof(int32_t) + (size_t)(cols / CK_Q4_GROUP * Q4V_ROWS) * sizeof(float);
}

// Inputs [first, first + count) of the m prepared at `prepared` against rows [row_begin, row_end), the tile in `scratch`.
static void q4_vnni_prepared(const uint8_t *w, const uint16_t *scales, const void *prepared, float *y, long m, long rows,
                             long cols, long first, long count, long row_begin, long row_end, void *scratch) {
    int32_t *tile = scratch;
    // Only read through: the arrays are the caller's const prepared inputs.
    const q4_vnni p = {.cols = cols, .groups = cols / CK_Q4_GROUP, .inputs = ck_q4_blocks_at((void *)prepared, m, cols, first),
                       .tile = tile, .tile_scales = (float *)(tile + cols / 4 * Q4V_ROWS)};
    q4_vnni_rows(&p, w, scales, y + first * rows, count, rows, row_begin, row_end);
}

int ck_matmul_q4_avx512vnni(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows, long cols,
                            long row_begin, long row_end) {
    if (!ck_q4_vnni_takes(m)) return -1;
    if (row_begin >= row_end) return 0;
    const ck_q4_batch_kernel vnni = {.tile_bytes = q4_vnni_tile_bytes(cols), .input_bytes = ck_q4_blocks_bytes(m, cols),
                                     .prepare = ck_q4_blocks_prepare, .run = q4_vnni_prepared};
    return ck_q4_batch_matmul(w, scales, x, y, m, rows, cols, row_begin, row_end, &vnni);
}

int ck_matmul_q4_avx512vnni_prepared(const uint8_t *w, const uint16_t *scales, const void *prepared, float *y, long m,
                                     long rows, long cols, long first, long count, long row_begin, long row_end) {
    if (!ck_q4_vnni_takes(count)) return -1;
    if (row_begin >= row_end) return 0;
    void *scratch = ck_q4_thread_scratch(q4_vnni_tile_bytes(cols));
    if (!scratch) return -1;
    q4_vnni_prepared(w, scales, prepared, y, m, rows, cols, first, count, row_begin, row_end, scratch);
    return 0;
}

#else
#include "internal.h"
// No AVX-512 here: ck_q8_gemm() and ck_bf16_gemm() say CK_GEMM_NONE, so callers never get this far.
int ck_gemm_q8_quantize_inputs_avx512vnni(const float *x, uint8_t *xu, float *xs, int32_t *xz, long m, long cols) {
    (void)x; (void)xu; (void)xs; (void)xz; (void)m; (void)cols;
    return -1;
}
int ck_gemm_q8_avx512vnni(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales,
                          const int32_t *row_sums, float *y, long m, long rows, long cols, long row_begin, long row_end) {
    (void)xu; (void)xs; (void)xz; (void)w; (void)scales; (void)row_sums; (void)y; (void)m; (void)rows; (void)cols; (void)row_begin; (void)row_end;
    return -1;
}
int ck_dropout_f32_avx512(float *x, long n, uint64_t base, uint64_t first, uint32_t threshold, float scale) {
    (void)x; (void)n; (void)base; (void)first; (void)threshold; (void)scale;
    return -1;
}
int ck_gemm_q8_scale_sums_avx512vnni(const float *xs, const int32_t *xz, const float *scales, const int32_t *row_sums,
                                     const int32_t *sums, long ld_sums, float *y, long ld_y, long m, long n,
                                     const ck_epilogue *epilogue) {
    (void)xs; (void)xz; (void)scales; (void)row_sums; (void)sums; (void)ld_sums; (void)y; (void)ld_y; (void)m; (void)n; (void)epilogue;
    return -1;
}
void ck_gemm_bf16_convert_inputs(const float *x, uint16_t *xb, long m, long cols) { (void)x; (void)xb; (void)m; (void)cols; }
void ck_gemm_bf16(const uint16_t *xb, const uint16_t *w, float *y, long m, long rows, long cols, long row_begin, long row_end) {
    (void)xb; (void)w; (void)y; (void)m; (void)rows; (void)cols; (void)row_begin; (void)row_end;
}
int ck_attention_f32_avx512(const float *q, long ldq, const float *k, const float *v, long ldkv, float *out, long ldo,
                            long steps, long past, long d, void *scratch) {
    (void)q; (void)ldq; (void)k; (void)v; (void)ldkv; (void)out; (void)ldo; (void)steps; (void)past; (void)d; (void)scratch;
    return -1;
}
long ck_attention_f32_avx512_scratch(long total, long d) { (void)total; (void)d; return 0; }
int ck_attention_f32_avx512_enabled(long d) { (void)d; return 0; }
int ck_q4_gemm(void) { return CK_GEMM_NONE; }
int ck_q4_gemm_takes(long m) { (void)m; return 0; }
size_t ck_q4_prepared_bytes(long m, long cols) { (void)m; (void)cols; return 0; }
void ck_q4_prepare_inputs(const float *x, long m, long cols, void *prepared, long begin, long end) {
    (void)x; (void)m; (void)cols; (void)prepared; (void)begin; (void)end;
}
int ck_matmul_q4_prepared(const uint8_t *w, const uint16_t *scales, const void *prepared, float *y, long m, long rows,
                          long cols, long first, long count, long row_begin, long row_end) {
    (void)w; (void)scales; (void)prepared; (void)y; (void)m; (void)rows; (void)cols; (void)first; (void)count; (void)row_begin; (void)row_end;
    return -1;
}
int ck_matmul_q4_avx512vnni(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows, long cols,
                            long row_begin, long row_end) {
    (void)w; (void)scales; (void)x; (void)y; (void)m; (void)rows; (void)cols; (void)row_begin; (void)row_end;
    return -1;
}
#endif
