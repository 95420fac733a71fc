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

#include "model/model.h"
#include "tensor/types.h"
#include "util/error.h"

/* Remember a heap block the model owns. */
static bool own(tl_model *m, void *p) {
    void **grown = realloc(m->owned, (m->n_owned + 1) * sizeof *grown);
    if (!grown) return false;
    m->owned = grown;
    m->owned[m->n_owned++] = p;
    return true;
}

typedef struct loader {
    tl_model *m;
    const char *path;
    char prefix[96]; /* "<arch>." */
    tl_error *err;
} loader;

static const char *arch_key(loader *ld, const char *suffix, char *buf, size_t size) {
    snprintf(buf, size, "%s%s", ld->prefix, suffix);
    return buf;
}

/* Reads `<arch>.<suffix>` as u32. A missing optional key leaves *out alone;
 * a missing required key, or a value of the wrong kind, is an error. */
static tl_status read_u32(loader *ld, const char *suffix, bool required, uint32_t *out) {
    char key[160];
    arch_key(ld, suffix, key, sizeof key);
    if (gguf_find_key(ld->m->file, key) < 0) {
        if (!required) return TL_OK;
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: missing required key '%s'", ld->path, key);
    }
    if (!gguf_get_u32(ld->m->file, key, out))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: key '%s' is not a non-negative 32-bit integer",
                       ld->path, key);
    return TL_OK;
}

static tl_status read_f32(loader *ld, const char *suffix, bool required, float *out) {
    char key[160];
    arch_key(ld, suffix, key, sizeof key);
    if (gguf_find_key(ld->m->file, key) < 0) {
        if (!required) return TL_OK;
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: missing required key '%s'", ld->path, key);
    }
    if (!gguf_get_f32(ld->m->file, key, out) || !isfinite(*out))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: key '%s' is not a finite number", ld->path, key);
    return TL_OK;
}

#define TRY(expr)                          \
    do {                                   \
        tl_status try_status_ = (expr);    \
        if (try_status_ != TL_OK) return try_status_; \
    } while (0)

static tl_status read_hparams(loader *ld) {
    tl_model *m = ld->m;
    tl_hparams *hp = &m->hp;
    memset(hp, 0, sizeof *hp);
    hp->rope_theta = m->arch->default_rope_theta;
    hp->rope_freq_scale = 1.0f;
    hp->norm_eps = 1e-5f;

    TRY(read_u32(ld, "context_length", true, &hp->n_ctx_train));
    TRY(read_u32(ld, "embedding_length", true, &hp->n_embd));
    TRY(read_u32(ld, "block_count", true, &hp->n_layer));
    TRY(read_u32(ld, "feed_forward_length", true, &hp->n_ff));
    TRY(read_u32(ld, "attention.head_count", true, &hp->n_head));
    hp->n_head_kv = hp->n_head;
    TRY(read_u32(ld, "attention.head_count_kv", false, &hp->n_head_kv));
    TRY(read_f32(ld, "rope.freq_base", false, &hp->rope_theta));
    const char *eps_key = m->arch->norm == TL_NORM_RMS ? "attention.layer_norm_rms_epsilon"
                                                       : "attention.layer_norm_epsilon";
    TRY(read_f32(ld, eps_key, false, &hp->norm_eps));

    if (hp->n_embd == 0 || hp->n_layer == 0 || hp->n_head == 0 || hp->n_head_kv == 0 ||
        hp->n_ff == 0 || hp->n_ctx_train == 0)
        return tl_fail(ld->err, TL_ERR_FORMAT,
                       "%s: hyper-parameters must be positive (embedding_length %u, block_count %u, "
                       "head_count %u, head_count_kv %u, feed_forward_length %u, context_length %u)",
                       ld->path, hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv, hp->n_ff,
                       hp->n_ctx_train);
    if (hp->n_layer > 4096 || hp->n_head > 4096 || hp->n_embd > (1u << 20) || hp->n_ff > (1u << 22))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: hyper-parameters are implausibly large",
                       ld->path);
    if (hp->n_head % hp->n_head_kv != 0)
        return tl_fail(ld->err, TL_ERR_FORMAT,
                       "%s: attention.head_count (%u) is not a multiple of head_count_kv (%u)",
                       ld->path, hp->n_head, hp->n_head_kv);

    hp->head_dim = hp->n_embd / hp->n_head;
    TRY(read_u32(ld, "attention.key_length", false, &hp->head_dim));
    uint32_t value_length = hp->head_dim;
    TRY(read_u32(ld, "attention.value_length", false, &value_length));
    if (value_length != hp->head_dim)
        return tl_fail(ld->err, TL_ERR_UNSUPPORTED,
                       "%s: attention.key_length (%u) differs from value_length (%u)", ld->path,
                       hp->head_dim, value_length);
    if (hp->head_dim == 0 || hp->head_dim > 1024)
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: attention head size %u is invalid", ld->path,
                       hp->head_dim);

    hp->n_rot = hp->head_dim;
    TRY(read_u32(ld, "rope.dimension_count", false, &hp->n_rot));
    if (hp->n_rot == 0 || hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return tl_fail(ld->err, TL_ERR_FORMAT,
                       "%s: rope.dimension_count %u must be even and at most the head size %u",
                       ld->path, hp->n_rot, hp->head_dim);
    if (!(hp->rope_theta > 0))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: rope.freq_base must be positive", ld->path);
    if (!(hp->norm_eps >= 0))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: %s%s must not be negative", ld->path,
                       ld->prefix, eps_key);

    /* RoPE scaling: "linear" divides positions by the factor. The Llama 3
     * scheme arrives as a rope_freqs.weight tensor (read with the tensors);
     * YaRN and LongRoPE are not implemented yet. */
    char key[160];
    const char *scaling = gguf_get_str(m->file, arch_key(ld, "rope.scaling.type", key, sizeof key));
    float factor = 1.0f;
    TRY(read_f32(ld, "rope.scaling.factor", false, &factor));
    if (scaling && strcmp(scaling, "linear") == 0) {
        if (!(factor > 0))
            return tl_fail(ld->err, TL_ERR_FORMAT, "%s: rope.scaling.factor must be positive",
                           ld->path);
        hp->rope_freq_scale = 1.0f / factor;
    } else if (scaling && strcmp(scaling, "none") != 0 && strcmp(scaling, "llama3") != 0) {
        return tl_fail(ld->err, TL_ERR_UNSUPPORTED, "%s: rope.scaling.type '%s' is not supported",
                       ld->path, scaling);
    }

    hp->n_vocab = tl_vocab_n_tokens(m->vocab);
    return TL_OK;
}

static void shape_text(const gguf_tensor *t, char *buf, size_t size) {
    int n = snprintf(buf, size, "[");
    for (uint32_t d = 0; d < t->n_dims && n < (int)size; d++)
        n += snprintf(buf + n, size - (size_t)n, d ? ", %lld" : "%lld", (long long)t->ne[d]);
    if (n < (int)size) snprintf(buf + n, size - (size_t)n, "]");
}

/* Finds a tensor and checks its shape. *found reports presence; absence is
 * an error only when `presence` is TL_REQUIRED. */
static tl_status find_tensor(loader *ld, const char *name, uint32_t n_dims, int64_t ne0,
                             int64_t ne1, tl_presence presence, const gguf_tensor **found) {
    *found = NULL;
    const gguf_tensor *t = gguf_find_tensor(ld->m->file, name);
    if (!t) {
        if (presence == TL_REQUIRED)
            return tl_fail(ld->err, TL_ERR_FORMAT, "%s: missing required tensor '%s'", ld->path,
                           name);
        return TL_OK;
    }
    bool ok = t->ne[0] == ne0 && (n_dims == 1 ? t->n_elements == (uint64_t)ne0
                                              : t->ne[1] == ne1 && t->n_elements == (uint64_t)(ne0 * ne1));
    if (!ok) {
        char got[96];
        shape_text(t, got, sizeof got);
        if (n_dims == 1)
            return tl_fail(ld->err, TL_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected [%lld]",
                           ld->path, name, got, (long long)ne0);
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected [%lld, %lld]",
                       ld->path, name, got, (long long)ne0, (long long)ne1);
    }
    if (!tl_type_is_supported(t->type))
        return tl_fail(ld->err, TL_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, not supported yet",
                       ld->path, name, tl_type_name(t->type) ? tl_type_name(t->type) : "?");
    *found = t;
    return TL_OK;
}

/* Whole tensor to an owned float array (the data is a contiguous run of
 * blocks even when rows do not start on block boundaries). */
static tl_status to_owned_floats(loader *ld, const gguf_tensor *t, float **out) {
    float *f = malloc(t->n_elements * sizeof *f);
    if (!f || !own(ld->m, f)) {
        free(f);
        return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory converting tensor '%s'", ld->path,
                       t->name);
    }
    tl_type_traits_of(t->type)->to_float(t->data, f, (int64_t)t->n_elements);
    *out = f;
    return TL_OK;
}

static tl_status load_vector(loader *ld, const char *name, int64_t n, tl_presence presence,
                             const float **out) {
    const gguf_tensor *t;
    *out = NULL;
    TRY(find_tensor(ld, name, 1, n, 1, presence, &t));
    if (!t) return TL_OK;
    if (t->type == TL_TYPE_F32) {
        *out = t->data; /* the data section is aligned, so floats are too */
        return TL_OK;
    }
    float *f;
    TRY(to_owned_floats(ld, t, &f));
    *out = f;
    return TL_OK;
}

static tl_status load_matrix(loader *ld, const char *name, int64_t n_cols, int64_t n_rows,
                             tl_presence presence, tl_matrix *out) {
    const gguf_tensor *t;
    memset(out, 0, sizeof *out);
    TRY(find_tensor(ld, name, 2, n_cols, n_rows, presence, &t));
    if (!t) return TL_OK;
    const tl_type_traits *tt = tl_type_traits_of(t->type);
    out->name = t->name;
    out->n_cols = n_cols;
    out->n_rows = n_rows;
    if (n_cols % tt->block_size == 0) {
        out->data = t->data;
        out->type = t->type;
    } else {
        /* Rows that cut through quantization blocks (old llama2.c exports):
         * the data is still a valid stream of blocks, so expand it once. */
        float *f;
        TRY(to_owned_floats(ld, t, &f));
        out->data = f;
        out->type = TL_TYPE_F32;
    }
    out->row_bytes = tl_type_row_bytes(out->type, n_cols);
    return TL_OK;
}

static tl_status load_tensors(loader *ld) {
    tl_model *m = ld->m;
    const tl_arch *a = m->arch;
    const tl_hparams *hp = &m->hp;
    const int64_t n_embd = hp->n_embd, n_vocab = hp->n_vocab, n_ff = hp->n_ff;
    const int64_t q_dim = (int64_t)hp->n_head * hp->head_dim;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    const tl_presence norm_bias = a->norm == TL_NORM_LAYER ? TL_REQUIRED : TL_ABSENT;

    TRY(load_matrix(ld, "token_embd.weight", n_embd, n_vocab, TL_REQUIRED, &m->token_embd));
    TRY(load_vector(ld, "output_norm.weight", n_embd, TL_REQUIRED, &m->output_norm));
    TRY(load_vector(ld, "output_norm.bias", n_embd, norm_bias, &m->output_norm_bias));
    TRY(load_matrix(ld, "output.weight", n_embd, n_vocab,
                    a->tied_output_allowed ? TL_OPTIONAL : TL_REQUIRED, &m->output));
    if (!m->output.data) m->output = m->token_embd;
    TRY(load_vector(ld, "rope_freqs.weight", hp->n_rot / 2, TL_OPTIONAL, &m->rope_freq_factors));

    m->layers = calloc(hp->n_layer, sizeof *m->layers);
    if (!m->layers) return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory", ld->path);

    char name[128];
#define LAYER_TENSOR(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        tl_layer_weights *L = &m->layers[il];
        TRY(load_vector(ld, LAYER_TENSOR("attn_norm.weight"), n_embd, TL_REQUIRED, &L->attn_norm));
        TRY(load_vector(ld, LAYER_TENSOR("attn_norm.bias"), n_embd, norm_bias, &L->attn_norm_bias));
        TRY(load_matrix(ld, LAYER_TENSOR("attn_q.weight"), n_embd, q_dim, TL_REQUIRED, &L->wq));
        TRY(load_matrix(ld, LAYER_TENSOR("attn_k.weight"), n_embd, kv_dim, TL_REQUIRED, &L->wk));
        TRY(load_matrix(ld, LAYER_TENSOR("attn_v.weight"), n_embd, kv_dim, TL_REQUIRED, &L->wv));
        TRY(load_matrix(ld, LAYER_TENSOR("attn_output.weight"), q_dim, n_embd, TL_REQUIRED, &L->wo));
        if (a->qkv_bias != TL_ABSENT) {
            TRY(load_vector(ld, LAYER_TENSOR("attn_q.bias"), q_dim, a->qkv_bias, &L->bq));
            TRY(load_vector(ld, LAYER_TENSOR("attn_k.bias"), kv_dim, a->qkv_bias, &L->bk));
            TRY(load_vector(ld, LAYER_TENSOR("attn_v.bias"), kv_dim, a->qkv_bias, &L->bv));
        }
        if (a->output_bias != TL_ABSENT)
            TRY(load_vector(ld, LAYER_TENSOR("attn_output.bias"), n_embd, a->output_bias, &L->bo));
        TRY(load_vector(ld, LAYER_TENSOR("ffn_norm.weight"), n_embd, TL_REQUIRED, &L->ffn_norm));
        TRY(load_vector(ld, LAYER_TENSOR("ffn_norm.bias"), n_embd, norm_bias, &L->ffn_norm_bias));
        TRY(load_matrix(ld, LAYER_TENSOR("ffn_gate.weight"), n_embd, n_ff, TL_REQUIRED, &L->ffn_gate));
        TRY(load_matrix(ld, LAYER_TENSOR("ffn_up.weight"), n_embd, n_ff, TL_REQUIRED, &L->ffn_up));
        TRY(load_matrix(ld, LAYER_TENSOR("ffn_down.weight"), n_ff, n_embd, TL_REQUIRED, &L->ffn_down));
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
    for (size_t i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    tl_vocab_free(m->vocab);
    gguf_close(m->file);
    free(m->arch_name);
    free(m->path);
    free(m);
}

tl_status tl_model_load(const char *path, const tl_model_params *params, tl_model **out,
                        tl_error *err) {
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
    loader ld = {.m = m, .path = path, .err = err};

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
        st = tl_fail(err, TL_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (supported: %s)",
                     path, arch_name, tl_arch_supported_list());
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
    if ((st = read_hparams(&ld)) != TL_OK || (st = load_tensors(&ld)) != TL_OK) goto fail;
    gguf_prefetch(m->file);
    *out = m;
    return TL_OK;

fail:
    tl_model_free(m);
    return st;
}
