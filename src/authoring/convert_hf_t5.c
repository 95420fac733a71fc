/*
 * convert_hf_t5.c — the T5 part of `tinyllm convert`
 * (T5ForConditionalGeneration: T5, FLAN-T5), as llama.cpp's converter
 * (T5Model) writes it: config.json's T5 names (d_model, d_ff, num_layers,
 * num_decoder_layers, num_heads, d_kv, layer_norm_epsilon,
 * relative_attention_num_buckets, decoder_start_token_id, n_positions) to
 * the t5.* keys; T5's tensor names to llama.cpp's enc./dec. ones; the
 * shapes each must have and the tensors the model needs.
 *
 * The shared embedding is saved as "shared.weight", "encoder.embed_tokens
 * .weight" or "decoder.embed_tokens.weight" (sometimes several of them):
 * all map to token_embd and the converter keeps the first (convert_hf.c).
 * lm_head.weight, when present, is the output matrix; a tied model without
 * it has none (the runtime reuses token_embd).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/convert_hf_internal.h"
#include "util/error.h"

/* The relative-position buckets of T5 reach this far (tinyllm's and
 * llama.cpp's T5 attention assume it; GGUF has no key for it). */
#define T5_MAX_DISTANCE 128

static const cJSON *item_of(const hf_converter *c, const char *name) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(c->config, name);
    return cJSON_IsNull(item) ? NULL : item;
}

tl_status hf_t5_read_config(hf_converter *c) {
    const char *dir = c->params->hf_dir;
    hf_params *p = &c->hp;
    TL_TRY(hf_config_int(c, "vocab_size", -1, &p->n_vocab));
    TL_TRY(hf_config_int(c, "d_model", -1, &p->n_embd));
    TL_TRY(hf_config_int(c, "d_ff", -1, &p->n_ff));
    TL_TRY(hf_config_int(c, "num_layers", -1, &p->n_layer));
    TL_TRY(hf_config_int(c, "num_decoder_layers", p->n_layer, &p->n_layer_dec));
    TL_TRY(hf_config_int(c, "num_heads", -1, &p->n_head));
    TL_TRY(hf_config_int(c, "d_kv", -1, &p->head_dim));
    TL_TRY(hf_config_int(c, "relative_attention_num_buckets", -1, &p->n_rel_buckets));
    TL_TRY(hf_config_int(c, "n_positions", 512, &p->n_ctx));
    p->n_head_kv = p->n_head;
    p->n_rot = 0;
    p->n_token_types = 1;
    if (p->n_rel_buckets < 4 || p->n_rel_buckets > 65536)
        return tl_fail(c->err, TL_ERR_FORMAT,
                       "%s/config.json: relative_attention_num_buckets %lld is out of range (4..65536)", dir,
                       (long long)p->n_rel_buckets);
    if (p->n_head * p->head_dim > 1 << 20 || p->n_layer_dec > 4096 || p->n_layer > 4096)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: %lld heads of %lld, %lld+%lld layers are out of range",
                       dir, (long long)p->n_head, (long long)p->head_dim, (long long)p->n_layer,
                       (long long)p->n_layer_dec);
    const cJSON *distance = item_of(c, "relative_attention_max_distance");
    if (distance && (!cJSON_IsNumber(distance) || distance->valuedouble != T5_MAX_DISTANCE))
        return tl_fail(c->err, TL_ERR_UNSUPPORTED,
                       "%s/config.json: relative_attention_max_distance must be %d (T5's; GGUF has no key for it)", dir,
                       T5_MAX_DISTANCE);
    const cJSON *eps = item_of(c, "layer_norm_epsilon");
    if (!cJSON_IsNumber(eps) || eps->valuedouble <= 0 || eps->valuedouble >= 1)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: \"layer_norm_epsilon\" is %s", dir,
                       eps ? "not a number in (0, 1)" : "missing");
    p->norm_eps = eps->valuedouble;
    const cJSON *start = item_of(c, "decoder_start_token_id");
    if (!cJSON_IsNumber(start) || start->valuedouble < 0 || start->valuedouble >= (double)p->n_vocab ||
        start->valuedouble != (double)(int64_t)start->valuedouble)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: \"decoder_start_token_id\" is %s", dir,
                       start ? "not a token id" : "missing");
    p->decoder_start = (int64_t)start->valuedouble;
    /* T5Config: "relu" by default, "gated-gelu" for FLAN-T5 and T5 v1.1 */
    const cJSON *proj = item_of(c, "feed_forward_proj");
    const char *ffn = cJSON_IsString(proj) ? proj->valuestring : proj ? "" : "relu";
    if (strcmp(ffn, "relu") != 0 && strcmp(ffn, "gated-gelu") != 0)
        return tl_fail(c->err, TL_ERR_UNSUPPORTED,
                       "%s/config.json: feed_forward_proj '%.40s' is not supported (\"relu\" or \"gated-gelu\")", dir,
                       ffn);
    p->gated_ffn = strcmp(ffn, "gated-gelu") == 0;
    const cJSON *tie = item_of(c, "tie_word_embeddings");
    p->tied_embeddings = cJSON_IsBool(tie) ? cJSON_IsTrue(tie) : true; /* T5Config's default */
    return TL_OK;
}

void hf_t5_write_keys(hf_converter *c) {
    const hf_params *p = &c->hp;
    gguf_writer *w = c->w;
    gguf_writer_set_u32(w, hf_arch_key(c, "context_length"), (uint32_t)p->n_ctx);
    gguf_writer_set_u32(w, hf_arch_key(c, "embedding_length"), (uint32_t)p->n_embd);
    gguf_writer_set_u32(w, hf_arch_key(c, "feed_forward_length"), (uint32_t)p->n_ff);
    gguf_writer_set_u32(w, hf_arch_key(c, "block_count"), (uint32_t)p->n_layer);
    if (item_of(c, "num_decoder_layers"))
        gguf_writer_set_u32(w, hf_arch_key(c, "decoder_block_count"), (uint32_t)p->n_layer_dec);
    gguf_writer_set_u32(w, hf_arch_key(c, "attention.head_count"), (uint32_t)p->n_head);
    gguf_writer_set_u32(w, hf_arch_key(c, "attention.key_length"), (uint32_t)p->head_dim);
    gguf_writer_set_u32(w, hf_arch_key(c, "attention.value_length"), (uint32_t)p->head_dim);
    gguf_writer_set_f32(w, hf_arch_key(c, "attention.layer_norm_epsilon"), (float)p->norm_eps);
    gguf_writer_set_u32(w, hf_arch_key(c, "attention.relative_buckets_count"), (uint32_t)p->n_rel_buckets);
    gguf_writer_set_f32(w, hf_arch_key(c, "attention.layer_norm_rms_epsilon"), (float)p->norm_eps);
    gguf_writer_set_u32(w, hf_arch_key(c, "decoder_start_token_id"), (uint32_t)p->decoder_start);
}

/* Names inside "<stack>.block.N.", mapped to names inside "<enc|dec>.blk.N."
 * (gguf-py's tensor mapping for MODEL_ARCH.T5). */
static const struct {
    bool decoder;
    const char *hf, *gguf;
} block_names[] = {
    {false, "layer.0.layer_norm", "attn_norm"},
    {false, "layer.0.SelfAttention.q", "attn_q"},
    {false, "layer.0.SelfAttention.k", "attn_k"},
    {false, "layer.0.SelfAttention.v", "attn_v"},
    {false, "layer.0.SelfAttention.o", "attn_o"},
    {false, "layer.0.SelfAttention.relative_attention_bias", "attn_rel_b"},
    {false, "layer.1.layer_norm", "ffn_norm"},
    {false, "layer.1.DenseReluDense.wi", "ffn_up"},
    {false, "layer.1.DenseReluDense.wi_0", "ffn_gate"},
    {false, "layer.1.DenseReluDense.wi_1", "ffn_up"},
    {false, "layer.1.DenseReluDense.wo", "ffn_down"},
    {true, "layer.0.layer_norm", "attn_norm"},
    {true, "layer.0.SelfAttention.q", "attn_q"},
    {true, "layer.0.SelfAttention.k", "attn_k"},
    {true, "layer.0.SelfAttention.v", "attn_v"},
    {true, "layer.0.SelfAttention.o", "attn_o"},
    {true, "layer.0.SelfAttention.relative_attention_bias", "attn_rel_b"},
    {true, "layer.1.layer_norm", "cross_attn_norm"},
    {true, "layer.1.EncDecAttention.q", "cross_attn_q"},
    {true, "layer.1.EncDecAttention.k", "cross_attn_k"},
    {true, "layer.1.EncDecAttention.v", "cross_attn_v"},
    {true, "layer.1.EncDecAttention.o", "cross_attn_o"},
    {true, "layer.1.EncDecAttention.relative_attention_bias", "cross_attn_rel_b"},
    {true, "layer.2.layer_norm", "ffn_norm"},
    {true, "layer.2.DenseReluDense.wi", "ffn_up"},
    {true, "layer.2.DenseReluDense.wi_0", "ffn_gate"},
    {true, "layer.2.DenseReluDense.wi_1", "ffn_up"},
    {true, "layer.2.DenseReluDense.wo", "ffn_down"},
};

bool hf_t5_map_name(const char *hf_name, char *out, size_t out_size, hf_role *role) {
    *role = ROLE_OTHER;
    static const char *const global[][2] = {
        {"shared.weight", "token_embd.weight"},
        {"encoder.embed_tokens.weight", "token_embd.weight"},
        {"decoder.embed_tokens.weight", "token_embd.weight"},
        {"encoder.final_layer_norm.weight", "enc.output_norm.weight"},
        {"decoder.final_layer_norm.weight", "dec.output_norm.weight"},
        {"lm_head.weight", "output.weight"},
    };
    for (size_t i = 0; i < sizeof global / sizeof global[0]; i++)
        if (strcmp(hf_name, global[i][0]) == 0) {
            snprintf(out, out_size, "%s", global[i][1]);
            if (strstr(global[i][1], "norm")) *role = ROLE_NORM;
            return true;
        }
    const bool decoder = strncmp(hf_name, "decoder.block.", 14) == 0;
    if (!decoder && strncmp(hf_name, "encoder.block.", 14) != 0) return false;
    const char *p = hf_name + 14;
    if (*p < '0' || *p > '9') return false;
    char *end;
    const unsigned long layer = strtoul(p, &end, 10);
    if (*end != '.' || layer > 100000) return false;
    const char *inner = end + 1, *dot = strrchr(inner, '.');
    if (!dot || strcmp(dot, ".weight") != 0) return false;
    const size_t inner_len = (size_t)(dot - inner);
    for (size_t i = 0; i < sizeof block_names / sizeof block_names[0]; i++) {
        if (block_names[i].decoder != decoder || strlen(block_names[i].hf) != inner_len ||
            strncmp(inner, block_names[i].hf, inner_len) != 0)
            continue;
        snprintf(out, out_size, "%s.blk.%lu.%s.weight", decoder ? "dec" : "enc", layer, block_names[i].gguf);
        if (strstr(block_names[i].gguf, "norm")) *role = ROLE_NORM;
        return true;
    }
    return false;
}

bool hf_t5_expected_shape(const char *gguf_name, const hf_params *p, int64_t *rows, int64_t *cols) {
    const int64_t d = p->n_embd, inner = p->n_head * p->head_dim;
    const char *base = gguf_name;
    if (strncmp(base, "enc.", 4) == 0 || strncmp(base, "dec.", 4) == 0) base += 4;
    if (strncmp(base, "blk.", 4) == 0) {
        base = strchr(base + 4, '.');
        if (!base) return false;
        base++;
    }
    const struct {
        const char *name;
        int64_t rows, cols;
    } shapes[] = {
        {"token_embd", p->n_vocab, d},
        {"output", p->n_vocab, d},
        {"output_norm", d, 0},
        {"attn_norm", d, 0},
        {"cross_attn_norm", d, 0},
        {"ffn_norm", d, 0},
        {"attn_q", inner, d},
        {"attn_k", inner, d},
        {"attn_v", inner, d},
        {"attn_o", d, inner},
        {"cross_attn_q", inner, d},
        {"cross_attn_k", inner, d},
        {"cross_attn_v", inner, d},
        {"cross_attn_o", d, inner},
        {"attn_rel_b", p->n_rel_buckets, p->n_head},
        {"cross_attn_rel_b", p->n_rel_buckets, p->n_head},
        {"ffn_gate", p->n_ff, d},
        {"ffn_up", p->n_ff, d},
        {"ffn_down", d, p->n_ff},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const size_t n = strlen(shapes[i].name);
        if (strncmp(base, shapes[i].name, n) == 0 && base[n] == '.') {
            *rows = shapes[i].rows;
            *cols = shapes[i].cols;
            return true;
        }
    }
    return false;
}

bool hf_t5_required_tensor(const hf_params *p, int64_t k, char *out, size_t out_size) {
    static const char *const globals[] = {"token_embd.weight", "enc.output_norm.weight", "dec.output_norm.weight",
                                          "output.weight"};
    const int64_t n_globals = p->tied_embeddings ? 3 : 4;
    if (k < n_globals) {
        snprintf(out, out_size, "%s", globals[k]);
        return true;
    }
    k -= n_globals;
    /* per layer: the encoder's then the decoder's list; attn_rel_b in layer 0 */
    static const char *const enc[] = {"attn_norm", "attn_q", "attn_k",   "attn_v",   "attn_o",
                                      "ffn_norm",  "ffn_up", "ffn_down", "ffn_gate", "attn_rel_b"};
    static const char *const dec[] = {"attn_norm",       "attn_q",       "attn_k",       "attn_v",       "attn_o",
                                      "cross_attn_norm", "cross_attn_q", "cross_attn_k", "cross_attn_v", "cross_attn_o",
                                      "ffn_norm",        "ffn_up",       "ffn_down",     "ffn_gate",     "attn_rel_b"};
    const int64_t per_enc = 10, per_dec = 15;
    const bool decoder = k >= p->n_layer * per_enc;
    if (decoder) k -= p->n_layer * per_enc;
    const int64_t per = decoder ? per_dec : per_enc, layer = k / per, i = k % per;
    if (layer >= (decoder ? p->n_layer_dec : p->n_layer)) return false;
    const char *name = decoder ? dec[i] : enc[i];
    /* optional parts, spelled as a required one to keep the count simple */
    if ((strcmp(name, "ffn_gate") == 0 && !p->gated_ffn) || (strcmp(name, "attn_rel_b") == 0 && layer > 0))
        name = "attn_norm";
    snprintf(out, out_size, "%s.blk.%lld.%s.weight", decoder ? "dec" : "enc", (long long)layer, name);
    return true;
}
