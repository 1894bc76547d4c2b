// Format conversions and int8 quantization (run once at load, so portable code is fast enough).
#include <math.h>
#include "internal.h"

float ck_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) {
        bits = sign | 0x7F800000 | (mantissa << 13);  // inf / nan
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;  // ±0
    } else {
        // Subnormal half: normalise into an f32 exponent.
        exponent = 113;
        while (!(mantissa & 0x400)) { mantissa <<= 1; exponent--; }
        bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t f32_to_f16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint32_t sign = (bits >> 16) & 0x8000, exponent = (bits >> 23) & 0xFF, mantissa = bits & 0x7FFFFF;
    if (exponent == 0xFF) return (uint16_t)(sign | 0x7C00 | (mantissa ? 0x200 | (mantissa >> 13) : 0));
    int e = (int)exponent - 127 + 15;
    if (e >= 0x1F) return (uint16_t)(sign | 0x7C00);  // overflow to infinity
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;  // underflows to ±0
        // Subnormal: shift the implicit-one mantissa into place, rounding to nearest even.
        mantissa |= 0x800000;
        int shift = 14 - e;
        uint32_t half = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), midpoint = 1u << (shift - 1);
        if (rest > midpoint || (rest == midpoint && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = ((uint32_t)e << 10) | (mantissa >> 13), rest = mantissa & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) half++;  // may carry into the exponent: still correct
    return (uint16_t)(sign | half);
}

void ck_f32_to_f16(const float *src, uint16_t *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = f32_to_f16(src[i]);
}

void ck_f32_to_bf16(const float *src, uint16_t *dst, long n) {
    for (long i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &src[i], 4);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            dst[i] = (uint16_t)((bits >> 16) | 0x40);  // quiet NaN
        } else {
            dst[i] = (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
        }
    }
}

void ck_quantize_rows_q8(const float *w, int8_t *q, float *scales, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        float maximum = 0;
        for (long c = 0; c < cols; c++) {
            float a = fabsf(row[c]);
            if (a > maximum) maximum = a;
        }
        float scale = maximum / 127.0f, inverse = maximum > 0 ? 127.0f / maximum : 0;
        scales[r] = scale;
        for (long c = 0; c < cols; c++) {
            float v = nearbyintf(row[c] * inverse);  // the default rounding mode: half to even
            q[r * cols + c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
    }
}
