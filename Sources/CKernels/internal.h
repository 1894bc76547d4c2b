// Shared between the kernel files; not part of the public header.
#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H
#include <stdint.h>
#include <string.h>
#include "ckernels.h"

static inline float ck_bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// Plain C loops built also for AVX2, that build chosen when the program loads where the processor has it (x86-64
// Linux); these loops are memory-bound enough that AVX-512 adds little. Files using it turn off contraction into
// fused multiply-adds, so that both builds give the same bits.
#if defined(__x86_64__) && defined(__linux__)
#define WIDER_VECTORS __attribute__((target_clones("avx2", "default")))
#else
#define WIDER_VECTORS
#endif

// One function table per instruction set; dispatch.c picks one. A null entry means the portable one.
typedef struct {
    int isa;
    void (*matmul_f32)(const float *, const float *, float *, long, long, long, long, long);
    void (*matmul_f16)(const uint16_t *, const float *, float *, long, long, long, long, long);
    void (*matmul_bf16)(const uint16_t *, const float *, float *, long, long, long, long, long);
    void (*matmul_q8)(const int8_t *, const float *, const float *, float *, long, long, long, long, long);
    void (*rows_f16)(const uint16_t *, float *, long, long, long);
    void (*rows_bf16)(const uint16_t *, float *, long, long, long);
    void (*rows_q8)(const int8_t *, const float *, float *, long, long, long);
    void (*to_f16)(const float *, uint16_t *, long);
    void (*to_bf16)(const float *, uint16_t *, long);
    void (*quantize_q8)(const float *, int8_t *, float *, long, long);
    float (*dot)(const float *, const float *, long);
    void (*axpy)(float, const float *, float *, long);
    float (*softmax)(float *, long);
    void (*matmul_q4)(const uint8_t *, const uint16_t *, const float *, float *, long, long, long, long, long);
    void (*rows_q4)(const uint8_t *, const uint16_t *, float *, long, long, long);
    // ck_attend_one_f32 in one pass of this table's dot, softmax and axpy; returns -1 for a d it leaves to those three.
    int (*attend_one)(const float *, const float *, const float *, long, float *, long, long, float *);
} ck_table;

extern const ck_table ck_portable_table;
#if defined(__x86_64__) || defined(_M_X64)
extern const ck_table ck_avx2_table;
#endif
#if defined(__aarch64__)
extern const ck_table ck_neon_table, ck_neon_dotprod_table;
#endif

// Scalar conversions shared by the portable code and the vector code's tails.
uint16_t ck_f32_to_f16_one(float value);
uint16_t ck_f32_to_bf16_one(float value);

// Weight rows ahead of the int8 GEMMs' tiles that batched decode asks the memory for (ck_gemm_q8 on AVX-512 VNNI and
// AVX-VNNI). Decode reads each weight once per step, from DRAM; a tile's rows are short streams that the hardware
// prefetchers barely start on before they end. On 2 Zen 5 cores, 8 × 49152 × 768 int8 (37.7 MB, four copies cycled so
// that none is in L3) took 2.49–2.71 ms without and 0.79–0.89 ms with 8 rows ahead (32 rows ahead: 0.81–0.86), and
// opt-125m's int8 decode of 8 sequences went from 689–720 to 1,430–1,447 tokens/s. A prefetch past the matrix's end
// is a hint that never faults.
enum { CK_GEMM_PREFETCH_ROWS = 8 };

/// exp(x) for x ≤ 0 in the vector softmaxes: below ck_exp_floor e^x is 0 in f32; x = n·ln2 + r with ln 2 in
/// two parts (Cody–Waite), then Cephes' expf polynomial for e^r (about 1 ulp): e^r ≈ 1 + r + r²·p(r) with p's
/// coefficients from the highest degree down; the result scaled by 2^n.
static const float ck_exp_floor = -87.3f, ck_exp_log2e = 1.44269504088896341f;
static const float ck_exp_ln2_high = 0.693359375f, ck_exp_ln2_low = -2.12194440e-4f;
enum { CK_EXP_TERMS = 6 };
static const float ck_exp_polynomial[CK_EXP_TERMS] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                                      4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

/// ck_gemm_q8, its inputs' quantization (255 levels) and its scaling of sums on AVX-512 VNNI (x86_avx512.c), the
/// same bits as gemm_q8.c's plain C; -1 where the processor lacks it.
int ck_gemm_q8_avx512vnni(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales,
                          const int32_t *row_sums, float *y, long m, long rows, long cols, long row_begin, long row_end);
/// ck_gemm_q8 on AVX-VNNI (x86_avx2.c): exact sums, so the same bits; -1 where the processor (or the instruction set in
/// use) lacks it.
int ck_gemm_q8_avxvnni(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales,
                       const int32_t *row_sums, float *y, long m, long rows, long cols, long row_begin, long row_end);
int ck_gemm_q8_quantize_inputs_avx512vnni(const float *x, uint8_t *xu, float *xs, int32_t *xz, long m, long cols);
int ck_gemm_q8_scale_sums_avx512vnni(const float *xs, const int32_t *xz, const float *scales, const int32_t *row_sums,
                                     const int32_t *sums, long ld_sums, float *y, long ld_y, long m, long n,
                                     const ck_epilogue *epilogue);

#if defined(__x86_64__) || defined(_M_X64)
/// The int8 inputs of the AVX2 kernels (x86_avx2.c): each block of 32 values x quantized to round(x · 127 / max|block|)
/// with scale max|block| / 127 (llama.cpp's Q8_0).
void ck_quantize_blocks_avx2(const float *x, int8_t *xq, float *xs, long blocks);
/// The inputs of AVX-512 VNNI's int4 kernel for batches: each of m rows of x quantized per block of 32 as above into
/// xq [m][cols] with scales xs [m][cols / 32], and start [m][cols / 32] = −8 · Σ of each block, where a group's sum of
/// the stored nibbles' products starts (Σ q·x = Σ (q + 8)·x − 8 · Σ x).
typedef struct {
    int8_t *xq;
    float *xs;
    int32_t *start;
} ck_q4_inputs;
/// A buffer of at least `bytes` (64-byte aligned), the calling thread's own, kept for its next call; NULL where memory
/// ran out.
void *ck_q4_thread_scratch(size_t bytes);
/// The bytes of m such inputs of cols values, laid out as xs, then start, then xq.
size_t ck_q4_blocks_bytes(long m, long cols);
/// Input `first` of the m prepared at `prepared`, in each of the three arrays.
ck_q4_inputs ck_q4_blocks_at(void *prepared, long m, long cols, long first);
/// Prepares inputs [begin, end) of x [m][cols] into `prepared` (ck_q4_blocks_bytes(m, cols) bytes).
void ck_q4_blocks_prepare(const float *x, long m, long cols, void *prepared, long begin, long end);
/// An int4 batch kernel in its two steps (AVX-512 VNNI's, AVX2's tiles) for one product: the bytes of its unpacked
/// weights and of the prepared inputs, and the functions that prepare the inputs and multiply inputs [first, first +
/// count) of them over rows [row_begin, row_end) with the unpacked weights in `scratch`.
typedef struct {
    size_t tile_bytes, input_bytes;
    void (*prepare)(const float *x, long m, long cols, void *prepared, long begin, long end);
    void (*run)(const uint8_t *w, const uint16_t *scales, const void *prepared, float *y, long m, long rows, long cols,
                long first, long count, long row_begin, long row_end, void *scratch);
} ck_q4_batch_kernel;
/// ck_matmul_q4 on such a kernel, its inputs prepared into the calling thread's scratch after its tile; -1 (nothing
/// written) where memory ran out.
int ck_q4_batch_matmul(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows, long cols,
                       long row_begin, long row_end, const ck_q4_batch_kernel *kernel);
#endif

/// ck_matmul_q4 on AVX-512 VNNI (x86_avx512.c), inputs quantized as the AVX2 row kernel's (the same integer sums per
/// group); -1 where it does not run (ck_q4_vnni_takes(m) false, or no memory).
int ck_matmul_q4_avx512vnni(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows, long cols,
                            long row_begin, long row_end);
/// ck_matmul_q4_prepared on AVX-512 VNNI, of inputs prepared by ck_q4_blocks_prepare: the same bits as
/// ck_matmul_q4_avx512vnni of inputs [first, first + count); -1 where it does not run (ck_q4_vnni_takes(count) false, or
/// no memory).
int ck_matmul_q4_avx512vnni_prepared(const uint8_t *w, const uint16_t *scales, const void *prepared, float *y, long m,
                                     long rows, long cols, long first, long count, long row_begin, long row_end);
/// Whether int4 runs on AVX-512 VNNI: while the int8 GEMM is on it and the processor has F16C.
int ck_q4_vnni(void);
/// Whether ck_matmul_q4_avx512vnni takes m inputs (enough of them for its unpacking of the weights to pay off).
int ck_q4_vnni_takes(long m);

/// ck_attention_f32 on AVX-512 F (x86_avx512.c), for OPT's head sizes 64, 80 and 128; -1 (nothing written) where it
/// does not run (`enabled` 0). Its scratch per thread in bytes.
int ck_attention_f32_avx512(const float *q, long ldq, const float *k, const float *v, long ldkv, float *out, long ldo,
                            long steps, long past, long d, void *scratch);
long ck_attention_f32_avx512_scratch(long total, long d);
int ck_attention_f32_avx512_enabled(long d);
#if defined(__x86_64__) || defined(_M_X64)
/// ck_attention_f32 on AVX2 and FMA (x86_avx2.c), for heads of any multiple of 16 values, as above.
int ck_attention_f32_avx2(const float *q, long ldq, const float *k, const float *v, long ldkv, float *out, long ldo,
                          long steps, long past, long d, void *scratch);
long ck_attention_f32_avx2_scratch(long total, long d);
int ck_attention_f32_avx2_enabled(long d);
#endif

/// ck_dropout_f32's hash: the index multiplier, then the two of splitmix64's finalizer.
static const uint64_t ck_dropout_multipliers[3] = {0xD1B54A32D192ED03ull, 0xBF58476D1CE4E5B9ull, 0x94D049BB133111EBull};

/// ck_dropout_f32 on AVX-512 (F and DQ, for 64-bit multiplies), eight indices a lane; -1 where the processor lacks it.
int ck_dropout_f32_avx512(float *x, long n, uint64_t base, uint64_t first, uint32_t threshold, float scale);
#endif
