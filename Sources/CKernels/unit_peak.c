// The peak rate of each arithmetic unit the GEMMs run on, measured rather than taken from a data sheet: clocks under
// a hypervisor, turbo with two cores busy, and how many pipes take an instruction (Zen 5's two `vpdpbusd` a cycle,
// Zen 4's one, on 256-bit halves) differ from machine to machine. Each loop keeps twelve independent accumulators in
// registers (more than latency × pipes on any of these cores) and reads no memory, so it runs at the unit's issue
// rate; the empty `asm` statements keep the compiler from folding or hoisting the products of constant operands.
#include "internal.h"

// A unit's loop (rounds in, operations done out) and its instruction's name.
typedef long (*unit_loop)(long rounds);
typedef struct {
    const char *name;
    unit_loop loop;
} instruction;

// One round: twelve products into twelve accumulators, the accumulators then opaque to the compiler (OPAQUE12, with
// each architecture's vector-register constraint).
#define TWELVE(step, barrier) \
    do { \
        step(0); step(1); step(2); step(3); step(4); step(5); step(6); step(7); step(8); step(9); step(10); step(11); \
        barrier; \
    } while (0)

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define OPAQUE12(c) \
    __asm__ volatile("" : "+v"(c[0]), "+v"(c[1]), "+v"(c[2]), "+v"(c[3]), "+v"(c[4]), "+v"(c[5]), "+v"(c[6]), \
                     "+v"(c[7]), "+v"(c[8]), "+v"(c[9]), "+v"(c[10]), "+v"(c[11]))

__attribute__((target("avx512f"))) static long fma_zmm(long rounds) {
    __m512 c[12], a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(0.5f);
    for (int i = 0; i < 12; i++) c[i] = _mm512_setzero_ps();
    __asm__ volatile("" : "+v"(a), "+v"(b));
    for (long r = 0; r < rounds; r++) {
#define STEP(i) c[i] = _mm512_fmadd_ps(a, b, c[i])
        TWELVE(STEP, OPAQUE12(c));
#undef STEP
    }
    return rounds * 12 * 16 * 2;
}

__attribute__((target("avx2,fma"))) static long fma_ymm(long rounds) {
    __m256 c[12], a = _mm256_set1_ps(1.0f), b = _mm256_set1_ps(0.5f);
    for (int i = 0; i < 12; i++) c[i] = _mm256_setzero_ps();
    __asm__ volatile("" : "+v"(a), "+v"(b));
    for (long r = 0; r < rounds; r++) {
#define STEP(i) c[i] = _mm256_fmadd_ps(a, b, c[i])
        TWELVE(STEP, OPAQUE12(c));
#undef STEP
    }
    return rounds * 12 * 8 * 2;
}

__attribute__((target("avx512f,avx512vnni"))) static long dpbusd_zmm(long rounds) {
    __m512i c[12], a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
    for (int i = 0; i < 12; i++) c[i] = _mm512_setzero_si512();
    __asm__ volatile("" : "+v"(a), "+v"(b));
    for (long r = 0; r < rounds; r++) {
#define STEP(i) c[i] = _mm512_dpbusd_epi32(c[i], a, b)
        TWELVE(STEP, OPAQUE12(c));
#undef STEP
    }
    return rounds * 12 * 64 * 2;
}

__attribute__((target("avx2,avxvnni"))) static long dpbusd_ymm(long rounds) {
    __m256i c[12], a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(2);
    for (int i = 0; i < 12; i++) c[i] = _mm256_setzero_si256();
    __asm__ volatile("" : "+v"(a), "+v"(b));
    for (long r = 0; r < rounds; r++) {
#define STEP(i) c[i] = _mm256_dpbusd_avx_epi32(c[i], a, b)
        TWELVE(STEP, OPAQUE12(c));
#undef STEP
    }
    return rounds * 12 * 32 * 2;
}

// AVX2 without VNNI multiplies bytes as its int8 kernels (and oneDNN's avx2 ones) do: `vpmaddubsw` into 16-bit pairs,
// `vpmaddwd` by ones into 32 bits, `vpaddd` into the sums, three instructions for 32 products.
__attribute__((target("avx2"))) static long maddubs_ymm(long rounds) {
    __m256i c[12], a = _mm256_set1_epi8(1), b = _mm256_set1_epi8(2), ones = _mm256_set1_epi16(1);
    for (int i = 0; i < 12; i++) c[i] = _mm256_setzero_si256();
    __asm__ volatile("" : "+v"(a), "+v"(b), "+v"(ones));
    for (long r = 0; r < rounds; r++) {
#define STEP(i) c[i] = _mm256_add_epi32(c[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones))
        TWELVE(STEP, OPAQUE12(c));
#undef STEP
    }
    return rounds * 12 * 32 * 2;
}

__attribute__((target("avx512f,avx512bf16"))) static long dpbf16_zmm(long rounds) {
    __m512 c[12];
    __m512i ab = _mm512_set1_epi16(0x3f80);  // bf16 1.0 in every half
    for (int i = 0; i < 12; i++) c[i] = _mm512_setzero_ps();
    __asm__ volatile("" : "+v"(ab));
    const __m512bh a = (__m512bh)ab;
    for (long r = 0; r < rounds; r++) {
#define STEP(i) c[i] = _mm512_dpbf16_ps(c[i], a, a)
        TWELVE(STEP, OPAQUE12(c));
#undef STEP
    }
    return rounds * 12 * 32 * 2;
}

// AMX: four accumulator tiles of 16 × 16 int32 (or f32), each product 16 rows × 64 bytes of A against 16 × 64 bytes
// of B (16 × 16 × 64 multiplies for int8, × 32 for bf16), the tiles zeroed, configured with palette 1.
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

__attribute__((target("amx-tile"))) static void amx_configure(void) {
    __attribute__((aligned(64))) amx_config config = {.palette = 1};
    for (int t = 0; t < 8; t++) {
        config.colsb[t] = 64;
        config.rows[t] = 16;
    }
    _tile_loadconfig(&config);
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    _tile_zero(4); _tile_zero(5); _tile_zero(6); _tile_zero(7);
}

__attribute__((target("amx-tile,amx-int8"))) static long tdpbusd(long rounds) {
    amx_configure();
    for (long r = 0; r < rounds; r++) {
        _tile_dpbusd(0, 4, 6); _tile_dpbusd(1, 4, 7); _tile_dpbusd(2, 5, 6); _tile_dpbusd(3, 5, 7);
    }
    _tile_release();
    return rounds * 4 * 16 * 16 * 64 * 2;
}

__attribute__((target("amx-tile,amx-bf16"))) static long tdpbf16ps(long rounds) {
    amx_configure();
    for (long r = 0; r < rounds; r++) {
        _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
    }
    _tile_release();
    return rounds * 4 * 16 * 16 * 32 * 2;
}

// The widest instruction of each unit that this processor (within OPTIML_MAX_ISA) has, and its name.
static instruction unit_instruction(int unit) {
    const unsigned avx2 = CK_FEATURE_AVX2 | CK_FEATURE_FMA, avx512 = CK_FEATURE_AVX512F | CK_FEATURE_AVX512BW;
    switch (unit) {
    case CK_UNIT_F32:
        if (ck_has(avx512)) return (instruction){"vfmadd231ps zmm", fma_zmm};
        if (ck_has(avx2)) return (instruction){"vfmadd231ps ymm", fma_ymm};
        break;
    case CK_UNIT_INT8:
        if (ck_has(avx512 | CK_FEATURE_AVX512VNNI)) return (instruction){"vpdpbusd zmm", dpbusd_zmm};
        if (ck_has(avx2 | CK_FEATURE_AVXVNNI)) return (instruction){"vpdpbusd ymm (avxvnni)", dpbusd_ymm};
        if (ck_has(avx2)) return (instruction){"vpmaddubsw+vpmaddwd+vpaddd ymm", maddubs_ymm};
        break;
    case CK_UNIT_BF16:
        if (ck_has(avx512 | CK_FEATURE_AVX512BF16)) return (instruction){"vdpbf16ps zmm", dpbf16_zmm};
        break;
    case CK_UNIT_AMX_INT8:
        if (ck_has(CK_FEATURE_AMX_TILE | CK_FEATURE_AMX_INT8)) return (instruction){"tdpbusd", tdpbusd};
        break;
    case CK_UNIT_AMX_BF16:
        if (ck_has(CK_FEATURE_AMX_TILE | CK_FEATURE_AMX_BF16)) return (instruction){"tdpbf16ps", tdpbf16ps};
        break;
    }
    return (instruction){0, 0};
}

#elif defined(__aarch64__)
#include <arm_neon.h>

#define OPAQUE12(c) \
    __asm__ volatile("" : "+w"(c[0]), "+w"(c[1]), "+w"(c[2]), "+w"(c[3]), "+w"(c[4]), "+w"(c[5]), "+w"(c[6]), \
                     "+w"(c[7]), "+w"(c[8]), "+w"(c[9]), "+w"(c[10]), "+w"(c[11]))

static long fmla(long rounds) {
    float32x4_t c[12], a = vdupq_n_f32(1.0f), b = vdupq_n_f32(0.5f);
    for (int i = 0; i < 12; i++) c[i] = vdupq_n_f32(0.0f);
    __asm__ volatile("" : "+w"(a), "+w"(b));
    for (long r = 0; r < rounds; r++) {
#define STEP(i) c[i] = vfmaq_f32(c[i], a, b)
        TWELVE(STEP, OPAQUE12(c));
#undef STEP
    }
    return rounds * 12 * 4 * 2;
}

__attribute__((target("+dotprod"))) static long sdot(long rounds) {
    int32x4_t c[12];
    int8x16_t a = vdupq_n_s8(1), b = vdupq_n_s8(2);
    for (int i = 0; i < 12; i++) c[i] = vdupq_n_s32(0);
    __asm__ volatile("" : "+w"(a), "+w"(b));
    for (long r = 0; r < rounds; r++) {
#define STEP(i) c[i] = vdotq_s32(c[i], a, b)
        TWELVE(STEP, OPAQUE12(c));
#undef STEP
    }
    return rounds * 12 * 16 * 2;
}

static instruction unit_instruction(int unit) {
    if (unit == CK_UNIT_F32 && ck_has(CK_FEATURE_NEON)) return (instruction){"fmla v.4s", fmla};
    if (unit == CK_UNIT_INT8 && ck_has(CK_FEATURE_NEON | CK_FEATURE_DOTPROD)) return (instruction){"sdot v.4s", sdot};
    return (instruction){0, 0};
}

#else
static instruction unit_instruction(int unit) {
    (void)unit;
    return (instruction){0, 0};
}
#endif

long ck_unit_peak(int unit, long rounds) {
    const unit_loop loop = unit_instruction(unit).loop;
    return loop && rounds > 0 ? loop(rounds) : 0;
}

const char *ck_unit_peak_instruction(int unit) { return unit_instruction(unit).name; }
