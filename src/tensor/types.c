/*
 * types.c — the type-trait table: one row per ggml type id.
 *
 * Rows name their fields; block sizes come from the structs of blocks.h.
 * Rows with NULL functions are types tinyllm recognises (so a file using them
 * is reported by name) but cannot compute with yet.
 */
#include "tensor/types.h"

#include <string.h>
#include <strings.h>

#include "tensor/blocks.h"
#include "tensor/quant_ref.h"
#include "tinyllm.h" /* tl_type_name, tl_type_from_name: the API (TL_API) */

// clang-format off
static const tl_type_traits type_table[TL_TYPE_COUNT] = {
    [TL_TYPE_F32] = {.name = "f32", .block_size = 1, .block_bytes = sizeof(float),
                     .to_float = tl_f32_to_float, .from_float = tl_f32_from_float,
                     .vec_dot_type = TL_TYPE_F32, .vec_dot = tl_vec_dot_f32},
    [TL_TYPE_F16] = {.name = "f16", .block_size = 1, .block_bytes = sizeof(uint16_t),
                     .to_float = tl_f16_to_float, .from_float = tl_f16_from_float,
                     .vec_dot_type = TL_TYPE_F16, .vec_dot = tl_vec_dot_f16},
    [TL_TYPE_BF16] = {.name = "bf16", .block_size = 1, .block_bytes = sizeof(uint16_t),
                      .to_float = tl_bf16_to_float, .from_float = tl_bf16_from_float,
                      .vec_dot_type = TL_TYPE_BF16, .vec_dot = tl_vec_dot_bf16},
    [TL_TYPE_Q4_0] = {.name = "q4_0", .block_size = QK, .block_bytes = sizeof(block_q4_0),
                      .is_quantized = true, .to_float = tl_q4_0_to_float,
                      .from_float = tl_q4_0_from_float, .vec_dot_type = TL_TYPE_Q8_0,
                      .vec_dot = tl_vec_dot_q4_0_q8_0},
    [TL_TYPE_Q4_1] = {.name = "q4_1", .block_size = QK, .block_bytes = sizeof(block_q4_1),
                      .is_quantized = true, .to_float = tl_q4_1_to_float,
                      .from_float = tl_q4_1_from_float, .vec_dot_type = TL_TYPE_Q8_1,
                      .vec_dot = tl_vec_dot_q4_1_q8_1},
    [TL_TYPE_Q5_0] = {.name = "q5_0", .block_size = QK, .block_bytes = sizeof(block_q5_0),
                      .is_quantized = true, .to_float = tl_q5_0_to_float,
                      .from_float = tl_q5_0_from_float, .vec_dot_type = TL_TYPE_Q8_0,
                      .vec_dot = tl_vec_dot_q5_0_q8_0},
    [TL_TYPE_Q5_1] = {.name = "q5_1", .block_size = QK, .block_bytes = sizeof(block_q5_1),
                      .is_quantized = true, .to_float = tl_q5_1_to_float,
                      .from_float = tl_q5_1_from_float, .vec_dot_type = TL_TYPE_Q8_1,
                      .vec_dot = tl_vec_dot_q5_1_q8_1},
    [TL_TYPE_Q8_0] = {.name = "q8_0", .block_size = QK, .block_bytes = sizeof(block_q8_0),
                      .is_quantized = true, .to_float = tl_q8_0_to_float,
                      .from_float = tl_q8_0_from_float, .vec_dot_type = TL_TYPE_Q8_0,
                      .vec_dot = tl_vec_dot_q8_0_q8_0},
    [TL_TYPE_Q8_1] = {.name = "q8_1", .block_size = QK, .block_bytes = sizeof(block_q8_1),
                      .is_quantized = true, .from_float = tl_q8_1_from_float,
                      .vec_dot_type = TL_TYPE_Q8_1},
    [TL_TYPE_Q2_K] = {.name = "q2_k", .block_size = QK_K, .block_bytes = sizeof(block_q2_K),
                      .is_quantized = true, .to_float = tl_q2_k_to_float,
                      .from_float = tl_q2_k_from_float, .vec_dot_type = TL_TYPE_Q8_K,
                      .vec_dot = tl_vec_dot_q2_k_q8_k},
    [TL_TYPE_Q3_K] = {.name = "q3_k", .block_size = QK_K, .block_bytes = sizeof(block_q3_K),
                      .is_quantized = true, .to_float = tl_q3_k_to_float,
                      .from_float = tl_q3_k_from_float, .vec_dot_type = TL_TYPE_Q8_K,
                      .vec_dot = tl_vec_dot_q3_k_q8_k},
    [TL_TYPE_Q4_K] = {.name = "q4_k", .block_size = QK_K, .block_bytes = sizeof(block_q4_K),
                      .is_quantized = true, .to_float = tl_q4_k_to_float,
                      .from_float = tl_q4_k_from_float, .vec_dot_type = TL_TYPE_Q8_K,
                      .vec_dot = tl_vec_dot_q4_k_q8_k},
    [TL_TYPE_Q5_K] = {.name = "q5_k", .block_size = QK_K, .block_bytes = sizeof(block_q5_K),
                      .is_quantized = true, .to_float = tl_q5_k_to_float,
                      .from_float = tl_q5_k_from_float, .vec_dot_type = TL_TYPE_Q8_K,
                      .vec_dot = tl_vec_dot_q5_k_q8_k},
    [TL_TYPE_Q6_K] = {.name = "q6_k", .block_size = QK_K, .block_bytes = sizeof(block_q6_K),
                      .is_quantized = true, .to_float = tl_q6_k_to_float,
                      .from_float = tl_q6_k_from_float, .vec_dot_type = TL_TYPE_Q8_K,
                      .vec_dot = tl_vec_dot_q6_k_q8_k},
    /* Activation-only (like q8_1): no vec_dot, so not "supported" as a weight. */
    [TL_TYPE_Q8_K] = {.name = "q8_k", .block_size = QK_K, .block_bytes = sizeof(block_q8_K),
                      .is_quantized = true, .to_float = tl_q8_k_to_float,
                      .from_float = tl_q8_k_from_float, .vec_dot_type = TL_TYPE_Q8_K},
    [TL_TYPE_IQ2_XXS] = {.name = "iq2_xxs", .block_size = QK_K,
                         .block_bytes = sizeof(block_iq2_xxs), .is_quantized = true,
                         .to_float = tl_iq2_xxs_to_float, .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_iq2_xxs_q8_k},
    [TL_TYPE_IQ2_XS] = {.name = "iq2_xs", .block_size = QK_K, .block_bytes = sizeof(block_iq2_xs),
                        .is_quantized = true, .to_float = tl_iq2_xs_to_float,
                        .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_iq2_xs_q8_k},
    [TL_TYPE_IQ3_XXS] = {.name = "iq3_xxs", .block_size = QK_K,
                         .block_bytes = sizeof(block_iq3_xxs), .is_quantized = true,
                         .to_float = tl_iq3_xxs_to_float, .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_iq3_xxs_q8_k},
    [TL_TYPE_IQ1_S] = {.name = "iq1_s", .block_size = QK_K, .block_bytes = sizeof(block_iq1_s),
                       .is_quantized = true, .to_float = tl_iq1_s_to_float, .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_iq1_s_q8_k},
    [TL_TYPE_IQ4_NL] = {.name = "iq4_nl", .block_size = QK, .block_bytes = sizeof(block_iq4_nl),
                        .is_quantized = true, .to_float = tl_iq4_nl_to_float,
                        .from_float = tl_iq4_nl_from_float,
                        .vec_dot_type = TL_TYPE_Q8_0, .vec_dot = tl_vec_dot_iq4_nl_q8_0},
    [TL_TYPE_IQ3_S] = {.name = "iq3_s", .block_size = QK_K, .block_bytes = sizeof(block_iq3_s),
                       .is_quantized = true, .to_float = tl_iq3_s_to_float,
                       .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_iq3_s_q8_k},
    [TL_TYPE_IQ2_S] = {.name = "iq2_s", .block_size = QK_K, .block_bytes = sizeof(block_iq2_s),
                       .is_quantized = true, .to_float = tl_iq2_s_to_float, .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_iq2_s_q8_k},
    [TL_TYPE_IQ4_XS] = {.name = "iq4_xs", .block_size = QK_K, .block_bytes = sizeof(block_iq4_xs),
                        .is_quantized = true, .to_float = tl_iq4_xs_to_float,
                        .from_float = tl_iq4_xs_from_float,
                        .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_iq4_xs_q8_k},
    [TL_TYPE_I8] = {.name = "i8", .block_size = 1, .block_bytes = sizeof(int8_t),
                    .vec_dot_type = TL_TYPE_I8},
    [TL_TYPE_I16] = {.name = "i16", .block_size = 1, .block_bytes = sizeof(int16_t),
                     .vec_dot_type = TL_TYPE_I16},
    [TL_TYPE_I32] = {.name = "i32", .block_size = 1, .block_bytes = sizeof(int32_t),
                     .vec_dot_type = TL_TYPE_I32},
    [TL_TYPE_I64] = {.name = "i64", .block_size = 1, .block_bytes = sizeof(int64_t),
                     .vec_dot_type = TL_TYPE_I64},
    [TL_TYPE_F64] = {.name = "f64", .block_size = 1, .block_bytes = sizeof(double),
                     .vec_dot_type = TL_TYPE_F64},
    [TL_TYPE_IQ1_M] = {.name = "iq1_m", .block_size = QK_K, .block_bytes = sizeof(block_iq1_m),
                       .is_quantized = true, .to_float = tl_iq1_m_to_float, .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_iq1_m_q8_k},
    [TL_TYPE_TQ1_0] = {.name = "tq1_0", .block_size = QK_K, .block_bytes = sizeof(block_tq1_0),
                       .is_quantized = true, .to_float = tl_tq1_0_to_float, .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_tq1_0_q8_k},
    [TL_TYPE_TQ2_0] = {.name = "tq2_0", .block_size = QK_K, .block_bytes = sizeof(block_tq2_0),
                       .is_quantized = true, .to_float = tl_tq2_0_to_float, .vec_dot_type = TL_TYPE_Q8_K, .vec_dot = tl_vec_dot_tq2_0_q8_k},
    [TL_TYPE_MXFP4] = {.name = "mxfp4", .block_size = QK, .block_bytes = sizeof(block_mxfp4),
                       .is_quantized = true, .vec_dot_type = TL_TYPE_Q8_0},
};
// clang-format on

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
