// The optimizer's passes over every parameter (AdamW, the gradient norm, clipping): memory-bound loops over
// hundreds of megabytes per step, in C so that `restrict` lets compilers vectorize them (Swift cannot rule out
// that the four vectors overlap). The formulas are written in the order torch.optim.AdamW evaluates them, and
// contraction into fused multiply-adds is off, so the results do not depend on the processor.
#include "ckernels.h"
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

#pragma STDC FP_CONTRACT OFF

void ck_adamw_f32(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n,
                  float keep, float beta1, float beta2, float step_size, float correction2_root, float eps) {
    long i = 0;
    // sqrtf may set errno, so compilers will not vectorize it: four lanes by hand, the same operations in the
    // same order (IEEE square roots and divisions are exact to the last bit in every lane).
#if defined(__SSE2__)
    const __m128 b1 = _mm_set1_ps(beta1), b2 = _mm_set1_ps(beta2), rest1 = _mm_set1_ps(1 - beta1), rest2 = _mm_set1_ps(1 - beta2);
    const __m128 kept = _mm_set1_ps(keep), step = _mm_set1_ps(step_size), root = _mm_set1_ps(correction2_root), epsilon = _mm_set1_ps(eps);
    for (; i + 4 <= n; i += 4) {
        __m128 gi = _mm_loadu_ps(g + i);
        __m128 mi = _mm_add_ps(_mm_mul_ps(b1, _mm_loadu_ps(m + i)), _mm_mul_ps(rest1, gi));
        __m128 vi = _mm_add_ps(_mm_mul_ps(b2, _mm_loadu_ps(v + i)), _mm_mul_ps(_mm_mul_ps(rest2, gi), gi));
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        __m128 denominator = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(vi), root), epsilon);
        _mm_storeu_ps(p + i, _mm_sub_ps(_mm_mul_ps(_mm_loadu_ps(p + i), kept), _mm_div_ps(_mm_mul_ps(step, mi), denominator)));
    }
#elif defined(__ARM_NEON) && defined(__aarch64__)
    const float32x4_t b1 = vdupq_n_f32(beta1), b2 = vdupq_n_f32(beta2), rest1 = vdupq_n_f32(1 - beta1), rest2 = vdupq_n_f32(1 - beta2);
    const float32x4_t kept = vdupq_n_f32(keep), step = vdupq_n_f32(step_size), root = vdupq_n_f32(correction2_root), epsilon = vdupq_n_f32(eps);
    for (; i + 4 <= n; i += 4) {
        float32x4_t gi = vld1q_f32(g + i);
        float32x4_t mi = vaddq_f32(vmulq_f32(b1, vld1q_f32(m + i)), vmulq_f32(rest1, gi));
        float32x4_t vi = vaddq_f32(vmulq_f32(b2, vld1q_f32(v + i)), vmulq_f32(vmulq_f32(rest2, gi), gi));
        vst1q_f32(m + i, mi);
        vst1q_f32(v + i, vi);
        float32x4_t denominator = vaddq_f32(vdivq_f32(vsqrtq_f32(vi), root), epsilon);
        vst1q_f32(p + i, vsubq_f32(vmulq_f32(vld1q_f32(p + i), kept), vdivq_f32(vmulq_f32(step, mi), denominator)));
    }
#endif
    for (; i < n; i++) {
        float gi = g[i];
        float mi = beta1 * m[i] + (1 - beta1) * gi;
        float vi = beta2 * v[i] + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * keep - step_size * mi / (sqrtf(vi) / correction2_root + eps);
    }
}

double ck_sum_squares_f64(const float *x, long n) {
    // Eight partial sums (a fixed order: the same bits on every run), added pairwise.
    double lanes[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) lanes[k] += (double)x[i + k] * (double)x[i + k];
    for (; i < n; i++) lanes[i % 8] += (double)x[i] * (double)x[i];
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

void ck_scale_f32(float *x, long n, float factor) {
    for (long i = 0; i < n; i++) x[i] *= factor;
}
