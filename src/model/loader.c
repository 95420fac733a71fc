/*
 * loader.c — the checked readers of keys and tensors every family loader
 * uses (see loader.h).
 */
#include "model/loader.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/types.h"
#include "util/error.h"

/* Remember a heap block the model owns. */
bool tl_loader_own(tl_model *m, void *p) {
    void **grown = realloc(m->owned, (m->n_owned + 1) * sizeof *grown);
    if (!grown) return false;
    m->owned = grown;
    m->owned[m->n_owned++] = p;
    return true;
}

static const char *arch_key(tl_loader *ld, const char *suffix, char *buf, size_t size) {
    snprintf(buf, size, "%s%s", ld->prefix, suffix);
    return buf;
}

/* Reads `<arch>.<suffix>` as u32. A missing optional key leaves *out alone;
 * a missing required key, or a value of the wrong kind, is an error. */
tl_status tl_loader_u32(tl_loader *ld, const char *suffix, bool required, uint32_t *out) {
    char key[160];
    arch_key(ld, suffix, key, sizeof key);
    if (gguf_find_key(ld->m->file, key) < 0) {
        if (!required) return TL_OK;
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: missing required key '%s'", ld->path, key);
    }
    if (!gguf_get_u32(ld->m->file, key, out))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: key '%s' is not a non-negative 32-bit integer", ld->path, key);
    return TL_OK;
}

tl_status tl_loader_f32(tl_loader *ld, const char *suffix, bool required, float *out) {
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

static void shape_text(const gguf_tensor *t, char *buf, size_t size) {
    int n = snprintf(buf, size, "[");
    for (uint32_t d = 0; d < t->n_dims && n < (int)size; d++)
        n += snprintf(buf + n, size - (size_t)n, d ? ", %lld" : "%lld", (long long)t->ne[d]);
    if (n < (int)size) snprintf(buf + n, size - (size_t)n, "]");
}

/* Finds a tensor and checks its shape. *found reports presence; absence is
 * an error only when `presence` is TL_REQUIRED. */
static tl_status find_tensor(tl_loader *ld, const char *name, uint32_t n_dims, int64_t ne0, int64_t ne1,
                             tl_presence presence, const gguf_tensor **found) {
    *found = NULL;
    const gguf_tensor *t = gguf_find_tensor(ld->m->file, name);
    if (!t) {
        if (presence == TL_REQUIRED)
            return tl_fail(ld->err, TL_ERR_FORMAT, "%s: missing required tensor '%s'", ld->path, name);
        return TL_OK;
    }
    bool ok = t->ne[0] == ne0 && (n_dims == 1 ? t->n_elements == (uint64_t)ne0
                                              : t->ne[1] == ne1 && t->n_elements == (uint64_t)(ne0 * ne1));
    if (!ok) {
        char got[96];
        shape_text(t, got, sizeof got);
        if (n_dims == 1)
            return tl_fail(ld->err, TL_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected [%lld]", ld->path, name, got,
                           (long long)ne0);
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected [%lld, %lld]", ld->path, name,
                       got, (long long)ne0, (long long)ne1);
    }
    if (!tl_type_is_supported(t->type))
        return tl_fail(ld->err, TL_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, not supported yet", ld->path, name,
                       tl_type_name(t->type) ? tl_type_name(t->type) : "?");
    if (ld->tensor_used) ld->tensor_used[t - gguf_tensor_at(ld->m->file, 0)] = true;
    *found = t;
    return TL_OK;
}

/* Whole tensor to an owned float array (the data is a contiguous run of
 * blocks even when rows do not start on block boundaries). */
static tl_status to_owned_floats(tl_loader *ld, const gguf_tensor *t, float **out) {
    float *f = malloc(t->n_elements * sizeof *f);
    if (!f || !tl_loader_own(ld->m, f)) {
        free(f);
        return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory converting tensor '%s'", ld->path, t->name);
    }
    tl_type_traits_of(t->type)->to_float(t->data, f, (int64_t)t->n_elements);
    *out = f;
    return TL_OK;
}

/* A small tensor of n_rows rows of n floats (1-D when n_rows is 0). */
static tl_status load_floats(tl_loader *ld, const char *name, int64_t n, int64_t n_rows, tl_presence presence,
                             const float **out) {
    const gguf_tensor *t;
    *out = NULL;
    TL_TRY(find_tensor(ld, name, n_rows ? 2 : 1, n, n_rows ? n_rows : 1, presence, &t));
    if (!t) return TL_OK;
    if (t->type == TL_TYPE_F32) {
        *out = t->data; /* the data section is aligned, so floats are too */
        return TL_OK;
    }
    float *f;
    TL_TRY(to_owned_floats(ld, t, &f));
    *out = f;
    return TL_OK;
}

tl_status tl_loader_vector(tl_loader *ld, const char *name, int64_t n, tl_presence presence, const float **out) {
    return load_floats(ld, name, n, 0, presence, out);
}

tl_status tl_loader_rows(tl_loader *ld, const char *name, int64_t n, int64_t n_rows, tl_presence presence,
                         const float **out) {
    return load_floats(ld, name, n, n_rows, presence, out);
}

tl_status tl_loader_matrix(tl_loader *ld, const char *name, int64_t n_cols, int64_t n_rows, tl_presence presence,
                           tl_matrix *out) {
    const gguf_tensor *t;
    memset(out, 0, sizeof *out);
    TL_TRY(find_tensor(ld, name, 2, n_cols, n_rows, presence, &t));
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
        TL_TRY(to_owned_floats(ld, t, &f));
        out->data = f;
        out->type = TL_TYPE_F32;
    }
    out->row_bytes = tl_type_row_bytes(out->type, n_cols);
    return TL_OK;
}

tl_status tl_loader_bool(tl_loader *ld, const char *suffix, bool required, bool *out) {
    char key[160];
    arch_key(ld, suffix, key, sizeof key);
    if (gguf_find_key(ld->m->file, key) < 0) {
        if (!required) return TL_OK;
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: missing required key '%s'", ld->path, key);
    }
    if (!gguf_get_bool(ld->m->file, key, out))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: key '%s' is not a boolean", ld->path, key);
    return TL_OK;
}

void tl_loader_shape(tl_loader *ld, const char *name, uint32_t *n_dims, int64_t ne[4]) {
    const gguf_tensor *t = gguf_find_tensor(ld->m->file, name);
    *n_dims = t ? t->n_dims : 0;
    for (int d = 0; d < 4; d++) ne[d] = t && (uint32_t)d < t->n_dims ? t->ne[d] : 1;
}

const char *tl_loader_str(tl_loader *ld, const char *suffix) {
    char key[160];
    return gguf_get_str(ld->m->file, arch_key(ld, suffix, key, sizeof key));
}

tl_status tl_loader_pooling(tl_loader *ld) {
    uint32_t pooling = TL_POOLING_NONE;
    TL_TRY(tl_loader_u32(ld, "pooling_type", false, &pooling));
    if (pooling > TL_POOLING_RANK)
        return tl_fail(ld->err, TL_ERR_UNSUPPORTED,
                       "%s: %spooling_type %u is not supported (0 none, 1 mean, 2 cls, 3 last, 4 rank)", ld->path,
                       ld->prefix, pooling);
    ld->m->pooling = (int32_t)pooling;
    return TL_OK;
}

tl_status tl_loader_rope_hparams(tl_loader *ld) {
    tl_hparams *hp = &ld->m->hp;
    hp->rope_theta = ld->m->arch->default_rope_theta;
    hp->rope_freq_scale = 1.0f;
    hp->rope_attn_factor = 1.0f;
    TL_TRY(tl_loader_f32(ld, "rope.freq_base", false, &hp->rope_theta));
    hp->n_rot = hp->head_dim;
    TL_TRY(tl_loader_u32(ld, "rope.dimension_count", false, &hp->n_rot));
    if (hp->n_rot == 0 || hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: rope.dimension_count %u must be even and at most the head size %u",
                       ld->path, hp->n_rot, hp->head_dim);
    if (!(hp->rope_theta > 0)) return tl_fail(ld->err, TL_ERR_FORMAT, "%s: rope.freq_base must be positive", ld->path);
    return TL_OK;
}

tl_status tl_loader_shape_hparams(tl_loader *ld) {
    tl_hparams *hp = &ld->m->hp;
    TL_TRY(tl_loader_u32(ld, "context_length", true, &hp->n_ctx_train));
    TL_TRY(tl_loader_u32(ld, "embedding_length", true, &hp->n_embd));
    TL_TRY(tl_loader_u32(ld, "block_count", true, &hp->n_layer));
    TL_TRY(tl_loader_u32(ld, "feed_forward_length", true, &hp->n_ff));
    TL_TRY(tl_loader_u32(ld, "attention.head_count", true, &hp->n_head));
    hp->n_head_kv = hp->n_head;
    TL_TRY(tl_loader_u32(ld, "attention.head_count_kv", false, &hp->n_head_kv));
    if (hp->n_embd == 0 || hp->n_layer == 0 || hp->n_head == 0 || hp->n_head_kv == 0 || hp->n_ff == 0 ||
        hp->n_ctx_train == 0)
        return tl_fail(ld->err, TL_ERR_FORMAT,
                       "%s: hyper-parameters must be positive (embedding_length %u, block_count %u, "
                       "head_count %u, head_count_kv %u, feed_forward_length %u, context_length %u)",
                       ld->path, hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv, hp->n_ff, hp->n_ctx_train);
    if (hp->n_layer > 4096 || hp->n_head > 4096 || hp->n_embd > (1u << 20) || hp->n_ff > (1u << 22) ||
        hp->n_ctx_train > (1u << 24))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: hyper-parameters are implausibly large", ld->path);
    if (hp->n_head % hp->n_head_kv != 0)
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: attention.head_count (%u) is not a multiple of head_count_kv (%u)",
                       ld->path, hp->n_head, hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    TL_TRY(tl_loader_u32(ld, "attention.key_length", false, &hp->head_dim));
    uint32_t value_length = hp->head_dim;
    TL_TRY(tl_loader_u32(ld, "attention.value_length", false, &value_length));
    if (value_length != hp->head_dim)
        return tl_fail(ld->err, TL_ERR_UNSUPPORTED, "%s: attention.key_length (%u) differs from value_length (%u)",
                       ld->path, hp->head_dim, value_length);
    if (hp->head_dim == 0 || hp->head_dim > 1024)
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: attention head size %u is invalid", ld->path, hp->head_dim);
    hp->n_rot = hp->head_dim;
    hp->rope_freq_scale = 1.0f;
    hp->n_vocab = tl_vocab_n_tokens(ld->m->vocab);
    return TL_OK;
}
