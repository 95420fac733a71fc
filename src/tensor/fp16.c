/*
 * fp16.c — IEEE binary16 and bfloat16 <-> float conversions.
 *
 * Done on the bit patterns with integer arithmetic, so the result does not
 * depend on the compiler, the FPU rounding mode or denormal flushing. Results
 * are bit-identical to ggml's conversions (and to the x86 F16C instructions
 * for every non-NaN input):
 *   - fp32 -> fp16 rounds to nearest, ties to even, with half subnormals;
 *     values from 65520 up become infinity; every NaN becomes the quiet NaN
 *     0x7e00 with the input's sign (as ggml's portable path).
 *   - fp16 -> fp32 is exact; a signalling NaN comes back quiet (as F16C).
 *   - fp32 -> bf16 rounds to nearest even and keeps subnormals; a NaN keeps
 *     its top bits and is forced quiet (as ggml_compute_fp32_to_bf16).
 */
#include <stdint.h>
#include <string.h>

#include "tensor/types.h"

static uint32_t float_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static float float_from_bits(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float tl_fp16_to_fp32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;

    if (exponent == 0x1f) { /* infinity, or NaN: keep the payload, make it quiet */
        const uint32_t quiet = mantissa != 0 ? 0x00400000u : 0;
        return float_from_bits(sign | 0x7f800000u | quiet | (mantissa << 13));
    }
    if (exponent != 0) /* normal: rebias the exponent from 15 to 127 */
        return float_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    if (mantissa == 0) return float_from_bits(sign);

    /* Subnormal half: mantissa * 2^-24. Shift until the implicit bit (bit 10)
     * is set; each shift lowers the float exponent by one. */
    uint32_t float_exponent = 127 - 14;
    while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        float_exponent--;
    }
    mantissa &= 0x3ffu;
    return float_from_bits(sign | (float_exponent << 23) | (mantissa << 13));
}

/* Drop the low `shift` bits of value, rounding to nearest with ties to even. */
static uint32_t shift_right_round_even(uint32_t value, unsigned shift) {
    const uint32_t kept = value >> shift;
    const uint32_t remainder = value & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1);
    if (remainder > halfway || (remainder == halfway && (kept & 1u))) return kept + 1;
    return kept;
}

uint16_t tl_fp32_to_fp16(float f) {
    const uint32_t bits = float_bits(f);
    const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    const uint32_t magnitude = bits & 0x7fffffffu;

    if (magnitude > 0x7f800000u) return sign | 0x7e00u;  /* NaN */
    if (magnitude >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520: rounds to inf */
    if (magnitude >= 0x38800000u) {
        /* Normal half (>= 2^-14): rebias the exponent (127 -> 15) and round
         * the 23-bit mantissa to 10 bits; a carry correctly bumps the
         * exponent (up to 65504 at most, bigger values were caught above). */
        return sign | (uint16_t)shift_right_round_even(magnitude - 0x38000000u, 13);
    }
    if (magnitude < 0x33000000u) return sign; /* below 2^-25: rounds to zero */
    /* Subnormal half: the result is round(value / 2^-24). value is
     * (1.mantissa) * 2^e with e in [-25, -15]; as an integer mantissa with
     * the implicit bit, value / 2^-24 = full_mantissa >> (-e - 1). */
    const int exponent = (int)(magnitude >> 23) - 127;
    const uint32_t full_mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    return sign | (uint16_t)shift_right_round_even(full_mantissa, (unsigned)(-exponent - 1));
}

float tl_bf16_to_fp32(uint16_t h) {
    return float_from_bits((uint32_t)h << 16);
}

uint16_t tl_fp32_to_bf16(float f) {
    const uint32_t bits = float_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) /* NaN: truncate, force quiet */
        return (uint16_t)((bits >> 16) | 0x40u);
    /* Round to nearest even on the low 16 bits. Overflow into the exponent
     * is the correct result (up to infinity). */
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}
