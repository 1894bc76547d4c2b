// The optimizer's passes over every parameter (AdamW, the gradient norm, clipping): memory-bound loops over
// hundreds of megabytes per step, in C so that `restrict` lets compilers vectorize them (Swift cannot rule out
// that the four vectors overlap). The formulas are written in the order torch.optim.AdamW evaluates them, and
// contraction into fused multiply-adds is off, so the results do not depend on the processor.
#include "ckernels.h"
#include <math.h>

#pragma STDC FP_CONTRACT OFF

void ck_adamw_f32(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, long n,
                  float keep, float beta1, float beta2, float step_size, float correction2_root, float eps) {
    for (long i = 0; i < n; i++) {
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
