// AVX2 + FMA + F16C kernels, compiled for those instructions function by function so that the
// binary still runs (on the portable table) on x86-64 processors without them.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include "internal.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE AVX2 static inline __attribute__((always_inline))

// The storage formats; every kernel below is written once over a format that is a constant at
// each call, so the compiler emits one specialised loop per format.
enum { F32, F16, BF16, Q8 };

AVX2_INLINE long element_size(const int format) { return format == F32 ? 4 : format == Q8 ? 1 : 2; }

// Eight weights starting at element i, as f32.
AVX2_INLINE __m256 load8(const void *w, long i, const int format) {
    switch (format) {
    case F32: return _mm256_loadu_ps((const float *)w + i);
    case F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
    case BF16:
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i))), 16));
    default: return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)w + i))));
    }
}

// One weight, for the tails.
AVX2_INLINE float load1(const void *w, long i, const int format) {
    switch (format) {
    case F32: return ((const float *)w)[i];
    case F16: return ck_f16_to_f32(((const uint16_t *)w)[i]);
    case BF16: return ck_bf16_to_f32(((const uint16_t *)w)[i]);
    default: return (float)((const int8_t *)w)[i];
    }
}

AVX2_INLINE const void *row_at(const void *w, long r, long cols, const int format) {
    return (const char *)w + r * cols * element_size(format);
}

AVX2_INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// The four sums of four accumulators in one vector (a transpose-and-add instead of four reductions).
AVX2_INLINE __m128 reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

// One input (decode at batch 1): memory-bound, so each row is read start to end as one sequential
// stream, which the hardware prefetcher follows at full bandwidth, with four accumulators to hide
// the FMA latency.
AVX2_INLINE void matvec(const void *w, const float *scales, const float *x, float *y, long cols, long row_begin,
                        long row_end, const int format) {
    for (long r = row_begin; r < row_end; r++) {
        const void *wr = row_at(w, r, cols, format);
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        long c = 0;
        for (; c + 32 <= cols; c += 32) {
            a0 = _mm256_fmadd_ps(load8(wr, c, format), _mm256_loadu_ps(x + c), a0);
            a1 = _mm256_fmadd_ps(load8(wr, c + 8, format), _mm256_loadu_ps(x + c + 8), a1);
            a2 = _mm256_fmadd_ps(load8(wr, c + 16, format), _mm256_loadu_ps(x + c + 16), a2);
            a3 = _mm256_fmadd_ps(load8(wr, c + 24, format), _mm256_loadu_ps(x + c + 24), a3);
        }
        for (; c + 8 <= cols; c += 8) a0 = _mm256_fmadd_ps(load8(wr, c, format), _mm256_loadu_ps(x + c), a0);
        float sum = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; c < cols; c++) sum += load1(wr, c, format) * x[c];
        y[r] = format == Q8 ? sum * scales[r] : sum;
    }
}

// Several inputs (batched decode) are compute-bound: R rows against M inputs in R·M accumulators,
// so each weight vector is loaded and converted once for M FMAs and each input vector once for R.
// Two rows × four inputs keeps 8 accumulators + 2 weights + 1 input in the 16 registers and needs
// 6 loads per 8 FMAs, within the two loads a cycle the FMAs leave room for.
enum { TILE_ROWS = 2, TILE_INPUTS = 4, PREFETCH_TILES = 2 };

// R and M are constants at every call, so the loops unroll and the arrays live in registers.
// `next` (or null) are rows that a later tile reads; they are prefetched into L2 meanwhile, as the
// hardware prefetcher falls behind a stream consumed this slowly (into L1 they would evict the inputs).
AVX2_INLINE void tile(const void *w, const float *scales, const float *x, float *y, long rows, long cols, long r0,
                      long i0, const int R, const int M, const void *next, const int format) {
    const float *xi = x + i0 * cols;
    const void *wr[TILE_ROWS];
    for (int a = 0; a < R; a++) wr[a] = row_at(w, r0 + a, cols, format);
    __m256 acc[TILE_ROWS][TILE_INPUTS];
    for (int a = 0; a < R; a++)
        for (int b = 0; b < TILE_INPUTS; b++) acc[a][b] = _mm256_setzero_ps();
    const long lines = 64 / element_size(format);  // elements per cache line
    long c = 0;
    for (; c + 8 <= cols; c += 8) {
        if (next && (c & (lines - 1)) == 0)
            for (int a = 0; a < R; a++)
                _mm_prefetch((const char *)row_at(next, a, cols, format) + c * element_size(format), _MM_HINT_T1);
        __m256 wv[TILE_ROWS];
        for (int a = 0; a < R; a++) wv[a] = load8(wr[a], c, format);
        for (int b = 0; b < M; b++) {
            __m256 xv = _mm256_loadu_ps(xi + b * cols + c);
            for (int a = 0; a < R; a++) acc[a][b] = _mm256_fmadd_ps(wv[a], xv, acc[a][b]);
        }
    }
    for (int a = 0; a < R; a++) {
        float s[4];
        _mm_storeu_ps(s, reduce4(acc[a][0], acc[a][1], acc[a][2], acc[a][3]));
        for (long k = c; k < cols; k++) {
            float wk = load1(wr[a], k, format);
            for (int b = 0; b < M; b++) s[b] += wk * xi[b * cols + k];
        }
        float scale = format == Q8 ? scales[r0 + a] : 1.0f;
        for (int b = 0; b < M; b++) y[(i0 + b) * rows + r0 + a] = s[b] * scale;
    }
}

// All inputs against rows [r0, r0 + R), in tiles of up to TILE_INPUTS inputs; the first tile
// prefetches `next`, the others find the rows in L1.
AVX2_INLINE void tile_all_inputs(const void *w, const float *scales, const float *x, float *y, long m, long rows,
                                 long cols, long r0, const int R, const void *next, const int format) {
    long i = 0;
    for (; i + TILE_INPUTS <= m; i += TILE_INPUTS, next = 0) tile(w, scales, x, y, rows, cols, r0, i, R, 4, next, format);
    switch (m - i) {
    case 3: tile(w, scales, x, y, rows, cols, r0, i, R, 3, next, format); break;
    case 2: tile(w, scales, x, y, rows, cols, r0, i, R, 2, next, format); break;
    case 1: tile(w, scales, x, y, rows, cols, r0, i, R, 1, next, format); break;
    }
}

AVX2_INLINE void matmul(const void *w, const float *scales, const float *x, float *y, long m, long rows, long cols,
                        long row_begin, long row_end, const int format) {
    if (m == 1) {
        matvec(w, scales, x, y, cols, row_begin, row_end, format);
        return;
    }
    long r = row_begin;
    for (; r + TILE_ROWS <= row_end; r += TILE_ROWS) {
        long ahead = r + PREFETCH_TILES * TILE_ROWS;
        const void *next = ahead + TILE_ROWS <= row_end ? row_at(w, ahead, cols, format) : 0;
        tile_all_inputs(w, scales, x, y, m, rows, cols, r, TILE_ROWS, next, format);
    }
    for (; r < row_end; r++) tile_all_inputs(w, scales, x, y, m, rows, cols, r, 1, 0, format);
}

AVX2 static void matmul_f32(const float *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul(w, 0, x, y, m, rows, cols, b, e, F32);
}
AVX2 static void matmul_f16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul(w, 0, x, y, m, rows, cols, b, e, F16);
}
AVX2 static void matmul_bf16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul(w, 0, x, y, m, rows, cols, b, e, BF16);
}

// int8 at batch 1: the input is quantized too, per block of 32 with one f32 scale each (llama.cpp's
// Q8_0), so 32 products take one maddubs instead of 32 conversions to float. The block scales keep
// an outlier feature from costing the precision of the whole input.
enum { Q8_BLOCK = 32, Q8_STACK_COLS = 16384 };

// max |x| over 32 values.
AVX2_INLINE float block_max(const float *block) {
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    __m256 amax = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign_mask, _mm256_loadu_ps(block)),
                                              _mm256_andnot_ps(sign_mask, _mm256_loadu_ps(block + 8))),
                                _mm256_max_ps(_mm256_andnot_ps(sign_mask, _mm256_loadu_ps(block + 16)),
                                              _mm256_andnot_ps(sign_mask, _mm256_loadu_ps(block + 24))));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    return _mm_cvtss_f32(m4);
}

// 32 values as round(x · 127 / maximum), maximum ≥ max |x| (0 where it is 0), in column order.
AVX2_INLINE __m256i quantized_block(const float *block, float maximum) {
    const __m256 inverse = _mm256_set1_ps(maximum > 0 ? 127.0f / maximum : 0.0f);
    __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(block), inverse));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(block + 8), inverse));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(block + 16), inverse));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(block + 24), inverse));
    // Pack 32-bit → 16-bit → 8-bit; the packs interleave lanes, the permute puts them back in order.
    __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

AVX2 void ck_quantize_blocks_avx2(const float *x, int8_t *xq, float *xs, long blocks) {
    for (long b = 0; b < blocks; b++) {
        const float maximum = block_max(x + b * Q8_BLOCK);
        xs[b] = maximum / 127.0f;
        _mm256_storeu_si256((__m256i *)(xq + b * Q8_BLOCK), quantized_block(x + b * Q8_BLOCK, maximum));
    }
}

// The integer products of the int8 and int4 kernels below take vpdpbusd where the processor has it, in its EVEX encoding
// (AVX-512 VNNI with VL) or its VEX one (AVX-VNNI: Intel's cores without AVX-512, such as Alder Lake and Sierra Forest,
// and AMD Zen 5), else maddubs and madd (ck_dot_flavour). vpdpbusd sums four byte products into a 32-bit lane exactly,
// as maddubs's pairs and madd's pairs of pairs do wherever maddubs cannot saturate (so below): every flavour gives the
// same bits.
#define VNNI512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#define AVXVNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define DOT_AVX2(acc, u, s) _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)))
#define DOT_VNNI512(acc, u, s) _mm256_dpbusd_epi32(acc, u, s)
#define DOT_AVXVNNI(acc, u, s) _mm256_dpbusd_avx_epi32(acc, u, s)

// Σ over one block of 32: |w| · (x · sign(w)) (|w| ≤ 128 and |x| ≤ 127, so maddubs's pairs stay below 2^15 and nothing
// saturates). Each row is read start to end as one stream, with four accumulators.
#define Q8_MATVEC(NAME, TARGET, DOT)                                                                                    \
    TARGET static inline __attribute__((always_inline)) __m256 NAME##_block(const int8_t *w, const int8_t *x,          \
                                                                             const float *scale, __m256 acc) {         \
        __m256i wv = _mm256_loadu_si256((const __m256i *)w), xv = _mm256_loadu_si256((const __m256i *)x);              \
        __m256i sums = DOT(_mm256_setzero_si256(), _mm256_sign_epi8(wv, wv), _mm256_sign_epi8(xv, wv));                \
        return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_broadcast_ss(scale), acc);                              \
    }                                                                                                                  \
    TARGET static void NAME(const int8_t *w, const float *scales, const int8_t *xq, const float *xs, float *y,          \
                            long cols, long row_begin, long row_end) {                                                 \
        const long blocks = cols / Q8_BLOCK;                                                                           \
        for (long r = row_begin; r < row_end; r++) {                                                                   \
            const int8_t *wr = w + r * cols;                                                                           \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                                \
            long b = 0;                                                                                                \
            for (; b + 4 <= blocks; b += 4) {                                                                          \
                const long c = b * Q8_BLOCK;                                                                           \
                a0 = NAME##_block(wr + c, xq + c, xs + b, a0);                                                         \
                a1 = NAME##_block(wr + c + 32, xq + c + 32, xs + b + 1, a1);                                           \
                a2 = NAME##_block(wr + c + 64, xq + c + 64, xs + b + 2, a2);                                           \
                a3 = NAME##_block(wr + c + 96, xq + c + 96, xs + b + 3, a3);                                           \
            }                                                                                                          \
            for (; b < blocks; b++) a0 = NAME##_block(wr + b * Q8_BLOCK, xq + b * Q8_BLOCK, xs + b, a0);               \
            y[r] = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) * scales[r];                      \
        }                                                                                                              \
    }

Q8_MATVEC(matvec_q8_avx2, AVX2, DOT_AVX2)
Q8_MATVEC(matvec_q8_vnni512, VNNI512, DOT_VNNI512)
Q8_MATVEC(matvec_q8_avxvnni, AVXVNNI, DOT_AVXVNNI)

// ck_gemm_q8 on AVX-VNNI: x86_avx512.c's kernel at half the width and with 16 registers, a tile of 4 inputs × 2 rows
// (8 accumulators, 4 input vectors and 2 weight vectors), the columns past the last 32 added one at a time. On 2 AMD
// Zen 5 cores capped to AVX2 and AVX-VNNI (`optiml speed-gemm`), GOP/s: batched decode of opt-125m's fc1 (8 × 3072 × 768)
// 543 against 210 for f32 tiles of the weights (the path without it), of q/k/v 527 against 212; prefill's shapes
// (512 inputs) 550–606 against 826–930 for oneDNN's `avx2_vnni` kernels, which so take the batches past 16.
enum { Q8V_INPUTS = 4, Q8V_ROWS = 2 };

// The four sums of four accumulators at once (a transpose-and-add tree instead of four reductions).
AVXVNNI static inline __m128i reduce4_epi32(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
    const __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(a0, a1), _mm256_unpackhi_epi32(a0, a1));
    const __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(a2, a3), _mm256_unpackhi_epi32(a2, a3));
    const __m256i s = _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

AVXVNNI static void gemm_q8_avxvnni(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *ws,
                                    const int32_t *wsums, float *y, long m, long rows, long cols, long row_begin,
                                    long row_end) {
    const long body = cols / 32 * 32;
    for (long r = row_begin; r < row_end; r += Q8V_ROWS) {
        const long nr = row_end - r < Q8V_ROWS ? row_end - r : Q8V_ROWS;
        for (long i = 0; i < m; i += Q8V_INPUTS) {
            const long mr = m - i < Q8V_INPUTS ? m - i : Q8V_INPUTS;
            __m256i acc[Q8V_INPUTS][Q8V_ROWS];
            for (long a = 0; a < Q8V_INPUTS; a++)
                for (long b = 0; b < Q8V_ROWS; b++) acc[a][b] = _mm256_setzero_si256();
            for (long k = 0; k < body; k += 32) {
                __m256i xv[Q8V_INPUTS], wv[Q8V_ROWS];
                for (long a = 0; a < Q8V_INPUTS; a++)
                    xv[a] = _mm256_loadu_si256((const __m256i *)(xu + (i + (a < mr ? a : 0)) * cols + k));
                for (long b = 0; b < Q8V_ROWS; b++)
                    wv[b] = _mm256_loadu_si256((const __m256i *)(w + (r + (b < nr ? b : 0)) * cols + k));
                // Once per cache line, on the first tile of these rows.
                if (i == 0 && k % 64 == 0)
                    for (long b = 0; b < Q8V_ROWS; b++)
                        _mm_prefetch((const char *)(w + (r + CK_GEMM_PREFETCH_ROWS + b) * cols + k), _MM_HINT_T0);
                for (long a = 0; a < Q8V_INPUTS; a++)
                    for (long b = 0; b < Q8V_ROWS; b++) acc[a][b] = _mm256_dpbusd_avx_epi32(acc[a][b], xv[a], wv[b]);
            }
            // dots[a][b]: input a, row b.
            int32_t dots[Q8V_INPUTS][Q8V_ROWS];
            _mm_storeu_si128((__m128i *)dots[0], reduce4_epi32(acc[0][0], acc[0][1], acc[1][0], acc[1][1]));
            _mm_storeu_si128((__m128i *)dots[2], reduce4_epi32(acc[2][0], acc[2][1], acc[3][0], acc[3][1]));
            for (long a = 0; a < mr; a++)
                for (long b = 0; b < nr; b++) {
                    int32_t dot = dots[a][b];
                    for (long c = body; c < cols; c++) dot += (int32_t)xu[(i + a) * cols + c] * (int32_t)w[(r + b) * cols + c];
                    y[(i + a) * rows + r + b] = xs[i + a] * ws[r + b] * (float)(dot - xz[i + a] * wsums[r + b]);
                }
        }
    }
}

int ck_gemm_q8_avxvnni(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales,
                       const int32_t *row_sums, float *y, long m, long rows, long cols, long row_begin, long row_end) {
    if (ck_isa() != CK_ISA_AVX2 || !ck_has(CK_FEATURE_AVXVNNI)) return -1;
    gemm_q8_avxvnni(xu, xs, xz, w, scales, row_sums, y, m, rows, cols, row_begin, row_end);
    return 0;
}

AVX2 static void matmul_q8(const int8_t *w, const float *scales, const float *x, float *y, long m, long rows, long cols,
                           long row_begin, long row_end) {
    // Batches are compute-bound and exact in f32: the tiles convert each weight once for all inputs.
    if (m > 1 || cols % Q8_BLOCK != 0 || row_begin >= row_end) {
        matmul(w, scales, x, y, m, rows, cols, row_begin, row_end, Q8);
        return;
    }
    int8_t stack_q[Q8_STACK_COLS];
    float stack_s[Q8_STACK_COLS / Q8_BLOCK];
    int8_t *xq = stack_q;
    float *xs = stack_s;
    void *heap = 0;
    if (cols > Q8_STACK_COLS) {
        heap = malloc((size_t)cols + (size_t)(cols / Q8_BLOCK) * sizeof(float));
        if (!heap) {
            matmul(w, scales, x, y, m, rows, cols, row_begin, row_end, Q8);
            return;
        }
        xs = heap;
        xq = (int8_t *)(xs + cols / Q8_BLOCK);
    }
    ck_quantize_blocks_avx2(x, xq, xs, cols / Q8_BLOCK);
    switch (ck_dot_flavour()) {
    case CK_DOT_AVX512VNNI: matvec_q8_vnni512(w, scales, xq, xs, y, cols, row_begin, row_end); break;
    case CK_DOT_AVXVNNI: matvec_q8_avxvnni(w, scales, xq, xs, y, cols, row_begin, row_end); break;
    default: matvec_q8_avx2(w, scales, xq, xs, y, cols, row_begin, row_end);
    }
    free(heap);
}

// int4 (ck_matmul_q4's layout), every batch size: the inputs are quantized per block of 32 as for
// int8 (the blocks are the weight groups), then a pair of groups takes one 32-byte load, a mask and a
// shift (low nibbles: both groups' columns 0…15; high nibbles: 16…31) and two maddubs on the stored
// nibbles u = q + 8, unsigned as maddubs wants them. Σ q·x = Σ u·x − 8 · Σ x, and the second term is
// one number per group and input, so it is subtracted once per row (a dot product with the scales)
// instead of per weight. Eight groups' integer sums are gathered by three hadds into one vector, so
// they take one conversion and one FMA with their eight scales. Half the bytes of int8 and fewer
// instructions per weight: decode at batch 1 is bound by memory bandwidth, batches by the multiply-adds.
// Where AVX-512 VNNI runs, larger batches go to ck_matmul_q4_avx512vnni and the rest take vpdpbusd here.
enum { Q4_CHUNK = 8, Q4_TILE_INPUTS = 4, Q4_STACK_BYTES = 32768 };

// The order the three hadds leave eight groups' sums in.
#define Q4_HADD_ORDER 0, 2, 4, 6, 1, 3, 5, 7

// Inputs as q4_tile reads them, per input: groups padded with zeros to a multiple of Q4_CHUNK, the
// int8 values of each pair of groups (2k, 2k+1) reordered to [2k: 0…15, 2k+1: 0…15, 2k: 16…31,
// 2k+1: 16…31] to line up with the pair's nibbles, and per chunk of eight groups, in the hadds' order,
// the block scales xs and xc = 8 · xs · Σ block.
AVX2 static void q4_prepare(const float *x, long m, long cols, long padded, int8_t *xq, float *xs, float *xc) {
    const long groups = cols / CK_Q4_GROUP;
    static const int order[Q4_CHUNK] = {Q4_HADD_ORDER};
    for (long i = 0; i < m; i++) {
        int8_t *q = xq + i * padded * CK_Q4_GROUP;
        float *s = xs + i * padded, *c = xc + i * padded;
        float scale[Q4_CHUNK], correction[Q4_CHUNK];
        ck_quantize_blocks_avx2(x + i * cols, q, s, groups);
        memset(q + groups * CK_Q4_GROUP, 0, (size_t)(padded - groups) * CK_Q4_GROUP);
        for (long g = groups; g < padded; g++) s[g] = 0;
        for (long g = 0; g < padded; g += Q4_CHUNK) {
            for (int k = 0; k < Q4_CHUNK; k++) {
                int sum = 0;
                for (int j = 0; j < CK_Q4_GROUP; j++) sum += q[(g + k) * CK_Q4_GROUP + j];
                scale[k] = s[g + k];
                correction[k] = 8.0f * s[g + k] * (float)sum;
            }
            for (int k = 0; k < Q4_CHUNK; k++) s[g + k] = scale[order[k]], c[g + k] = correction[order[k]];
        }
        for (long g = 0; g < padded; g += 2) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(q + g * CK_Q4_GROUP));
            __m256i b = _mm256_loadu_si256((const __m256i *)(q + (g + 1) * CK_Q4_GROUP));
            _mm256_storeu_si256((__m256i *)(q + g * CK_Q4_GROUP), _mm256_permute2x128_si256(a, b, 0x20));
            _mm256_storeu_si256((__m256i *)(q + (g + 1) * CK_Q4_GROUP), _mm256_permute2x128_si256(a, b, 0x31));
        }
    }
}

// A pair of groups' products: lanes 0…3 group 2p's partial sums, 4…7 group 2p + 1's, from the stored nibbles (low:
// columns 0…15, high: 16…31) and the inputs as q4_prepare orders them (u ≤ 15 and |x| ≤ 127: maddubs's pairs at most
// 3810, and the AVX2 flavour adds two of them in 16 bits, 7620, before its madd: the same integers again).
#define Q4_PAIR_SUMS_AVX2(low, high, x0, x1) \
    _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(low, x0), _mm256_maddubs_epi16(high, x1)), _mm256_set1_epi16(1))
#define Q4_PAIR_SUMS_VNNI512(low, high, x0, x1) DOT_VNNI512(DOT_VNNI512(_mm256_setzero_si256(), low, x0), high, x1)
#define Q4_PAIR_SUMS_AVXVNNI(low, high, x0, x1) DOT_AVXVNNI(DOT_AVXVNNI(_mm256_setzero_si256(), low, x0), high, x1)

// NAME_tile: row r against inputs [i0, i0 + M), M a constant at every call, so the arrays live in registers;
// NAME: rows [row_begin, row_end) against all m inputs, in tiles of Q4_TILE_INPUTS.
#define Q4_KERNEL(NAME, TARGET, PAIR_SUMS)                                                                              \
    TARGET static inline __attribute__((always_inline)) void NAME##_tile(                                              \
        const uint8_t *w, const uint16_t *scales, const int8_t *xq, const float *xs, const float *xc, float *y,         \
        long rows, long cols, long padded, long r, long i0, const int M) {                                             \
        const long groups = cols / CK_Q4_GROUP;                                                                        \
        const uint8_t *wr = w + r * (cols / 2);                                                                        \
        const uint16_t *sr = scales + r * groups;                                                                      \
        const __m256i mask = _mm256_set1_epi8(15), order = _mm256_setr_epi32(Q4_HADD_ORDER);                           \
        __m256 acc[Q4_TILE_INPUTS], corr[Q4_TILE_INPUTS];                                                              \
        for (int b = 0; b < M; b++) acc[b] = corr[b] = _mm256_setzero_ps();                                            \
        for (long g = 0; g < groups; g += Q4_CHUNK) {                                                                  \
            const uint8_t *wc = wr + g * (CK_Q4_GROUP / 2);                                                            \
            __m128i half;                                                                                              \
            /* A last partial chunk is copied out with zeros after it (reading on could pass the weights' end); */     \
            /* the padding meets zero inputs and zero scales. */                                                       \
            _Alignas(32) uint8_t tail_w[Q4_CHUNK * CK_Q4_GROUP / 2];                                                   \
            if (g + Q4_CHUNK <= groups) {                                                                              \
                half = _mm_loadu_si128((const __m128i *)(sr + g));                                                     \
            } else {                                                                                                   \
                uint16_t tail_s[Q4_CHUNK] = {0};                                                                       \
                memcpy(tail_s, sr + g, (size_t)(groups - g) * sizeof(uint16_t));                                       \
                memset(tail_w, 0, sizeof tail_w);                                                                      \
                memcpy(tail_w, wc, (size_t)(groups - g) * (CK_Q4_GROUP / 2));                                          \
                half = _mm_loadu_si128((const __m128i *)tail_s);                                                       \
                wc = tail_w;                                                                                           \
            }                                                                                                          \
            const __m256 d = _mm256_permutevar8x32_ps(_mm256_cvtph_ps(half), order);                                   \
            for (int b = 0; b < M; b++) {                                                                              \
                const long o = (i0 + b) * padded + g;                                                                  \
                const int8_t *xb = xq + o * CK_Q4_GROUP;                                                               \
                __m256i sums[Q4_CHUNK / 2];                                                                            \
                for (int p = 0; p < Q4_CHUNK / 2; p++) {                                                               \
                    __m256i packed = _mm256_loadu_si256((const __m256i *)(wc + 32 * p));                               \
                    __m256i low = _mm256_and_si256(packed, mask), high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask); \
                    sums[p] = PAIR_SUMS(low, high, _mm256_loadu_si256((const __m256i *)(xb + 64 * p)),                 \
                                        _mm256_loadu_si256((const __m256i *)(xb + 64 * p + 32)));                      \
                }                                                                                                      \
                __m256i groupSums = _mm256_hadd_epi32(_mm256_hadd_epi32(sums[0], sums[1]), _mm256_hadd_epi32(sums[2], sums[3])); \
                acc[b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(groupSums), _mm256_mul_ps(d, _mm256_loadu_ps(xs + o)), acc[b]); \
                corr[b] = _mm256_fmadd_ps(d, _mm256_loadu_ps(xc + o), corr[b]);                                        \
            }                                                                                                          \
        }                                                                                                              \
        for (int b = 0; b < M; b++) y[(i0 + b) * rows + r] = hsum(acc[b]) - hsum(corr[b]);                            \
    }                                                                                                                  \
    TARGET static void NAME(const uint8_t *w, const uint16_t *scales, const int8_t *xq, const float *xs, const float *xc, \
                            float *y, long m, long rows, long cols, long padded, long row_begin, long row_end) {         \
        for (long r = row_begin; r < row_end; r++) {                                                                   \
            long i = 0;                                                                                                \
            for (; i + Q4_TILE_INPUTS <= m; i += Q4_TILE_INPUTS)                                                       \
                NAME##_tile(w, scales, xq, xs, xc, y, rows, cols, padded, r, i, Q4_TILE_INPUTS);                       \
            switch (m - i) {                                                                                           \
            case 3: NAME##_tile(w, scales, xq, xs, xc, y, rows, cols, padded, r, i, 3); break;                         \
            case 2: NAME##_tile(w, scales, xq, xs, xc, y, rows, cols, padded, r, i, 2); break;                         \
            case 1: NAME##_tile(w, scales, xq, xs, xc, y, rows, cols, padded, r, i, 1); break;                         \
            }                                                                                                          \
        }                                                                                                              \
    }

Q4_KERNEL(q4_rows_avx2, AVX2, Q4_PAIR_SUMS_AVX2)
Q4_KERNEL(q4_rows_vnni512, VNNI512, Q4_PAIR_SUMS_VNNI512)
Q4_KERNEL(q4_rows_avxvnni, AVXVNNI, Q4_PAIR_SUMS_AVXVNNI)

// The 8 × 8 block r[row][column] transposed in registers: pairs of rows interleaved, then pairs of pairs, then the
// 128-bit halves exchanged.
AVX2_INLINE void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    // u[4h + m]: column m of rows 4h…4h+3 in the lower 128 bits, column m + 4 in the upper.
    for (int h = 0; h < 2; h++) {
        u[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int m = 0; m < 4; m++) {
        r[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
        r[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
    }
}

// int4 batches (from Q4T_MIN_INPUTS inputs on, where VNNI's kernel does not run): 16 rows at a time are unpacked
// once per call into the layout maddubs multiplies along: tile[g · 8 + k][row] holds, in one 32-bit lane, the stored
// nibbles u = q + 8 of one row's columns 2k, 2k + 1 of group g's first half and 2k, 2k + 1 of its second half (16
// columns on), and the inputs are reordered to match, so one maddubs with an input's four bytes broadcast gives 8
// rows' products, each half's pair in its own 16-bit lane. A half's lane starts at −8 · Σ x over the half and adds
// its eight steps' products in 16 bits: Σ (u − 8)·x over the half is then its value, and every partial sum on the
// way is a sum of 16 terms (u − 8)·x or −8·x, so |·| ≤ 16 · 8 · 127 = 16,256 < 2^15 (u ≤ 15, |x| ≤ 127).
//
// The groups' scales are taken as integers, as llama.cpp's k-quants do: per row and superblock of Q4T_SUPER groups
// (256 columns) an f32 scale D = max |d| / Q4T_SUB_MAX and per group k = round(d / D), |k| ≤ Q4T_SUB_MAX (d the group's
// f16 scale; k is within 0.5 of d / D, which for the superblock's largest groups is finer than f16's 11 bits). One
// madd by k adds a row's two halves into 32 bits scaled by its group (|·| ≤ 32,512 · 8,191 < 2^28, eight groups
// < 2^31), and only each superblock's sum is converted to f32 and scaled by D times the input's scale. So the inputs
// are quantized per superblock too (one scale per 256 columns, where the row kernel has one per 32). On AMD Zen 1,
// where one pipe multiplies integers (two cycles a 256-bit maddubs), that spares the pipe's neighbours a conversion,
// a multiply and an FMA per group: fc1 and fc2 of opt-125m, 512 inputs, one core, 53.8–59.0 against 51.2–53.4 GOP/s
// with one f32 scaling per group (timed before the change, with the loop alone); with the inputs' quantization and
// the unpacking, fc1 58.5–59.1 against 54.3–55.4, at 4 inputs a pass. Three a pass, which leaves the 16-bit halves and
// the 32-bit sums of a group in registers, ran 61.1–61.4 (two 56.5, four 58.9–59.1, five 59.0–59.2; fc1, the same
// run); on opt-1.3b's 2048², 8192 × 2048 and 2048 × 8192, 58.3–59.3 against 54.0–55.7 before. The cost on accuracy,
// measured with `tools/int4_reference.py`'s inputs quantized per 256 columns against per 32 on nano's own text (4,096
// positions): top-1 98.27% against 98.29%, cosine 0.999475 against 0.999482.
//
// An earlier layout (tile[k][row], two columns a 16-bit lane, each half of a group widened on its own: an extract,
// two sign extensions and two adds per 8 rows) spent a third of its time widening: fc1 of opt-125m, 512 inputs, one
// Zen 1 core, best of rounds, 49.3 GOP/s against 54.6 for one madd a group (in a slower phase of the VM 29.0 against
// 37.9), 32.7 against 41.7 at 16 inputs; without any widening the loop alone runs 71. Widening with shifts instead
// of the madd: 52.6. From 16 inputs a call on, where the unpacking pays off (the row kernel against the earlier
// layout, GOP/s: 8 inputs 33.3 / 26.0, 12 36.3 / 35.5, 16 39.1 / 41.4, 32 33.3 / 41.3).
enum { Q4T_ROWS = 16, Q4T_INPUTS = 3, Q4T_MIN_INPUTS = 16, Q4T_SUPER = 8, Q4T_SUB_MAX = 8191 };

typedef struct {
    long cols, groups, supers;
    const int8_t *xq;        // [m][cols], reordered as the tile: per group, columns 2k, 2k + 1, 16 + 2k, 17 + 2k, k = 0…7
    const float *xs;         // [m][supers]: each input's scale per superblock
    const int32_t *start;    // [m][groups]: −8 · Σ x over the group's first half (low 16 bits) and second half (high)
    uint32_t *tile;          // [cols / 4][Q4T_ROWS], four unpacked columns of a row each
    int32_t *tile_subscales; // [groups][Q4T_ROWS]: k of each row in both 16-bit halves
    float *tile_scales;      // [supers][Q4T_ROWS]: D of each row
} q4_tiles;

// A group's 32 values (bytes, columns 0…15 in `first`, 16…31 in `second`) as the tile's eight 32-bit lanes.
AVX2_INLINE __m256i q4_tiles_lanes(__m128i first, __m128i second) {
    return _mm256_set_m128i(_mm_unpackhi_epi16(first, second), _mm_unpacklo_epi16(first, second));
}

// Row r's group scales d over superblock s as D and the groups' k (zeros past the tile's n rows). A NaN or infinite
// d makes D NaN, so its products are NaN, as they are on the other kernels.
AVX2 static void q4_tiles_scales(const q4_tiles *p, const uint16_t *scales, long r0, long n) {
    const long groups = p->groups;
    for (long r = 0; r < Q4T_ROWS; r++)
        for (long s = 0; s < p->supers; s++) {
            const long first = s * Q4T_SUPER, end = first + Q4T_SUPER < groups ? first + Q4T_SUPER : groups;
            float largest = 0;
            for (long g = first; g < end && r < n; g++) {
                const float d = fabsf(_cvtsh_ss(scales[(r0 + r) * groups + g]));
                largest = d > largest || !isfinite(d) ? d : largest;
            }
            p->tile_scales[s * Q4T_ROWS + r] = isfinite(largest) ? largest / Q4T_SUB_MAX : NAN;
            const float inverse = largest > 0 && isfinite(largest) ? Q4T_SUB_MAX / largest : 0;
            for (long g = first; g < end; g++) {
                const long k = r < n ? lrintf(_cvtsh_ss(scales[(r0 + r) * groups + g]) * inverse) : 0;
                const uint16_t clamped = (uint16_t)(k > Q4T_SUB_MAX ? Q4T_SUB_MAX : k < -Q4T_SUB_MAX ? -Q4T_SUB_MAX : k);
                p->tile_subscales[g * Q4T_ROWS + r] = (int32_t)((uint32_t)clamped * 0x10001u);
            }
        }
}

// Unpacks rows [r0, r0 + n) (n ≤ Q4T_ROWS) into the tile; rows past n get zero weights and scales. Eight rows'
// lanes of a group, transposed, are eight tile lines.
AVX2 static void q4_tiles_unpack(const q4_tiles *p, const uint8_t *w, const uint16_t *scales, long r0, long n) {
    const long cols = p->cols, groups = p->groups;
    const __m128i nibble = _mm_set1_epi8(15);
    for (long g = 0; g < groups; g++)
        for (long block = 0; block < Q4T_ROWS / 8; block++) {
            __m256 lanes[8];
            for (long j = 0; j < 8; j++) {
                const long r = block * 8 + j;
                if (r >= n) {
                    lanes[j] = _mm256_setzero_ps();
                    continue;
                }
                // Low nibbles are the group's columns 0…15, high ones 16…31.
                const __m128i packed = _mm_loadu_si128((const __m128i *)(w + (r0 + r) * (cols / 2) + g * (CK_Q4_GROUP / 2)));
                lanes[j] = _mm256_castsi256_ps(q4_tiles_lanes(_mm_and_si128(packed, nibble),
                                                              _mm_and_si128(_mm_srli_epi16(packed, 4), nibble)));
            }
            transpose8(lanes);
            for (long k = 0; k < 8; k++) _mm256_storeu_ps((float *)(p->tile + (g * 8 + k) * Q4T_ROWS + block * 8), lanes[k]);
        }
    q4_tiles_scales(p, scales, r0, n);
}

// A group's sums of one input and eight rows: AVX2's in two 16-bit halves (each half's pairs from maddubs, within 2^15 as
// above), taken times the halves' k (k in both 16-bit halves of the subscale lane) by madd; VNNI's in one 32-bit lane from
// vpdpbusd (four byte products at once), which ends at Σ q·x over the group, |·| ≤ 32 · 8 · 127 < 2^15, so madd with k in
// the low half alone takes it times k. Both make half₁ · k + half₂ · k = (half₁ + half₂) · k: the same bits.
#define Q4T_START_AVX2(start) _mm256_set1_epi32(start)
#define Q4T_STEP_AVX2(sum, line, x) _mm256_add_epi16(sum, _mm256_maddubs_epi16(line, x))
#define Q4T_SCALE_AVX2(sum, k) _mm256_madd_epi16(sum, k)
#define Q4T_START_VNNI(start) _mm256_set1_epi32((int16_t)(start) + (int16_t)((uint32_t)(start) >> 16))
#define Q4T_SCALE_VNNI(sum, k) _mm256_madd_epi16(sum, _mm256_and_si256(k, _mm256_set1_epi32(0xFFFF)))

// NAME_inputs: the tile's rows against inputs [i0, i0 + M) (M ≤ Q4T_INPUTS, a constant at every call): y[i][r0 + r] for
// r < n. NAME: rows [row_begin, row_end) against all m inputs, unpacking Q4T_ROWS of them at a time.
#define Q4_TILES(NAME, TARGET, START, STEP, SCALE)                                                                      \
    TARGET static inline __attribute__((always_inline)) void NAME##_inputs(const q4_tiles *p, float *y, long rows,     \
                                                                            long r0, long n, long i0, const int M) {   \
        const long cols = p->cols, groups = p->groups, supers = p->supers;                                             \
        __m256 acc[Q4T_INPUTS][2];                                                                                     \
        for (int a = 0; a < M; a++) acc[a][0] = acc[a][1] = _mm256_setzero_ps();                                       \
        for (long s = 0; s < supers; s++) {                                                                            \
            __m256i scaled[Q4T_INPUTS][2];                                                                             \
            for (int a = 0; a < M; a++) scaled[a][0] = scaled[a][1] = _mm256_setzero_si256();                          \
            const long end = (s + 1) * Q4T_SUPER < groups ? (s + 1) * Q4T_SUPER : groups;                              \
            for (long g = s * Q4T_SUPER; g < end; g++) {                                                               \
                __m256i sums[Q4T_INPUTS][2];                                                                           \
                for (int a = 0; a < M; a++) sums[a][0] = sums[a][1] = START(p->start[(i0 + a) * groups + g]);          \
                const uint32_t *lines = p->tile + g * 8 * Q4T_ROWS;                                                    \
                const int8_t *xq = p->xq + i0 * cols + g * CK_Q4_GROUP;                                                \
                _Pragma("clang loop unroll(disable)")                                                                  \
                for (long k = 0; k < 8; k++) {                                                                         \
                    const __m256i line0 = _mm256_loadu_si256((const __m256i *)(lines + k * Q4T_ROWS));                 \
                    const __m256i line1 = _mm256_loadu_si256((const __m256i *)(lines + k * Q4T_ROWS + 8));             \
                    for (int a = 0; a < M; a++) {                                                                      \
                        int32_t four;                                                                                  \
                        memcpy(&four, xq + a * cols + 4 * k, sizeof four);                                             \
                        const __m256i x = _mm256_set1_epi32(four);                                                     \
                        sums[a][0] = STEP(sums[a][0], line0, x);                                                       \
                        sums[a][1] = STEP(sums[a][1], line1, x);                                                       \
                    }                                                                                                  \
                }                                                                                                      \
                const __m256i k0 = _mm256_loadu_si256((const __m256i *)(p->tile_subscales + g * Q4T_ROWS));            \
                const __m256i k1 = _mm256_loadu_si256((const __m256i *)(p->tile_subscales + g * Q4T_ROWS + 8));        \
                for (int a = 0; a < M; a++) {                                                                          \
                    scaled[a][0] = _mm256_add_epi32(scaled[a][0], SCALE(sums[a][0], k0));                              \
                    scaled[a][1] = _mm256_add_epi32(scaled[a][1], SCALE(sums[a][1], k1));                              \
                }                                                                                                      \
            }                                                                                                          \
            const __m256 d0 = _mm256_loadu_ps(p->tile_scales + s * Q4T_ROWS);                                          \
            const __m256 d1 = _mm256_loadu_ps(p->tile_scales + s * Q4T_ROWS + 8);                                      \
            for (int a = 0; a < M; a++) {                                                                              \
                const __m256 xs = _mm256_set1_ps(p->xs[(i0 + a) * supers + s]);                                        \
                acc[a][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaled[a][0]), _mm256_mul_ps(d0, xs), acc[a][0]);       \
                acc[a][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaled[a][1]), _mm256_mul_ps(d1, xs), acc[a][1]);       \
            }                                                                                                          \
        }                                                                                                              \
        for (int a = 0; a < M; a++) {                                                                                  \
            float out[Q4T_ROWS];                                                                                       \
            _mm256_storeu_ps(out, acc[a][0]);                                                                          \
            _mm256_storeu_ps(out + 8, acc[a][1]);                                                                      \
            memcpy(y + (i0 + a) * rows + r0, out, (size_t)n * sizeof(float));                                         \
        }                                                                                                              \
    }                                                                                                                  \
    TARGET static void NAME(const q4_tiles *p, const uint8_t *w, const uint16_t *scales, float *y, long m, long rows,   \
                            long row_begin, long row_end) {                                                            \
        for (long r0 = row_begin; r0 < row_end; r0 += Q4T_ROWS) {                                                      \
            const long n = row_end - r0 < Q4T_ROWS ? row_end - r0 : Q4T_ROWS;                                          \
            q4_tiles_unpack(p, w, scales, r0, n);                                                                      \
            long i = 0;                                                                                                \
            for (; i + Q4T_INPUTS <= m; i += Q4T_INPUTS) NAME##_inputs(p, y, rows, r0, n, i, Q4T_INPUTS);              \
            switch (m - i) {                                                                                           \
            case 2: NAME##_inputs(p, y, rows, r0, n, i, 2); break;                                                     \
            case 1: NAME##_inputs(p, y, rows, r0, n, i, 1); break;                                                     \
            }                                                                                                          \
        }                                                                                                              \
    }

Q4_TILES(q4_tiles_rows_avx2, AVX2, Q4T_START_AVX2, Q4T_STEP_AVX2, Q4T_SCALE_AVX2)
Q4_TILES(q4_tiles_rows_vnni512, VNNI512, Q4T_START_VNNI, DOT_VNNI512, Q4T_SCALE_VNNI)
Q4_TILES(q4_tiles_rows_avxvnni, AVXVNNI, Q4T_START_VNNI, DOT_AVXVNNI, Q4T_SCALE_VNNI)

// A buffer of at least `bytes`, 64-byte aligned, kept per thread for its next call; NULL where memory ran out. Fresh
// pages, faulted in at every call, cost AVX2's tiles 4–7% (fc1, one thread: 46.1–46.7 against 43.8–44.3 GOP/s at 64
// inputs a call, 50.5–52.1 against 48.6 at 512).
void *ck_q4_thread_scratch(size_t bytes) {
    static _Thread_local unsigned char *buffer;
    static _Thread_local size_t capacity;
    if (bytes > capacity) {
        free(buffer);
        capacity = (buffer = aligned_alloc(64, (bytes + 63) / 64 * 64)) ? bytes : 0;
    }
    return buffer;
}

// The sums of 32 int8 values' two halves (columns 0…15, 16…31): bytes to pairs, pairs to fours, then the four fours of
// each 128-bit half.
AVX2_INLINE void block_half_sums(__m256i q, int32_t *first_half, int32_t *second_half) {
    __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
    sums = _mm256_hadd_epi32(sums, sums);
    sums = _mm256_hadd_epi32(sums, sums);
    *first_half = _mm256_extract_epi32(sums, 0);
    *second_half = _mm256_extract_epi32(sums, 4);
}

size_t ck_q4_blocks_bytes(long m, long cols) {
    return (size_t)(m * (cols / CK_Q4_GROUP)) * (sizeof(float) + sizeof(int32_t)) + (size_t)(m * cols);
}

ck_q4_inputs ck_q4_blocks_at(void *prepared, long m, long cols, long first) {
    const long groups = cols / CK_Q4_GROUP;
    float *xs = prepared;
    int32_t *start = (int32_t *)(xs + m * groups);
    int8_t *xq = (int8_t *)(start + m * groups);
    return (ck_q4_inputs){.xq = xq + first * cols, .xs = xs + first * groups, .start = start + first * groups};
}

AVX2 void ck_q4_blocks_prepare(const float *x, long m, long cols, void *prepared, long begin, long end) {
    const long groups = cols / CK_Q4_GROUP;
    const ck_q4_inputs in = ck_q4_blocks_at(prepared, m, cols, 0);
    for (long i = begin; i < end; i++) {
        int8_t *xq = in.xq + i * cols;
        ck_quantize_blocks_avx2(x + i * cols, xq, in.xs + i * groups, groups);
        for (long g = 0; g < groups; g++) {
            int32_t first_half, second_half;
            block_half_sums(_mm256_loadu_si256((const __m256i *)(xq + g * CK_Q4_GROUP)), &first_half, &second_half);
            in.start[i * groups + g] = -8 * (first_half + second_half);
        }
    }
}

// One input row for the tiles: quantized per superblock into xq (reordered as the tile), xs and start.
AVX2 static void q4_tiles_quantize(const float *x, long cols, int8_t *xq, float *xs, int32_t *start) {
    const long groups = cols / CK_Q4_GROUP;
    for (long first = 0, s = 0; first < groups; first += Q4T_SUPER, s++) {
        const long end = first + Q4T_SUPER < groups ? first + Q4T_SUPER : groups;
        float maximum = 0;
        for (long g = first; g < end; g++) maximum = fmaxf(maximum, block_max(x + g * CK_Q4_GROUP));
        xs[s] = maximum / 127.0f;
        for (long g = first; g < end; g++) {
            const __m256i q = quantized_block(x + g * CK_Q4_GROUP, maximum);
            int32_t first_half, second_half;
            block_half_sums(q, &first_half, &second_half);
            start[g] = (int32_t)(((uint32_t)(uint16_t)(-8 * second_half) << 16) | (uint16_t)(-8 * first_half));
            _mm256_storeu_si256((__m256i *)(xq + g * CK_Q4_GROUP),
                                q4_tiles_lanes(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)));
        }
    }
}

// The tiles' shape for rows of `cols` columns (their inputs and scratch not yet pointed at).
static q4_tiles q4_tiles_shape(long cols) {
    const long groups = cols / CK_Q4_GROUP;
    return (q4_tiles){.cols = cols, .groups = groups, .supers = (groups + Q4T_SUPER - 1) / Q4T_SUPER};
}

// The tiles' prepared inputs (ck_q4_prepare_inputs): xs [m][supers], then start [m][groups], then xq [m][cols].
static size_t q4_tiles_input_bytes(long m, long cols) {
    const q4_tiles p = q4_tiles_shape(cols);
    return (size_t)m * ((size_t)(p.supers + p.groups) * sizeof(int32_t) + (size_t)cols);
}

// Input `first` of the m prepared at `prepared`, in each of the three arrays.
typedef struct {
    float *xs;
    int32_t *start;
    int8_t *xq;
} q4_tiles_input;

static q4_tiles_input q4_tiles_input_at(const q4_tiles *p, void *prepared, long m, long first) {
    float *xs = prepared;
    int32_t *start = (int32_t *)(xs + m * p->supers);
    int8_t *xq = (int8_t *)(start + m * p->groups);
    return (q4_tiles_input){.xs = xs + first * p->supers, .start = start + first * p->groups, .xq = xq + first * p->cols};
}

// The tile, its group subscales and its scales one after another in a thread's scratch: their bytes, and where
// `scratch` is given, p's pointers into it.
static size_t q4_tiles_scratch(q4_tiles *p, void *scratch) {
    const size_t tile_bytes = (size_t)(p->cols / 4 * Q4T_ROWS) * sizeof(uint32_t);
    const size_t subscale_bytes = (size_t)(p->groups * Q4T_ROWS) * sizeof(int32_t);
    if (scratch) {
        p->tile = scratch;
        p->tile_subscales = (int32_t *)((unsigned char *)scratch + tile_bytes);
        p->tile_scales = (float *)((unsigned char *)scratch + tile_bytes + subscale_bytes);
    }
    return tile_bytes + subscale_bytes + (size_t)(p->supers * Q4T_ROWS) * sizeof(float);
}

// The tiles' products of inputs [first, first + count) of the m prepared, rows [row_begin, row_end), with the tile
// in `scratch`.
AVX2 static void q4_tiles_prepared(const uint8_t *w, const uint16_t *scales, const void *prepared, float *y, long m,
                                   long rows, long cols, long first, long count, long row_begin, long row_end,
                                   void *scratch) {
    q4_tiles p = q4_tiles_shape(cols);
    q4_tiles_scratch(&p, scratch);
    // Only read through: the arrays are the caller's const prepared inputs.
    const q4_tiles_input in = q4_tiles_input_at(&p, (void *)prepared, m, first);
    p.xs = in.xs;
    p.start = in.start;
    p.xq = in.xq;
    switch (ck_dot_flavour()) {
    case CK_DOT_AVX512VNNI: q4_tiles_rows_vnni512(&p, w, scales, y + first * rows, count, rows, row_begin, row_end); break;
    case CK_DOT_AVXVNNI: q4_tiles_rows_avxvnni(&p, w, scales, y + first * rows, count, rows, row_begin, row_end); break;
    default: q4_tiles_rows_avx2(&p, w, scales, y + first * rows, count, rows, row_begin, row_end);
    }
}

static size_t q4_tiles_scratch_bytes(long cols) {
    q4_tiles p = q4_tiles_shape(cols);
    return q4_tiles_scratch(&p, NULL);
}

AVX2 static void q4_tiles_prepare(const float *x, long m, long cols, void *prepared, long begin, long end) {
    const q4_tiles p = q4_tiles_shape(cols);
    const q4_tiles_input in = q4_tiles_input_at(&p, prepared, m, 0);
    for (long i = begin; i < end; i++) {
        q4_tiles_quantize(x + i * cols, cols, in.xq + i * cols, in.xs + i * p.supers, in.start + i * p.groups);
    }
}

int ck_q4_batch_matmul(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows, long cols,
                       long row_begin, long row_end, const ck_q4_batch_kernel *kernel) {
    const size_t tile_bytes = (kernel->tile_bytes + 63) / 64 * 64;
    unsigned char *scratch = ck_q4_thread_scratch(tile_bytes + kernel->input_bytes);
    if (!scratch) return -1;
    kernel->prepare(x, m, cols, scratch + tile_bytes, 0, m);
    kernel->run(w, scales, scratch + tile_bytes, y, m, rows, cols, 0, m, row_begin, row_end, scratch);
    return 0;
}

// ck_matmul_q4 on the tiles, the inputs prepared in the thread's scratch; -1 (nothing written) where memory ran out.
static int q4_tiles_matmul(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows,
                           long cols, long row_begin, long row_end) {
    const ck_q4_batch_kernel tiles = {.tile_bytes = q4_tiles_scratch_bytes(cols), .input_bytes = q4_tiles_input_bytes(m, cols),
                                      .prepare = q4_tiles_prepare, .run = q4_tiles_prepared};
    return ck_q4_batch_matmul(w, scales, x, y, m, rows, cols, row_begin, row_end, &tiles);
}

size_t ck_q4_prepared_bytes(long m, long cols) {
    switch (ck_q4_gemm()) {
    case CK_GEMM_AVX512VNNI: return ck_q4_vnni_takes(m) ? ck_q4_blocks_bytes(m, cols) : 0;
    case CK_GEMM_AVX2: return m >= Q4T_MIN_INPUTS ? q4_tiles_input_bytes(m, cols) : 0;
    default: return 0;
    }
}

// Where ck_q4_prepared_bytes is 0 there is nothing to prepare (and perhaps no AVX2 to run the kernels on).
void ck_q4_prepare_inputs(const float *x, long m, long cols, void *prepared, long begin, long end) {
    if (ck_q4_prepared_bytes(m, cols) == 0) return;
    if (ck_q4_gemm() == CK_GEMM_AVX512VNNI)
        ck_q4_blocks_prepare(x, m, cols, prepared, begin, end);
    else
        q4_tiles_prepare(x, m, cols, prepared, begin, end);
}

int ck_matmul_q4_prepared(const uint8_t *w, const uint16_t *scales, const void *prepared, float *y, long m, long rows,
                          long cols, long first, long count, long row_begin, long row_end) {
    if (ck_q4_prepared_bytes(m, cols) == 0) return -1;
    if (ck_q4_gemm() == CK_GEMM_AVX512VNNI)
        return ck_matmul_q4_avx512vnni_prepared(w, scales, prepared, y, m, rows, cols, first, count, row_begin, row_end);
    unsigned char *scratch = ck_q4_thread_scratch(q4_tiles_scratch_bytes(cols));
    if (!scratch) return -1;
    q4_tiles_prepared(w, scales, prepared, y, m, rows, cols, first, count, row_begin, row_end, scratch);
    return 0;
}

AVX2 static void matmul_q4(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows,
                           long cols, long row_begin, long row_end) {
    if (row_begin >= row_end) return;
    if (ck_matmul_q4_avx512vnni(w, scales, x, y, m, rows, cols, row_begin, row_end) == 0) return;
    if (m >= Q4T_MIN_INPUTS && q4_tiles_matmul(w, scales, x, y, m, rows, cols, row_begin, row_end) == 0) return;
    const long groups = cols / CK_Q4_GROUP;
    const long padded = (groups + Q4_CHUNK - 1) / Q4_CHUNK * Q4_CHUNK;
    const size_t bytes = (size_t)(m * padded) * (CK_Q4_GROUP + 2 * sizeof(float));
    _Alignas(32) unsigned char stack[Q4_STACK_BYTES];
    void *heap = 0;
    unsigned char *buffer = stack;
    if (bytes > sizeof stack) {
        if (!(buffer = heap = malloc(bytes))) {
            ck_portable_table.matmul_q4(w, scales, x, y, m, rows, cols, row_begin, row_end);
            return;
        }
    }
    float *xs = (float *)buffer, *xc = xs + m * padded;
    int8_t *xq = (int8_t *)(xc + m * padded);
    q4_prepare(x, m, cols, padded, xq, xs, xc);
    switch (ck_dot_flavour()) {
    case CK_DOT_AVX512VNNI: q4_rows_vnni512(w, scales, xq, xs, xc, y, m, rows, cols, padded, row_begin, row_end); break;
    case CK_DOT_AVXVNNI: q4_rows_avxvnni(w, scales, xq, xs, xc, y, m, rows, cols, padded, row_begin, row_end); break;
    default: q4_rows_avx2(w, scales, xq, xs, xc, y, m, rows, cols, padded, row_begin, row_end);
    }
    free(heap);
}

int ck_q4_gemm(void) {
    return ck_q4_vnni() ? CK_GEMM_AVX512VNNI : ck_isa() == CK_ISA_AVX2 ? CK_GEMM_AVX2 : CK_GEMM_NONE;
}

int ck_q4_gemm_takes(long m) {
    switch (ck_q4_gemm()) {
    case CK_GEMM_AVX512VNNI: return ck_q4_vnni_takes(m);
    case CK_GEMM_AVX2: return m >= Q4T_MIN_INPUTS;
    default: return 0;
    }
}

AVX2 static void rows_q4(const uint8_t *w, const uint16_t *scales, float *out, long cols, long b, long e) {
    const long groups = cols / CK_Q4_GROUP;
    const __m128i mask = _mm_set1_epi8(15), eight = _mm_set1_epi8(8);
    for (long r = b; r < e; r++)
        for (long g = 0; g < groups; g++) {
            __m128i packed = _mm_loadu_si128((const __m128i *)(w + r * (cols / 2) + g * 16));
            __m128i half[2] = {_mm_sub_epi8(_mm_and_si128(packed, mask), eight),
                               _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), mask), eight)};
            __m256 d = _mm256_set1_ps(_cvtsh_ss(scales[r * groups + g]));
            float *dst = out + (r - b) * cols + g * CK_Q4_GROUP;
            for (int k = 0; k < 2; k++) {
                _mm256_storeu_ps(dst + 16 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(half[k])), d));
                _mm256_storeu_ps(dst + 16 * k + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(half[k], 8))), d));
            }
        }
}

// Conversion of whole rows: the block is contiguous, so it is one flat loop.
AVX2_INLINE void rows_to_f32(const void *w, const float *scales, float *out, long cols, long row_begin, long row_end,
                             const int format) {
    if (format == Q8) {
        for (long r = row_begin; r < row_end; r++) {
            const int8_t *src = (const int8_t *)w + r * cols;
            float *dst = out + (r - row_begin) * cols;
            __m256 scale = _mm256_set1_ps(scales[r]);
            long c = 0;
            for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(dst + c, _mm256_mul_ps(load8(src, c, Q8), scale));
            for (; c < cols; c++) dst[c] = scales[r] * (float)src[c];
        }
        return;
    }
    const void *src = row_at(w, row_begin, cols, format);
    long n = (row_end - row_begin) * cols, i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load8(src, i, format));
    for (; i < n; i++) out[i] = load1(src, i, format);
}

AVX2 static void rows_f16(const uint16_t *w, float *out, long cols, long b, long e) { rows_to_f32(w, 0, out, cols, b, e, F16); }
AVX2 static void rows_bf16(const uint16_t *w, float *out, long cols, long b, long e) { rows_to_f32(w, 0, out, cols, b, e, BF16); }
AVX2 static void rows_q8(const int8_t *w, const float *scales, float *out, long cols, long b, long e) {
    rows_to_f32(w, scales, out, cols, b, e, Q8);
}

// f32 to f16 with F16C, which rounds to nearest even and keeps NaN and infinity as the scalar code does.
AVX2 static void to_f16(const float *src, uint16_t *dst, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) dst[i] = ck_f32_to_f16_one(src[i]);
}

// f32 to bfloat16: the scalar code's integer rounding, eight at a time.
AVX2 static void to_bf16(const float *src, uint16_t *dst, long n) {
    const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF), infinity = _mm256_set1_epi32(0x7F800000);
    const __m256i bias = _mm256_set1_epi32(0x7FFF), one = _mm256_set1_epi32(1), quiet = _mm256_set1_epi32(0x40);
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i half[2];
        for (int k = 0; k < 2; k++) {
            __m256i bits = _mm256_loadu_si256((const __m256i *)(src + i + 8 * k));
            __m256i rounded = _mm256_srli_epi32(
                _mm256_add_epi32(_mm256_add_epi32(bits, bias), _mm256_and_si256(_mm256_srli_epi32(bits, 16), one)), 16);
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(bits, abs_mask), infinity);
            half[k] = _mm256_blendv_epi8(rounded, _mm256_or_si256(_mm256_srli_epi32(bits, 16), quiet), nan);
        }
        // packus interleaves the 128-bit lanes; the permute puts them back in order.
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(half[0], half[1]), 0xD8);
        _mm256_storeu_si256((__m256i *)(dst + i), packed);
    }
    for (; i < n; i++) dst[i] = ck_f32_to_bf16_one(src[i]);
}

// Per-row symmetric int8 as the portable code computes it (same products, same rounding), so the
// weights come out bit-identical; NaN becomes 0 in both.
AVX2 static void quantize_q8(const float *w, int8_t *q, float *scales, long rows, long cols) {
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    const __m256i low = _mm256_set1_epi32(-127), high = _mm256_set1_epi32(127);
    for (long r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        int8_t *out = q + r * cols;
        __m256 amax = _mm256_setzero_ps();
        long c = 0;
        // max_ps returns its second operand when either is NaN, so NaN never becomes the maximum.
        for (; c + 8 <= cols; c += 8) amax = _mm256_max_ps(_mm256_andnot_ps(sign_mask, _mm256_loadu_ps(row + c)), amax);
        float lanes[8], maximum = 0;
        _mm256_storeu_ps(lanes, amax);
        for (int k = 0; k < 8; k++) if (lanes[k] > maximum) maximum = lanes[k];
        for (; c < cols; c++) if (fabsf(row[c]) > maximum) maximum = fabsf(row[c]);
        float inverse = maximum > 0 ? 127.0f / maximum : 0;
        scales[r] = maximum / 127.0f;
        const __m256 vinverse = _mm256_set1_ps(inverse);
        c = 0;
        for (; c + 32 <= cols; c += 32) {
            __m256i v[4];
            for (int k = 0; k < 4; k++) {
                __m256 p = _mm256_mul_ps(_mm256_loadu_ps(row + c + 8 * k), vinverse);
                p = _mm256_and_ps(p, _mm256_cmp_ps(p, p, _CMP_ORD_Q));  // NaN → 0
                v[k] = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtps_epi32(p), low), high);
            }
            __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
            packed = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(out + c), packed);
        }
        for (; c < cols; c++) {
            float v = nearbyintf(row[c] * inverse);
            out[c] = (int8_t)(v != v ? 0 : v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}

AVX2 static float dot(const float *a, const float *b, long n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), a1);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), a0);
    float sum = hsum(_mm256_add_ps(a0, a1));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

AVX2 static void axpy(float alpha, const float *x, float *y, long n) {
    __m256 a = _mm256_set1_ps(alpha);
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += alpha * x[i];
}

// exp(x) for x ≤ 0 (softmax after subtracting the maximum): internal.h's steps and constants.
AVX2_INLINE __m256 exp_nonpositive(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(ck_exp_floor));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(ck_exp_log2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ck_exp_ln2_high), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ck_exp_ln2_low), r);
    __m256 p = _mm256_set1_ps(ck_exp_polynomial[0]);
    for (int term = 1; term < CK_EXP_TERMS; term++) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ck_exp_polynomial[term]));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

AVX2 static float softmax(float *x, long n) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    long i = 0;
    for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float maximum = _mm_cvtss_f32(m4);
    for (; i < n; i++) if (x[i] > maximum) maximum = x[i];
    if (maximum == -INFINITY) {
        for (i = 0; i < n; i++) x[i] = 0;
        return -INFINITY;
    }
    __m256 shift = _mm256_set1_ps(maximum), vsum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        // Masked (-infinity) entries get exactly 0, not the clamp's 2^-126.
        __m256 e = _mm256_and_ps(exp_nonpositive(_mm256_sub_ps(v, shift)), _mm256_cmp_ps(v, _mm256_set1_ps(-INFINITY), _CMP_NEQ_OQ));
        _mm256_storeu_ps(x + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = hsum(vsum);
    for (; i < n; i++) sum += (x[i] = expf(x[i] - maximum));
    __m256 inverse = _mm256_set1_ps(1 / sum);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inverse));
    for (; i < n; i++) x[i] *= 1 / sum;
    return maximum + logf(sum);
}

// ck_attend_one_f32 for heads of a multiple of 8 values: each score is `dot`'s (the same two accumulators, four keys
// a pass so that the query is loaded once for them), then `softmax`; the context goes 64 values at a time in
// registers, each weight's FMA in `axpy`'s order, instead of a load and a store of the output per cached position.
AVX2_INLINE void attend_values(const float *v, long ld, float *out, long total, const float *scores, const int N) {
    __m256 acc[8];
    for (int c = 0; c < N; c++) acc[c] = _mm256_setzero_ps();
    for (long j = 0; j < total; j++) {
        if (scores[j] == 0) continue;
        const __m256 p = _mm256_set1_ps(scores[j]);
        for (int c = 0; c < N; c++) acc[c] = _mm256_fmadd_ps(p, _mm256_loadu_ps(v + j * ld + 8 * c), acc[c]);
    }
    for (int c = 0; c < N; c++) _mm256_storeu_ps(out + 8 * c, acc[c]);
}

AVX2 static int attend_one(const float *q, const float *k, const float *v, long ld, float *out, long total, long d,
                           float *scores) {
    if (d % 8 != 0) return -1;
    long j = 0;
    for (; j + 4 <= total; j += 4) {
        __m256 a0[4], a1[4];
        for (int t = 0; t < 4; t++) a0[t] = a1[t] = _mm256_setzero_ps();
        long i = 0;
        for (; i + 16 <= d; i += 16) {
            const __m256 q0 = _mm256_loadu_ps(q + i), q1 = _mm256_loadu_ps(q + i + 8);
            for (int t = 0; t < 4; t++) {
                a0[t] = _mm256_fmadd_ps(q0, _mm256_loadu_ps(k + (j + t) * ld + i), a0[t]);
                a1[t] = _mm256_fmadd_ps(q1, _mm256_loadu_ps(k + (j + t) * ld + i + 8), a1[t]);
            }
        }
        if (i < d) {
            const __m256 q0 = _mm256_loadu_ps(q + i);
            for (int t = 0; t < 4; t++) a0[t] = _mm256_fmadd_ps(q0, _mm256_loadu_ps(k + (j + t) * ld + i), a0[t]);
        }
        for (int t = 0; t < 4; t++) scores[j + t] = hsum(_mm256_add_ps(a0[t], a1[t]));
    }
    for (; j < total; j++) scores[j] = dot(q, k + j * ld, d);
    softmax(scores, total);
    long i = 0;
    for (; i + 64 <= d; i += 64) attend_values(v + i, ld, out + i, total, scores, 8);
    switch ((d - i) / 8) {
    case 7: attend_values(v + i, ld, out + i, total, scores, 7); break;
    case 6: attend_values(v + i, ld, out + i, total, scores, 6); break;
    case 5: attend_values(v + i, ld, out + i, total, scores, 5); break;
    case 4: attend_values(v + i, ld, out + i, total, scores, 4); break;
    case 3: attend_values(v + i, ld, out + i, total, scores, 3); break;
    case 2: attend_values(v + i, ld, out + i, total, scores, 2); break;
    case 1: attend_values(v + i, ld, out + i, total, scores, 1); break;
    }
    return 0;
}

// ck_attention_f32 on AVX2: x86_avx512.c's kernel at half the width and with 16 registers. The head's keys are
// transposed once per call (kt[c][j], in 8 × 8 blocks); scores go in tiles of 6 queries × 16 keys, 12 accumulators fed
// by two loads and six broadcasts per dimension (ten or more in flight keep two FMA units busy, as Intel's cores have);
// only the keys a block's last query sees are computed. The context goes in the same shape, 6 queries × 16 dimensions:
// 12 accumulators fed by two loads of a value row as stored and six broadcasts of weights per key, so a block reads
// the values once (tiles of 2 queries × 32 dimensions read them three times: 18.5 ms against 14.8 for 12 heads of 64
// over 512 positions on one Zen 1 core). Each query's weights stay unnormalized and its context is divided by their
// sum once.
enum { AVX2_ATTENTION_QUERIES = 6, AVX2_ATTENTION_KEYS = 16 };

static long avx2_attention_keys(long total) {
    return (total + AVX2_ATTENTION_KEYS - 1) / AVX2_ATTENTION_KEYS * AVX2_ATTENTION_KEYS;
}

// Floats between rows of the transposed keys: one cache line past the keys, as x86_avx512.c's (rows a power of two
// apart share few of L1's sets).
static long avx2_transposed_stride(long keys) { return keys + 16; }

long ck_attention_f32_avx2_scratch(long total, long d) {
    const long keys = avx2_attention_keys(total);
    return (d * avx2_transposed_stride(keys) + AVX2_ATTENTION_QUERIES * keys) * (long)sizeof(float);
}

int ck_attention_f32_avx2_enabled(long d) { return d > 0 && d % 16 == 0 && ck_isa() == CK_ISA_AVX2; }

// kt[c · ldkt + j] = k[j][c] for the head's d dimensions (a multiple of 8) and `keys` key slots, zero from `total` on.
AVX2 static void transpose_keys(const float *k, long ldkv, long total, long keys, long d, float *kt, long ldkt) {
    for (long j = 0; j < keys; j += 8)
        for (long c = 0; c < d; c += 8) {
            __m256 a[8];
            for (int r = 0; r < 8; r++) a[r] = j + r < total ? _mm256_loadu_ps(k + (j + r) * ldkv + c) : _mm256_setzero_ps();
            transpose8(a);
            for (int r = 0; r < 8; r++) _mm256_storeu_ps(kt + (c + r) * ldkt + j, a[r]);
        }
}

// Scores of 6 queries × 8 keys (wide: 16) from key j on, stored for the first `rows` queries.
AVX2_INLINE void attention_scores(const float *const query[AVX2_ATTENTION_QUERIES], const float *kt, long ldkt, long keys,
                                  long j, long d, const int wide, float *scores, long rows) {
    __m256 acc[AVX2_ATTENTION_QUERIES][2];
    for (int a = 0; a < AVX2_ATTENTION_QUERIES; a++) acc[a][0] = acc[a][1] = _mm256_setzero_ps();
    for (long c = 0; c < d; c++) {
        const __m256 k0 = _mm256_loadu_ps(kt + c * ldkt + j), k1 = wide ? _mm256_loadu_ps(kt + c * ldkt + j + 8) : k0;
        for (int a = 0; a < AVX2_ATTENTION_QUERIES; a++) {
            const __m256 x = _mm256_broadcast_ss(query[a] + c);
            acc[a][0] = _mm256_fmadd_ps(x, k0, acc[a][0]);
            if (wide) acc[a][1] = _mm256_fmadd_ps(x, k1, acc[a][1]);
        }
    }
    for (long a = 0; a < rows; a++) {
        _mm256_storeu_ps(scores + a * keys + j, acc[a][0]);
        if (wide) _mm256_storeu_ps(scores + a * keys + j + 8, acc[a][1]);
    }
}

// A query's scores over the `visible` keys it sees become e^(s − max), zeros from there to `seen` rounded up to 8
// (every score read was written by the block's tiles); returns 1 / Σ.
AVX2_INLINE float attention_weights(float *scores, long visible, long seen) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 minus_infinity = _mm256_set1_ps(-INFINITY);
    __m256 vmax = minus_infinity;
    for (long j = 0; j < visible; j += 8) {
        const __m256 live = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(visible - j)), lane));
        vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(minus_infinity, _mm256_loadu_ps(scores + j), live));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const __m256 shift = _mm256_broadcastss_ps(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    __m256 vsum = _mm256_setzero_ps();
    for (long j = 0; j < seen; j += 8) {
        const long left = visible - j < 0 ? 0 : visible - j;
        const __m256 live = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left < 8 ? left : 8)), lane));
        const __m256 e = _mm256_and_ps(exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(scores + j), shift)), live);
        _mm256_storeu_ps(scores + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    return 1 / hsum(vsum);
}

// The context of the block's 6 queries over 16 dimensions from the `seen` value rows and the queries' weights; the
// first `rows` written to out[a], times inverse[a].
AVX2_INLINE void attention_context(const float *const weights[AVX2_ATTENTION_QUERIES], const float *v, long ldkv, long seen,
                                   const float inverse[AVX2_ATTENTION_QUERIES], float *const out[AVX2_ATTENTION_QUERIES],
                                   long rows) {
    __m256 acc[AVX2_ATTENTION_QUERIES][2];
    for (int a = 0; a < AVX2_ATTENTION_QUERIES; a++) acc[a][0] = acc[a][1] = _mm256_setzero_ps();
    for (long j = 0; j < seen; j++) {
        const __m256 v0 = _mm256_loadu_ps(v + j * ldkv), v1 = _mm256_loadu_ps(v + j * ldkv + 8);
        for (int a = 0; a < AVX2_ATTENTION_QUERIES; a++) {
            const __m256 w = _mm256_broadcast_ss(weights[a] + j);
            acc[a][0] = _mm256_fmadd_ps(w, v0, acc[a][0]);
            acc[a][1] = _mm256_fmadd_ps(w, v1, acc[a][1]);
        }
    }
    for (long a = 0; a < rows; a++) {
        const __m256 normalize = _mm256_set1_ps(inverse[a]);
        _mm256_storeu_ps(out[a], _mm256_mul_ps(acc[a][0], normalize));
        _mm256_storeu_ps(out[a] + 8, _mm256_mul_ps(acc[a][1], normalize));
    }
}

AVX2 static void attention_avx2(const float *q, long ldq, const float *k, const float *v, long ldkv, float *out, long ldo,
                                long steps, long past, long d, float *scratch) {
    const long total = past + steps, keys = avx2_attention_keys(total), ldkt = avx2_transposed_stride(keys);
    float *kt = scratch, *scores = scratch + d * ldkt;
    transpose_keys(k, ldkv, total, keys, d, kt, ldkt);
    for (long i = 0; i < steps; i += AVX2_ATTENTION_QUERIES) {
        const long rows = steps - i < AVX2_ATTENTION_QUERIES ? steps - i : AVX2_ATTENTION_QUERIES, seen = past + i + rows;
        // Rows past the last query repeat it (computed, never stored).
        const float *query[AVX2_ATTENTION_QUERIES], *weights[AVX2_ATTENTION_QUERIES];
        for (long a = 0; a < AVX2_ATTENTION_QUERIES; a++) {
            query[a] = q + (i + (a < rows ? a : rows - 1)) * ldq;
            weights[a] = scores + (a < rows ? a : rows - 1) * keys;
        }
        for (long j = 0; j < seen; j += AVX2_ATTENTION_KEYS) {
            if (seen - j > 8) attention_scores(query, kt, ldkt, keys, j, d, 1, scores, rows);
            else attention_scores(query, kt, ldkt, keys, j, d, 0, scores, rows);
        }
        float inverse[AVX2_ATTENTION_QUERIES];
        for (long a = 0; a < rows; a++) inverse[a] = attention_weights(scores + a * keys, past + i + a + 1, seen);
        for (long c = 0; c < d; c += 16) {
            float *slice[AVX2_ATTENTION_QUERIES];
            for (long a = 0; a < AVX2_ATTENTION_QUERIES; a++) slice[a] = out + (i + (a < rows ? a : 0)) * ldo + c;
            attention_context(weights, v + c, ldkv, seen, inverse, slice, rows);
        }
    }
}

int ck_attention_f32_avx2(const float *q, long ldq, const float *k, const float *v, long ldkv, float *out, long ldo,
                          long steps, long past, long d, void *scratch) {
    if (!ck_attention_f32_avx2_enabled(d) || steps <= 0) return -1;
    attention_avx2(q, ldq, k, v, ldkv, out, ldo, steps, past, d, scratch);
    return 0;
}

const ck_table ck_avx2_table = {
    CK_ISA_AVX2, matmul_f32, matmul_f16, matmul_bf16, matmul_q8, rows_f16, rows_bf16, rows_q8,
    to_f16, to_bf16, quantize_q8, dot, axpy, softmax, matmul_q4, rows_q4, attend_one,
};
#else
#include "internal.h"
// No AVX-VNNI here: ck_gemm_q8 takes its plain-C sums.
int ck_gemm_q8_avxvnni(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales,
                       const int32_t *row_sums, float *y, long m, long rows, long cols, long row_begin, long row_end) {
    (void)xu; (void)xs; (void)xz; (void)w; (void)scales; (void)row_sums; (void)y; (void)m; (void)rows; (void)cols; (void)row_begin; (void)row_end;
    return -1;
}
#endif
