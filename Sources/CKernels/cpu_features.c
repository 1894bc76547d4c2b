// What this processor and operating system let the kernels use, detected once at run time.
//
// On x86-64 an instruction set counts only when CPUID lists it and the OS saves its registers
// (XCR0): a hypervisor may list AVX-512 yet not enable its state. AMX tile data is off by default
// on Linux until the process asks for it (arch_prctl ARCH_REQ_XCOMP_PERM), so it is asked here.
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static unsigned long long xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

// Linux keeps AMX tile data (XCR0 bit 18) disabled per process until asked; other systems grant it with XCR0.
static int amx_permitted(void) {
#if defined(__linux__)
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return 1;
#endif
}

// The vendor string CPUID leaf 0 spells in EBX, EDX, ECX.
static void vendor(char out[13]) {
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    memcpy(out, &b, 4);
    memcpy(out + 4, &d, 4);
    memcpy(out + 8, &c, 4);
    out[12] = 0;
}

static unsigned detect(void) {
    unsigned a, b, c, d, features = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    char name[13];
    vendor(name);
    if (ck_narrow_avx_signature(name, a)) features |= CK_FEATURE_NARROW_AVX;
    const int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave) return 0;
    const unsigned long long xcr = xcr0();
    const int avx_state = (xcr & 0x6) == 0x6, avx512_state = (xcr & 0xE6) == 0xE6, amx_state = (xcr & 0x60000) == 0x60000;
    if (!avx_state) return 0;
    if (fma) features |= CK_FEATURE_FMA;
    if (f16c) features |= CK_FEATURE_F16C;
    if (__get_cpuid_max(0, 0) < 7) return features;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned leaf7_ebx = b, leaf7_ecx = c, leaf7_edx = d;
    __cpuid_count(7, 1, a, b, c, d);
    const unsigned leaf7_1_eax = a;
    if ((leaf7_ebx >> 5) & 1) features |= CK_FEATURE_AVX2;
    if ((leaf7_1_eax >> 4) & 1) features |= CK_FEATURE_AVXVNNI;
    if (avx512_state) {
        if ((leaf7_ebx >> 16) & 1) features |= CK_FEATURE_AVX512F;
        if ((leaf7_ebx >> 17) & 1) features |= CK_FEATURE_AVX512DQ;
        if ((leaf7_ebx >> 30) & 1) features |= CK_FEATURE_AVX512BW;
        if ((leaf7_ebx >> 31) & 1) features |= CK_FEATURE_AVX512VL;
        if ((leaf7_ecx >> 11) & 1) features |= CK_FEATURE_AVX512VNNI;
        if ((leaf7_1_eax >> 5) & 1) features |= CK_FEATURE_AVX512BF16;
    }
    const int amx_tile = (leaf7_edx >> 24) & 1;
    if (amx_tile && amx_state && amx_permitted()) {
        features |= CK_FEATURE_AMX_TILE;
        if ((leaf7_edx >> 25) & 1) features |= CK_FEATURE_AMX_INT8;
        if ((leaf7_edx >> 22) & 1) features |= CK_FEATURE_AMX_BF16;
    }
    return features;
}
#elif defined(__aarch64__)
#if defined(__linux__)
#include <sys/auxv.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif

// NEON is part of every AArch64 core; the dot-product instructions (ARMv8.2 FEAT_DotProd) are optional.
static unsigned detect(void) {
    unsigned features = CK_FEATURE_NEON;
#if defined(__linux__)
    enum { HWCAP_ASIMDDP_BIT = 1 << 20 };
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP_BIT) features |= CK_FEATURE_DOTPROD;
#elif defined(__APPLE__)
    int value = 0;
    size_t size = sizeof value;
    if (sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, 0, 0) == 0 && value) features |= CK_FEATURE_DOTPROD;
#endif
    return features;
}
#else
static unsigned detect(void) { return 0; }
#endif

// AMD families 15h (Bulldozer to Excavator) and 17h before Zen 2 (models below 30h: Zen, Zen+), and Hygon's 18h
// (Zen's design) have 128-bit vector units. The family and model as the vendors' manuals combine them.
int ck_narrow_avx_signature(const char *vendor, unsigned leaf1_eax) {
    const unsigned base = (leaf1_eax >> 8) & 0xF, family = base == 0xF ? base + ((leaf1_eax >> 20) & 0xFF) : base;
    const unsigned model = ((leaf1_eax >> 4) & 0xF) | (base == 0xF ? ((leaf1_eax >> 16) & 0xF) << 4 : 0);
    if (strcmp(vendor, "AuthenticAMD") == 0) return family == 0x15 || (family == 0x17 && model < 0x30);
    return strcmp(vendor, "HygonGenuine") == 0 && family == 0x18;
}

// What a cap keeps of the features: "avx2" AVX2, FMA and F16C (a processor without AVX-512, VNNI or AMX, such as AMD
// Zen 3), "avx2-vnni" those and AVX-VNNI (Intel's cores without AVX-512: Alder Lake, Sierra Forest), "portable" none,
// null all. Returns 0 for any other value (which then keeps all).
static int max_isa_mask(const char *cap, unsigned *mask) {
    const unsigned avx2 = CK_FEATURE_AVX2 | CK_FEATURE_FMA | CK_FEATURE_F16C | CK_FEATURE_NARROW_AVX;
    *mask = ~0u;
    if (!cap) return 1;
    if (strcmp(cap, "avx2") == 0) *mask = avx2;
    else if (strcmp(cap, "avx2-vnni") == 0) *mask = avx2 | CK_FEATURE_AVXVNNI;
    else if (strcmp(cap, "portable") == 0) *mask = 0;
    else return 0;
    return 1;
}

int ck_max_isa_understood(void) {
    unsigned mask;
    return max_isa_mask(getenv("OPTIML_MAX_ISA"), &mask);
}

// Detection is idempotent, so two threads racing to fill the cache store the same value.
static _Atomic unsigned cached;
static _Atomic int detected;

static void store_features(const char *cap) {
    unsigned mask;
    max_isa_mask(cap, &mask);
    atomic_store_explicit(&cached, detect() & mask, memory_order_relaxed);
    atomic_store_explicit(&detected, 1, memory_order_release);
}

unsigned ck_cpu_features(void) {
    if (!atomic_load_explicit(&detected, memory_order_acquire)) store_features(getenv("OPTIML_MAX_ISA"));
    return atomic_load_explicit(&cached, memory_order_relaxed);
}

int ck_set_max_isa(const char *cap) {
    unsigned mask;
    if (!max_isa_mask(cap, &mask)) return 0;
    store_features(cap);
    return 1;
}

int ck_has(unsigned features) { return (ck_cpu_features() & features) == features; }
