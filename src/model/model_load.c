/*
 * model_load.c — from a validated GGUF file to a tl_model.
 *
 * Reads the hyper-parameters from the `<arch>.*` keys, finds every tensor the
 * architecture description asks for, checks its shape and type, and records
 * where its data is. Every problem is reported as one line naming the file
 * and the key or tensor at fault.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/family.h"
#include "model/loader.h"
#include "tensor/types.h"
#include "util/error.h"

static tl_status read_hparams(tl_loader *ld) {
    tl_model *m = ld->m;
    tl_hparams *hp = &m->hp;
    memset(hp, 0, sizeof *hp);
    hp->norm_eps = 1e-5f;

    TL_TRY(tl_loader_shape_hparams(ld));
    TL_TRY(tl_loader_rope_hparams(ld));
    const char *eps_key =
        m->arch->norm == TL_NORM_RMS ? "attention.layer_norm_rms_epsilon" : "attention.layer_norm_epsilon";
    TL_TRY(tl_loader_f32(ld, eps_key, false, &hp->norm_eps));
    if (!(hp->norm_eps >= 0))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: %s%s must not be negative", ld->path, ld->prefix, eps_key);

    /* RoPE scaling: a factor divides positions ("linear", llama.cpp's default
     * type). The Llama 3 scheme arrives as a rope_freqs.weight tensor and
     * LongRoPE as rope_factors_long/short (read with the tensors) plus an
     * attention factor; YaRN is not implemented. */
    const char *scaling = tl_loader_str(ld, "rope.scaling.type");
    if (scaling && strcmp(scaling, "linear") != 0 && strcmp(scaling, "none") != 0 && strcmp(scaling, "llama3") != 0 &&
        strcmp(scaling, "longrope") != 0)
        return tl_fail(ld->err, TL_ERR_UNSUPPORTED, "%s: rope.scaling.type '%s' is not supported", ld->path, scaling);
    float factor = 0.0f;
    TL_TRY(tl_loader_f32(ld, "rope.scaling.factor", false, &factor));
    if (factor < 0) return tl_fail(ld->err, TL_ERR_FORMAT, "%s: rope.scaling.factor must be positive", ld->path);
    if (factor > 0 && !(scaling && strcmp(scaling, "none") == 0)) hp->rope_freq_scale = 1.0f / factor;
    TL_TRY(tl_loader_f32(ld, "rope.scaling.attn_factor", false, &hp->rope_attn_factor));
    hp->n_ctx_orig = hp->n_ctx_train;
    TL_TRY(tl_loader_u32(ld, "rope.scaling.original_context_length", false, &hp->n_ctx_orig));

    /* Attention: query scale, soft-capping, sliding window. */
    const tl_arch *a = m->arch;
    hp->attn_scale = 1.0f / sqrtf((float)hp->head_dim);
    if (a->wide_scale_layers && hp->n_layer == a->wide_scale_layers)
        hp->attn_scale = 1.0f / sqrtf((float)(hp->n_embd / hp->n_head));
    hp->attn_softcap = a->attn_softcap;
    hp->final_softcap = a->final_softcap;
    if (a->reads_softcap_keys) {
        if (a->attn_softcap > 0) TL_TRY(tl_loader_f32(ld, "attn_logit_softcapping", false, &hp->attn_softcap));
        TL_TRY(tl_loader_f32(ld, "final_logit_softcapping", false, &hp->final_softcap));
    }
    if (hp->attn_softcap < 0 || hp->final_softcap < 0)
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: soft-capping values must not be negative", ld->path);
    hp->n_swa = a->default_swa;
    TL_TRY(tl_loader_u32(ld, "attention.sliding_window", false, &hp->n_swa));
    if (a->swa_ignored || a->swa_pattern == 0) hp->n_swa = 0;
    hp->rope_theta_swa = a->swa_rope_theta > 0 ? a->swa_rope_theta : hp->rope_theta;
    if (a->swa_rope_theta > 0) TL_TRY(tl_loader_f32(ld, "rope.freq_base_swa", false, &hp->rope_theta_swa));
    if (!(hp->rope_theta_swa > 0))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: rope.freq_base_swa must be positive", ld->path);

    return tl_loader_pooling(ld);
}

/* Which layers are local: <arch>.attention.sliding_window_pattern as a
 * number n (all but the last layer of each group of n) or as one boolean per
 * layer, else the architecture's default n. */
static tl_status read_swa_layers(tl_loader *ld) {
    tl_model *m = ld->m;
    const uint32_t n_layer = m->hp.n_layer;
    char key[160];
    snprintf(key, sizeof key, "%sattention.sliding_window_pattern", ld->prefix);
    gguf_value_type elem;
    uint64_t count;
    uint32_t pattern = m->arch->swa_pattern;
    if (gguf_get_arr_info(m->file, key, &elem, &count)) {
        if (count != n_layer || (elem != GGUF_TYPE_BOOL && elem != GGUF_TYPE_INT8 && elem != GGUF_TYPE_UINT8))
            return tl_fail(ld->err, TL_ERR_FORMAT, "%s: '%s' must hold one boolean per layer (%u)", ld->path, key,
                           n_layer);
        const uint8_t *flags = gguf_get_arr_data(m->file, key);
        for (uint32_t il = 0; il < n_layer; il++) m->layers[il].is_swa = m->hp.n_swa > 0 && flags[il] != 0;
        return TL_OK;
    }
    TL_TRY(tl_loader_u32(ld, "attention.sliding_window_pattern", false, &pattern));
    for (uint32_t il = 0; il < n_layer; il++)
        m->layers[il].is_swa = m->hp.n_swa > 0 && pattern > 0 && il % pattern < pattern - 1;
    return TL_OK;
}

/* Rows [first, first + n) of a matrix as a matrix of its own (no copy). */
static tl_matrix row_view(const tl_matrix *whole, int64_t first, int64_t n) {
    tl_matrix v = *whole;
    v.data = (const uint8_t *)whole->data + (size_t)first * whole->row_bytes;
    v.n_rows = n;
    return v;
}

/* Per-head q/k norm weights: [head_dim] shared by all heads, or one row per
 * head; *stride says which (0 or head_dim). */
static tl_status load_head_norm(tl_loader *ld, const char *name, uint32_t n_heads, tl_presence presence,
                                const float **out, uint32_t *stride) {
    const tl_hparams *hp = &ld->m->hp;
    uint32_t n_dims;
    int64_t ne[4];
    tl_loader_shape(ld, name, &n_dims, ne);
    const bool per_head = n_dims == 2 && ne[1] == (int64_t)n_heads;
    if (per_head)
        TL_TRY(tl_loader_rows(ld, name, hp->head_dim, n_heads, presence, out));
    else
        TL_TRY(tl_loader_vector(ld, name, hp->head_dim, presence, out));
    if (*out) *stride = per_head ? hp->head_dim : 0;
    return TL_OK;
}

static tl_status load_tensors(tl_loader *ld) {
    tl_model *m = ld->m;
    const tl_arch *a = m->arch;
    const tl_hparams *hp = &m->hp;
    const int64_t n_embd = hp->n_embd, n_vocab = hp->n_vocab, n_ff = hp->n_ff;
    const int64_t q_dim = (int64_t)hp->n_head * hp->head_dim;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    const tl_presence norm_bias = a->norm == TL_NORM_LAYER ? TL_REQUIRED : TL_ABSENT;

    TL_TRY(tl_loader_matrix(ld, "token_embd.weight", n_embd, n_vocab, TL_REQUIRED, &m->token_embd));
    TL_TRY(tl_loader_vector(ld, "output_norm.weight", n_embd, TL_REQUIRED, &m->output_norm));
    TL_TRY(tl_loader_vector(ld, "output_norm.bias", n_embd, norm_bias, &m->output_norm_bias));
    TL_TRY(tl_loader_matrix(ld, "output.weight", n_embd, n_vocab, a->tied_output_allowed ? TL_OPTIONAL : TL_REQUIRED,
                            &m->output));
    if (!m->output.data) m->output = m->token_embd;
    TL_TRY(tl_loader_vector(ld, "rope_freqs.weight", hp->n_rot / 2, TL_OPTIONAL, &m->rope_freq_factors));
    TL_TRY(tl_loader_vector(ld, "rope_factors_long.weight", hp->n_rot / 2, TL_OPTIONAL, &m->rope_long));
    TL_TRY(tl_loader_vector(ld, "rope_factors_short.weight", hp->n_rot / 2, TL_OPTIONAL, &m->rope_short));

    m->layers = calloc(hp->n_layer, sizeof *m->layers);
    if (!m->layers) return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory", ld->path);
    TL_TRY(read_swa_layers(ld));

    char name[128];
    uint32_t n_dims;
    int64_t ne[4];
#define LAYER_TENSOR(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        tl_layer_weights *L = &m->layers[il];
        TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("attn_norm.weight"), n_embd, TL_REQUIRED, &L->attn_norm));
        TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("attn_norm.bias"), n_embd, norm_bias, &L->attn_norm_bias));
        tl_loader_shape(ld, LAYER_TENSOR("attn_qkv.weight"), &n_dims, ne);
        if (n_dims) { /* fused q/k/v: one matrix, three row ranges */
            tl_matrix qkv;
            TL_TRY(tl_loader_matrix(ld, name, n_embd, q_dim + 2 * kv_dim, TL_REQUIRED, &qkv));
            L->wq = row_view(&qkv, 0, q_dim);
            L->wk = row_view(&qkv, q_dim, kv_dim);
            L->wv = row_view(&qkv, q_dim + kv_dim, kv_dim);
        } else {
            TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("attn_q.weight"), n_embd, q_dim, TL_REQUIRED, &L->wq));
            TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("attn_k.weight"), n_embd, kv_dim, TL_REQUIRED, &L->wk));
            TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("attn_v.weight"), n_embd, kv_dim, TL_REQUIRED, &L->wv));
        }
        TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("attn_output.weight"), q_dim, n_embd, TL_REQUIRED, &L->wo));
        if (a->qkv_bias != TL_ABSENT) {
            TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("attn_q.bias"), q_dim, a->qkv_bias, &L->bq));
            TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("attn_k.bias"), kv_dim, a->qkv_bias, &L->bk));
            TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("attn_v.bias"), kv_dim, a->qkv_bias, &L->bv));
        }
        if (a->output_bias != TL_ABSENT)
            TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("attn_output.bias"), n_embd, a->output_bias, &L->bo));
        if (a->qk_norm != TL_ABSENT) {
            uint32_t q_stride = 0, k_stride = 0;
            TL_TRY(
                load_head_norm(ld, LAYER_TENSOR("attn_q_norm.weight"), hp->n_head, a->qk_norm, &L->q_norm, &q_stride));
            TL_TRY(load_head_norm(ld, LAYER_TENSOR("attn_k_norm.weight"), hp->n_head_kv, a->qk_norm, &L->k_norm,
                                  &k_stride));
            /* (with one KV head, shared and per-head k norms are the same) */
            if ((L->q_norm == NULL) != (L->k_norm == NULL) || (q_stride != k_stride && hp->n_head_kv > 1))
                return tl_fail(ld->err, TL_ERR_FORMAT,
                               "%s: blk.%u.attn_q_norm and attn_k_norm must both be present, shared or per head",
                               ld->path, il);
            m->qk_norm_stride = q_stride;
        }
        if (a->post_norms != TL_ABSENT) {
            TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("post_attention_norm.weight"), n_embd, a->post_norms,
                                    &L->attn_post_norm));
            TL_TRY(
                tl_loader_vector(ld, LAYER_TENSOR("post_ffw_norm.weight"), n_embd, a->post_norms, &L->ffn_post_norm));
        }
        TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("ffn_norm.weight"), n_embd, a->ffn_norm, &L->ffn_norm));
        if (L->ffn_norm)
            TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("ffn_norm.bias"), n_embd, norm_bias, &L->ffn_norm_bias));
        tl_loader_shape(ld, LAYER_TENSOR("ffn_gate.weight"), &n_dims, ne);
        if (n_dims) {
            TL_TRY(tl_loader_matrix(ld, name, n_embd, n_ff, TL_REQUIRED, &L->ffn_gate));
            TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("ffn_up.weight"), n_embd, n_ff, TL_REQUIRED, &L->ffn_up));
        } else { /* fused gate and up (Phi-3): gate rows first */
            tl_matrix gate_up;
            TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("ffn_up.weight"), n_embd, 2 * n_ff, TL_REQUIRED, &gate_up));
            L->ffn_gate = row_view(&gate_up, 0, n_ff);
            L->ffn_up = row_view(&gate_up, n_ff, n_ff);
        }
        TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("ffn_down.weight"), n_ff, n_embd, TL_REQUIRED, &L->ffn_down));
    }
#undef LAYER_TENSOR
    return TL_OK;
}

tl_model_params tl_model_default_params(void) {
    tl_model_params p = {.vocab_only = false};
    return p;
}

void tl_model_free(tl_model *m) {
    if (!m) return;
    if (m->arch && m->arch->ops && m->arch->ops->free_model) m->arch->ops->free_model(m);
    for (size_t i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    tl_vocab_free(m->vocab);
    gguf_close(m->file);
    free(m->arch_name);
    free(m->path);
    free(m);
}

tl_status tl_model_load(const char *path, const tl_model_params *params, tl_model **out, tl_error *err) {
    *out = NULL;
    if (!path) return tl_fail(err, TL_ERR_ARGUMENT, "no model path given");
    tl_model_params defaults = tl_model_default_params();
    if (!params) params = &defaults;

    tl_model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        return tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", path);
    }
    m->vocab_only = params->vocab_only;
    tl_loader ld = {.m = m, .path = path, .err = err};

    tl_status st = gguf_open(path, &m->file, err);
    if (st != TL_OK) goto fail;

    const char *arch_name = gguf_get_str(m->file, "general.architecture");
    if (!arch_name) {
        st = tl_fail(err, TL_ERR_FORMAT, "%s: missing required key 'general.architecture'", path);
        goto fail;
    }
    if (!(m->arch_name = strdup(arch_name))) {
        st = tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    m->arch = tl_arch_find(arch_name);
    if (!m->arch && !params->vocab_only) {
        st = tl_fail(err, TL_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (supported: %s)", path, arch_name,
                     tl_arch_supported_list());
        goto fail;
    }
    snprintf(ld.prefix, sizeof ld.prefix, "%s.", arch_name);

    st = tl_vocab_load(m->file, &m->vocab, err);
    if (st != TL_OK) {
        /* The vocabulary reports the key at fault; add the file. */
        if (err) {
            char reason[sizeof err->message];
            memcpy(reason, err->message, sizeof reason);
            tl_fail(err, st, "%s: %s", path, reason);
        }
        goto fail;
    }
    if (params->vocab_only) {
        *out = m;
        return TL_OK;
    }
    m->pooling = TL_POOLING_NONE;
    m->decoder_start = -1;
    ld.tensor_used = calloc((size_t)gguf_tensor_count(m->file) + 1, sizeof *ld.tensor_used);
    if (!ld.tensor_used) {
        st = tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (m->arch->ops)
        st = m->arch->ops->load(&ld);
    else if ((st = read_hparams(&ld)) == TL_OK)
        st = load_tensors(&ld);
    if (st != TL_OK) goto fail;
    /* Only the tensors the model uses: a file may also hold others, of any
     * size, which are never read. */
    gguf_prefetch_tensors(m->file, ld.tensor_used);
    free(ld.tensor_used);
    *out = m;
    return TL_OK;

fail:
    free(ld.tensor_used);
    tl_model_free(m);
    return st;
}
