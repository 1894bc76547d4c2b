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

// NAME: `rounds` rounds of twelve products STEP(a, b, c[i]) into twelve accumulators of ACC (zeroed by ZERO), OPS
// operations a product. The operands (of OPERAND, A and B) and, after each round, the accumulators are made opaque
// to the compiler with an empty `asm` on vector registers (constraint VREG, each architecture's); each product is
// written out with its own constant index, so the accumulators live in registers.
#define PEAK_PRODUCT(I, STEP) { enum { i = I }; c[i] = STEP; }
#define PEAK_LOOP(NAME, ATTRIBUTES, ACC, ZERO, OPERAND, A, B, STEP, OPS) \
    ATTRIBUTES static long NAME(long rounds) { \
        ACC c[12]; \
        OPERAND a = A, b = B; \
        for (int i = 0; i < 12; i++) c[i] = ZERO; \
        __asm__ volatile("" : "+" VREG(a), "+" VREG(b)); \
        for (long r = 0; r < rounds; r++) { \
            PEAK_PRODUCT(0, STEP) PEAK_PRODUCT(1, STEP) PEAK_PRODUCT(2, STEP) PEAK_PRODUCT(3, STEP) \
            PEAK_PRODUCT(4, STEP) PEAK_PRODUCT(5, STEP) PEAK_PRODUCT(6, STEP) PEAK_PRODUCT(7, STEP) \
            PEAK_PRODUCT(8, STEP) PEAK_PRODUCT(9, STEP) PEAK_PRODUCT(10, STEP) PEAK_PRODUCT(11, STEP) \
            __asm__ volatile("" : "+" VREG(c[0]), "+" VREG(c[1]), "+" VREG(c[2]), "+" VREG(c[3]), "+" VREG(c[4]), \
                             "+" VREG(c[5]), "+" VREG(c[6]), "+" VREG(c[7]), "+" VREG(c[8]), "+" VREG(c[9]), \
                             "+" VREG(c[10]), "+" VREG(c[11])); \
        } \
        return rounds * 12 * (OPS); \
    }

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define VREG "v"
#define TARGET(features) __attribute__((target(features)))

PEAK_LOOP(fma_zmm, TARGET("avx512f"), __m512, _mm512_setzero_ps(), __m512, _mm512_set1_ps(1.0f), _mm512_set1_ps(0.5f),
          _mm512_fmadd_ps(a, b, c[i]), 16 * 2)
PEAK_LOOP(fma_ymm, TARGET("avx2,fma"), __m256, _mm256_setzero_ps(), __m256, _mm256_set1_ps(1.0f), _mm256_set1_ps(0.5f),
          _mm256_fmadd_ps(a, b, c[i]), 8 * 2)
PEAK_LOOP(dpbusd_zmm, TARGET("avx512f,avx512vnni"), __m512i, _mm512_setzero_si512(), __m512i, _mm512_set1_epi8(1),
          _mm512_set1_epi8(2), _mm512_dpbusd_epi32(c[i], a, b), 64 * 2)
PEAK_LOOP(dpbusd_ymm, TARGET("avx2,avxvnni"), __m256i, _mm256_setzero_si256(), __m256i, _mm256_set1_epi8(1),
          _mm256_set1_epi8(2), _mm256_dpbusd_avx_epi32(c[i], a, b), 32 * 2)
// AVX2 without VNNI multiplies bytes as its int8 kernels (and oneDNN's avx2 ones) do: `vpmaddubsw` into 16-bit pairs,
// `vpmaddwd` by ones into 32 bits, `vpaddd` into the sums, three instructions for 32 products.
PEAK_LOOP(maddubs_ymm, TARGET("avx2"), __m256i, _mm256_setzero_si256(), __m256i, _mm256_set1_epi8(1), _mm256_set1_epi8(2),
          _mm256_add_epi32(c[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1))), 32 * 2)
// The operands are bf16 1.0 in every half.
PEAK_LOOP(dpbf16_zmm, TARGET("avx512f,avx512bf16"), __m512, _mm512_setzero_ps(), __m512bh,
          (__m512bh)_mm512_set1_epi16(0x3f80), (__m512bh)_mm512_set1_epi16(0x3f80), _mm512_dpbf16_ps(c[i], a, b), 32 * 2)

// AMX: four accumulator tiles of 16 × 16 int32 (or f32), each product 16 rows × 64 bytes of A against 16 × 64 bytes
// of B (16 × 16 × 64 multiplies for int8, × 32 for bf16), the tiles zeroed, configured with palette 1.
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

TARGET("amx-tile") static void amx_configure(void) {
    __attribute__((aligned(64))) amx_config config = {.palette = 1};
    for (int t = 0; t < 8; t++) {
        config.colsb[t] = 64;
        config.rows[t] = 16;
    }
    _tile_loadconfig(&config);
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    _tile_zero(4); _tile_zero(5); _tile_zero(6); _tile_zero(7);
}

TARGET("amx-tile,amx-int8") static long tdpbusd(long rounds) {
    amx_configure();
    for (long r = 0; r < rounds; r++) {
        _tile_dpbusd(0, 4, 6); _tile_dpbusd(1, 4, 7); _tile_dpbusd(2, 5, 6); _tile_dpbusd(3, 5, 7);
    }
    _tile_release();
    return rounds * 4 * 16 * 16 * 64 * 2;
}

TARGET("amx-tile,amx-bf16") static long tdpbf16ps(long rounds) {
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

#define VREG "w"

PEAK_LOOP(fmla, , float32x4_t, vdupq_n_f32(0.0f), float32x4_t, vdupq_n_f32(1.0f), vdupq_n_f32(0.5f), vfmaq_f32(c[i], a, b),
          4 * 2)
PEAK_LOOP(sdot, __attribute__((target("+dotprod"))), int32x4_t, vdupq_n_s32(0), int8x16_t, vdupq_n_s8(1), vdupq_n_s8(2),
          vdotq_s32(c[i], a, b), 16 * 2)

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
