// The int8 GEMM's steps around the products (ck_gemm_q8 and oneDNN's u8 × s8 sums): the inputs' quantization
// per row, the scaling of exact int32 sums to f32 with the linear layer's epilogue, and the product itself where
// neither AVX-512 VNNI nor oneDNN makes it. Plain C for every processor (WIDER_VECTORS); integer sums are exact
// and the float steps the same operations in the same order on every build, so every path gives the same bits.
#include <math.h>
#include "internal.h"

#pragma STDC FP_CONTRACT OFF

// The largest quantized input: 255 where products add in 32 bits (AVX-512 VNNI and AVX-VNNI, and oneDNN's kernels for
// them: exact with 8-bit inputs, tested under OPTIML_MAX_ISA=avx2-vnni, which caps oneDNN to `avx2_vnni`); 127 on
// CK_GEMM_AVX2_ONEDNN, whose kernels add pairs of u8 × s8 products in 16 bits with saturation (2 · 127 · 128 fits,
// 2 · 255 · 128 does not).
int ck_gemm_q8_input_levels(void) { return ck_q8_gemm() == CK_GEMM_AVX2_ONEDNN ? 127 : 255; }

// Per row: the range [min, max] with 0 in it onto 0…levels, 0 itself exactly on the zero point. The range in
// 16 lanes of minima and maxima, so that the loop vectorizes.
WIDER_VECTORS static void quantize_rows(const float *x, uint8_t *xu, float *xs, int32_t *xz, long m, long cols, int levels) {
    enum { LANES = 16 };
    for (long i = 0; i < m; i++) {
        const float *row = x + i * cols;
        float lows[LANES] = {0}, highs[LANES] = {0};
        long c = 0;
        for (; c + LANES <= cols; c += LANES)
            for (int k = 0; k < LANES; k++) {
                lows[k] = row[c + k] < lows[k] ? row[c + k] : lows[k];
                highs[k] = row[c + k] > highs[k] ? row[c + k] : highs[k];
            }
        for (; c < cols; c++) {
            lows[0] = row[c] < lows[0] ? row[c] : lows[0];
            highs[0] = row[c] > highs[0] ? row[c] : highs[0];
        }
        float low = 0, high = 0;
        for (int k = 0; k < LANES; k++) {
            low = lows[k] < low ? lows[k] : low;
            high = highs[k] > high ? highs[k] : high;
        }
        const float scale = (high - low) / (float)levels, inverse = scale > 0 ? 1.0f / scale : 0.0f;
        const int32_t zero = (int32_t)nearbyintf(-low * inverse);
        xs[i] = scale;
        xz[i] = zero;
        uint8_t *out = xu + i * cols;
        for (c = 0; c < cols; c++) {
            const int32_t q = (int32_t)nearbyintf(row[c] * inverse) + zero;
            out[c] = (uint8_t)(q < 0 ? 0 : q > levels ? levels : q);
        }
    }
}

void ck_gemm_q8_quantize_inputs(const float *x, uint8_t *xu, float *xs, int32_t *xz, long m, long cols) {
    const int levels = ck_gemm_q8_input_levels();
    if (levels == 255 && ck_gemm_q8_quantize_inputs_avx512vnni(x, xu, xs, xz, m, cols) == 0) return;
    quantize_rows(x, xu, xs, xz, m, cols, levels);
}

// The scaling, then each step of the epilogue over the row while it is in cache (the same operations as one pass).
WIDER_VECTORS static void scale_rows(const float *xs, const int32_t *xz, const float *scales, const int32_t *row_sums,
                                     const int32_t *sums, long ld_sums, float *y, long ld_y, long m, long n,
                                     const ck_epilogue *epilogue) {
    for (long i = 0; i < m; i++) {
        const int32_t *si = sums + i * ld_sums;
        float *yi = y + i * ld_y;
        const float xsi = xs[i];
        const int32_t xzi = xz[i];
        for (long r = 0; r < n; r++) {
            const float scale = xsi * scales[r];
            yi[r] = scale * (float)(si[r] - xzi * row_sums[r]);
        }
        if (epilogue) ck_bias_scale_relu_f32(yi, 1, n, epilogue->bias, epilogue->scale, epilogue->relu);
    }
}

void ck_gemm_q8_scale_sums(const float *xs, const int32_t *xz, const float *scales, const int32_t *row_sums,
                           const int32_t *sums, long ld_sums, float *y, long ld_y, long m, long n, const ck_epilogue *epilogue) {
    if (ck_gemm_q8_scale_sums_avx512vnni(xs, xz, scales, row_sums, sums, ld_sums, y, ld_y, m, n, epilogue) == 0) return;
    scale_rows(xs, xz, scales, row_sums, sums, ld_sums, y, ld_y, m, n, epilogue);
}

void ck_gemm_q8(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales, const int32_t *row_sums,
                float *y, long m, long rows, long cols, long row_begin, long row_end) {
    if (ck_gemm_q8_avx512vnni(xu, xs, xz, w, scales, row_sums, y, m, rows, cols, row_begin, row_end) == 0) return;
    if (ck_gemm_q8_avxvnni(xu, xs, xz, w, scales, row_sums, y, m, rows, cols, row_begin, row_end) == 0) return;
    for (long i = 0; i < m; i++)
        for (long r = row_begin; r < row_end; r++) {
            int32_t dot = 0;
            for (long c = 0; c < cols; c++) dot += (int32_t)xu[i * cols + c] * (int32_t)w[r * cols + c];
            const float scale = xs[i] * scales[r];
            y[i * rows + r] = scale * (float)(dot - xz[i] * row_sums[r]);
        }
}
