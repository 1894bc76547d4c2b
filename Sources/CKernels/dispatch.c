// Picks the kernel table for this processor once, and forwards the public functions to it.
#include <stdatomic.h>
#include "internal.h"

static const ck_table *table_for(int isa) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == CK_ISA_AVX2 && ck_has(CK_FEATURE_AVX2 | CK_FEATURE_FMA | CK_FEATURE_F16C)) return &ck_avx2_table;
#endif
#if defined(__aarch64__)
    if (isa == CK_ISA_NEON_DOTPROD && ck_has(CK_FEATURE_NEON | CK_FEATURE_DOTPROD)) return &ck_neon_dotprod_table;
    if ((isa == CK_ISA_NEON || isa == CK_ISA_NEON_DOTPROD) && ck_has(CK_FEATURE_NEON)) return &ck_neon_table;
#endif
    (void)isa;
    return &ck_portable_table;
}

static int best_isa(void) {
#if defined(__x86_64__) || defined(_M_X64)
    return CK_ISA_AVX2;
#elif defined(__aarch64__)
    return CK_ISA_NEON_DOTPROD;
#else
    return CK_ISA_PORTABLE;
#endif
}

// Null until the first call picks the best table; tests may switch it while other threads run
// kernels, which then finish on either table (both are correct), hence the atomic.
static _Atomic(const ck_table *) current;

static inline const ck_table *kernels(void) {
    const ck_table *table = atomic_load_explicit(&current, memory_order_relaxed);
    if (!table) {
        table = table_for(best_isa());
        atomic_store_explicit(&current, table, memory_order_relaxed);
    }
    return table;
}

int ck_set_isa(int isa) {
    const ck_table *table = table_for(isa);
    atomic_store_explicit(&current, table, memory_order_relaxed);
    return table->isa;
}

int ck_isa(void) { return kernels()->isa; }

// The entry of the current table, or the portable one where the table leaves it null.
#define KERNEL(name) ({ const ck_table *t_ = kernels(); t_->name ? t_->name : ck_portable_table.name; })

void ck_matmul_f32(const float *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    KERNEL(matmul_f32)(w, x, y, m, rows, cols, b, e);
}
void ck_matmul_f16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    KERNEL(matmul_f16)(w, x, y, m, rows, cols, b, e);
}
void ck_matmul_bf16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    KERNEL(matmul_bf16)(w, x, y, m, rows, cols, b, e);
}
void ck_matmul_q8(const int8_t *w, const float *scales, const float *x, float *y, long m, long rows, long cols, long b, long e) {
    KERNEL(matmul_q8)(w, scales, x, y, m, rows, cols, b, e);
}
void ck_matmul_q4(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows, long cols, long b,
                  long e) {
    KERNEL(matmul_q4)(w, scales, x, y, m, rows, cols, b, e);
}

void ck_matvec_f32(const float *w, const float *x, float *y, long rows, long cols, long b, long e) {
    KERNEL(matmul_f32)(w, x, y, 1, rows, cols, b, e);
}
void ck_matvec_f16(const uint16_t *w, const float *x, float *y, long rows, long cols, long b, long e) {
    KERNEL(matmul_f16)(w, x, y, 1, rows, cols, b, e);
}
void ck_matvec_bf16(const uint16_t *w, const float *x, float *y, long rows, long cols, long b, long e) {
    KERNEL(matmul_bf16)(w, x, y, 1, rows, cols, b, e);
}
void ck_matvec_q8(const int8_t *w, const float *scales, const float *x, float *y, long rows, long cols, long b, long e) {
    KERNEL(matmul_q8)(w, scales, x, y, 1, rows, cols, b, e);
}

void ck_rows_to_f32_f16(const uint16_t *w, float *out, long cols, long b, long e) { KERNEL(rows_f16)(w, out, cols, b, e); }
void ck_rows_to_f32_bf16(const uint16_t *w, float *out, long cols, long b, long e) { KERNEL(rows_bf16)(w, out, cols, b, e); }
void ck_rows_to_f32_q8(const int8_t *w, const float *scales, float *out, long cols, long b, long e) {
    KERNEL(rows_q8)(w, scales, out, cols, b, e);
}
void ck_rows_to_f32_q4(const uint8_t *w, const uint16_t *scales, float *out, long cols, long b, long e) {
    KERNEL(rows_q4)(w, scales, out, cols, b, e);
}

void ck_f32_to_f16(const float *src, uint16_t *dst, long n) { KERNEL(to_f16)(src, dst, n); }
void ck_f32_to_bf16(const float *src, uint16_t *dst, long n) { KERNEL(to_bf16)(src, dst, n); }
void ck_quantize_rows_q8(const float *w, int8_t *q, float *scales, long rows, long cols) {
    KERNEL(quantize_q8)(w, q, scales, rows, cols);
}

float ck_dot_f32(const float *a, const float *b, long n) { return KERNEL(dot)(a, b, n); }
void ck_axpy_f32(float alpha, const float *x, float *y, long n) { KERNEL(axpy)(alpha, x, y, n); }
float ck_softmax_f32(float *x, long n) { return KERNEL(softmax)(x, n); }

void ck_attend_one_f32(const float *q, const float *k, const float *v, long ld, float *out, long total, long d, float *scores) {
    const ck_table *t = kernels();
    if (t->attend_one && t->attend_one(q, k, v, ld, out, total, d, scores) == 0) return;
    for (long j = 0; j < total; j++) scores[j] = KERNEL(dot)(q, k + j * ld, d);
    KERNEL(softmax)(scores, total);
    for (long i = 0; i < d; i++) out[i] = 0;
    for (long j = 0; j < total; j++)
        if (scores[j] != 0) KERNEL(axpy)(scores[j], v + j * ld, out, d);
}

int ck_dot_flavour(void) {
    if (ck_isa() != CK_ISA_AVX2) return CK_DOT_NONE;
    if (ck_has(CK_FEATURE_AVX512VL | CK_FEATURE_AVX512VNNI)) return CK_DOT_AVX512VNNI;
    return ck_has(CK_FEATURE_AVXVNNI) ? CK_DOT_AVXVNNI : CK_DOT_NONE;
}

// Prefill attention: AVX-512's kernel where it runs for heads of d values, else AVX2's.
int ck_attention_f32_enabled(long d) {
    if (ck_attention_f32_avx512_enabled(d)) return CK_ATTENTION_AVX512;
#if defined(__x86_64__) || defined(_M_X64)
    if (ck_attention_f32_avx2_enabled(d)) return CK_ATTENTION_AVX2;
#endif
    return 0;
}

long ck_attention_f32_scratch(long total, long d) {
    if (ck_attention_f32_avx512_enabled(d)) return ck_attention_f32_avx512_scratch(total, d);
#if defined(__x86_64__) || defined(_M_X64)
    if (ck_attention_f32_avx2_enabled(d)) return ck_attention_f32_avx2_scratch(total, d);
#endif
    return 0;
}

int ck_attention_f32(const float *q, long ldq, const float *k, const float *v, long ldkv, float *out, long ldo, long steps,
                     long past, long d, void *scratch) {
    if (ck_attention_f32_avx512_enabled(d)) return ck_attention_f32_avx512(q, ldq, k, v, ldkv, out, ldo, steps, past, d, scratch);
#if defined(__x86_64__) || defined(_M_X64)
    return ck_attention_f32_avx2(q, ldq, k, v, ldkv, out, ldo, steps, past, d, scratch);
#else
    return -1;
#endif
}

// The prefill GEMMs (several inputs past the matvec limit) for compressed weights. int8 is -1 until the
// first call picks the best the processor has. bf16 starts off: rounding the inputs to bf16 moves the
// logits of a stored bf16 checkpoint ~1e-1 from transformers' (which upcasts to f32), beyond the
// parity the default path keeps, so it is taken only when asked for (ck_set_bf16_gemm).
static _Atomic int q8_gemm = -1, bf16_gemm = CK_GEMM_NONE;

static int q8_gemm_for(int path) {
    if (path == CK_GEMM_AVX512VNNI && ck_has(CK_FEATURE_AVX512F | CK_FEATURE_AVX512BW | CK_FEATURE_AVX512VNNI))
        return CK_GEMM_AVX512VNNI;
    if (path == CK_GEMM_AVXVNNI && ck_has(CK_FEATURE_AVX2 | CK_FEATURE_FMA | CK_FEATURE_AVXVNNI)) return CK_GEMM_AVXVNNI;
    // oneDNN's int8 kernels without VNNI: 2.2× its f32 rate on AVX2 (Zen 4 capped to AVX2, 256 × 768 × 3072),
    // 0.96–0.99× on a narrow-AVX core (Zen 1, one thread; see ck_default_q8_gemm).
    if (path == CK_GEMM_AVX2_ONEDNN && ck_has(CK_FEATURE_AVX2 | CK_FEATURE_FMA) && ck_onednn_version() != NULL)
        return CK_GEMM_AVX2_ONEDNN;
    return CK_GEMM_NONE;
}

int ck_best_q8_gemm(void) {
    const int best_first[] = {CK_GEMM_AVX512VNNI, CK_GEMM_AVXVNNI, CK_GEMM_AVX2_ONEDNN};
    for (size_t i = 0; i < sizeof best_first / sizeof *best_first; i++)
        if (q8_gemm_for(best_first[i]) != CK_GEMM_NONE) return best_first[i];
    return CK_GEMM_NONE;
}

static int bf16_gemm_for(int path) {
    if (path == CK_GEMM_AVX512BF16 && ck_has(CK_FEATURE_AVX512F | CK_FEATURE_AVX512BW | CK_FEATURE_AVX512BF16))
        return CK_GEMM_AVX512BF16;
    return CK_GEMM_NONE;
}

int ck_default_q8_gemm(void) {
    const int best = ck_best_q8_gemm();
    return best == CK_GEMM_AVX2_ONEDNN && ck_has(CK_FEATURE_NARROW_AVX) ? CK_GEMM_NONE : best;
}

int ck_q8_gemm(void) {
    int path = atomic_load_explicit(&q8_gemm, memory_order_relaxed);
    if (path < 0) atomic_store_explicit(&q8_gemm, path = ck_default_q8_gemm(), memory_order_relaxed);
    return path;
}

int ck_set_q8_gemm(int path) {
    int chosen = q8_gemm_for(path);
    atomic_store_explicit(&q8_gemm, chosen, memory_order_relaxed);
    return chosen;
}

int ck_bf16_gemm(void) { return atomic_load_explicit(&bf16_gemm, memory_order_relaxed); }

int ck_set_bf16_gemm(int path) {
    int chosen = bf16_gemm_for(path);
    atomic_store_explicit(&bf16_gemm, chosen, memory_order_relaxed);
    return chosen;
}
