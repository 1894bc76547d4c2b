#ifndef CKERNELS_H
#define CKERNELS_H
/// Matrix kernels of the decode loop: row-major weights W[rows][cols] (PyTorch Linear: out × in)
/// stored as f32, f16, bf16 or int8 (one f32 scale per row), multiplied with f32 activations.
///
/// x86-64 uses AVX2 + FMA + F16C when the processor has them (checked once at run time), arm64
/// uses NEON, anything else a portable loop. Pointers may be unaligned. The caller splits
/// [row_begin, row_end) across threads; the kernels themselves are single-threaded.
#include <stdint.h>

/// y[i*rows + r] = Σ_c W[r,c] · x[i*cols + c] for i < m and r in [row_begin, row_end).
void ck_matmul_f32(const float *w, const float *x, float *y, long m, long rows, long cols, long row_begin, long row_end);
/// As ck_matmul_f32 with IEEE half weights.
void ck_matmul_f16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long row_begin, long row_end);
/// As ck_matmul_f32 with bfloat16 weights.
void ck_matmul_bf16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long row_begin, long row_end);
/// As ck_matmul_f32 with int8 weights: W[r,c] = scales[r] · q[r,c].
void ck_matmul_q8(const int8_t *w, const float *scales, const float *x, float *y, long m, long rows, long cols, long row_begin, long row_end);

/// Rows [row_begin, row_end) converted to f32 into out[(r - row_begin) * cols + c].
void ck_rows_to_f32_f16(const uint16_t *w, float *out, long cols, long row_begin, long row_end);
void ck_rows_to_f32_bf16(const uint16_t *w, float *out, long cols, long row_begin, long row_end);
void ck_rows_to_f32_q8(const int8_t *w, const float *scales, float *out, long cols, long row_begin, long row_end);

/// Symmetric per-row int8: scales[r] = max|W[r,:]| / 127, q = round-half-even(W / scale); an all-zero row gets scale 0.
void ck_quantize_rows_q8(const float *w, int8_t *q, float *scales, long rows, long cols);
/// f32 to IEEE half / bfloat16, rounding to nearest even (NaN stays NaN, overflow becomes infinity).
void ck_f32_to_f16(const float *src, uint16_t *dst, long n);
void ck_f32_to_bf16(const float *src, uint16_t *dst, long n);
/// IEEE half to f32 (exact).
float ck_f16_to_f32(uint16_t h);

/// Σ a[i]·b[i].
float ck_dot_f32(const float *a, const float *b, long n);
/// y[i] += alpha · x[i].
void ck_axpy_f32(float alpha, const float *x, float *y, long n);

/// Whether ck_gemm_q8 can run here (x86-64 with AVX-512 VNNI); otherwise int8 prefill converts tiles to f32 for BLAS.
int ck_vnni_available(void);
/// Inputs for ck_gemm_q8: per row i, xs[i] = max|x[i,:]| / 127 and xu[i,c] = round(x[i,c] / xs[i]) + 128.
void ck_gemm_q8_quantize_inputs(const float *x, uint8_t *xu, float *xs, long m, long cols);
/// y[i*rows + r] ≈ Σ_c x[i,c] · scales[r] · w[r,c] for r in [row_begin, row_end), with the inputs quantized
/// by ck_gemm_q8_quantize_inputs and row_sums[r] = Σ_c w[r,c]. Only when ck_vnni_available().
void ck_gemm_q8(const uint8_t *xu, const float *xs, const int8_t *w, const float *scales, const int32_t *row_sums,
                float *y, long m, long rows, long cols, long row_begin, long row_end);

/// Softmax of x[0..<n] in place; -infinity entries become 0, and a row of only -infinity becomes all zeros.
void ck_softmax_f32(float *x, long n);

/// A parallel loop body: handles items [begin, end) as chunk number `chunk`.
typedef void (*ck_pool_task)(void *context, long chunk, long begin, long end);
/// Runs task over 0..<count cut into `chunks` contiguous chunks on the calling thread and pool workers
/// (started on first use, then kept, spinning briefly between loops). Returns when every chunk is done.
/// A call made while another is running runs its chunks on the calling thread.
void ck_pool_run(long chunks, long count, ck_pool_task task, void *context);

/// Instruction sets the kernels can use.
enum { CK_ISA_PORTABLE = 0, CK_ISA_AVX2 = 1, CK_ISA_NEON = 2 };
/// The instruction set in use.
int ck_isa(void);
/// Forces an instruction set (tests use CK_ISA_PORTABLE to cover the fallback); returns the one now in use,
/// which stays unchanged when the processor lacks the one asked for.
int ck_set_isa(int isa);
#endif
