// AVX2 + FMA + F16C kernels, compiled for those instructions function by function so that the
// binary still runs (on the portable table) on x86-64 processors without them.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include "internal.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Eight weights as f32, per storage format.
AVX2 static inline __m256 load_f32(const float *p) { return _mm256_loadu_ps(p); }
AVX2 static inline __m256 load_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
AVX2 static inline __m256 load_bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
AVX2 static inline __m256 load_q8(const int8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}
static inline float scalar_f32(float v) { return v; }
static inline float scalar_q8(int8_t v) { return (float)v; }

// One input (decode at batch 1): each row is read start to end as one sequential stream, which
// the hardware prefetcher follows at full memory bandwidth (interleaving four rows measured about
// half), with four accumulators to hide the FMA latency. Several inputs: one row at a time
// against up to four inputs, so the row is read from memory once and from cache for the others.
#define AVX2_MATMUL(NAME, WTYPE, LOAD, SCALAR, SCALE)                                                      \
    AVX2 static void NAME(const WTYPE *w, const float *scales, const float *x, float *y, long m, long rows,   \
                          long cols, long row_begin, long row_end) {                                         \
        (void)scales;                                                                                        \
        if (m == 1) {                                                                                        \
            for (long r = row_begin; r < row_end; r++) {                                                     \
                const WTYPE *wr = w + r * cols;                                                              \
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                  \
                long c = 0;                                                                                  \
                for (; c + 32 <= cols; c += 32) {                                                            \
                    a0 = _mm256_fmadd_ps(LOAD(wr + c), _mm256_loadu_ps(x + c), a0);                          \
                    a1 = _mm256_fmadd_ps(LOAD(wr + c + 8), _mm256_loadu_ps(x + c + 8), a1);                  \
                    a2 = _mm256_fmadd_ps(LOAD(wr + c + 16), _mm256_loadu_ps(x + c + 16), a2);                \
                    a3 = _mm256_fmadd_ps(LOAD(wr + c + 24), _mm256_loadu_ps(x + c + 24), a3);                \
                }                                                                                            \
                for (; c + 8 <= cols; c += 8) a0 = _mm256_fmadd_ps(LOAD(wr + c), _mm256_loadu_ps(x + c), a0); \
                float sum = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));               \
                for (; c < cols; c++) sum += SCALAR(wr[c]) * x[c];                                           \
                y[r] = sum * (SCALE(r));                                                                     \
            }                                                                                                \
            return;                                                                                          \
        }                                                                                                    \
        for (long r = row_begin; r < row_end; r++) {                                                         \
            const WTYPE *wr = w + r * cols;                                                                  \
            for (long i = 0; i < m; i += 4) {                                                                \
                /* Fewer than four inputs left: the spare chains repeat the last one and are dropped. */     \
                long n = m - i < 4 ? m - i : 4;                                                              \
                const float *x0 = x + i * cols, *x1 = x + (i + (n > 1)) * cols;                              \
                const float *x2 = x + (i + (n > 2 ? 2 : n - 1)) * cols, *x3 = x + (i + n - 1) * cols;        \
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                  \
                long c = 0;                                                                                  \
                for (; c + 8 <= cols; c += 8) {                                                              \
                    __m256 wv = LOAD(wr + c);                                                                \
                    a0 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x0 + c), a0);                                   \
                    a1 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x1 + c), a1);                                   \
                    a2 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x2 + c), a2);                                   \
                    a3 = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x3 + c), a3);                                   \
                }                                                                                            \
                float s[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};                                       \
                for (; c < cols; c++) {                                                                      \
                    float wc = SCALAR(wr[c]);                                                                \
                    s[0] += wc * x0[c];                                                                      \
                    s[1] += wc * x1[c];                                                                      \
                    s[2] += wc * x2[c];                                                                      \
                    s[3] += wc * x3[c];                                                                      \
                }                                                                                            \
                for (long k = 0; k < n; k++) y[(i + k) * rows + r] = s[k] * (SCALE(r));                      \
            }                                                                                                \
        }                                                                                                    \
    }

#define NO_SCALE(r) 1.0f
#define ROW_SCALE(r) scales[r]
AVX2_MATMUL(matmul_f32_any, float, load_f32, scalar_f32, NO_SCALE)
AVX2_MATMUL(matmul_f16_any, uint16_t, load_f16, ck_f16_to_f32, NO_SCALE)
AVX2_MATMUL(matmul_bf16_any, uint16_t, load_bf16, ck_bf16_to_f32, NO_SCALE)
AVX2_MATMUL(matmul_q8_float, int8_t, load_q8, scalar_q8, ROW_SCALE)

// int8 × int8 products: the inputs are quantized per block of 32 (one f32 scale each, as
// llama.cpp's Q8_0), so 32 products take one maddubs instead of 32 conversions to float.
#define Q8_BLOCK 32

// Per-thread buffer for the quantized inputs, grown as needed and kept for the next call.
static _Thread_local int8_t *quantized_inputs;
static _Thread_local float *input_scales;
static _Thread_local long quantized_capacity;

AVX2 static int quantize_inputs(const float *x, long m, long cols) {
    long count = m * cols;
    if (count > quantized_capacity) {
        free(quantized_inputs);
        free(input_scales);
        quantized_inputs = malloc((size_t)count);
        input_scales = malloc((size_t)(count / Q8_BLOCK) * sizeof(float));
        if (!quantized_inputs || !input_scales) {
            quantized_capacity = 0;
            return 0;
        }
        quantized_capacity = count;
    }
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    for (long b = 0; b < count / Q8_BLOCK; b++) {
        const float *block = x + b * Q8_BLOCK;
        __m256 v0 = _mm256_loadu_ps(block), v1 = _mm256_loadu_ps(block + 8);
        __m256 v2 = _mm256_loadu_ps(block + 16), v3 = _mm256_loadu_ps(block + 24);
        __m256 amax = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign_mask, v0), _mm256_andnot_ps(sign_mask, v1)),
                                    _mm256_max_ps(_mm256_andnot_ps(sign_mask, v2), _mm256_andnot_ps(sign_mask, v3)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float maximum = _mm_cvtss_f32(m4);
        input_scales[b] = maximum / 127.0f;
        __m256 inverse = _mm256_set1_ps(maximum > 0 ? 127.0f / maximum : 0.0f);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, inverse)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, inverse));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, inverse)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, inverse));
        // Pack 32-bit → 16-bit → 8-bit; the packs interleave lanes, the permute puts them back in order.
        __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        packed = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(quantized_inputs + b * Q8_BLOCK), packed);
    }
    return 1;
}

// Σ over one block of 32: |w| · (x · sign(w)) pairs summed to 16 then 32 bits (|w|, |x| ≤ 127, so no overflow).
AVX2 static inline __m256 block_dot(__m256i w, __m256i x, __m256 scale, __m256 acc) {
    __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    __m256i sums = _mm256_madd_epi16(products, _mm256_set1_epi16(1));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, acc);
}

AVX2 static void matmul_q8(const int8_t *w, const float *scales, const float *x, float *y, long m, long rows, long cols,
                           long row_begin, long row_end) {
    if (cols % Q8_BLOCK != 0 || !quantize_inputs(x, m, cols)) {
        matmul_q8_float(w, scales, x, y, m, rows, cols, row_begin, row_end);
        return;
    }
    const long blocks = cols / Q8_BLOCK;
    long r = row_begin;
    if (m == 1) {
        // Each row as one sequential stream (see AVX2_MATMUL), four accumulators over its blocks.
        for (; r < row_end; r++) {
            const int8_t *wr = w + r * cols;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            long b = 0;
            for (; b + 4 <= blocks; b += 4) {
                const int8_t *wb = wr + b * Q8_BLOCK, *xb = quantized_inputs + b * Q8_BLOCK;
                a0 = block_dot(_mm256_loadu_si256((const __m256i *)wb), _mm256_loadu_si256((const __m256i *)xb),
                               _mm256_broadcast_ss(input_scales + b), a0);
                a1 = block_dot(_mm256_loadu_si256((const __m256i *)(wb + 32)), _mm256_loadu_si256((const __m256i *)(xb + 32)),
                               _mm256_broadcast_ss(input_scales + b + 1), a1);
                a2 = block_dot(_mm256_loadu_si256((const __m256i *)(wb + 64)), _mm256_loadu_si256((const __m256i *)(xb + 64)),
                               _mm256_broadcast_ss(input_scales + b + 2), a2);
                a3 = block_dot(_mm256_loadu_si256((const __m256i *)(wb + 96)), _mm256_loadu_si256((const __m256i *)(xb + 96)),
                               _mm256_broadcast_ss(input_scales + b + 3), a3);
            }
            for (; b < blocks; b++) {
                a0 = block_dot(_mm256_loadu_si256((const __m256i *)(wr + b * Q8_BLOCK)),
                               _mm256_loadu_si256((const __m256i *)(quantized_inputs + b * Q8_BLOCK)),
                               _mm256_broadcast_ss(input_scales + b), a0);
            }
            y[r] = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) * scales[r];
        }
        return;
    }
    // One row at a time against every input: the row is read from memory once.
    for (; r < row_end; r++) {
        const int8_t *wr = w + r * cols;
        for (long i = 0; i < m; i++) {
            const int8_t *xq = quantized_inputs + i * cols;
            const float *xs = input_scales + i * blocks;
            __m256 acc = _mm256_setzero_ps();
            for (long b = 0; b < blocks; b++) {
                long c = b * Q8_BLOCK;
                acc = block_dot(_mm256_loadu_si256((const __m256i *)(wr + c)), _mm256_loadu_si256((const __m256i *)(xq + c)),
                                _mm256_broadcast_ss(xs + b), acc);
            }
            y[i * rows + r] = hsum(acc) * scales[r];
        }
    }
}

static void matmul_f32(const float *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul_f32_any(w, 0, x, y, m, rows, cols, b, e);
}
static void matmul_f16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul_f16_any(w, 0, x, y, m, rows, cols, b, e);
}
static void matmul_bf16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul_bf16_any(w, 0, x, y, m, rows, cols, b, e);
}

#define AVX2_ROWS(NAME, WTYPE, LOAD, SCALAR)                                                    \
    AVX2 static void NAME(const WTYPE *w, float *out, long cols, long row_begin, long row_end) {  \
        const WTYPE *src = w + row_begin * cols;                                                 \
        long n = (row_end - row_begin) * cols, i = 0;                                            \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, LOAD(src + i));                      \
        for (; i < n; i++) out[i] = SCALAR(src[i]);                                              \
    }
AVX2_ROWS(rows_f16, uint16_t, load_f16, ck_f16_to_f32)
AVX2_ROWS(rows_bf16, uint16_t, load_bf16, ck_bf16_to_f32)

AVX2 static void rows_q8(const int8_t *w, const float *scales, float *out, long cols, long row_begin, long row_end) {
    for (long r = row_begin; r < row_end; r++) {
        const int8_t *src = w + r * cols;
        float *dst = out + (r - row_begin) * cols;
        __m256 scale = _mm256_set1_ps(scales[r]);
        long c = 0;
        for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(dst + c, _mm256_mul_ps(load_q8(src + c), scale));
        for (; c < cols; c++) dst[c] = scales[r] * (float)src[c];
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

// exp(x) for x ≤ 0 (softmax after subtracting the maximum): x = n·ln2 + r with |r| ≤ ln2/2, then
// a degree-6 polynomial for e^r (Cephes' expf coefficients, about 1 ulp) scaled by 2^n.
AVX2 static inline __m256 exp_nonpositive(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));  // below this e^x is 0 in f32 anyway
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

AVX2 static void softmax(float *x, long n) {
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
        return;
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
}

const ck_table ck_avx2_table = {
    matmul_f32, matmul_f16, matmul_bf16, matmul_q8, rows_f16, rows_bf16, rows_q8, dot, axpy, softmax,
};
#endif
