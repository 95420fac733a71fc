/*
 * quant_ref.h — scalar reference implementations of every type's conversions
 * and dot products, referenced by the type-trait table in types.c.
 *
 * Block layouts are ggml's, declared once in blocks.h: the 32-element types
 * q4_0, q4_1, q5_0, q5_1, q8_0 (and q8_1, the activation side of q4_1 / q5_1)
 * and the 256-element K-quant super-blocks q2_k .. q6_k (and q8_k, the
 * activation side of their dots), and the i-quant and ternary types
 * (quant_iq.c, quant_iq4.c, quant_ternary.c: iq4_nl and iq4_xs can be
 * written, the others only read).
 */
#ifndef TL_QUANT_REF_H
#define TL_QUANT_REF_H

#include <stdint.h>

#define TL_DECLARE_TYPE_FUNCS(name)                                                                                    \
    void tl_##name##_to_float(const void *src, float *dst, int64_t n);                                                 \
    void tl_##name##_from_float(const float *src, void *dst, int64_t n);

TL_DECLARE_TYPE_FUNCS(f32)
TL_DECLARE_TYPE_FUNCS(f16)
TL_DECLARE_TYPE_FUNCS(bf16)
TL_DECLARE_TYPE_FUNCS(q4_0)
TL_DECLARE_TYPE_FUNCS(q4_1)
TL_DECLARE_TYPE_FUNCS(q5_0)
TL_DECLARE_TYPE_FUNCS(q5_1)
TL_DECLARE_TYPE_FUNCS(q8_0)
void tl_q8_1_from_float(const float *src, void *dst, int64_t n);
/* Activation quantizers with ggml's x86 semantics (scale 127/amax, round
 * half to even): what the x86 kernel levels compute, and their oracle. */
void tl_q8_0_from_float_x86(const float *src, void *dst, int64_t n);
void tl_q8_1_from_float_x86(const float *src, void *dst, int64_t n);
TL_DECLARE_TYPE_FUNCS(q2_k)
TL_DECLARE_TYPE_FUNCS(q3_k)
TL_DECLARE_TYPE_FUNCS(q4_k)
TL_DECLARE_TYPE_FUNCS(q5_k)
TL_DECLARE_TYPE_FUNCS(q6_k)
TL_DECLARE_TYPE_FUNCS(q8_k)

TL_DECLARE_TYPE_FUNCS(iq4_nl)
TL_DECLARE_TYPE_FUNCS(iq4_xs)
void tl_iq3_s_to_float(const void *src, float *dst, int64_t n);
void tl_iq2_xs_to_float(const void *src, float *dst, int64_t n);
void tl_iq3_xxs_to_float(const void *src, float *dst, int64_t n);
void tl_iq2_s_to_float(const void *src, float *dst, int64_t n);
void tl_iq2_xxs_to_float(const void *src, float *dst, int64_t n);
void tl_iq1_s_to_float(const void *src, float *dst, int64_t n);
void tl_iq1_m_to_float(const void *src, float *dst, int64_t n);
void tl_tq1_0_to_float(const void *src, float *dst, int64_t n);
void tl_tq2_0_to_float(const void *src, float *dst, int64_t n);

void tl_vec_dot_f32(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_f16(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_bf16(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q4_0_q8_0(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q4_1_q8_1(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q5_0_q8_0(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q5_1_q8_1(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q8_0_q8_0(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q2_k_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q3_k_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q4_k_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q5_k_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_q6_k_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_iq4_nl_q8_0(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_iq4_xs_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_iq3_s_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_iq2_xs_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_iq3_xxs_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_iq2_s_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_iq2_xxs_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_iq1_s_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_iq1_m_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_tq1_0_q8_k(int64_t n, float *out, const void *x, const void *y);
void tl_vec_dot_tq2_0_q8_k(int64_t n, float *out, const void *x, const void *y);

#endif /* TL_QUANT_REF_H */
