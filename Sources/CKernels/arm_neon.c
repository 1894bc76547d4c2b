// NEON kernels for arm64 (Apple silicon, Graviton); every arm64 processor has NEON and half floats.
#if defined(__aarch64__)
#include <arm_neon.h>
#include "internal.h"

// Four weights as f32, per storage format.
static inline float32x4_t load_f32(const float *p) { return vld1q_f32(p); }
static inline float32x4_t load_f16(const uint16_t *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
static inline float32x4_t load_bf16(const uint16_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
static inline float32x4_t load_q8(const int8_t *p) {
    int8x8_t bytes = vcreate_s8((uint64_t)p[0] | (uint64_t)(uint8_t)p[1] << 8 | (uint64_t)(uint8_t)p[2] << 16 | (uint64_t)(uint8_t)p[3] << 24);
    return vcvtq_f32_s32(vmovl_s16(vget_low_s16(vmovl_s8(bytes))));
}
static inline float scalar_f32(float v) { return v; }
static inline float scalar_q8(int8_t v) { return (float)v; }

// One row at a time against up to four inputs (see x86_avx2.c); 4-wide vectors.
#define NEON_MATMUL(NAME, WTYPE, LOAD, SCALAR, SCALE)                                                  \
    static void NAME(const WTYPE *w, const float *scales, const float *x, float *y, long m, long rows,   \
                     long cols, long row_begin, long row_end) {                                         \
        (void)scales;                                                                                   \
        for (long r = row_begin; r < row_end; r++) {                                                    \
            const WTYPE *wr = w + r * cols;                                                             \
            for (long i = 0; i < m; i += 4) {                                                           \
                long n = m - i < 4 ? m - i : 4;                                                         \
                const float *x0 = x + i * cols, *x1 = x + (i + (n > 1)) * cols;                         \
                const float *x2 = x + (i + (n > 2 ? 2 : n - 1)) * cols, *x3 = x + (i + n - 1) * cols;   \
                float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;                             \
                long c = 0;                                                                             \
                for (; c + 4 <= cols; c += 4) {                                                         \
                    float32x4_t wv = LOAD(wr + c);                                                      \
                    a0 = vfmaq_f32(a0, wv, vld1q_f32(x0 + c));                                          \
                    a1 = vfmaq_f32(a1, wv, vld1q_f32(x1 + c));                                          \
                    a2 = vfmaq_f32(a2, wv, vld1q_f32(x2 + c));                                          \
                    a3 = vfmaq_f32(a3, wv, vld1q_f32(x3 + c));                                          \
                }                                                                                       \
                float s[4] = {vaddvq_f32(a0), vaddvq_f32(a1), vaddvq_f32(a2), vaddvq_f32(a3)};          \
                for (; c < cols; c++) {                                                                 \
                    float wc = SCALAR(wr[c]);                                                           \
                    s[0] += wc * x0[c];                                                                 \
                    s[1] += wc * x1[c];                                                                 \
                    s[2] += wc * x2[c];                                                                 \
                    s[3] += wc * x3[c];                                                                 \
                }                                                                                       \
                for (long k = 0; k < n; k++) y[(i + k) * rows + r] = s[k] * (SCALE(r));                 \
            }                                                                                           \
        }                                                                                               \
    }

#define NO_SCALE(r) 1.0f
#define ROW_SCALE(r) scales[r]
NEON_MATMUL(matmul_f32_any, float, load_f32, scalar_f32, NO_SCALE)
NEON_MATMUL(matmul_f16_any, uint16_t, load_f16, ck_f16_to_f32, NO_SCALE)
NEON_MATMUL(matmul_bf16_any, uint16_t, load_bf16, ck_bf16_to_f32, NO_SCALE)
NEON_MATMUL(matmul_q8, int8_t, load_q8, scalar_q8, ROW_SCALE)

static void matmul_f32(const float *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul_f32_any(w, 0, x, y, m, rows, cols, b, e);
}
static void matmul_f16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul_f16_any(w, 0, x, y, m, rows, cols, b, e);
}
static void matmul_bf16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul_bf16_any(w, 0, x, y, m, rows, cols, b, e);
}

static float dot(const float *a, const float *b, long n) {
    float32x4_t acc = vdupq_n_f32(0);
    long i = 0;
    for (; i + 4 <= n; i += 4) acc = vfmaq_f32(acc, vld1q_f32(a + i), vld1q_f32(b + i));
    float sum = vaddvq_f32(acc);
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static void axpy(float alpha, const float *x, float *y, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), alpha));
    for (; i < n; i++) y[i] += alpha * x[i];
}

// Conversions and softmax are a small share of the time; the portable ones serve.
const ck_table ck_neon_table = {
    matmul_f32, matmul_f16, matmul_bf16, matmul_q8, 0, 0, 0, dot, axpy, 0,
};
#endif
