// Plain C kernels: the fallback on processors without AVX2 or NEON, and the one tests force with
// ck_set_isa(CK_ISA_PORTABLE) to cover it.
#include <math.h>
#include "internal.h"

#define PORTABLE_MATMUL(NAME, WTYPE, LOAD, SCALE)                                                    \
    static void NAME(const WTYPE *w, const float *scales, const float *x, float *y, long m, long rows,  \
                     long cols, long row_begin, long row_end) {                                       \
        (void)scales;                                                                                 \
        for (long r = row_begin; r < row_end; r++) {                                                  \
            const WTYPE *wr = w + r * cols;                                                           \
            for (long i = 0; i < m; i++) {                                                            \
                const float *xi = x + i * cols;                                                       \
                /* Four partial sums: a shorter rounding chain, and loops compilers can pipeline. */  \
                float s[4] = {0, 0, 0, 0};                                                            \
                long c = 0;                                                                           \
                for (; c + 4 <= cols; c += 4)                                                         \
                    for (int k = 0; k < 4; k++) s[k] += LOAD(wr[c + k]) * xi[c + k];                  \
                for (; c < cols; c++) s[0] += LOAD(wr[c]) * xi[c];                                    \
                y[i * rows + r] = ((s[0] + s[1]) + (s[2] + s[3])) * (SCALE);                          \
            }                                                                                         \
        }                                                                                             \
    }

#define AS_FLOAT(v) (v)
#define AS_INT8(v) ((float)(v))
PORTABLE_MATMUL(matmul_f32_generic, float, AS_FLOAT, 1.0f)
PORTABLE_MATMUL(matmul_f16_generic, uint16_t, ck_f16_to_f32, 1.0f)
PORTABLE_MATMUL(matmul_bf16_generic, uint16_t, ck_bf16_to_f32, 1.0f)
PORTABLE_MATMUL(matmul_q8_generic, int8_t, AS_INT8, scales[r])

static void matmul_f32(const float *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul_f32_generic(w, 0, x, y, m, rows, cols, b, e);
}
static void matmul_f16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul_f16_generic(w, 0, x, y, m, rows, cols, b, e);
}
static void matmul_bf16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul_bf16_generic(w, 0, x, y, m, rows, cols, b, e);
}

// int4: each group's 32 products summed in f32, then scaled once (two partial sums, as above).
static void matmul_q4(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows, long cols,
                      long row_begin, long row_end) {
    const long groups = cols / CK_Q4_GROUP;
    for (long r = row_begin; r < row_end; r++) {
        const uint8_t *wr = w + r * (cols / 2);
        for (long i = 0; i < m; i++) {
            const float *xi = x + i * cols;
            float sum = 0;
            for (long g = 0; g < groups; g++) {
                const uint8_t *p = wr + g * (CK_Q4_GROUP / 2);
                const float *xg = xi + g * CK_Q4_GROUP;
                float low = 0, high = 0;
                for (int j = 0; j < CK_Q4_GROUP / 2; j++) {
                    low += (float)((p[j] & 15) - 8) * xg[j];
                    high += (float)((p[j] >> 4) - 8) * xg[j + CK_Q4_GROUP / 2];
                }
                sum += ck_f16_to_f32(scales[r * groups + g]) * (low + high);
            }
            y[i * rows + r] = sum;
        }
    }
}

static void rows_q4(const uint8_t *w, const uint16_t *scales, float *out, long cols, long b, long e) {
    const long groups = cols / CK_Q4_GROUP;
    for (long r = b; r < e; r++)
        for (long g = 0; g < groups; g++) {
            const uint8_t *p = w + r * (cols / 2) + g * (CK_Q4_GROUP / 2);
            float d = ck_f16_to_f32(scales[r * groups + g]), *dst = out + (r - b) * cols + g * CK_Q4_GROUP;
            for (int j = 0; j < CK_Q4_GROUP / 2; j++) {
                dst[j] = d * (float)((p[j] & 15) - 8);
                dst[j + CK_Q4_GROUP / 2] = d * (float)((p[j] >> 4) - 8);
            }
        }
}

static void rows_f16(const uint16_t *w, float *out, long cols, long b, long e) {
    for (long i = 0; i < (e - b) * cols; i++) out[i] = ck_f16_to_f32(w[b * cols + i]);
}
static void rows_bf16(const uint16_t *w, float *out, long cols, long b, long e) {
    for (long i = 0; i < (e - b) * cols; i++) out[i] = ck_bf16_to_f32(w[b * cols + i]);
}
static void rows_q8(const int8_t *w, const float *scales, float *out, long cols, long b, long e) {
    for (long r = b; r < e; r++)
        for (long c = 0; c < cols; c++) out[(r - b) * cols + c] = scales[r] * (float)w[r * cols + c];
}

static void to_f16(const float *src, uint16_t *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = ck_f32_to_f16_one(src[i]);
}
static void to_bf16(const float *src, uint16_t *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = ck_f32_to_bf16_one(src[i]);
}

// The vector versions compute the same float products and round them the same way, so every
// instruction set gives bit-identical int8 weights.
static void quantize_q8(const float *w, int8_t *q, float *scales, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        float maximum = 0;
        for (long c = 0; c < cols; c++) {
            float a = fabsf(row[c]);
            if (a > maximum) maximum = a;
        }
        float inverse = maximum > 0 ? 127.0f / maximum : 0;
        scales[r] = maximum / 127.0f;
        for (long c = 0; c < cols; c++) {
            float v = nearbyintf(row[c] * inverse);  // the default rounding mode: half to even
            q[r * cols + c] = (int8_t)(v != v ? 0 : v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}

static float dot(const float *a, const float *b, long n) {
    float sum = 0;
    for (long i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}
static void axpy(float alpha, const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] += alpha * x[i];
}

static float softmax(float *x, long n) {
    float maximum = -INFINITY;
    for (long i = 0; i < n; i++) if (x[i] > maximum) maximum = x[i];
    if (maximum == -INFINITY) {
        for (long i = 0; i < n; i++) x[i] = 0;
        return -INFINITY;
    }
    float sum = 0;
    for (long i = 0; i < n; i++) sum += (x[i] = expf(x[i] - maximum));
    float inverse = 1 / sum;
    for (long i = 0; i < n; i++) x[i] *= inverse;
    return maximum + logf(sum);
}

const ck_table ck_portable_table = {
    CK_ISA_PORTABLE, matmul_f32, matmul_f16, matmul_bf16, matmul_q8_generic, rows_f16, rows_bf16, rows_q8,
    to_f16, to_bf16, quantize_q8, dot, axpy, softmax, matmul_q4, rows_q4, 0,
};
