/*
 * synth_tensors.c — the tensor helpers every `tinyllm synth` family writer
 * uses (see synth_internal.h): deterministic values, llama-quantize's choice
 * of type per tensor, quantizing and adding a tensor to the file.
 *
 * Weights are uniform pseudo-random numbers scaled like a trained network's
 * (std ≈ 1/sqrt(fan-in)), so activations and logits have realistic ranges.
 * Each tensor's generator is seeded from the seed and the tensor's name, so
 * a tensor's values do not depend on which other tensors exist.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/synth_internal.h"
#include "tensor/types.h"
#include "util/error.h"

/* splitmix64: tiny, fast, and identical everywhere. */
static uint64_t next_u64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t name_seed(uint64_t seed, const char *name) {
    uint64_t h = 1469598103934665603ull ^ seed; /* FNV-1a over the name */
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

/* n values uniform in [center - spread, center + spread). */
static void fill_uniform(float *x, size_t n, uint64_t seed, const char *name, float center, float spread) {
    uint64_t state = name_seed(seed, name);
    for (size_t i = 0; i < n; i++) {
        float u = (float)(next_u64(&state) >> 40) * (1.0f / 16777216.0f); /* [0, 1) */
        x[i] = center + spread * (2.0f * u - 1.0f);
    }
}

/* ---- which type each tensor gets ---------------------------------------- */

/* The file types llama-quantize writes, by the name users give them: a base
 * type plus llama.cpp's rules for which tensors get more bits. */

const synth_plan_entry synth_plans[] = {
    {"f32", {MIX_PLAIN, TL_TYPE_F32, 0}},       {"f16", {MIX_PLAIN, TL_TYPE_F16, 1}},
    {"bf16", {MIX_PLAIN, TL_TYPE_BF16, 32}},    {"q4_0", {MIX_PLAIN, TL_TYPE_Q4_0, 2}},
    {"q4_1", {MIX_PLAIN, TL_TYPE_Q4_1, 3}},     {"q8_0", {MIX_PLAIN, TL_TYPE_Q8_0, 7}},
    {"q5_0", {MIX_PLAIN, TL_TYPE_Q5_0, 8}},     {"q5_1", {MIX_PLAIN, TL_TYPE_Q5_1, 9}},
    {"q2_k", {MIX_Q2_K, TL_TYPE_Q2_K, 10}},     {"q3_k_m", {MIX_Q3_K_M, TL_TYPE_Q3_K, 12}},
    {"q4_k_m", {MIX_Q4_K_M, TL_TYPE_Q4_K, 15}}, {"q5_k_m", {MIX_Q5_K_M, TL_TYPE_Q5_K, 17}},
    {"q6_k", {MIX_Q6_K, TL_TYPE_Q6_K, 18}},     {"iq4_nl", {MIX_IQ4, TL_TYPE_IQ4_NL, 25}},
    {"iq4_xs", {MIX_IQ4, TL_TYPE_IQ4_XS, 30}},  {NULL, {MIX_PLAIN, 0, 0}},
};

/* llama.cpp's "use more bits" layers: the first and last eighth, and every
 * third layer between. */
static bool more_bits(uint32_t layer, uint32_t n_layer) {
    const int i = (int)layer, n = (int)n_layer;
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* A K type (or iq4_xs) whose 256-element blocks do not fit the rows falls
 * back to a 32-element type, as llama-quantize does. */
static uint32_t fit_rows(uint32_t type, int64_t n_cols) {
    if (n_cols % tl_type_traits_of(type)->block_size == 0) return type;
    switch (type) {
    case TL_TYPE_Q2_K:
    case TL_TYPE_Q3_K: return TL_TYPE_Q4_0;
    case TL_TYPE_Q4_K: return TL_TYPE_Q5_0;
    case TL_TYPE_Q5_K: return TL_TYPE_Q5_1;
    case TL_TYPE_Q6_K: return TL_TYPE_Q8_0;
    case TL_TYPE_IQ4_XS: return fit_rows(TL_TYPE_IQ4_NL, n_cols);
    default: return TL_TYPE_F16;
    }
}

/* The type of one matrix, following llama.cpp's llama_tensor_get_type for
 * these mixtures (dense models, no experts). */
static uint32_t tensor_type(const type_plan *plan, tensor_role role, uint32_t layer, uint32_t n_layer, uint32_t n_gqa,
                            bool tied, int64_t n_cols) {
    uint32_t t = plan->base;
    if (plan->mix == MIX_PLAIN) return t;
    if (role == ROLE_OUTPUT || (tied && role == ROLE_TOKEN_EMBD))
        return n_cols % 256 != 0 ? TL_TYPE_Q8_0 : TL_TYPE_Q6_K;
    switch (role) {
    case ROLE_ATTN_V:
        if (plan->mix == MIX_Q2_K)
            t = n_gqa >= 4 ? TL_TYPE_Q4_K : TL_TYPE_Q3_K;
        else if (plan->mix == MIX_Q3_K_M)
            t = layer < 2 ? TL_TYPE_Q5_K : TL_TYPE_Q4_K;
        else if ((plan->mix == MIX_Q4_K_M || plan->mix == MIX_Q5_K_M) && more_bits(layer, n_layer))
            t = TL_TYPE_Q6_K;
        else if (plan->mix == MIX_IQ4 && n_gqa >= 4)
            t = TL_TYPE_Q5_K;
        break;
    case ROLE_FFN_DOWN:
        if (plan->mix == MIX_Q2_K)
            t = TL_TYPE_Q3_K;
        else if (plan->mix == MIX_Q3_K_M)
            t = layer < n_layer / 16 ? TL_TYPE_Q5_K : TL_TYPE_Q4_K;
        else if ((plan->mix == MIX_Q4_K_M || plan->mix == MIX_Q5_K_M) && more_bits(layer, n_layer))
            t = TL_TYPE_Q6_K;
        else if (plan->mix == MIX_IQ4 && layer < n_layer / 8) /* without an importance matrix */
            t = TL_TYPE_Q5_K;
        break;
    case ROLE_ATTN_QKV:
        if (plan->mix == MIX_Q3_K_M)
            t = TL_TYPE_Q4_K;
        else if (plan->mix == MIX_Q4_K_M)
            t = TL_TYPE_Q5_K;
        else if (plan->mix == MIX_Q5_K_M)
            t = TL_TYPE_Q6_K;
        break;
    case ROLE_ATTN_OUTPUT:
        if (plan->mix == MIX_Q2_K)
            t = TL_TYPE_Q3_K;
        else if (plan->mix == MIX_Q3_K_M)
            t = TL_TYPE_Q4_K;
        break;
    default: break;
    }
    return fit_rows(t, n_cols);
}

const char *synth_key(synth_writer *s, const char *suffix) {
    snprintf(s->key, sizeof s->key, "%s.%s", s->preset->arch, suffix);
    return s->key;
}

tl_status synth_add_tensor(synth_writer *s, const char *name, uint32_t type, int64_t n_cols, int64_t n_rows,
                           float center, float spread) {
    const size_t n = (size_t)(n_cols * n_rows);
    float *values = malloc(n * sizeof *values);
    if (!values) return tl_fail(s->err, TL_ERR_NOMEM, "out of memory generating '%s'", name);
    fill_uniform(values, n, s->opts->seed, name, center, spread);
    const tl_type_traits *t = tl_type_traits_of(type);
    if (!t->from_float) {
        free(values);
        return tl_fail(s->err, TL_ERR_UNSUPPORTED, "tensor type %s cannot be written", t->name);
    }
    void *data = values;
    if (type != TL_TYPE_F32) {
        data = malloc(tl_type_row_bytes(type, n_cols) * (size_t)n_rows);
        if (!data) {
            free(values);
            return tl_fail(s->err, TL_ERR_NOMEM, "out of memory quantizing '%s'", name);
        }
        for (int64_t r = 0; r < n_rows; r++)
            t->from_float(values + r * n_cols, (uint8_t *)data + r * tl_type_row_bytes(type, n_cols), n_cols);
    }
    int64_t ne[2] = {n_cols, n_rows};
    tl_status st = gguf_writer_add_tensor(s->w, name, type, n_rows > 1 ? 2 : 1, ne, data, s->err);
    if (data != values) free(data);
    free(values);
    return st;
}

tl_status synth_add_matrix(synth_writer *s, const char *name, tensor_role role, uint32_t layer, int64_t n_cols,
                           int64_t n_rows, float gain) {
    const tl_synth_preset *p = s->preset;
    const uint32_t type =
        tensor_type(&s->plan, role, layer, p->n_layer, p->n_head / p->n_head_kv, p->tied_output, n_cols);
    /* uniform(-a, a) has std a/sqrt(3): a = gain*sqrt(3/fan_in) gives std gain/sqrt(fan_in). */
    return synth_add_tensor(s, name, type, n_cols, n_rows, 0.0f, gain * sqrtf(3.0f / (float)n_cols));
}

tl_status synth_add_norm(synth_writer *s, const char *name, int64_t n) {
    return synth_add_tensor(s, name, TL_TYPE_F32, n, 1, 1.0f, 0.1f);
}

tl_status synth_add_bias(synth_writer *s, const char *name, int64_t n) {
    return synth_add_tensor(s, name, TL_TYPE_F32, n, 1, 0.0f, 0.5f);
}

uint32_t synth_embedding_type(synth_writer *s, int64_t n_cols) {
    const tl_synth_preset *p = s->preset;
    return tensor_type(&s->plan, ROLE_TOKEN_EMBD, 0, p->n_layer, p->n_head / p->n_head_kv, p->tied_output, n_cols);
}
