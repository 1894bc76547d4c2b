// The C kernels checked without Swift, so that the arm64 ones (NEON, with and without the dot-product
// instructions) are checked on an x86-64 machine: `make test-arm64` builds this file with CKernels for arm64
// and runs it under qemu-aarch64 (Apple silicon and Graviton hosts run them natively in `swift test`).
//
// 1. Every kernel of the instruction-set table, on the best set the build has and on the portable one, against
//    a double-precision reference within the bounds ckernels.h states, row ranges and untouched outputs included.
// 2. What ckernels.h promises bit for bit on every processor (quantization, conversions, the int8 GEMM's plain C,
//    the row-wise and optimizer steps) hashed into `digest` lines, which the x86-64 build must print alike.
//
// Prints each failure, then "kernel check: N checks, M failed" and exits 1 on any failure.
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ckernels.h"

static long checks, failures;

static void check(int ok, const char *what) {
    checks++;
    if (ok) return;
    if (++failures <= 30) printf("FAILED: %s\n", what);
}

// A 64-bit LCG (KernelTests' generator); values in [-1, 1).
static uint64_t state = 42;
static float next_value(void) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((int64_t)state >> 40) / (float)(1 << 23);
}
static void fill(float *x, long n, float magnitude) {
    for (long i = 0; i < n; i++) x[i] = magnitude * next_value();
}

static int same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }
static float bf16_value(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

enum { F32, F16, BF16, Q8, Q4, FORMATS };
static const char *format_names[FORMATS] = {"f32", "f16", "bf16", "int8", "int4"};
static const char *isa_names[] = {"portable", "avx2", "neon", "neon+dotprod"};

// Weights in a format, one element past an aligned address (as in a memory-mapped checkpoint), with the
// exact f32 values they stand for.
typedef struct {
    int format;
    long rows, cols;
    unsigned char *buffer, *data;
    float *scales;       // int8: one per row
    uint16_t *group;     // int4: one f16 per 32 columns
    float *exact;
} stored;

static stored store(const float *values, long rows, long cols, int format) {
    stored s = {format, rows, cols, 0, 0, 0, 0, malloc(sizeof(float) * rows * cols)};
    const long n = rows * cols;
    const long bytes = format == F32 ? 4 * n : format == Q8 ? n : format == Q4 ? n / 2 : 2 * n;
    const long offset = format == F32 ? 4 : format == Q8 || format == Q4 ? 1 : 2;
    s.buffer = aligned_alloc(64, (size_t)((bytes + offset + 63) / 64 * 64));
    s.data = s.buffer + offset;
    switch (format) {
    case F32:
        memcpy(s.data, values, bytes);
        memcpy(s.exact, values, bytes);
        break;
    case F16:
    case BF16: {
        uint16_t *h = malloc(bytes);
        (format == F16 ? ck_f32_to_f16 : ck_f32_to_bf16)(values, h, n);
        for (long i = 0; i < n; i++) s.exact[i] = format == F16 ? ck_f16_to_f32(h[i]) : bf16_value(h[i]);
        memcpy(s.data, h, bytes);
        free(h);
        break;
    }
    case Q8: {
        int8_t *q = malloc(n);
        s.scales = malloc(sizeof(float) * rows);
        ck_quantize_rows_q8(values, q, s.scales, rows, cols);
        for (long i = 0; i < n; i++) s.exact[i] = (float)q[i] * s.scales[i / cols];
        memcpy(s.data, q, n);
        free(q);
        break;
    }
    case Q4: {
        uint8_t *q = malloc(bytes);
        const long groups = cols / CK_Q4_GROUP;
        s.group = malloc(sizeof(uint16_t) * rows * groups);
        ck_quantize_rows_q4(values, q, s.group, rows, cols);
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++) {
                const uint8_t byte = q[r * cols / 2 + c / CK_Q4_GROUP * 16 + c % 16];
                const int level = (c % CK_Q4_GROUP < 16 ? byte & 15 : byte >> 4) - 8;
                s.exact[r * cols + c] = ck_f16_to_f32(s.group[r * groups + c / CK_Q4_GROUP]) * (float)level;
            }
        memcpy(s.data, q, bytes);
        free(q);
        break;
    }
    }
    return s;
}

static void release(stored *s) {
    free(s->buffer);
    free(s->scales);
    free(s->group);
    free(s->exact);
}

static void matmul(const stored *s, const float *x, float *y, long m, long b, long e) {
    switch (s->format) {
    case F32: ck_matmul_f32((const float *)s->data, x, y, m, s->rows, s->cols, b, e); break;
    case F16: ck_matmul_f16((const uint16_t *)s->data, x, y, m, s->rows, s->cols, b, e); break;
    case BF16: ck_matmul_bf16((const uint16_t *)s->data, x, y, m, s->rows, s->cols, b, e); break;
    case Q8: ck_matmul_q8((const int8_t *)s->data, s->scales, x, y, m, s->rows, s->cols, b, e); break;
    case Q4: ck_matmul_q4(s->data, s->group, x, y, m, s->rows, s->cols, b, e); break;
    }
}

// The columns that share one input scale where the kernel in use quantizes its inputs, 0 where it does not (ckernels.h):
// 32 for int8 at batch 1 on AVX2 and on NEON with dot products and for int4 on AVX2, 256 on AVX2's int4 tiles (16 inputs
// and more). That adds at most Σ_c |W[r,c]| · max|x in c's block| / 254, and on the tiles, whose groups' scales are
// integers under the largest of the block's, Σ_c 8 · max|scale in c's block| / 16382 · |x[c]|.
static long input_block(int format, long m, long cols) {
    const int isa = ck_isa();
    if (cols % 32) return 0;
    if (format == Q8) return m == 1 && (isa == CK_ISA_AVX2 || isa == CK_ISA_NEON_DOTPROD) ? 32 : 0;
    if (format != Q4 || isa != CK_ISA_AVX2) return 0;
    return ck_q4_gemm() == CK_GEMM_AVX2 && ck_q4_gemm_takes(m) ? 256 : 32;
}

static void check_matmul(int format, long rows, long cols, long m, long b, long e) {
    float *values = malloc(sizeof(float) * rows * cols), *x = malloc(sizeof(float) * m * cols);
    float *y = malloc(sizeof(float) * m * rows);
    fill(values, rows * cols, 1);
    fill(x, m * cols, 3);
    stored s = store(values, rows, cols, format);
    for (long i = 0; i < m * rows; i++) y[i] = NAN;
    matmul(&s, x, y, m, b, e);
    int ok = 1;
    for (long i = 0; i < m && ok; i++)
        for (long r = 0; r < rows && ok; r++) {
            const float got = y[i * rows + r];
            if (r < b || r >= e) {
                ok = isnan(got);  // rows outside the range are never written
                continue;
            }
            double exact = 0, magnitude = 0, quantization = 0;
            for (long c = 0; c < cols; c++) {
                const double w = s.exact[r * cols + c], v = x[i * cols + c];
                exact += w * v;
                magnitude += fabs(w * v);
            }
            const long width = input_block(format, m, cols);
            for (long c0 = 0; width && c0 < cols; c0 += width) {
                const long end = c0 + width < cols ? c0 + width : cols;
                double block = 0, weights = 0, inputs = 0, scale = 0;
                for (long c = c0; c < end; c++) {
                    block = fmax(block, fabs(x[i * cols + c]));
                    weights += fabs(s.exact[r * cols + c]);
                    inputs += fabs(x[i * cols + c]);
                    if (format == Q4) scale = fmax(scale, fabs(ck_f16_to_f32(s.group[r * (cols / CK_Q4_GROUP) + c / CK_Q4_GROUP])));
                }
                quantization += weights * block / 254 + (width == 256 ? 8 * scale / 16382 * inputs : 0);
            }
            ok = fabs(got - exact) <= 1e-5 * magnitude + quantization + 1e-30;
        }
    char what[160];
    snprintf(what, sizeof what, "matmul %s on %s: %ld × %ld, %ld inputs, rows %ld..<%ld", format_names[format],
             isa_names[ck_isa()], rows, cols, m, b, e);
    check(ok, what);
    release(&s);
    free(values), free(x), free(y);
}

// Rows [b, e) converted to f32 must be exactly the values the weights stand for (int8: one f32 product).
static void check_rows_to_f32(int format, long rows, long cols, long b, long e) {
    float *values = malloc(sizeof(float) * rows * cols), *out = malloc(sizeof(float) * rows * cols);
    fill(values, rows * cols, 2);
    stored s = store(values, rows, cols, format);
    switch (format) {
    case F16: ck_rows_to_f32_f16((const uint16_t *)s.data, out, cols, b, e); break;
    case BF16: ck_rows_to_f32_bf16((const uint16_t *)s.data, out, cols, b, e); break;
    case Q8: ck_rows_to_f32_q8((const int8_t *)s.data, s.scales, out, cols, b, e); break;
    case Q4: ck_rows_to_f32_q4(s.data, s.group, out, cols, b, e); break;
    }
    char what[160];
    snprintf(what, sizeof what, "rows to f32 %s on %s: %ld × %ld, rows %ld..<%ld", format_names[format],
             isa_names[ck_isa()], rows, cols, b, e);
    check(same_bits(out, s.exact + b * cols, sizeof(float) * (e - b) * cols), what);
    release(&s);
    free(values), free(out);
}

// Values every conversion must get right: signed zeros, infinities, NaNs, subnormals of both formats, halfway
// cases of both roundings, overflow past the largest half.
static const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1e-45f, -1e-45f, 6e-8f, 3e-8f,
                                 5.96e-8f, 1.0f + 0x1p-11f, 1.0f + 0x1p-8f, 1.0f + 0x3p-9f, 65504.0f, 65519.0f,
                                 65520.0f, -65520.0f, 1e10f, 3.4e38f, 1.17549435e-38f, 1.1754942e-38f, 0.1f, -2.5f};
enum { SPECIALS = sizeof specials / sizeof specials[0] };

// Conversions and int8 quantization on the instruction set in use against the portable table, bit for bit.
static void check_bit_exact_against_portable(int best) {
    enum { N = 1000 + SPECIALS, ROWS = 9, COLS = 67 };
    float x[N], w[ROWS * COLS];
    fill(x, N, 70000);
    memcpy(x + 1000, specials, sizeof specials);
    fill(w, ROWS * COLS, 1);
    for (long c = 0; c < COLS; c++) w[3 * COLS + c] = 0;    // an all-zero row
    w[5 * COLS + 7] = NAN, w[6 * COLS + 66] = 1e30f;        // NaN weights become 0; one huge weight in the tail
    uint16_t half[2][N], brain[2][N];
    int8_t q[2][ROWS * COLS];
    float scales[2][ROWS];
    for (int k = 0; k < 2; k++) {
        ck_set_isa(k == 0 ? best : CK_ISA_PORTABLE);
        ck_f32_to_f16(x, half[k], N);
        ck_f32_to_bf16(x, brain[k], N);
        ck_quantize_rows_q8(w, q[k], scales[k], ROWS, COLS);
    }
    ck_set_isa(best);
    check(same_bits(half[0], half[1], sizeof half[0]), "f32 to f16: the same bits as the portable code");
    check(same_bits(brain[0], brain[1], sizeof brain[0]), "f32 to bf16: the same bits as the portable code");
    check(same_bits(q[0], q[1], sizeof q[0]) && same_bits(scales[0], scales[1], sizeof scales[0]),
          "int8 quantization: the same bits as the portable code");
}

static void check_dot_axpy(void) {
    static const long sizes[] = {0, 1, 3, 4, 5, 15, 16, 17, 64, 100, 769};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const long n = sizes[k];
        float a[769], b[769], y[769], before[769];
        fill(a, n, 2), fill(b, n, 2), fill(y, n, 1);
        memcpy(before, y, sizeof(float) * n);
        double exact = 0, magnitude = 0;
        for (long i = 0; i < n; i++) exact += (double)a[i] * b[i], magnitude += fabs((double)a[i] * b[i]);
        char what[96];
        snprintf(what, sizeof what, "dot on %s, %ld values", isa_names[ck_isa()], n);
        check(fabs(ck_dot_f32(a, b, n) - exact) <= 1e-6 * magnitude + 1e-30, what);
        const float alpha = -0.75f;
        ck_axpy_f32(alpha, a, y, n);
        int ok = 1;
        for (long i = 0; i < n; i++)
            ok &= fabs(y[i] - (before[i] + (double)alpha * a[i])) <= 1e-6 * (fabs(before[i]) + fabs(alpha * a[i]));
        snprintf(what, sizeof what, "axpy on %s, %ld values", isa_names[ck_isa()], n);
        check(ok, what);
    }
}

// Softmax against double precision; -infinity entries exactly 0, a row of only -infinity all zeros.
static void check_softmax(void) {
    static const long sizes[] = {1, 3, 4, 5, 8, 33, 100, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const long n = sizes[k];
        float x[1000], original[1000];
        fill(x, n, 20);
        for (long i = 1; i < n; i += 7) x[i] = -INFINITY;
        memcpy(original, x, sizeof(float) * n);
        const float lse = ck_softmax_f32(x, n);
        double maximum = -INFINITY, total = 0;
        for (long i = 0; i < n; i++) maximum = fmax(maximum, original[i]);
        for (long i = 0; i < n; i++) total += exp(original[i] - maximum);
        int ok = fabs(lse - (maximum + log(total))) <= 1e-5 * fmax(1, fabs(lse));
        for (long i = 0; i < n; i++) {
            const double p = exp(original[i] - maximum) / total;
            ok &= original[i] == -INFINITY ? x[i] == 0 : fabs(x[i] - p) <= 1e-6 + 1e-5 * p;
        }
        char what[96];
        snprintf(what, sizeof what, "softmax on %s, %ld values", isa_names[ck_isa()], n);
        check(ok, what);
    }
    float masked[6] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    const float lse = ck_softmax_f32(masked, 6);
    int zeros = 1;
    for (int i = 0; i < 6; i++) zeros &= masked[i] == 0;
    check(zeros && lse == -INFINITY, "softmax of a row of only -infinity: zeros, log-sum-exp -infinity");
}

static void check_kernels(int isa) {
    static const long shapes[][2] = {{9, 32}, {13, 100}, {6, 768}, {3, 16}, {5, 7}, {4, 96}};
    static const long batches[] = {1, 2, 3, 4, 5, 7, 8, 16, 33};
    ck_set_isa(isa);
    for (int format = F32; format < FORMATS; format++)
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            const long rows = shapes[k][0], cols = shapes[k][1];
            if (format == Q4 && cols % CK_Q4_GROUP) continue;  // int4 rows are whole groups
            for (size_t j = 0; j < sizeof batches / sizeof batches[0]; j++) {
                check_matmul(format, rows, cols, batches[j], 0, rows);
                if (rows > 2) check_matmul(format, rows, cols, batches[j], 1, rows - 1);
            }
            if (format != F32) check_rows_to_f32(format, rows, cols, rows > 2 ? 1 : 0, rows);
        }
    check_dot_axpy();
    check_softmax();
}

// The pool runs every item exactly once, loop after loop, with the number of chunks changing from one loop to the next
// (a worker still finishing one loop must not take a chunk of the next).
enum { POOL_ITEMS = 1000, POOL_LOOPS = 20000 };
static atomic_int visits[POOL_ITEMS];
static void visit(void *context, long chunk, long begin, long end) {
    (void)context, (void)chunk;
    for (long i = begin; i < end; i++) atomic_fetch_add_explicit(&visits[i], 1, memory_order_relaxed);
}
static void check_pool(void) {
    for (int loop = 0; loop < POOL_LOOPS; loop++) ck_pool_run(1 + loop % 4, 1 + loop % 4, POOL_ITEMS, visit, NULL);
    long wrong = 0, first = -1;
    for (int i = 0; i < POOL_ITEMS; i++)
        if (visits[i] != POOL_LOOPS && wrong++ == 0) first = i;
    char what[160];
    snprintf(what, sizeof what, "the pool runs each item once per loop (%d loops of 1 to 4 chunks): %ld items off, "
             "the first %ld", POOL_LOOPS, wrong, first);
    check(wrong == 0, what);
}

// FNV-1a over the bytes of each promised-identical result.
static void digest(const char *name, const void *bytes, size_t count) {
    uint64_t hash = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < count; i++) hash = (hash ^ ((const unsigned char *)bytes)[i]) * 0x100000001b3ull;
    printf("digest %-28s %016llx\n", name, (unsigned long long)hash);
}

static void print_digests(void) {
    enum { ROWS = 7, COLS = 96, N = ROWS * COLS };
    state = 7;
    float w[N], x[N], y[N], g[N], m[N], v[N];
    fill(w, N, 1), fill(x, N, 4), fill(g, N, 0.1f), fill(m, N, 0.01f), fill(v, N, 0.001f);
    for (long i = 0; i < N; i++) v[i] = fabsf(v[i]);
    w[2 * COLS + 5] = NAN;
    uint16_t converted[N + SPECIALS];
    float both[N + SPECIALS];
    memcpy(both, x, sizeof x);
    memcpy(both + N, specials, sizeof specials);
    ck_f32_to_f16(both, converted, N + SPECIALS);
    digest("f32 to f16", converted, sizeof converted);
    ck_f32_to_bf16(both, converted, N + SPECIALS);
    digest("f32 to bf16", converted, sizeof converted);

    int8_t q8[N];
    float scales[ROWS];
    ck_quantize_rows_q8(w, q8, scales, ROWS, COLS);
    digest("int8 quantization", q8, sizeof q8);
    digest("int8 scales", scales, sizeof scales);
    uint8_t q4[N / 2];
    uint16_t groups[N / CK_Q4_GROUP];
    ck_quantize_rows_q4(w, q4, groups, ROWS, COLS);
    digest("int4 quantization", q4, sizeof q4);
    digest("int4 scales", groups, sizeof groups);

    // The int8 GEMM in plain C (the path of every processor without VNNI or oneDNN's), 255 input levels.
    ck_set_q8_gemm(CK_GEMM_NONE);
    uint8_t xu[N];
    float xs[ROWS];
    int32_t xz[ROWS], row_sums[ROWS];
    ck_gemm_q8_quantize_inputs(x, xu, xs, xz, ROWS, COLS);
    digest("int8 GEMM inputs", xu, sizeof xu);
    for (long r = 0; r < ROWS; r++) {
        row_sums[r] = 0;
        for (long c = 0; c < COLS; c++) row_sums[r] += q8[r * COLS + c];
    }
    ck_gemm_q8(xu, xs, xz, q8, scales, row_sums, y, ROWS, ROWS, COLS, 0, ROWS);
    digest("int8 GEMM", y, sizeof(float) * ROWS * ROWS);

    memcpy(y, x, sizeof x);
    ck_add_layer_norm_f32(y, g, y, ROWS, COLS, m, v, 1e-5f);
    digest("add and layer norm", y, sizeof y);
    memcpy(y, x, sizeof x);
    ck_bias_scale_relu_f32(y, ROWS, COLS, g, 0.125f, 1);
    digest("bias, scale, ReLU", y, sizeof y);
    memcpy(y, x, sizeof x);
    ck_adamw_f32(y, g, m, v, N, 0.999f, 0.9f, 0.999f, 1e-3f, 0.3f, 1e-8f);
    digest("AdamW parameters", y, sizeof y);
    digest("AdamW moments", v, sizeof v);
    const double squares = ck_sum_squares_f64(x, N);
    digest("sum of squares", &squares, sizeof squares);
    memcpy(y, x, sizeof x);
    ck_dropout_f32(y, N, 12345, 678, 1u << 22, 4.0f / 3);
    digest("dropout", y, sizeof y);
    memcpy(y, g, sizeof g);
    ck_relu_backward_f32(x, y, N);
    digest("ReLU gradient", y, sizeof y);
}

int main(void) {
#if defined(__aarch64__)
    // The dot-product table where the processor reports the instructions, whatever the build's target.
    const int best = ck_set_isa(CK_ISA_NEON_DOTPROD);
    check(ck_has(CK_FEATURE_NEON) && best == (ck_has(CK_FEATURE_DOTPROD) ? CK_ISA_NEON_DOTPROD : CK_ISA_NEON),
          "arm64 runs the NEON table, with dot products where the processor reports them");
    check(ck_isa() == best, "the table asked for is the one in use");
#else
    const int best = ck_set_isa(CK_ISA_AVX2);
#endif
    printf("kernel check on %s (features %#x)\n", isa_names[best], ck_cpu_features());
    check_kernels(best);
    if (best == CK_ISA_NEON_DOTPROD) check_kernels(CK_ISA_NEON);
    if (best != CK_ISA_PORTABLE) check_kernels(CK_ISA_PORTABLE);
    check_bit_exact_against_portable(best);
    check_pool();
    ck_set_isa(best);
    print_digests();
    printf("kernel check: %ld checks, %ld failed\n", checks, failures);
    return failures ? 1 : 0;
}
