// The optimizer's passes over every parameter (AdamW, the gradient norm, clipping): memory-bound loops over
// hundreds of megabytes per step, in C so that `restrict` lets compilers vectorize them (Swift cannot rule out
// that the four vectors overlap). The formulas are written in the order torch.optim.AdamW evaluates them, and
// contraction into fused multiply-adds is off, so the results do not depend on the processor.
#include "ckernels.h"
#include <math.h>

// Four float lanes, named once per instruction set, for ck_adamw_f32.
#if defined(__SSE2__)
#include <emmintrin.h>
#define LANES4 1
typedef __m128 f32x4;
#define SPLAT(x) _mm_set1_ps(x)
#define LOAD(p) _mm_loadu_ps(p)
#define STORE(p, v) _mm_storeu_ps(p, v)
#define ADD(a, b) _mm_add_ps(a, b)
#define SUB(a, b) _mm_sub_ps(a, b)
#define MUL(a, b) _mm_mul_ps(a, b)
#define DIV(a, b) _mm_div_ps(a, b)
#define SQRT(a) _mm_sqrt_ps(a)
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define LANES4 1
typedef float32x4_t f32x4;
#define SPLAT(x) vdupq_n_f32(x)
#define LOAD(p) vld1q_f32(p)
#define STORE(p, v) vst1q_f32(p, v)
#define ADD(a, b) vaddq_f32(a, b)
#define SUB(a, b) vsubq_f32(a, b)
#define MUL(a, b) vmulq_f32(a, b)
#define DIV(a, b) vdivq_f32(a, b)
#define SQRT(a) vsqrtq_f32(a)
#endif

#pragma STDC FP_CONTRACT OFF

void ck_adamw_f32(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n,
                  float keep, float beta1, float beta2, float step_size, float correction2_root, float eps) {
    long i = 0;
    // sqrtf may set errno, so compilers will not vectorize it: four lanes by hand, the same operations in the
    // same order (IEEE square roots and divisions are exact to the last bit in every lane).
#if LANES4
    const f32x4 b1 = SPLAT(beta1), b2 = SPLAT(beta2), rest1 = SPLAT(1 - beta1), rest2 = SPLAT(1 - beta2);
    const f32x4 kept = SPLAT(keep), step = SPLAT(step_size), root = SPLAT(correction2_root), epsilon = SPLAT(eps);
    for (; i + 4 <= n; i += 4) {
        f32x4 gi = LOAD(g + i);
        f32x4 mi = ADD(MUL(b1, LOAD(m + i)), MUL(rest1, gi));
        f32x4 vi = ADD(MUL(b2, LOAD(v + i)), MUL(MUL(rest2, gi), gi));
        STORE(m + i, mi);
        STORE(v + i, vi);
        f32x4 denominator = ADD(DIV(SQRT(vi), root), epsilon);
        STORE(p + i, SUB(MUL(LOAD(p + i), kept), DIV(MUL(step, mi), denominator)));
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
