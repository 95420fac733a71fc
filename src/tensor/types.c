/*
 * types.c — the type-trait table: one row per ggml type id.
 *
 * Rows with NULL functions are types tinyllm recognises (so a file using them
 * is reported by name) but cannot compute with yet.
 */
#include "tensor/types.h"

#include <string.h>
#include <strings.h>

#include "tensor/quant_ref.h"

static const tl_type_traits type_table[TL_TYPE_COUNT] = {
    [TL_TYPE_F32] = {"f32", 1, 4, false, tl_f32_to_float, tl_f32_from_float, TL_TYPE_F32,
                     tl_vec_dot_f32},
    [TL_TYPE_F16] = {"f16", 1, 2, false, tl_f16_to_float, tl_f16_from_float, TL_TYPE_F16,
                     tl_vec_dot_f16},
    [TL_TYPE_BF16] = {"bf16", 1, 2, false, tl_bf16_to_float, tl_bf16_from_float, TL_TYPE_BF16,
                      tl_vec_dot_bf16},
    [TL_TYPE_Q4_0] = {"q4_0", 32, 18, true, tl_q4_0_to_float, tl_q4_0_from_float, TL_TYPE_Q8_0,
                      tl_vec_dot_q4_0_q8_0},
    [TL_TYPE_Q4_1] = {"q4_1", 32, 20, true, tl_q4_1_to_float, tl_q4_1_from_float, TL_TYPE_Q8_1,
                      tl_vec_dot_q4_1_q8_1},
    [TL_TYPE_Q5_0] = {"q5_0", 32, 22, true, tl_q5_0_to_float, tl_q5_0_from_float, TL_TYPE_Q8_0,
                      tl_vec_dot_q5_0_q8_0},
    [TL_TYPE_Q5_1] = {"q5_1", 32, 24, true, tl_q5_1_to_float, tl_q5_1_from_float, TL_TYPE_Q8_1,
                      tl_vec_dot_q5_1_q8_1},
    [TL_TYPE_Q8_0] = {"q8_0", 32, 34, true, tl_q8_0_to_float, tl_q8_0_from_float, TL_TYPE_Q8_0,
                      tl_vec_dot_q8_0_q8_0},
    [TL_TYPE_Q8_1] = {"q8_1", 32, 36, true, NULL, tl_q8_1_from_float, TL_TYPE_Q8_1, NULL},
    [TL_TYPE_Q2_K] = {"q2_k", 256, 84, true, tl_q2_k_to_float, tl_q2_k_from_float, TL_TYPE_Q8_K,
                      tl_vec_dot_q2_k_q8_k},
    [TL_TYPE_Q3_K] = {"q3_k", 256, 110, true, tl_q3_k_to_float, tl_q3_k_from_float, TL_TYPE_Q8_K,
                      tl_vec_dot_q3_k_q8_k},
    [TL_TYPE_Q4_K] = {"q4_k", 256, 144, true, tl_q4_k_to_float, tl_q4_k_from_float, TL_TYPE_Q8_K,
                      tl_vec_dot_q4_k_q8_k},
    [TL_TYPE_Q5_K] = {"q5_k", 256, 176, true, tl_q5_k_to_float, tl_q5_k_from_float, TL_TYPE_Q8_K,
                      tl_vec_dot_q5_k_q8_k},
    [TL_TYPE_Q6_K] = {"q6_k", 256, 210, true, tl_q6_k_to_float, tl_q6_k_from_float, TL_TYPE_Q8_K,
                      tl_vec_dot_q6_k_q8_k},
    /* Activation-only (like q8_1): no vec_dot, so not "supported" as a weight. */
    [TL_TYPE_Q8_K] = {"q8_k", 256, 292, true, tl_q8_k_to_float, tl_q8_k_from_float, TL_TYPE_Q8_K,
                      NULL},
    /* Recognised, not yet computed with. */
    [TL_TYPE_IQ2_XXS] = {"iq2_xxs", 256, 66, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_IQ2_XS] = {"iq2_xs", 256, 74, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_IQ3_XXS] = {"iq3_xxs", 256, 98, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_IQ1_S] = {"iq1_s", 256, 50, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_IQ4_NL] = {"iq4_nl", 32, 18, true, NULL, NULL, TL_TYPE_Q8_0, NULL},
    [TL_TYPE_IQ3_S] = {"iq3_s", 256, 110, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_IQ2_S] = {"iq2_s", 256, 82, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_IQ4_XS] = {"iq4_xs", 256, 136, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_I8] = {"i8", 1, 1, false, NULL, NULL, TL_TYPE_I8, NULL},
    [TL_TYPE_I16] = {"i16", 1, 2, false, NULL, NULL, TL_TYPE_I16, NULL},
    [TL_TYPE_I32] = {"i32", 1, 4, false, NULL, NULL, TL_TYPE_I32, NULL},
    [TL_TYPE_I64] = {"i64", 1, 8, false, NULL, NULL, TL_TYPE_I64, NULL},
    [TL_TYPE_F64] = {"f64", 1, 8, false, NULL, NULL, TL_TYPE_F64, NULL},
    [TL_TYPE_IQ1_M] = {"iq1_m", 256, 56, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_TQ1_0] = {"tq1_0", 256, 54, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_TQ2_0] = {"tq2_0", 256, 66, true, NULL, NULL, TL_TYPE_Q8_K, NULL},
    [TL_TYPE_MXFP4] = {"mxfp4", 32, 17, true, NULL, NULL, TL_TYPE_Q8_0, NULL},
};

const tl_type_traits *tl_type_traits_of(uint32_t type_id) {
    if (type_id >= TL_TYPE_COUNT || type_table[type_id].name == NULL) return NULL;
    return &type_table[type_id];
}

bool tl_type_is_supported(uint32_t type_id) {
    const tl_type_traits *t = tl_type_traits_of(type_id);
    return t && t->to_float && t->vec_dot;
}

size_t tl_type_row_bytes(uint32_t type_id, int64_t n) {
    const tl_type_traits *t = tl_type_traits_of(type_id);
    if (!t) return 0;
    return (size_t)(n / t->block_size) * t->block_bytes;
}

const char *tl_type_name(uint32_t type_id) {
    const tl_type_traits *t = tl_type_traits_of(type_id);
    return t ? t->name : NULL;
}

int32_t tl_type_from_name(const char *name) {
    if (!name) return -1;
    for (uint32_t i = 0; i < TL_TYPE_COUNT; i++)
        if (type_table[i].name && strcasecmp(type_table[i].name, name) == 0) return (int32_t)i;
    return -1;
}
