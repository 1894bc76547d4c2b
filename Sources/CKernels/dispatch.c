// Picks the kernel table for this processor once, and forwards the public functions to it.
#include "internal.h"

static const ck_table *table_for(int isa) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == CK_ISA_AVX2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return &ck_avx2_table;
#endif
#if defined(__aarch64__)
    if (isa == CK_ISA_NEON) return &ck_neon_table;
#endif
    (void)isa;
    return &ck_portable_table;
}

static int best_isa(void) {
#if defined(__x86_64__) || defined(_M_X64)
    return table_for(CK_ISA_AVX2) == &ck_avx2_table ? CK_ISA_AVX2 : CK_ISA_PORTABLE;
#elif defined(__aarch64__)
    return CK_ISA_NEON;
#else
    return CK_ISA_PORTABLE;
#endif
}

// Written once before the first kernel runs (or by tests between runs), read-only afterwards.
static int current_isa = -1;
static const ck_table *current = 0;

static inline const ck_table *kernels(void) {
    if (!current) ck_set_isa(best_isa());
    return current;
}

int ck_set_isa(int isa) {
    const ck_table *table = table_for(isa);
    current = table;
    current_isa = table == &ck_portable_table ? CK_ISA_PORTABLE : isa;
    return current_isa;
}

int ck_isa(void) {
    kernels();
    return current_isa;
}

void ck_matmul_f32(const float *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    kernels()->matmul_f32(w, x, y, m, rows, cols, b, e);
}
void ck_matmul_f16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    kernels()->matmul_f16(w, x, y, m, rows, cols, b, e);
}
void ck_matmul_bf16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    kernels()->matmul_bf16(w, x, y, m, rows, cols, b, e);
}
void ck_matmul_q8(const int8_t *w, const float *scales, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    kernels()->matmul_q8(w, scales, x, y, m, rows, cols, b, e);
}

// Tables may leave the conversions to the portable code.
void ck_rows_to_f32_f16(const uint16_t *w, float *out, long cols, long b, long e) {
    (kernels()->rows_f16 ? kernels()->rows_f16 : ck_portable_table.rows_f16)(w, out, cols, b, e);
}
void ck_rows_to_f32_bf16(const uint16_t *w, float *out, long cols, long b, long e) {
    (kernels()->rows_bf16 ? kernels()->rows_bf16 : ck_portable_table.rows_bf16)(w, out, cols, b, e);
}
void ck_rows_to_f32_q8(const int8_t *w, const float *scales, float *out, long cols, long b, long e) {
    (kernels()->rows_q8 ? kernels()->rows_q8 : ck_portable_table.rows_q8)(w, scales, out, cols, b, e);
}

float ck_dot_f32(const float *a, const float *b, long n) { return kernels()->dot(a, b, n); }
void ck_axpy_f32(float alpha, const float *x, float *y, long n) { kernels()->axpy(alpha, x, y, n); }
void ck_softmax_f32(float *x, long n) { (kernels()->softmax ? kernels()->softmax : ck_portable_table.softmax)(x, n); }
