// Prefill GEMMs through oneDNN (the library PyTorch, ONNX Runtime and CTranslate2 build on), where it is
// installed: its brgemm kernels reach the processor's best unit (AVX-512, VNNI, AVX512-BF16, AMX) with a
// cache blocking our tiles do not have.
//
// The library is opened at run time rather than linked, so that one binary runs, on BLAS and our kernels,
// where it is absent; its header at build time gives the types. Debian builds it on OpenMP: each call runs
// on the calling thread alone (OpenMP's team size there is set to 1) and the pool shares the work out, as it
// does BLAS's, so that no OpenMP team spins beside the pool's threads.
#include <stdatomic.h>
#include <stdlib.h>
#include "internal.h"

#if __has_include(<oneapi/dnnl/dnnl.h>) && !defined(__APPLE__)
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <oneapi/dnnl/dnnl.h>

// The entry points used, resolved from the library once.
#define DNNL_FUNCTIONS(X)                                                                                     \
    X(dnnl_engine_create) X(dnnl_stream_create) X(dnnl_memory_desc_init_by_strides) X(dnnl_matmul_desc_init) \
    X(dnnl_primitive_desc_create) X(dnnl_primitive_desc_destroy) X(dnnl_primitive_desc_query)               \
    X(dnnl_primitive_create) X(dnnl_primitive_destroy) X(dnnl_primitive_execute) X(dnnl_memory_create)     \
    X(dnnl_memory_destroy) X(dnnl_stream_wait) X(dnnl_version) X(dnnl_memory_set_data_handle)                \
    X(dnnl_primitive_attr_create) X(dnnl_primitive_attr_destroy) X(dnnl_primitive_attr_set_output_scales)   \
    X(dnnl_primitive_attr_set_post_ops) X(dnnl_post_ops_create) X(dnnl_post_ops_destroy)                    \
    X(dnnl_post_ops_append_sum)

static struct {
#define DECLARE(name) __typeof__(name) *name;
    DNNL_FUNCTIONS(DECLARE)
#undef DECLARE
    void (*omp_set_num_threads)(int);
    dnnl_engine_t engine;
    char version[32];
} dnnl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;

static void load(void) {
    // oneDNN sizes a primitive's OpenMP team by the creating thread's omp_get_max_threads(); one per team keeps
    // the pool's threads the only ones. OpenMP reads this for every thread as it loads with the library
    // (stream() also sets each calling thread's own, for a runtime that was loaded before).
    setenv("OMP_NUM_THREADS", "1", 1);
    // Where OPTIML_MAX_ISA caps the kernels here below AVX-512 (see ck_cpu_features), oneDNN keeps to the same.
    if (getenv("OPTIML_MAX_ISA") && !ck_has(CK_FEATURE_AVX512F))
        setenv("ONEDNN_MAX_CPU_ISA", ck_has(CK_FEATURE_AVXVNNI) ? "AVX2_VNNI" : ck_has(CK_FEATURE_AVX2) ? "AVX2" : "SSE41", 0);
    void *library = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!library) return;
#define RESOLVE(name) if (!(dnnl.name = (__typeof__(name) *)dlsym(library, #name))) return;
    DNNL_FUNCTIONS(RESOLVE)
#undef RESOLVE
    // dlsym on the library's handle also searches what the library depends on: its OpenMP runtime.
    dnnl.omp_set_num_threads = (void (*)(int))dlsym(library, "omp_set_num_threads");
    if (dnnl.dnnl_engine_create(&dnnl.engine, dnnl_cpu, 0) != dnnl_success) return;
    const dnnl_version_t *v = dnnl.dnnl_version();
    snprintf(dnnl.version, sizeof dnnl.version, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
    loaded = 1;
}

const char *ck_onednn_version(void) {
    pthread_once(&load_once, load);
    return loaded ? dnnl.version : NULL;
}

// The element types of source, weights and destination for each CK_ONEDNN_ type.
static const dnnl_data_type_t element_types[][3] = {
    [CK_ONEDNN_F32] = {dnnl_f32, dnnl_f32, dnnl_f32},
    [CK_ONEDNN_BF16] = {dnnl_bf16, dnnl_bf16, dnnl_f32},
    [CK_ONEDNN_U8S8] = {dnnl_u8, dnnl_s8, dnnl_s32},
};

// x [m][k] row-major, W [n][k] row-major (read as the k × n matrix Wᵀ), y [m][n] dense: oneDNN takes
// its brgemm kernels only for a dense destination, which is why the pool splits m rather than n.
static int describe(int type, long m, long n, long k, dnnl_memory_desc_t descs[3]) {
    dnnl_dims_t src = {m, k}, src_strides = {k, 1}, wei = {k, n}, wei_strides = {1, k}, dst = {m, n}, dst_strides = {n, 1};
    const dnnl_data_type_t *t = element_types[type];
    return dnnl.dnnl_memory_desc_init_by_strides(&descs[0], 2, src, t[0], src_strides) == dnnl_success
        && dnnl.dnnl_memory_desc_init_by_strides(&descs[1], 2, wei, t[1], wei_strides) == dnnl_success
        && dnnl.dnnl_memory_desc_init_by_strides(&descs[2], 2, dst, t[2], dst_strides) == dnnl_success;
}

// A primitive descriptor for the product; oneDNN's primitive cache makes a repeated shape cost ~2 µs.
static dnnl_primitive_desc_t primitive_desc(int type, long m, long n, long k, dnnl_memory_desc_t descs[3]) {
    dnnl_matmul_desc_t matmul;
    dnnl_primitive_desc_t pd = NULL;
    if (!describe(type, m, n, k, descs)) return NULL;
    if (dnnl.dnnl_matmul_desc_init(&matmul, &descs[0], &descs[1], NULL, &descs[2]) != dnnl_success) return NULL;
    if (dnnl.dnnl_primitive_desc_create(&pd, &matmul, NULL, dnnl.engine, NULL) != dnnl_success) return NULL;
    return pd;
}

// Each thread's stream, and its OpenMP team size set to 1 once (see load).
static _Thread_local dnnl_stream_t thread_stream;

static dnnl_stream_t stream(void) {
    if (!thread_stream) {
        if (dnnl.omp_set_num_threads) dnnl.omp_set_num_threads(1);
        if (dnnl.dnnl_stream_create(&thread_stream, dnnl.engine, dnnl_stream_default_flags) != dnnl_success) return NULL;
    }
    return thread_stream;
}

int ck_onednn_matmul(int type, const void *x, const void *w, void *y, long m, long n, long k) {
    if (!ck_onednn_version() || m <= 0 || n <= 0 || k <= 0) return -1;
    dnnl_stream_t s = stream();
    dnnl_memory_desc_t descs[3];
    dnnl_primitive_desc_t pd = s ? primitive_desc(type, m, n, k, descs) : NULL;
    if (!pd) return -1;
    dnnl_primitive_t primitive = NULL;
    dnnl_memory_t memory[3] = {NULL, NULL, NULL};
    void *handles[3] = {(void *)x, (void *)w, y};
    int status = dnnl.dnnl_primitive_create(&primitive, pd) == dnnl_success ? 0 : -1;
    for (int i = 0; i < 3 && status == 0; i++)
        if (dnnl.dnnl_memory_create(&memory[i], &descs[i], dnnl.engine, handles[i]) != dnnl_success) status = -1;
    if (status == 0) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, memory[0]}, {DNNL_ARG_WEIGHTS, memory[1]}, {DNNL_ARG_DST, memory[2]}};
        if (dnnl.dnnl_primitive_execute(primitive, s, 3, args) != dnnl_success || dnnl.dnnl_stream_wait(s) != dnnl_success)
            status = -1;
    }
    for (int i = 0; i < 3; i++)
        if (memory[i]) dnnl.dnnl_memory_destroy(memory[i]);
    if (primitive) dnnl.dnnl_primitive_destroy(primitive);
    dnnl.dnnl_primitive_desc_destroy(pd);
    return status;
}

// ck_onednn_gemm: training's products, C = alpha·op(A)·op(B) + beta·C with any leading dimensions.
//
// Each thread keeps its own primitives by shape (a training step repeats a few dozen shapes thousands of
// times), with memory objects whose data handles are swapped per call: no descriptor is built twice and
// no primitive is shared between threads. The pool's threads live as long as the process, and so do these.
enum { GEMM_CACHE = 64, GEMM_KEY = 11 };

typedef struct {
    long key[GEMM_KEY];
    dnnl_primitive_t primitive;
    dnnl_memory_t memory[3];
} gemm_entry;

static _Thread_local gemm_entry gemm_cache[GEMM_CACHE];
static _Thread_local int gemm_cache_used, gemm_cache_next;

// bf16 copies of A and B, grown as needed, per thread: 0 and 1 for ck_onednn_gemm's own conversion, 2 and 3
// for ck_bf16_operand's (a caller converting whole operands for the blocks of its product).
static _Thread_local uint16_t *bf16_scratch[4];
static _Thread_local long bf16_capacity[4];

static uint16_t *scratch(int which, long count) {
    if (count > bf16_capacity[which]) {
        free(bf16_scratch[which]);
        long rounded = (count + 31) & ~31L;
        bf16_scratch[which] = aligned_alloc(64, (size_t)rounded * sizeof(uint16_t));
        bf16_capacity[which] = bf16_scratch[which] ? rounded : 0;
    }
    return bf16_scratch[which];
}

// rows × cols of f32 at stride ld into dense bf16, nearest even.
static void to_bf16(const float *src, long ld, long rows, long cols, uint16_t *dst) {
    if (ld == cols) { ck_f32_to_bf16(src, dst, rows * cols); return; }
    for (long r = 0; r < rows; r++) ck_f32_to_bf16(src + r * ld, dst + r * cols, cols);
}

static void set_dims(dnnl_dims_t dims, long rows, long cols) { dims[0] = rows; dims[1] = cols; }

// A new primitive and its three memory objects (handles set at each call) for the key's product.
static int gemm_create(const long key[GEMM_KEY], gemm_entry *entry) {
    int type = (int)key[0], ta = (int)key[1], tb = (int)key[2];
    long m = key[3], n = key[4], k = key[5], lda = key[6], ldb = key[7], ldc = key[8];
    float alpha, beta;
    int32_t alpha_bits = (int32_t)key[9], beta_bits = (int32_t)key[10];
    memcpy(&alpha, &alpha_bits, 4);
    memcpy(&beta, &beta_bits, 4);
    const dnnl_data_type_t *t = element_types[type];
    // op(A) is m × k and op(B) k × n; a transposed operand is the same memory read with swapped strides.
    dnnl_dims_t a_dims, a_strides, b_dims, b_strides, c_dims, c_strides;
    set_dims(a_dims, m, k);
    set_dims(a_strides, ta ? 1 : lda, ta ? lda : 1);
    set_dims(b_dims, k, n);
    set_dims(b_strides, tb ? 1 : ldb, tb ? ldb : 1);
    set_dims(c_dims, m, n);
    set_dims(c_strides, ldc, 1);
    dnnl_memory_desc_t descs[3];
    if (dnnl.dnnl_memory_desc_init_by_strides(&descs[0], 2, a_dims, t[0], a_strides) != dnnl_success
        || dnnl.dnnl_memory_desc_init_by_strides(&descs[1], 2, b_dims, t[1], b_strides) != dnnl_success
        || dnnl.dnnl_memory_desc_init_by_strides(&descs[2], 2, c_dims, dnnl_f32, c_strides) != dnnl_success)
        return -1;
    dnnl_matmul_desc_t matmul;
    if (dnnl.dnnl_matmul_desc_init(&matmul, &descs[0], &descs[1], NULL, &descs[2]) != dnnl_success) return -1;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    int status = dnnl.dnnl_primitive_attr_create(&attr) == dnnl_success ? 0 : -1;
    if (status == 0 && alpha != 1.0f && dnnl.dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha) != dnnl_success) status = -1;
    if (status == 0 && beta != 0.0f) {
        // The sum post-op adds beta times what C held before the product was written.
        if (dnnl.dnnl_post_ops_create(&post_ops) != dnnl_success || dnnl.dnnl_post_ops_append_sum(post_ops, beta) != dnnl_success
            || dnnl.dnnl_primitive_attr_set_post_ops(attr, post_ops) != dnnl_success)
            status = -1;
    }
    dnnl_primitive_desc_t pd = NULL;
    if (status == 0 && dnnl.dnnl_primitive_desc_create(&pd, &matmul, attr, dnnl.engine, NULL) != dnnl_success) status = -1;
    if (post_ops) dnnl.dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl.dnnl_primitive_attr_destroy(attr);
    if (status != 0) return -1;
    entry->primitive = NULL;
    for (int i = 0; i < 3; i++) entry->memory[i] = NULL;
    status = dnnl.dnnl_primitive_create(&entry->primitive, pd) == dnnl_success ? 0 : -1;
    for (int i = 0; i < 3 && status == 0; i++)
        if (dnnl.dnnl_memory_create(&entry->memory[i], &descs[i], dnnl.engine, DNNL_MEMORY_NONE) != dnnl_success) status = -1;
    dnnl.dnnl_primitive_desc_destroy(pd);
    if (status != 0) {
        for (int i = 0; i < 3; i++)
            if (entry->memory[i]) dnnl.dnnl_memory_destroy(entry->memory[i]);
        if (entry->primitive) dnnl.dnnl_primitive_destroy(entry->primitive);
        return -1;
    }
    memcpy(entry->key, key, sizeof entry->key);
    return 0;
}

// The calling thread's entry for this key, made (evicting the oldest) on a miss.
static gemm_entry *gemm_lookup(const long key[GEMM_KEY]) {
    for (int i = 0; i < gemm_cache_used; i++)
        if (memcmp(gemm_cache[i].key, key, sizeof gemm_cache[i].key) == 0) return &gemm_cache[i];
    gemm_entry fresh;
    if (gemm_create(key, &fresh) != 0) return NULL;
    int slot;
    if (gemm_cache_used < GEMM_CACHE) {
        slot = gemm_cache_used++;
    } else {
        slot = gemm_cache_next;
        gemm_cache_next = (gemm_cache_next + 1) % GEMM_CACHE;
        for (int i = 0; i < 3; i++) dnnl.dnnl_memory_destroy(gemm_cache[slot].memory[i]);
        dnnl.dnnl_primitive_destroy(gemm_cache[slot].primitive);
    }
    gemm_cache[slot] = fresh;
    return &gemm_cache[slot];
}

// The product on operands already in `type` (f32, or bf16 as 16-bit words) with the thread's cached primitive.
static int gemm_run(int type, int trans_a, int trans_b, long m, long n, long k, float alpha, const void *a, long lda,
                    const void *b, long ldb, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return 0;
    if (!ck_onednn_version() || k <= 0) return -1;
    dnnl_stream_t s = stream();
    if (!s) return -1;
    int32_t alpha_bits, beta_bits;
    memcpy(&alpha_bits, &alpha, 4);
    memcpy(&beta_bits, &beta, 4);
    long key[GEMM_KEY] = {type, trans_a != 0, trans_b != 0, m, n, k, lda, ldb, ldc, alpha_bits, beta_bits};
    gemm_entry *entry = gemm_lookup(key);
    if (!entry) return -1;
    void *handles[3] = {(void *)a, (void *)b, c};
    for (int i = 0; i < 3; i++)
        if (dnnl.dnnl_memory_set_data_handle(entry->memory[i], handles[i]) != dnnl_success) return -1;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, entry->memory[0]}, {DNNL_ARG_WEIGHTS, entry->memory[1]}, {DNNL_ARG_DST, entry->memory[2]}};
    if (dnnl.dnnl_primitive_execute(entry->primitive, s, 3, args) != dnnl_success || dnnl.dnnl_stream_wait(s) != dnnl_success)
        return -1;
    return 0;
}

int ck_onednn_gemm(int type, int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc) {
    if (type != CK_ONEDNN_F32 && type != CK_ONEDNN_BF16) return -1;
    if (m <= 0 || n <= 0) return 0;
    if (type == CK_ONEDNN_F32) return gemm_run(type, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    // Stored A is m × k (k × m when transposed), B k × n (n × k); each becomes a dense bf16 copy.
    long a_rows = trans_a ? k : m, a_cols = trans_a ? m : k, b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
    uint16_t *a16 = scratch(0, a_rows * a_cols), *b16 = scratch(1, b_rows * b_cols);
    if (!a16 || !b16) return -1;
    to_bf16(a, lda, a_rows, a_cols, a16);
    to_bf16(b, ldb, b_rows, b_cols, b16);
    return gemm_run(type, trans_a, trans_b, m, n, k, alpha, a16, a_cols, b16, b_cols, beta, c, ldc);
}

int ck_onednn_gemm_bf16(int trans_a, int trans_b, long m, long n, long k, float alpha, const uint16_t *a, long lda,
                        const uint16_t *b, long ldb, float beta, float *c, long ldc) {
    return gemm_run(CK_ONEDNN_BF16, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

uint16_t *ck_bf16_operand(int which, long count) {
    return which == 0 || which == 1 ? scratch(which + 2, count) : NULL;
}

int ck_onednn_implementation(int type, long m, long n, long k, char *out, long capacity) {
    if (!ck_onednn_version() || capacity <= 0) return -1;
    dnnl_memory_desc_t descs[3];
    dnnl_primitive_desc_t pd = primitive_desc(type, m, n, k, descs);
    if (!pd) return -1;
    const char *name = NULL;
    int status = dnnl.dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) == dnnl_success && name ? 0 : -1;
    if (status == 0) snprintf(out, (size_t)capacity, "%s", name);
    dnnl.dnnl_primitive_desc_destroy(pd);
    return status;
}
#else
// No oneDNN header at build time (Apple platforms use Accelerate): every product stays on BLAS and our kernels.
const char *ck_onednn_version(void) { return NULL; }
int ck_onednn_matmul(int type, const void *x, const void *w, void *y, long m, long n, long k) {
    (void)type; (void)x; (void)w; (void)y; (void)m; (void)n; (void)k;
    return -1;
}
int ck_onednn_gemm(int type, int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc) {
    (void)type; (void)trans_a; (void)trans_b; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return m <= 0 || n <= 0 ? 0 : -1;
}
int ck_onednn_gemm_bf16(int trans_a, int trans_b, long m, long n, long k, float alpha, const uint16_t *a, long lda,
                        const uint16_t *b, long ldb, float beta, float *c, long ldc) {
    (void)trans_a; (void)trans_b; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return m <= 0 || n <= 0 ? 0 : -1;
}
uint16_t *ck_bf16_operand(int which, long count) {
    (void)which; (void)count;
    return NULL;
}
int ck_onednn_implementation(int type, long m, long n, long k, char *out, long capacity) {
    (void)type; (void)m; (void)n; (void)k; (void)out; (void)capacity;
    return -1;
}
#endif

// On by default where the library loaded, unless OPTIML_ONEDNN=0 asks for BLAS and our kernels alone; tests
// switch it to compare the two.
static _Atomic int enabled = -1;

int ck_onednn(void) {
    int on = atomic_load_explicit(&enabled, memory_order_relaxed);
    if (on < 0) {
        const char *setting = getenv("OPTIML_ONEDNN");
        on = !(setting && strcmp(setting, "0") == 0) && ck_onednn_version() != NULL;
        atomic_store_explicit(&enabled, on, memory_order_relaxed);
    }
    return on;
}

int ck_set_onednn(int on) {
    int chosen = on && ck_onednn_version() != NULL;
    atomic_store_explicit(&enabled, chosen, memory_order_relaxed);
    return chosen;
}

// A column block's int32 sums at most this large stay in the core's cache between oneDNN writing them and
// their scaling into y, instead of a second pass over memory (the lm_head's sums over 512 positions are 103 MB).
enum { Q8_SUMS_BYTES = 256 * 1024 };

static _Thread_local int32_t *q8_sums;
static _Thread_local long q8_sums_capacity;

// The sums through oneDNN, then the scaling and epilogue into y (in place when `sums` is y's own memory).
static int gemm_q8_block(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales,
                         const int32_t *row_sums, int32_t *sums, float *y, long ld_y, long m, long n, long cols,
                         const ck_epilogue *epilogue) {
    if (ck_onednn_matmul(CK_ONEDNN_U8S8, xu, w, sums, m, n, cols) != 0) return -1;
    const long ld_sums = (void *)sums == (void *)y ? ld_y : n;
    ck_gemm_q8_scale_sums(xs, xz, scales, row_sums, sums, ld_sums, y, ld_y, m, n, epilogue);
    return 0;
}

int ck_onednn_gemm_q8(const uint8_t *xu, const float *xs, const int32_t *xz, const int8_t *w, const float *scales, const int32_t *row_sums,
                      float *y, long m, long rows, long cols, const ck_epilogue *epilogue) {
    // Columns (weight rows) in blocks whose sums fit Q8_SUMS_BYTES, in a multiple of 64; a product whose sums
    // fit already, or too many inputs for a block of 64, has its sums land in y itself and scaled in place.
    const long block = Q8_SUMS_BYTES / ((long)sizeof(int32_t) * m) / 64 * 64;
    if (block >= rows || block < 64)
        return gemm_q8_block(xu, xs, xz, w, scales, row_sums, (int32_t *)y, y, rows, m, rows, cols, epilogue);
    if (m * block > q8_sums_capacity) {
        free(q8_sums);
        q8_sums = aligned_alloc(64, (size_t)(m * block) * sizeof(int32_t));
        q8_sums_capacity = q8_sums ? m * block : 0;
        if (!q8_sums) return -1;
    }
    for (long r = 0; r < rows; r += block) {
        const long n = rows - r < block ? rows - r : block;
        // The block's columns of the bias.
        const ck_epilogue shifted = {epilogue && epilogue->bias ? epilogue->bias + r : NULL, epilogue ? epilogue->scale : 1,
                                     epilogue && epilogue->relu};
        if (gemm_q8_block(xu, xs, xz, w + r * cols, scales + r, row_sums + r, q8_sums, y + r, rows, m, n, cols, &shifted) != 0)
            return -1;
    }
    return 0;
}
