// int4 quantization with a searched scale per group. Exported as is (not through the kernel table):
// quantizing runs once at load, and one implementation, in plain float operations on vectors of four
// (SSE2 or NEON registers) with no contraction into fused multiply-adds, makes every
// instruction set's weights bit-identical.
#include <math.h>
#include "internal.h"

#pragma STDC FP_CONTRACT OFF

typedef float q4_vector __attribute__((vector_size(16)));
enum { Q4_LANES = 4, Q4_VECTORS = CK_Q4_GROUP / Q4_LANES };

// The searched inverse scales are -(8 + STEP·k) / max for k in -STEPS…STEPS: the group's largest
// magnitude on level -8 (the end with the extra level; the scale is signed, so a positive maximum gets a
// negative scale), or a little inside or outside it.
enum { Q4_STEPS = 10 };
static const float Q4_STEP = 0.1f;

static inline q4_vector q4_clamp(q4_vector t, float low, float high) {
    return __builtin_elementwise_max(__builtin_elementwise_min(t, (q4_vector){0} + high), (q4_vector){0} + low);
}

// x · inverse rounded half to even and clamped to -8…7. Clamped first to ±16, where adding and
// subtracting 1.5 · 2^23 rounds in the default mode as nearbyintf would, without a library call.
static inline q4_vector q4_levels(q4_vector x, float inverse) {
    const q4_vector magic = (q4_vector){0} + 12582912.0f;
    q4_vector t = q4_clamp(x * inverse, -16, 16);
    return q4_clamp((t + magic) - magic, -8, 7);
}

static inline float q4_sum(q4_vector v) {
    return (v[0] + v[1]) + (v[2] + v[3]);
}

// A group's scale as stored: f16, finite (clamped to the largest half).
static uint16_t q4_half(float d) { return ck_f32_to_f16_one(fmaxf(-65504.0f, fminf(d, 65504.0f))); }

static float q4_inverse(float d) { return d != 0 ? 1.0f / d : 0; }

// Σ x² (x − d·level(x / d))² over the group: the error weighted by each weight's square, which the search
// minimizes (large weights carry most of a row's product with its inputs). `squares` holds x².
static float q4_error(const q4_vector x[Q4_VECTORS], const q4_vector squares[Q4_VECTORS], float d) {
    const float inverse = q4_inverse(d);
    q4_vector sum = {0};
    for (int v = 0; v < Q4_VECTORS; v++) {
        q4_vector r = x[v] - d * q4_levels(x[v], inverse);
        sum += squares[v] * (r * r);
    }
    return q4_sum(sum);
}

// The f16 scale of one group (NaN already replaced by 0): of the absmax scale max|x| / 7 and the
// least-squares refits of the levels that the searched inverse scales give, the one of least q4_error
// after rounding to f16; the absmax scale on ties, so the search never does worse than it.
static uint16_t q4_search(const float *group, const q4_vector x[Q4_VECTORS]) {
    float amax = 0, max = 0;
    for (int j = 0; j < CK_Q4_GROUP; j++)
        if (fabsf(group[j]) > amax) amax = fabsf(group[j]), max = group[j];
    uint16_t best = q4_half(amax / 7.0f);
    if (amax == 0 || !isfinite(amax)) return best;
    // x² and x³ (as (x·x)·x), the same for every candidate.
    q4_vector squares[Q4_VECTORS], cubes[Q4_VECTORS];
    for (int v = 0; v < Q4_VECTORS; v++) squares[v] = x[v] * x[v], cubes[v] = squares[v] * x[v];
    float best_error = q4_error(x, squares, ck_f16_to_f32(best));
    // A candidate whose f16 scale is the last one measured has its error, which did not beat the best then and
    // cannot now: neighbouring inverse scales often give the same levels.
    uint16_t last = best;
    for (int k = -Q4_STEPS; k <= Q4_STEPS; k++) {
        const float inverse = -(8.0f + Q4_STEP * (float)k) / max;
        q4_vector lx = {0}, ll = {0};
        for (int v = 0; v < Q4_VECTORS; v++) {
            q4_vector l = q4_levels(x[v], inverse);
            lx += cubes[v] * l;
            ll += squares[v] * l * l;
        }
        const float sum_ll = q4_sum(ll);
        if (!(sum_ll > 0)) continue;
        const uint16_t half = q4_half(q4_sum(lx) / sum_ll);
        if (half == last) continue;
        last = half;
        const float error = q4_error(x, squares, ck_f16_to_f32(half));
        if (error < best_error) best = half, best_error = error;
    }
    return best;
}

void ck_quantize_rows_q4(const float *w, uint8_t *q, uint16_t *scales, long rows, long cols) {
    const long groups = cols / CK_Q4_GROUP;
    for (long r = 0; r < rows; r++)
        for (long g = 0; g < groups; g++) {
            float group[CK_Q4_GROUP];
            const float *src = w + r * cols + g * CK_Q4_GROUP;
            for (int j = 0; j < CK_Q4_GROUP; j++) group[j] = src[j] != src[j] ? 0 : src[j];  // NaN becomes 0
            q4_vector x[Q4_VECTORS];
            memcpy(x, group, sizeof x);
            const uint16_t half = q4_search(group, x);
            scales[r * groups + g] = half;
            float levels[CK_Q4_GROUP];
            const float inverse = q4_inverse(ck_f16_to_f32(half));
            for (int v = 0; v < Q4_VECTORS; v++) {
                q4_vector l = q4_levels(x[v], inverse);
                memcpy(levels + v * Q4_LANES, &l, sizeof l);
            }
            uint8_t *dst = q + r * (cols / 2) + g * (CK_Q4_GROUP / 2);
            for (int j = 0; j < CK_Q4_GROUP / 2; j++)
                dst[j] = (uint8_t)(((int)levels[j] + 8) | (((int)levels[j + CK_Q4_GROUP / 2] + 8) << 4));
        }
}

// GPTQ (Frantar et al., 2022): each column rounded in turn, its rounding error spread over the columns not yet
// rounded through the inverse factor U of the inputs' second moments, so that the layer's outputs on those inputs
// move least. Within a block of columns here, in the plain float operations above; the caller carries the block's
// errors into the columns after it in one product.

// q4_levels of one value.
static inline float q4_level(float x, float inverse) {
    return q4_levels((q4_vector){0} + x, inverse)[0];
}

// y[j] += a · x[j]
static void gptq_axpy(float *y, float a, const float *x, long n) {
    for (long j = 0; j < n; j++) y[j] += a * x[j];
}

void ck_gptq_q4_columns(float *w, long cols, const float *u, uint8_t *q, uint16_t *scales, float *errors, long rows,
                        long begin, long end) {
    const long groups = cols / CK_Q4_GROUP, width = end - begin;
    for (long r = 0; r < rows; r++) {
        float *row = w + r * cols;
        for (long g0 = begin; g0 < end; g0 += CK_Q4_GROUP) {
            // The group's scale from its weights as the errors before it left them.
            q4_vector x[Q4_VECTORS];
            memcpy(x, row + g0, sizeof x);
            const uint16_t half = q4_search(row + g0, x);
            scales[r * groups + g0 / CK_Q4_GROUP] = half;
            const float d = ck_f16_to_f32(half), inverse = q4_inverse(d);
            for (long i = g0; i < g0 + CK_Q4_GROUP; i++) {
                const float *ui = u + i * cols;
                const float level = q4_level(row[i], inverse);
                const float error = (row[i] - d * level) / ui[i];
                errors[r * width + i - begin] = error;
                gptq_axpy(row + i + 1, -error, ui + i + 1, end - i - 1);
                // ck_matmul_q4's layout: byte j of a group holds level j (low half) and level j + 16.
                const long at = i - g0;
                uint8_t *byte = q + r * (cols / 2) + g0 / 2 + at % (CK_Q4_GROUP / 2);
                const uint8_t nibble = (uint8_t)((int)level + 8);
                *byte = at < CK_Q4_GROUP / 2 ? nibble : (uint8_t)(*byte | nibble << 4);
            }
        }
    }
}
