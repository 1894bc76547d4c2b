// NEON kernels for arm64 (Apple silicon, Graviton): every arm64 processor has NEON and half floats.
// The structure follows x86_avx2.c with 4-wide vectors and the 32 NEON registers.
#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include "internal.h"

#define NEON_INLINE static inline __attribute__((always_inline))

enum { F32, F16, BF16, Q8 };

NEON_INLINE long element_size(const int format) { return format == F32 ? 4 : format == Q8 ? 1 : 2; }

NEON_INLINE const void *row_at(const void *w, long r, long cols, const int format) {
    return (const char *)w + r * cols * element_size(format);
}

// Sixteen weights starting at element i, as four f32 vectors.
NEON_INLINE void load16(const void *w, long i, const int format, float32x4_t v[4]) {
    switch (format) {
    case F32: {
        const float *p = (const float *)w + i;
        v[0] = vld1q_f32(p), v[1] = vld1q_f32(p + 4), v[2] = vld1q_f32(p + 8), v[3] = vld1q_f32(p + 12);
        break;
    }
    case F16: {
        const uint16_t *p = (const uint16_t *)w + i;
        float16x8_t h0 = vreinterpretq_f16_u16(vld1q_u16(p)), h1 = vreinterpretq_f16_u16(vld1q_u16(p + 8));
        v[0] = vcvt_f32_f16(vget_low_f16(h0)), v[1] = vcvt_high_f32_f16(h0);
        v[2] = vcvt_f32_f16(vget_low_f16(h1)), v[3] = vcvt_high_f32_f16(h1);
        break;
    }
    case BF16: {
        const uint16_t *p = (const uint16_t *)w + i;
        uint16x8_t b0 = vld1q_u16(p), b1 = vld1q_u16(p + 8);
        v[0] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(b0), 16)), v[1] = vreinterpretq_f32_u32(vshll_high_n_u16(b0, 16));
        v[2] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(b1), 16)), v[3] = vreinterpretq_f32_u32(vshll_high_n_u16(b1, 16));
        break;
    }
    default: {
        int8x16_t q = vld1q_s8((const int8_t *)w + i);
        int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_high_s8(q);
        v[0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), v[1] = vcvtq_f32_s32(vmovl_high_s16(lo));
        v[2] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), v[3] = vcvtq_f32_s32(vmovl_high_s16(hi));
        break;
    }
    }
}

// Eight weights starting at element i, as two f32 vectors.
NEON_INLINE void load8(const void *w, long i, const int format, float32x4_t v[2]) {
    switch (format) {
    case F32: {
        const float *p = (const float *)w + i;
        v[0] = vld1q_f32(p), v[1] = vld1q_f32(p + 4);
        break;
    }
    case F16: {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16((const uint16_t *)w + i));
        v[0] = vcvt_f32_f16(vget_low_f16(h)), v[1] = vcvt_high_f32_f16(h);
        break;
    }
    case BF16: {
        uint16x8_t b = vld1q_u16((const uint16_t *)w + i);
        v[0] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(b), 16)), v[1] = vreinterpretq_f32_u32(vshll_high_n_u16(b, 16));
        break;
    }
    default: {
        int16x8_t q = vmovl_s8(vld1_s8((const int8_t *)w + i));
        v[0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(q))), v[1] = vcvtq_f32_s32(vmovl_high_s16(q));
        break;
    }
    }
}

// One weight, for the tails.
NEON_INLINE float load1(const void *w, long i, const int format) {
    switch (format) {
    case F32: return ((const float *)w)[i];
    case F16: return ck_f16_to_f32(((const uint16_t *)w)[i]);
    case BF16: return ck_bf16_to_f32(((const uint16_t *)w)[i]);
    default: return (float)((const int8_t *)w)[i];
    }
}

// One input: each row as one sequential stream with eight accumulators (two per 4-wide slice of
// 16 columns), enough independent FMAs for the four FMA pipes of recent cores.
NEON_INLINE void matvec(const void *w, const float *scales, const float *x, float *y, long cols, long row_begin,
                        long row_end, const int format) {
    for (long r = row_begin; r < row_end; r++) {
        const void *wr = row_at(w, r, cols, format);
        float32x4_t a[8];
        for (int k = 0; k < 8; k++) a[k] = vdupq_n_f32(0);
        long c = 0;
        for (; c + 32 <= cols; c += 32) {
            float32x4_t v[4];
            load16(wr, c, format, v);
            for (int k = 0; k < 4; k++) a[k] = vfmaq_f32(a[k], v[k], vld1q_f32(x + c + 4 * k));
            load16(wr, c + 16, format, v);
            for (int k = 0; k < 4; k++) a[4 + k] = vfmaq_f32(a[4 + k], v[k], vld1q_f32(x + c + 16 + 4 * k));
        }
        for (; c + 16 <= cols; c += 16) {
            float32x4_t v[4];
            load16(wr, c, format, v);
            for (int k = 0; k < 4; k++) a[k] = vfmaq_f32(a[k], v[k], vld1q_f32(x + c + 4 * k));
        }
        for (int k = 0; k < 4; k++) a[k] = vaddq_f32(a[k], a[4 + k]);
        float sum = vaddvq_f32(vaddq_f32(vaddq_f32(a[0], a[1]), vaddq_f32(a[2], a[3])));
        for (; c < cols; c++) sum += load1(wr, c, format) * x[c];
        y[r] = format == Q8 ? sum * scales[r] : sum;
    }
}

// Several inputs: R rows × M inputs, 8 columns a step. Four rows × four inputs keeps 16
// accumulators, 8 weight vectors and 1 input in the 32 registers.
enum { TILE_ROWS = 4, TILE_INPUTS = 4 };

NEON_INLINE void tile(const void *w, const float *scales, const float *x, float *y, long rows, long cols, long r0,
                      long i0, const int R, const int M, const int format) {
    const float *xi = x + i0 * cols;
    const void *wr[TILE_ROWS];
    for (int a = 0; a < R; a++) wr[a] = row_at(w, r0 + a, cols, format);
    float32x4_t acc[TILE_ROWS][TILE_INPUTS];
    for (int a = 0; a < R; a++)
        for (int b = 0; b < M; b++) acc[a][b] = vdupq_n_f32(0);
    long c = 0;
    for (; c + 8 <= cols; c += 8) {
        float32x4_t wv[TILE_ROWS][2];
        for (int a = 0; a < R; a++) load8(wr[a], c, format, wv[a]);
        for (int k = 0; k < 2; k++)
            for (int b = 0; b < M; b++) {
                float32x4_t xv = vld1q_f32(xi + b * cols + c + 4 * k);
                for (int a = 0; a < R; a++) acc[a][b] = vfmaq_f32(acc[a][b], wv[a][k], xv);
            }
    }
    for (int a = 0; a < R; a++) {
        float scale = format == Q8 ? scales[r0 + a] : 1.0f;
        for (int b = 0; b < M; b++) {
            float s = vaddvq_f32(acc[a][b]);
            for (long k = c; k < cols; k++) s += load1(wr[a], k, format) * xi[b * cols + k];
            y[(i0 + b) * rows + r0 + a] = s * scale;
        }
    }
}

NEON_INLINE void tile_all_inputs(const void *w, const float *scales, const float *x, float *y, long m, long rows,
                                 long cols, long r0, const int R, const int format) {
    long i = 0;
    for (; i + TILE_INPUTS <= m; i += TILE_INPUTS) tile(w, scales, x, y, rows, cols, r0, i, R, 4, format);
    switch (m - i) {
    case 3: tile(w, scales, x, y, rows, cols, r0, i, R, 3, format); break;
    case 2: tile(w, scales, x, y, rows, cols, r0, i, R, 2, format); break;
    case 1: tile(w, scales, x, y, rows, cols, r0, i, R, 1, format); break;
    }
}

NEON_INLINE void matmul(const void *w, const float *scales, const float *x, float *y, long m, long rows, long cols,
                        long row_begin, long row_end, const int format) {
    if (m == 1) {
        matvec(w, scales, x, y, cols, row_begin, row_end, format);
        return;
    }
    long r = row_begin;
    for (; r + TILE_ROWS <= row_end; r += TILE_ROWS) tile_all_inputs(w, scales, x, y, m, rows, cols, r, TILE_ROWS, format);
    for (; r < row_end; r++) tile_all_inputs(w, scales, x, y, m, rows, cols, r, 1, format);
}

static void matmul_f32(const float *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul(w, 0, x, y, m, rows, cols, b, e, F32);
}
static void matmul_f16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul(w, 0, x, y, m, rows, cols, b, e, F16);
}
static void matmul_bf16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    matmul(w, 0, x, y, m, rows, cols, b, e, BF16);
}
// int8 at batch 1 with the dot-product instructions (FEAT_DotProd, ARMv8.2: every Apple silicon core, Graviton 2
// on, Cortex-A55/A76 on): the input is quantized per block of 32 (one f32 scale each, as x86_avx2.c), then 16
// products a sdot instead of conversions to float. Compiled for them whatever the build's target (Linux's
// default, armv8-a, lacks them), and run only where the processor reports them (ck_neon_dotprod_table).
#define DOTPROD __attribute__((target("+dotprod")))
enum { Q8_BLOCK = 32, Q8_STACK_COLS = 16384 };

static void quantize_blocks(const float *x, int8_t *xq, float *xs, long blocks) {
    for (long b = 0; b < blocks; b++) {
        const float *block = x + b * Q8_BLOCK;
        float32x4_t v[8], amax = vdupq_n_f32(0);
        for (int k = 0; k < 8; k++) amax = vmaxq_f32(amax, vabsq_f32(v[k] = vld1q_f32(block + 4 * k)));
        float maximum = vmaxvq_f32(amax);
        xs[b] = maximum / 127.0f;
        float inverse = maximum > 0 ? 127.0f / maximum : 0.0f;
        int16x8_t h[4];
        for (int k = 0; k < 4; k++)
            h[k] = vcombine_s16(vmovn_s32(vcvtnq_s32_f32(vmulq_n_f32(v[2 * k], inverse))),
                                vmovn_s32(vcvtnq_s32_f32(vmulq_n_f32(v[2 * k + 1], inverse))));
        vst1q_s8(xq + b * Q8_BLOCK, vcombine_s8(vmovn_s16(h[0]), vmovn_s16(h[1])));
        vst1q_s8(xq + b * Q8_BLOCK + 16, vcombine_s8(vmovn_s16(h[2]), vmovn_s16(h[3])));
    }
}

DOTPROD NEON_INLINE float32x4_t block_dot(const int8_t *w, const int8_t *x, float scale, float32x4_t acc) {
    int32x4_t sums = vdotq_s32(vdotq_s32(vdupq_n_s32(0), vld1q_s8(w), vld1q_s8(x)), vld1q_s8(w + 16), vld1q_s8(x + 16));
    return vfmaq_n_f32(acc, vcvtq_f32_s32(sums), scale);
}

DOTPROD static void matvec_q8_blocks(const int8_t *w, const float *scales, const int8_t *xq, const float *xs, float *y,
                             long cols, long row_begin, long row_end) {
    const long blocks = cols / Q8_BLOCK;
    for (long r = row_begin; r < row_end; r++) {
        const int8_t *wr = w + r * cols;
        float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
        long b = 0;
        for (; b + 4 <= blocks; b += 4) {
            const long c = b * Q8_BLOCK;
            a0 = block_dot(wr + c, xq + c, xs[b], a0);
            a1 = block_dot(wr + c + 32, xq + c + 32, xs[b + 1], a1);
            a2 = block_dot(wr + c + 64, xq + c + 64, xs[b + 2], a2);
            a3 = block_dot(wr + c + 96, xq + c + 96, xs[b + 3], a3);
        }
        for (; b < blocks; b++) a0 = block_dot(wr + b * Q8_BLOCK, xq + b * Q8_BLOCK, xs[b], a0);
        y[r] = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3))) * scales[r];
    }
}

static void matmul_q8(const int8_t *w, const float *scales, const float *x, float *y, long m, long rows, long cols,
                      long b, long e) {
    matmul(w, scales, x, y, m, rows, cols, b, e, Q8);
}

DOTPROD static void matmul_q8_dotprod(const int8_t *w, const float *scales, const float *x, float *y, long m, long rows,
                                      long cols, long b, long e) {
    if (m == 1 && cols % Q8_BLOCK == 0 && cols <= Q8_STACK_COLS && b < e) {
        int8_t xq[Q8_STACK_COLS];
        float xs[Q8_STACK_COLS / Q8_BLOCK];
        quantize_blocks(x, xq, xs, cols / Q8_BLOCK);
        matvec_q8_blocks(w, scales, xq, xs, y, cols, b, e);
        return;
    }
    matmul(w, scales, x, y, m, rows, cols, b, e, Q8);
}

// int4: the nibbles unpacked and widened to f32, then exact f32 products as for the other formats
// (a group's 32 products summed, then scaled once).
static void matmul_q4(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows, long cols,
                      long row_begin, long row_end) {
    const long groups = cols / CK_Q4_GROUP;
    for (long r = row_begin; r < row_end; r++) {
        const uint8_t *wr = w + r * (cols / 2);
        for (long i = 0; i < m; i++) {
            const float *xi = x + i * cols;
            float32x4_t acc = vdupq_n_f32(0);
            for (long g = 0; g < groups; g++) {
                uint8x16_t packed = vld1q_u8(wr + g * (CK_Q4_GROUP / 2));
                int8x16_t halves[2] = {
                    vsubq_s8(vreinterpretq_s8_u8(vandq_u8(packed, vdupq_n_u8(15))), vdupq_n_s8(8)),
                    vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(packed, 4)), vdupq_n_s8(8)),
                };
                float32x4_t part = vdupq_n_f32(0);
                for (int k = 0; k < 2; k++) {
                    const float *xg = xi + g * CK_Q4_GROUP + 16 * k;
                    int16x8_t h0 = vmovl_s8(vget_low_s8(halves[k])), h1 = vmovl_high_s8(halves[k]);
                    part = vfmaq_f32(part, vcvtq_f32_s32(vmovl_s16(vget_low_s16(h0))), vld1q_f32(xg));
                    part = vfmaq_f32(part, vcvtq_f32_s32(vmovl_high_s16(h0)), vld1q_f32(xg + 4));
                    part = vfmaq_f32(part, vcvtq_f32_s32(vmovl_s16(vget_low_s16(h1))), vld1q_f32(xg + 8));
                    part = vfmaq_f32(part, vcvtq_f32_s32(vmovl_high_s16(h1)), vld1q_f32(xg + 12));
                }
                acc = vfmaq_n_f32(acc, part, ck_f16_to_f32(scales[r * groups + g]));
            }
            y[i * rows + r] = vaddvq_f32(acc);
        }
    }
}

NEON_INLINE void rows_to_f32(const void *w, const float *scales, float *out, long cols, long row_begin, long row_end,
                             const int format) {
    for (long r = row_begin; r < row_end; r++) {
        const void *src = row_at(w, r, cols, format);
        float *dst = out + (r - row_begin) * cols;
        float scale = format == Q8 ? scales[r] : 1.0f;
        long c = 0;
        for (; c + 16 <= cols; c += 16) {
            float32x4_t v[4];
            load16(src, c, format, v);
            for (int k = 0; k < 4; k++) vst1q_f32(dst + c + 4 * k, format == Q8 ? vmulq_n_f32(v[k], scale) : v[k]);
        }
        for (; c < cols; c++) dst[c] = format == Q8 ? scale * load1(src, c, format) : load1(src, c, format);
    }
}

static void rows_f16(const uint16_t *w, float *out, long cols, long b, long e) { rows_to_f32(w, 0, out, cols, b, e, F16); }
static void rows_bf16(const uint16_t *w, float *out, long cols, long b, long e) { rows_to_f32(w, 0, out, cols, b, e, BF16); }
static void rows_q8(const int8_t *w, const float *scales, float *out, long cols, long b, long e) {
    rows_to_f32(w, scales, out, cols, b, e, Q8);
}

// fcvtn rounds by FPCR, to nearest even by default, and quiets NaN keeping the payload's top bits as
// the scalar code does.
static void to_f16(const float *src, uint16_t *dst, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        float16x8_t h = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(src + i)), vld1q_f32(src + i + 4));
        vst1q_u16(dst + i, vreinterpretq_u16_f16(h));
    }
    for (; i < n; i++) dst[i] = ck_f32_to_f16_one(src[i]);
}

static void to_bf16(const float *src, uint16_t *dst, long n) {
    const uint32x4_t infinity = vdupq_n_u32(0x7F800000), bias = vdupq_n_u32(0x7FFF), one = vdupq_n_u32(1), quiet = vdupq_n_u32(0x40);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        uint16x4_t half[2];
        for (int k = 0; k < 2; k++) {
            uint32x4_t bits = vld1q_u32((const uint32_t *)(src + i + 4 * k));
            uint32x4_t rounded = vshrq_n_u32(vaddq_u32(vaddq_u32(bits, bias), vandq_u32(vshrq_n_u32(bits, 16), one)), 16);
            uint32x4_t nan = vcgtq_u32(vandq_u32(bits, vdupq_n_u32(0x7FFFFFFF)), infinity);
            half[k] = vmovn_u32(vbslq_u32(nan, vorrq_u32(vshrq_n_u32(bits, 16), quiet), rounded));
        }
        vst1q_u16(dst + i, vcombine_u16(half[0], half[1]));
    }
    for (; i < n; i++) dst[i] = ck_f32_to_bf16_one(src[i]);
}

// As the portable code (same products, same rounding: fcvtns rounds to nearest even), bit-identical.
static void quantize_q8(const float *w, int8_t *q, float *scales, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        int8_t *out = q + r * cols;
        // fmaxnm ignores a NaN operand, as the scalar comparison does.
        float32x4_t amax = vdupq_n_f32(0);
        long c = 0;
        for (; c + 4 <= cols; c += 4) amax = vmaxnmq_f32(amax, vabsq_f32(vld1q_f32(row + c)));
        float maximum = vmaxnmvq_f32(amax);
        for (; c < cols; c++) if (fabsf(row[c]) > maximum) maximum = fabsf(row[c]);
        float inverse = maximum > 0 ? 127.0f / maximum : 0;
        scales[r] = maximum / 127.0f;
        c = 0;
        for (; c + 16 <= cols; c += 16) {
            int32x4_t v[4];
            for (int k = 0; k < 4; k++) {
                float32x4_t p = vmulq_n_f32(vld1q_f32(row + c + 4 * k), inverse);
                v[k] = vminq_s32(vmaxq_s32(vcvtnq_s32_f32(p), vdupq_n_s32(-127)), vdupq_n_s32(127));  // NaN → 0
            }
            int16x8_t lo = vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1])), hi = vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]));
            vst1q_s8(out + c, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
        }
        for (; c < cols; c++) {
            float v = nearbyintf(row[c] * inverse);
            out[c] = (int8_t)(v != v ? 0 : v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}

static float dot(const float *a, const float *b, long n) {
    float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, vld1q_f32(a + i), vld1q_f32(b + i));
        a1 = vfmaq_f32(a1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        a2 = vfmaq_f32(a2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        a3 = vfmaq_f32(a3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, vld1q_f32(a + i), vld1q_f32(b + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static void axpy(float alpha, const float *x, float *y, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), alpha));
    for (; i < n; i++) y[i] += alpha * x[i];
}

// exp(x) for x ≤ 0: internal.h's steps and constants.
NEON_INLINE float32x4_t exp_nonpositive(float32x4_t x) {
    x = vmaxq_f32(x, vdupq_n_f32(ck_exp_floor));
    float32x4_t n = vrndnq_f32(vmulq_n_f32(x, ck_exp_log2e));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(ck_exp_ln2_high));
    r = vfmsq_f32(r, n, vdupq_n_f32(ck_exp_ln2_low));
    float32x4_t p = vdupq_n_f32(ck_exp_polynomial[0]);
    for (int term = 1; term < CK_EXP_TERMS; term++) p = vfmaq_f32(vdupq_n_f32(ck_exp_polynomial[term]), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    int32x4_t scale = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(scale));
}

static float softmax(float *x, long n) {
    float maximum = -INFINITY;
    long i = 0;
    if (n >= 4) {
        float32x4_t vmax = vdupq_n_f32(-INFINITY);
        for (; i + 4 <= n; i += 4) vmax = vmaxq_f32(vmax, vld1q_f32(x + i));
        maximum = vmaxvq_f32(vmax);
    }
    for (; i < n; i++) if (x[i] > maximum) maximum = x[i];
    if (maximum == -INFINITY) {
        for (i = 0; i < n; i++) x[i] = 0;
        return -INFINITY;
    }
    float32x4_t shift = vdupq_n_f32(maximum), vsum = vdupq_n_f32(0), negative_infinity = vdupq_n_f32(-INFINITY);
    for (i = 0; i + 4 <= n; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        // Masked (-infinity) entries get exactly 0, not the clamp's 2^-126.
        uint32x4_t keep = vmvnq_u32(vceqq_f32(v, negative_infinity));
        float32x4_t e = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(exp_nonpositive(vsubq_f32(v, shift))), keep));
        vst1q_f32(x + i, e);
        vsum = vaddq_f32(vsum, e);
    }
    float sum = vaddvq_f32(vsum);
    for (; i < n; i++) sum += (x[i] = expf(x[i] - maximum));
    float inverse = 1 / sum;
    for (i = 0; i + 4 <= n; i += 4) vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), inverse));
    for (; i < n; i++) x[i] *= inverse;
    return maximum + logf(sum);
}

// The two tables differ in int8 decode alone.
#define NEON_TABLE(isa, int8_kernel)                                                        \
    {                                                                                       \
        isa, matmul_f32, matmul_f16, matmul_bf16, int8_kernel, rows_f16, rows_bf16, rows_q8, \
        to_f16, to_bf16, quantize_q8, dot, axpy, softmax,                                   \
        matmul_q4, 0, /* int4 rows for prefill: the portable conversion */                  \
        0,            /* decode attention: dot, softmax and axpy in turn */                 \
    }
const ck_table ck_neon_table = NEON_TABLE(CK_ISA_NEON, matmul_q8);
const ck_table ck_neon_dotprod_table = NEON_TABLE(CK_ISA_NEON_DOTPROD, matmul_q8_dotprod);
#endif
