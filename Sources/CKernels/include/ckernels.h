#ifndef CKERNELS_H
#define CKERNELS_H
/// Matrix kernels of the decode loop: row-major weights W[rows][cols] (PyTorch Linear: out × in)
/// stored as f32, f16, bf16, int8 (one f32 scale per row) or int4 (one f16 scale per 32 columns),
/// multiplied with f32 activations.
///
/// x86-64 uses AVX2 + FMA + F16C when the processor has them (checked once at run time), arm64
/// uses NEON (with the dot-product instructions where it has them), anything else a portable loop. Prefill of int8 and bf16 weights has its own GEMMs on
/// AVX-512 VNNI and AVX512-BF16 (ck_gemm_q8, ck_gemm_bf16), chosen the same way. Pointers may be unaligned (element alignment is
/// enough). The caller splits [row_begin, row_end) across threads; the kernels themselves are
/// single-threaded, allocate nothing (int8 inputs wider than 16384 columns excepted) and write
/// only y[i*rows + r] for r in [row_begin, row_end).
///
/// Accuracy: f32, f16 and bf16 weights (and int8 with several inputs, or on the portable path)
/// are multiplied as their exact f32 values with f32 accumulation (tested within 1e-5 · Σ|W·x| of
/// the exact result). int8 with one input on AVX2 (and on NEON with dot-product instructions) also
/// quantizes x to int8 per block of 32 columns (one scale per block, when cols is a multiple of 32),
/// which adds at most Σ_c |W[r,c]| · max|x in c's block| / 254.
#include <stddef.h>
#include <stdint.h>

/// y[i*rows + r] = Σ_c W[r,c] · x[i*cols + c] for i < m and r in [row_begin, row_end).
/// One input (m = 1) streams each row once; several inputs (batched decode, m up to ~16) read each
/// row from memory once for all of them.
void ck_matmul_f32(const float *w, const float *x, float *y, long m, long rows, long cols, long row_begin, long row_end);
/// As ck_matmul_f32 with IEEE half weights.
void ck_matmul_f16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long row_begin, long row_end);
/// As ck_matmul_f32 with bfloat16 weights.
void ck_matmul_bf16(const uint16_t *w, const float *x, float *y, long m, long rows, long cols, long row_begin, long row_end);
/// As ck_matmul_f32 with int8 weights: W[r,c] = scales[r] · w[r,c].
void ck_matmul_q8(const int8_t *w, const float *scales, const float *x, float *y, long m, long rows, long cols,
                  long row_begin, long row_end);

/// Columns per int4 group: each group of 32 consecutive columns of a row has its own scale.
enum { CK_Q4_GROUP = 32 };
/// As ck_matmul_f32 with int4 weights (cols a multiple of CK_Q4_GROUP): W[r,c] = f16(scales[r*cols/32 + c/32]) · q[r,c],
/// q in -8…7. Row r's groups are cols/32 runs of 16 bytes at w + r*cols/2; byte j of group g holds
/// q[r, 32g+j] + 8 in its low nibble and q[r, 32g+16+j] + 8 in its high nibble (llama.cpp's Q4_0 order),
/// so one 16-byte load, a mask and a shift give the group's 32 values in column order.
/// On AVX2 the inputs are quantized to int8, which adds at most Σ_c |W[r,c]| · max|x in c's block| / 254: below
/// 16 inputs per block of 32 as for int8 at batch 1; from 16 on (the tiles) per block of 256 (8 groups, the last
/// block of a row shorter), with each group's scale taken as an integer k ≤ 8191 times one f32 scale per row and
/// block (which adds at most Σ_c 8 · max|d over c's block| / 16382 · |x[c]|); the portable and NEON kernels are
/// exact in f32.
void ck_matmul_q4(const uint8_t *w, const uint16_t *scales, const float *x, float *y, long m, long rows, long cols,
                  long row_begin, long row_end);

/// y[r] = Σ_c W[r,c] · x[c] for r in [row_begin, row_end): ck_matmul_f32 with m = 1.
void ck_matvec_f32(const float *w, const float *x, float *y, long rows, long cols, long row_begin, long row_end);
/// As ck_matvec_f32 with IEEE half weights.
void ck_matvec_f16(const uint16_t *w, const float *x, float *y, long rows, long cols, long row_begin, long row_end);
/// As ck_matvec_f32 with bfloat16 weights.
void ck_matvec_bf16(const uint16_t *w, const float *x, float *y, long rows, long cols, long row_begin, long row_end);
/// As ck_matvec_f32 with int8 weights: y[r] = scales[r] · Σ_c w[r,c] · x[c].
void ck_matvec_q8(const int8_t *w, const float *scales, const float *x, float *y, long rows, long cols, long row_begin,
                  long row_end);

/// Rows [row_begin, row_end) of IEEE half weights, exactly, as f32 into out[(r - row_begin) * cols + c].
void ck_rows_to_f32_f16(const uint16_t *w, float *out, long cols, long row_begin, long row_end);
/// As ck_rows_to_f32_f16 for bfloat16 weights.
void ck_rows_to_f32_bf16(const uint16_t *w, float *out, long cols, long row_begin, long row_end);
/// As ck_rows_to_f32_f16 for int8 weights: out = scales[r] · w[r,c] (one f32 product, as the kernels use).
void ck_rows_to_f32_q8(const int8_t *w, const float *scales, float *out, long cols, long row_begin, long row_end);

/// As ck_rows_to_f32_f16 for int4 weights (ck_matmul_q4's layout): out = f16 scale · q (exact in f32).
void ck_rows_to_f32_q4(const uint8_t *w, const uint16_t *scales, float *out, long cols, long row_begin, long row_end);

/// Symmetric int4 per group of CK_Q4_GROUP columns (cols a multiple of it), in ck_matmul_q4's layout, with a
/// searched f16 scale d (signed, so that the group's largest magnitude may take level -8): of f16(max|W| / 7)
/// and the least-squares refits (weighted by W²) of the levels that 21 inverse scales -(7…9) / max give, the
/// one whose levels q = round-half-even(W / d) clamped to -8…7 leave the least Σ W² (W − d·q)², max|W| / 7 on
/// ties, so the error is never above the absmax scale's. An all-zero group (or one whose scale is below the
/// smallest half) gets scale 0 and zeros; NaN weights become 0; scales are clamped to the largest half.
/// One implementation for every instruction set (bit-identical weights); rows are independent, so callers
/// may quantize blocks of rows in parallel.
void ck_quantize_rows_q4(const float *w, uint8_t *q, uint16_t *scales, long rows, long cols);
/// GPTQ's int4 rounding of columns [begin, end) (whole groups) of w [rows][cols], in ck_quantize_rows_q4's format:
/// the columns rounded in order, each group's scale searched as ck_quantize_rows_q4 does when its first column comes,
/// each column's error (w − d·q) / U[i][i] written to errors [rows][end − begin] and carried into the block's later
/// columns by U's row i. U [cols][cols] is the upper Cholesky factor of the inverse of the inputs' second moments
/// (H⁻¹ = Uᵀ U, `CalibrationStatistics`); the caller then takes errors · U[begin..<end][end...] from the columns
/// after the block. w (without NaN) has its block's columns overwritten. With U the identity, the same bits as
/// ck_quantize_rows_q4. Rows are independent, so callers may run blocks of rows in parallel.
void ck_gptq_q4_columns(float *w, long cols, const float *u, uint8_t *q, uint16_t *scales, float *errors, long rows,
                        long begin, long end);
/// Symmetric per-row int8: scales[r] = max|W[r,:]| / 127, q = round-half-even(W · (127 / max|W[r,:]|))
/// clamped to ±127. An all-zero row gets scale 0 and zeros (so it dequantizes to exactly 0); NaN
/// weights become 0. Every instruction set gives bit-identical results.
void ck_quantize_rows_q8(const float *w, int8_t *q, float *scales, long rows, long cols);
/// f32 to IEEE half, rounding to nearest even (NaN stays NaN, overflow becomes infinity), n values.
void ck_f32_to_f16(const float *src, uint16_t *dst, long n);
/// f32 to bfloat16, rounding to nearest even (NaN stays NaN), n values.
void ck_f32_to_bf16(const float *src, uint16_t *dst, long n);
/// IEEE half to f32 (exact).
float ck_f16_to_f32(uint16_t h);

/// Σ a[i]·b[i] over n values (attention scores against the KV cache).
float ck_dot_f32(const float *a, const float *b, long n);
/// y[i] += alpha · x[i] over n values (attention weights times values).
void ck_axpy_f32(float alpha, const float *x, float *y, long n);
/// Softmax of x[0..<n] in place; -infinity entries become 0, and a row of only -infinity becomes all zeros.
/// Returns log Σ exp(x) of the row as it was (-infinity for a row of only -infinity).
float ck_softmax_f32(float *x, long n);
/// Attention of one query (a decoding step, already scaled) over `total` cached positions of one head: scores[j] =
/// ck_dot_f32(q, k + j·ld, d), ck_softmax_f32 over them, then out = Σ_j scores[j] · v[j·ld…] added with ck_axpy_f32
/// in order of j, positions of weight 0 skipped: the same bits as those calls in turn, in one pass where the
/// instruction set has one. `scores` holds `total` floats.
void ck_attend_one_f32(const float *q, const float *k, const float *v, long ld, float *out, long total, long d, float *scores);

/// Each of `rows` rows of y ([rows, width]): y += bias (when given), then y *= scale, then ReLU when `relu`.
void ck_bias_scale_relu_f32(float *y, long rows, long width, const float *bias, float scale, int relu);
/// What a linear layer's results go through as a product stores them: ck_bias_scale_relu_f32's steps in its
/// order (so the same bits), bias[c] for output column c (NULL: none).
typedef struct {
    const float *bias;
    float scale;
    int relu;
} ck_epilogue;
/// x[i] += added[i] over n values.
void ck_add_f32(float *x, const float *added, long n);
/// Each of `rows` rows: x += added (when given), then y = LayerNorm(x) as torch.nn.LayerNorm computes it
/// (biased variance, eps inside the root; weight and bias optional). y may be x.
void ck_add_layer_norm_f32(float *x, const float *added, float *y, long rows, long width,
                           const float *weight, const float *bias, float eps);

/// One AdamW update of n parameters as torch.optim.AdamW takes it (decoupled decay first): m and v become the new
/// moments, p = p·keep − step_size·m / (√v / correction2_root + eps). The four arrays must not overlap.
void ck_adamw_f32(float *p, const float *g, float *m, float *v, long n,
                  float keep, float beta1, float beta2, float step_size, float correction2_root, float eps);
/// Σ x[i]² over n values, accumulated in double in a fixed order.
double ck_sum_squares_f64(const float *x, long n);
/// x[i] *= factor over n values.
void ck_scale_f32(float *x, long n, float factor);

/// The gradient through a softmax row p of n values: dp = p · (dp − Σ p·dp), in place.
void ck_softmax_backward_f32(const float *p, float *dp, long n);

/// ReLU's gradient: dy[i] = 0 where x[i] ≤ 0, over n values (x and dy must not overlap).
void ck_relu_backward_f32(const float *x, float *dy, long n);

/// Dropout as a pure function of each element's index: for i in 0..<n, element `first + i` is dropped where the
/// top 24 bits of the splitmix64 finalizer of `base + (first + i) · 0xD1B54A32D192ED03` fall below `threshold`
/// (a probability × 2²⁴); x[i] is multiplied by 0 where dropped, else by `scale`.
void ck_dropout_f32(float *x, long n, uint64_t base, uint64_t first, uint32_t threshold, float scale);

/// Causal attention of one head in f32 (on AVX-512 or AVX2): queries q[i] (i < steps, at positions past + i, already scaled)
/// over keys k[j] and values v[j] (j < past + steps), rows at stride ldq or ldkv; out[i] (stride ldo) gets
/// Σ_j softmax_j(q[i]·k[j]) v[j] over the keys j ≤ past + i. Each thread's `scratch` must hold
/// ck_attention_f32_scratch(past + steps, d) bytes. Returns 0, or -1 (nothing written) unless
/// ck_attention_f32_enabled(d).
int ck_attention_f32(const float *q, long ldq, const float *k, const float *v, long ldkv, float *out, long ldo,
                     long steps, long past, long d, void *scratch);
/// Bytes of scratch ck_attention_f32 needs for `total` positions of d values.
long ck_attention_f32_scratch(long total, long d);
/// Which kernel ck_attention_f32 runs for heads of d values, 0 where none does: with the instruction set not forced to
/// the portable one, CK_ATTENTION_AVX512 where the processor has AVX-512 F and d is one of OPT's head sizes (64, 80,
/// 128), else CK_ATTENTION_AVX2 where it has AVX2 and FMA and d is a multiple of 16.
enum { CK_ATTENTION_AVX2 = 1, CK_ATTENTION_AVX512 = 2 };
int ck_attention_f32_enabled(long d);

/// Prefill GEMM paths for compressed weights (ck_q8_gemm, ck_bf16_gemm). CK_GEMM_NONE: tiles of weights are
/// converted to f32 for the f32 GEMM, oneDNN or BLAS (exact weights, f32 inputs). CK_GEMM_AVX2_ONEDNN: int8 weights × inputs quantized
/// to 7 bits through oneDNN's AVX2 kernels, for processors without VNNI.
/// CK_GEMM_AVX2 (int4 alone): int4 weights unpacked per call, 16 rows at a time, × inputs quantized per block of 256,
/// maddubs into 16-bit sums, the groups' scales as integers (llama.cpp's k-quants). CK_GEMM_AVXVNNI: int8 weights ×
/// int8 inputs as CK_GEMM_AVX512VNNI's (oneDNN multiplies the larger batches where it loaded), the smaller batches (and
/// every batch without oneDNN) on 256-bit `vpdpbusd`, for processors with AVX-VNNI but no AVX-512.
enum { CK_GEMM_NONE = 0, CK_GEMM_AVX512VNNI = 1, CK_GEMM_AVX512BF16 = 2, CK_GEMM_AVX2_ONEDNN = 3, CK_GEMM_AVX2 = 4,
       CK_GEMM_AVXVNNI = 5 };
/// The byte products of the AVX2 table's int8 and int4 kernels (decode, and int4 batches on the row kernel):
/// CK_DOT_AVX512VNNI (vpdpbusd, EVEX: AVX-512 VNNI with VL), CK_DOT_AVXVNNI (vpdpbusd, VEX: AVX-VNNI), else CK_DOT_NONE
/// (maddubs and madd on AVX2, the instruction set's own elsewhere). Every flavour makes the same integers, so the same bits.
enum { CK_DOT_NONE = 0, CK_DOT_AVX512VNNI = 1, CK_DOT_AVXVNNI = 2 };
int ck_dot_flavour(void);
/// The int8 GEMM in use: ck_default_q8_gemm unless ck_set_q8_gemm chose otherwise.
int ck_q8_gemm(void);
/// The best int8 GEMM this processor has: CK_GEMM_AVX512VNNI where it has AVX-512 F/BW/VNNI, else CK_GEMM_AVXVNNI where
/// it has AVX2, FMA and AVX-VNNI, else CK_GEMM_AVX2_ONEDNN where it has AVX2 and FMA and oneDNN loaded, else CK_GEMM_NONE.
int ck_best_q8_gemm(void);
/// What ck_q8_gemm starts as: ck_best_q8_gemm, except CK_GEMM_NONE where that is oneDNN's AVX2 kernels on a
/// processor with CK_FEATURE_NARROW_AVX (no faster than the f32 tiles there, whose inputs stay exact).
int ck_default_q8_gemm(void);
/// Forces the int8 GEMM (tests compare both); returns the one now in use, CK_GEMM_NONE when the one asked for is absent.
int ck_set_q8_gemm(int path);
/// The bf16 GEMM in use: CK_GEMM_NONE unless ck_set_bf16_gemm turned CK_GEMM_AVX512BF16 on (it rounds the
/// inputs to bf16, which moves results beyond f32 parity, so it is opt-in).
int ck_bf16_gemm(void);
/// As ck_set_q8_gemm for the bf16 GEMM (CK_GEMM_AVX512BF16 where the processor has AVX-512 F/BW/BF16).
int ck_set_bf16_gemm(int path);
/// The int4 kernel of ck_matmul_q4's larger batches: CK_GEMM_AVX512VNNI while the int8 GEMM is on it (ck_set_q8_gemm
/// switches both) and the processor has F16C, else CK_GEMM_AVX2 where the AVX2 table runs, else CK_GEMM_NONE (the
/// instruction set's own kernel at every batch).
int ck_q4_gemm(void);
/// Whether ck_matmul_q4 runs m inputs on that kernel (enough of them for its unpacking of the weights to pay off).
int ck_q4_gemm_takes(long m);
/// ck_matmul_q4's batch kernel in two steps, so that threads share one quantization of the inputs: the bytes of m
/// prepared inputs of cols values, 0 where that kernel does not take them (then ck_matmul_q4, which prepares its own).
size_t ck_q4_prepared_bytes(long m, long cols);
/// Prepares inputs [begin, end) of x [m][cols] into `prepared` (ck_q4_prepared_bytes(m, cols) bytes).
void ck_q4_prepare_inputs(const float *x, long m, long cols, void *prepared, long begin, long end);
/// ck_matmul_q4 of prepared inputs [first, first + count) of m into y (whose rows are those of the m inputs): the same
/// bits as ck_matmul_q4 of those inputs; -1 (nothing written) where ck_q4_prepared_bytes(m, cols) is 0 or memory for
/// the unpacked weights ran out.
int ck_matmul_q4_prepared(const uint8_t *w, const uint16_t *scales, const void *prepared, float *y, long m, long rows,
                          long cols, long first, long count, long row_begin, long row_end);

/// Inputs for ck_gemm_q8, each row i on the unsigned range 0…L with a zero point: with [lo, hi] its range widened
/// to hold 0, xs[i] = (hi − lo) / L, xz[i] = round(−lo / xs[i]) and xu[i,c] = clamp(round(x[i,c] / xs[i]) + xz[i], 0, L).
/// L is 255 (a non-negative row after ReLU gets all 256 levels, twice a symmetric scale's resolution), or 127 on
/// CK_GEMM_AVX2_ONEDNN, whose kernels add pairs of products in 16 bits.
void ck_gemm_q8_quantize_inputs(const float *x, uint8_t *xu, float *xs, int32_t *xz, long m, long cols);
/// L for the int8 GEMM in use: 255, or 127 on CK_GEMM_AVX2_ONEDNN.
int ck_gemm_q8_input_levels(void);
/// y[i*rows + r] ≈ Σ_c x[i,c] · scales[r] · w[r,c] for r in [row_begin, row_end), with the inputs quantized
/// by ck_gemm_q8_quantize_inputs and row_sums[r] = Σ_c w[r,c]. Adds at most Σ_c |W[r,c]| · xs[i] (half a step of
/// rounding, half a step of the zero point's). On AVX-512 VNNI where that is the path, else in plain C (slow; the
/// other paths' fallback): exact sums and the same scaling, so the same bits.
void ck_gemm_q8(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales, const int32_t *row_sums,
                float *y, long m, long rows, long cols, long row_begin, long row_end);
/// ck_gemm_q8's scaling of exact sums sums[i*ld_sums + r] = Σ_c xu[i,c] · w[r,c], for inputs [0, m) and rows
/// [0, n) (scales, row_sums and the epilogue's bias from the first of them), into y[i*ld_y + r]: the same
/// formula, so the same bits, then the epilogue (NULL: none). The sums may be y's own memory (in place, same
/// leading dimension).
void ck_gemm_q8_scale_sums(const float *xs, const int32_t *xz, const float *scales, const int32_t *row_sums,
                           const int32_t *sums, long ld_sums, float *y, long ld_y, long m, long n, const ck_epilogue *epilogue);
/// Inputs for ck_gemm_bf16: x [m][cols] rounded to bfloat16 (nearest even) into xb.
void ck_gemm_bf16_convert_inputs(const float *x, uint16_t *xb, long m, long cols);
/// y[i*rows + r] = Σ_c bf16(x[i,c]) · w[r,c] (bfloat16 weights) for r in [row_begin, row_end), f32 sums:
/// the inputs' rounding adds at most Σ_c |W[r,c] · x[i,c]| · 2^-8. Does nothing unless ck_bf16_gemm() is
/// CK_GEMM_AVX512BF16.
void ck_gemm_bf16(const uint16_t *xb, const uint16_t *w, float *y, long m, long rows, long cols, long row_begin, long row_end);

/// oneDNN, where libdnnl.so.2 loads at run time (Linux; built against its header): the element types of
/// ck_onednn_matmul's source, weights and destination.
enum { CK_ONEDNN_F32 = 0, CK_ONEDNN_BF16 = 1, CK_ONEDNN_U8S8 = 2 };
/// "oneDNN X.Y.Z" where the library loaded (the first call loads it), else NULL.
const char *ck_onednn_version(void);
/// Whether the prefill GEMMs use oneDNN: on by default where it loaded, unless the environment sets OPTIML_ONEDNN=0.
int ck_onednn(void);
/// Turns oneDNN on or off for the whole process (tests compare both); returns whether it is now on.
int ck_set_onednn(int on);
/// y[m][n] = x[m][k] · W[n][k]ᵀ, all row-major and dense, on the calling thread alone. CK_ONEDNN_F32: f32
/// throughout; CK_ONEDNN_BF16: bf16 x and W, f32 y; CK_ONEDNN_U8S8: u8 x, s8 W, exact int32 sums in y.
/// Returns 0, or -1 where oneDNN is absent or refused the product (y is then unspecified).
int ck_onednn_matmul(int type, const void *x, const void *w, void *y, long m, long n, long k);
/// ck_gemm_q8's result for inputs [0, m) and every row, through oneDNN's u8 × s8 product: the same exact sums
/// and the same scaling, so the same bits, then the epilogue (NULL: none) while the results are in cache.
/// Returns 0, or -1 as ck_onednn_matmul.
int ck_onednn_gemm_q8(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales, const int32_t *row_sums,
                      float *y, long m, long rows, long cols, const ck_epilogue *epilogue);
/// C = alpha · op(A) · op(B) + beta · C, row-major like cblas_sgemm (op(A) m × k, op(B) k × n, leading
/// dimensions lda, ldb, ldc), on the calling thread alone. CK_ONEDNN_F32: f32 throughout; CK_ONEDNN_BF16:
/// A and B rounded to bf16 (nearest even) into per-thread copies, then f32 accumulation and output. Each
/// thread caches its primitives by shape. Returns 0, or -1 where oneDNN is absent or refused the product
/// (C is then untouched unless oneDNN failed while running it).
int ck_onednn_gemm(int type, int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc);
/// ck_onednn_gemm's CK_ONEDNN_BF16 product on operands already rounded to bf16 (as ck_f32_to_bf16 does), A and B
/// with their own leading dimensions: a caller that shares one product out in blocks rounds each operand once.
int ck_onednn_gemm_bf16(int trans_a, int trans_b, long m, long n, long k, float alpha, const uint16_t *a, long lda,
                        const uint16_t *b, long ldb, float beta, float *c, long ldc);
/// The calling thread's buffer number `which` (0 or 1) of at least `count` bf16 values for ck_onednn_gemm_bf16's
/// operands, grown as needed and kept for the thread's life; NULL where oneDNN is absent or memory ran out.
uint16_t *ck_bf16_operand(int which, long count);
/// The name of the kernel oneDNN picks for a product of this type and shape (e.g. "brg:avx512_core_vnni")
/// into out; returns 0, or -1 where oneDNN is absent.
int ck_onednn_implementation(int type, long m, long n, long k, char *out, long capacity);

/// A parallel loop body: handles items [begin, end) on the thread in `slot` (0 the caller, 1… the workers helping it;
/// below the loop's thread count, and no two chunks running at once share one, so it indexes per-thread scratch).
typedef void (*ck_pool_task)(void *context, long slot, long begin, long end);
/// Runs task over 0..<count cut into `chunks` contiguous chunks on the calling thread and up to threads − 1 pool workers
/// (started on first use, then kept, spinning briefly between loops), each thread claiming the next chunk as it finishes
/// one: more chunks than threads even out threads that run at unequal speeds. Returns when every chunk is done. A call
/// made while another is running, or of more than 65,535 chunks, runs its chunks on the calling thread (slot 0).
void ck_pool_run(long threads, long chunks, long count, ck_pool_task task, void *context);

/// Instruction sets of the matrix-vector (decode) kernels. CK_ISA_NEON_DOTPROD is the NEON table with int8 decode on
/// the dot-product instructions (its input quantized), where the processor reports them (AT_HWCAP, sysctl).
enum { CK_ISA_PORTABLE = 0, CK_ISA_AVX2 = 1, CK_ISA_NEON = 2, CK_ISA_NEON_DOTPROD = 3 };
/// Processor features, detected once at run time (ck_cpu_features). An x86 feature counts only where the
/// operating system also saves its registers; AMX only where Linux granted the process its tile state.
enum {
    CK_FEATURE_AVX2 = 1 << 0, CK_FEATURE_FMA = 1 << 1, CK_FEATURE_F16C = 1 << 2,
    CK_FEATURE_AVX512F = 1 << 3, CK_FEATURE_AVX512BW = 1 << 4, CK_FEATURE_AVX512VL = 1 << 5,
    CK_FEATURE_AVX512VNNI = 1 << 6, CK_FEATURE_AVXVNNI = 1 << 7, CK_FEATURE_AVX512BF16 = 1 << 8,
    CK_FEATURE_AMX_TILE = 1 << 9, CK_FEATURE_AMX_INT8 = 1 << 10, CK_FEATURE_AMX_BF16 = 1 << 11,
    CK_FEATURE_NEON = 1 << 12, CK_FEATURE_DOTPROD = 1 << 13, CK_FEATURE_AVX512DQ = 1 << 14,
    // Not an instruction set but how the core runs one: 256-bit AVX instructions as two 128-bit halves (AMD
    // families 15h, 17h before Zen 2, Hygon 18h). Integer products there multiply on one pipe where FMAs have two,
    // so int8 × int8 GEMMs without VNNI run no faster than f32 FMAs.
    CK_FEATURE_NARROW_AVX = 1 << 15,
};
/// The CK_FEATURE_ bits this processor has, less those the environment's OPTIML_MAX_ISA caps ("avx2": AVX2, FMA
/// and F16C only, as on a processor without AVX-512, and CK_FEATURE_NARROW_AVX where the processor has it;
/// "avx2-vnni": those and AVX-VNNI, as on Intel's cores without AVX-512; "portable": none), to run a lesser
/// processor's paths.
unsigned ck_cpu_features(void);
/// Caps the features as OPTIML_MAX_ISA does, from now on (null: none capped), so that tests run a lesser processor's
/// paths in one process; returns 0 (and changes nothing) for a value not understood. The kernel table stays the one in
/// use (ck_set_isa picks it), and so do the GEMM paths chosen (ck_set_q8_gemm, ck_set_bf16_gemm).
int ck_set_max_isa(const char *cap);
/// Whether a processor of this CPUID vendor string (leaf 0) and signature (leaf 1's EAX) has CK_FEATURE_NARROW_AVX.
int ck_narrow_avx_signature(const char *vendor, unsigned leaf1_eax);
/// Whether OPTIML_MAX_ISA is unset or one of the values above (anything else caps nothing).
int ck_max_isa_understood(void);
/// Whether the processor has every feature in `features`.
int ck_has(unsigned features);

/// The arithmetic units the GEMMs run on, for ck_unit_peak: f32 multiply-adds, int8 dot products (u8 × s8 into int32)
/// and bf16 dot products (pairs into f32) on the vector registers, and AMX's int8 and bf16 tile products.
enum { CK_UNIT_F32 = 0, CK_UNIT_INT8 = 1, CK_UNIT_BF16 = 2, CK_UNIT_AMX_INT8 = 3, CK_UNIT_AMX_BF16 = 4 };
/// Runs `rounds` rounds of independent products on `unit`'s widest instruction that the processor has (within
/// OPTIML_MAX_ISA), from registers only, on the calling thread, and returns the operations done (two a multiply-add);
/// 0 where the processor lacks the unit. Timed on every thread at once it gives the unit's peak rate.
long ck_unit_peak(int unit, long rounds);
/// The instruction ck_unit_peak runs for `unit` ("vpdpbusd zmm"), null where the processor lacks the unit.
const char *ck_unit_peak_instruction(int unit);

/// Gives the heap's free memory back to the system (glibc's malloc_trim; a no-op elsewhere).
void ck_release_free_memory(void);

/// The instruction set in use (the best this processor has, unless ck_set_isa chose another).
int ck_isa(void);
/// Forces an instruction set (tests use CK_ISA_PORTABLE to cover the fallback); returns the one now in use,
/// which is the portable one when the processor lacks the one asked for (CK_ISA_NEON for CK_ISA_NEON_DOTPROD
/// where it has NEON without the dot products). Safe to call while kernels run
/// on other threads: each call uses one table or the other, both correct.
int ck_set_isa(int isa);
#endif
