// The row-wise steps between a layer's matrix products (bias, scaling, ReLU, residual adds, layer norm),
// written once in plain C with independent partial sums, which compilers vectorize for every processor.
// They are memory-bound: what made them costly was running them one element at a time on one thread,
// beside GEMMs that run on every core.
#include <math.h>
#include "internal.h"

// Products and sums stay separate operations on every instruction set (no fused multiply-add), so that the
// wider builds below give the bits of the baseline one.
#pragma STDC FP_CONTRACT OFF

// The forward steps are also built for wider vectors (WIDER_VECTORS): the baseline build's four-float vectors
// made the layer norm 1.7% of a prefill.

enum { LANES = 16 };

WIDER_VECTORS void ck_bias_scale_relu_f32(float *y, long rows, long width, const float *bias, float scale, int relu) {
    for (long r = 0; r < rows; r++) {
        float *yr = y + r * width;
        if (bias)
            for (long j = 0; j < width; j++) yr[j] += bias[j];
        if (scale != 1)
            for (long j = 0; j < width; j++) yr[j] *= scale;
        if (relu)
            for (long j = 0; j < width; j++) yr[j] = yr[j] > 0 ? yr[j] : 0;
    }
}

WIDER_VECTORS void ck_add_f32(float *x, const float *added, long n) {
    for (long i = 0; i < n; i++) x[i] += added[i];
}

// The sums below go in LANES partial sums (element i into lane i % LANES), blocks of LANES at a time so that
// compilers vectorize them; the lanes are then added pairwise: a fixed order, the same bits on every run.
static inline __attribute__((always_inline)) float lanes_total(float lanes[LANES]) {
    for (int width = LANES / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++) lanes[k] += lanes[k + width];
    return lanes[0];
}

static inline __attribute__((always_inline)) float sum_of(const float *x, long n) {
    float lanes[LANES] = {0};
    long i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) lanes[k] += x[i + k];
    for (; i < n; i++) lanes[i % LANES] += x[i];
    return lanes_total(lanes);
}

static inline __attribute__((always_inline)) float squared_deviation_sum(const float *x, long n, float mean) {
    float lanes[LANES] = {0};
    long i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            float d = x[i + k] - mean;
            lanes[k] += d * d;
        }
    for (; i < n; i++) {
        float d = x[i] - mean;
        lanes[i % LANES] += d * d;
    }
    return lanes_total(lanes);
}

WIDER_VECTORS void ck_add_layer_norm_f32(float *x, const float *added, float *y, long rows, long width,
                           const float *weight, const float *bias, float eps) {
    for (long r = 0; r < rows; r++) {
        float *xr = x + r * width, *yr = y + r * width;
        if (added) ck_add_f32(xr, added + r * width, width);
        float mean = sum_of(xr, width) / (float)width;
        float inverse = 1 / sqrtf(squared_deviation_sum(xr, width, mean) / (float)width + eps);
        for (long j = 0; j < width; j++) {
            float v = (xr[j] - mean) * inverse;
            if (weight) v *= weight[j];
            if (bias) v += bias[j];
            yr[j] = v;
        }
    }
}

void ck_softmax_backward_f32(const float *p, float *dp, long n) {
    float lanes[LANES] = {0};
    long i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) lanes[k] += p[i + k] * dp[i + k];
    for (; i < n; i++) lanes[i % LANES] += p[i] * dp[i];
    float dot = lanes_total(lanes);
    for (i = 0; i < n; i++) dp[i] = p[i] * (dp[i] - dot);
}

void ck_relu_backward_f32(const float *restrict x, float *restrict dy, long n) {
    // dy is read unconditionally, so that the loop is a select compilers vectorize.
    for (long i = 0; i < n; i++) {
        float d = dy[i];
        dy[i] = x[i] > 0 ? d : 0;
    }
}

void ck_dropout_f32(float *x, long n, uint64_t base, uint64_t first, uint32_t threshold, float scale) {
    if (ck_dropout_f32_avx512(x, n, base, first, threshold, scale) == 0) return;
    const uint64_t *k = ck_dropout_multipliers;
    for (long i = 0; i < n; i++) {
        uint64_t z = base + (first + (uint64_t)i) * k[0];
        z = (z ^ (z >> 30)) * k[1];
        z = (z ^ (z >> 27)) * k[2];
        z ^= z >> 31;
        x[i] *= (uint32_t)(z >> 40) < threshold ? 0.0f : scale;
    }
}
