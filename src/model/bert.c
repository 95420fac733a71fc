/*
 * bert.c — BERT-style sentence encoders (all-MiniLM, bge; nomic-embed-text
 * as `nomic-bert`): loading and the bidirectional encoder pass, plugged in
 * through family.h.
 *
 * The pass is llama.cpp's bert graph: token + type-0 + position embeddings
 * and a LayerNorm, then per layer (post-norm)
 *
 *     x' = LayerNorm(x + Wo·Attention(Wq·x, Wk·x, Wv·x))     attn_output_norm
 *     x  = LayerNorm(x' + Wdown·GELU(Wup·x' + b) + b)         layer_output_norm
 *
 * where every token attends to every token (no causal mask, no cache) with
 * scores scaled by 1/sqrt(head_dim). The rows after the last layer are the
 * encoder output, which embed.c pools.
 *
 * Rerankers (cross-encoders) add llama.cpp's classification head for rank
 * pooling on the first row: cls = tanh(Wcls·x + b) when the file has
 * cls.weight, then cls.output = Wout·cls + b (n_cls_out rows, the length of
 * `<arch>.classifier.output_labels`, default 1); rank.c reads it. Like
 * llama.cpp, every token gets token type 0, the query's and the document's.
 *
 * What differs between the encoders is read from the architecture row
 * (arch.c): `positions` — learned position embeddings (BERT) or rotary
 * positions applied to q and k after the projections (nomic-bert, with the
 * row's RoPE layout); `ffn` — GELU (BERT) or the gated SwiGLU
 * Wdown·(silu(Wgate·x') * Wup·x') (nomic-bert).
 *
 * One pass can hold several sequences packed one after another (tl_embed_batch):
 * each token's position counts from its sequence's start and attention runs
 * within each sequence only; everything else works on rows and does not care.
 *
 * Like forward.c, one encode is one task on the context's thread pool: each
 * thread does its share of every step (a band of matrix rows, a range of
 * tokens, a set of attention units) and meets the others at a barrier.
 * Attention runs as two products through the same gemm kernels as the
 * weights: S = K·Qᵀ for a block of queries of one head, then O = P·V with V
 * transposed once per layer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/family.h"
#include "tensor/types.h"
#include "util/error.h"
#include "util/memory.h"

/* ---- weights ------------------------------------------------------------- */

typedef struct bert_layer {
    /* Either the fused projection (rows: q, then k, then v) or the three. */
    tl_matrix wqkv, wq, wk, wv;
    const float *bqkv, *bq, *bk, *bv; /* NULL when absent */
    tl_matrix wo;
    const float *bo;
    const float *attn_out_norm, *attn_out_norm_bias;
    tl_matrix ffn_gate, ffn_up, ffn_down; /* ffn_gate: gated feed-forwards only */
    const float *ffn_up_bias, *ffn_down_bias;
    const float *layer_out_norm, *layer_out_norm_bias;
} bert_layer;

typedef struct bert_weights {
    tl_matrix token_embd;    /* [n_vocab] rows of n_embd */
    tl_matrix position_embd; /* [n_ctx_train] rows of n_embd; learned positions only */
    const float *type0;      /* row 0 of token_types ("sentence A"), or NULL */
    const float *embd_norm, *embd_norm_bias;
    bert_layer *layers;
    /* Classification head (rerankers); data NULL when absent. */
    tl_matrix cls, cls_out;
    const float *cls_bias, *cls_out_bias;
    int32_t n_cls_out; /* outputs; 0 without a head */
} bert_weights;

/* ---- loading ------------------------------------------------------------- */

static tl_status read_hparams(tl_loader *ld) {
    tl_model *m = ld->m;
    tl_hparams *hp = &m->hp;
    memset(hp, 0, sizeof *hp);
    TL_TRY(tl_loader_shape_hparams(ld));
    /* llama.cpp requires the epsilon for bert (the converter always writes it). */
    TL_TRY(tl_loader_f32(ld, "attention.layer_norm_epsilon", true, &hp->norm_eps));
    /* The converter writes causal = false; llama.cpp evaluates encoders
     * bidirectionally whatever it says, and so does tinyllm. */
    bool causal = false;
    TL_TRY(tl_loader_bool(ld, "attention.causal", false, &causal));
    if (hp->n_embd % hp->n_head != 0 || hp->head_dim != hp->n_embd / hp->n_head)
        return tl_fail(ld->err, TL_ERR_FORMAT,
                       "%s: embedding_length (%u) must be head_count (%u) heads of the key length", ld->path,
                       hp->n_embd, hp->n_head);
    if (!(hp->norm_eps >= 0))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: %sattention.layer_norm_epsilon must not be negative", ld->path,
                       ld->prefix);
    if (m->arch->positions == TL_POS_ROPE) TL_TRY(tl_loader_rope_hparams(ld));
    return tl_loader_pooling(ld);
}

/* An optional bias of n floats (NULL when absent). */
static tl_status load_bias(tl_loader *ld, const char *name, int64_t n, const float **out) {
    return tl_loader_vector(ld, name, n, TL_OPTIONAL, out);
}

/* Owned heap block of `bytes`, freed with the model. */
static void *model_alloc(tl_loader *ld, size_t bytes) {
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p || !tl_loader_own(ld->m, p)) {
        free(p);
        return NULL;
    }
    return p;
}

/* The q/k/v projections of one layer: fused attn_qkv when the file has it
 * (with its own bias, or the three separate biases joined), else three. */
static tl_status load_qkv(tl_loader *ld, uint32_t il, bert_layer *L) {
    const tl_hparams *hp = &ld->m->hp;
    const int64_t d = hp->n_embd, kv = (int64_t)hp->n_head_kv * hp->head_dim;
    char name[128];
#define LAYER_TENSOR(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
    TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("attn_qkv.weight"), d, d + 2 * kv, TL_OPTIONAL, &L->wqkv));
    if (L->wqkv.data) {
        TL_TRY(load_bias(ld, LAYER_TENSOR("attn_qkv.bias"), d + 2 * kv, &L->bqkv));
        if (L->bqkv) return TL_OK;
        const float *bq, *bk, *bv;
        TL_TRY(load_bias(ld, LAYER_TENSOR("attn_q.bias"), d, &bq));
        TL_TRY(load_bias(ld, LAYER_TENSOR("attn_k.bias"), kv, &bk));
        TL_TRY(load_bias(ld, LAYER_TENSOR("attn_v.bias"), kv, &bv));
        if (!bq || !bk || !bv) return TL_OK; /* as llama.cpp: all three or none */
        float *joined = model_alloc(ld, (size_t)(d + 2 * kv) * sizeof *joined);
        if (!joined) return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory", ld->path);
        memcpy(joined, bq, (size_t)d * sizeof *joined);
        memcpy(joined + d, bk, (size_t)kv * sizeof *joined);
        memcpy(joined + d + kv, bv, (size_t)kv * sizeof *joined);
        L->bqkv = joined;
        return TL_OK;
    }
    TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("attn_q.weight"), d, d, TL_REQUIRED, &L->wq));
    TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("attn_k.weight"), d, kv, TL_REQUIRED, &L->wk));
    TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("attn_v.weight"), d, kv, TL_REQUIRED, &L->wv));
    TL_TRY(load_bias(ld, LAYER_TENSOR("attn_q.bias"), d, &L->bq));
    TL_TRY(load_bias(ld, LAYER_TENSOR("attn_k.bias"), kv, &L->bk));
    TL_TRY(load_bias(ld, LAYER_TENSOR("attn_v.bias"), kv, &L->bv));
#undef LAYER_TENSOR
    return TL_OK;
}

static tl_status load_tensors(tl_loader *ld, bert_weights *w) {
    tl_model *m = ld->m;
    const tl_hparams *hp = &m->hp;
    const int64_t d = hp->n_embd, ff = hp->n_ff;

    TL_TRY(tl_loader_matrix(ld, "token_embd.weight", d, hp->n_vocab, TL_REQUIRED, &w->token_embd));
    if (m->arch->positions == TL_POS_LEARNED)
        TL_TRY(tl_loader_matrix(ld, "position_embd.weight", d, hp->n_ctx_train, TL_REQUIRED, &w->position_embd));
    /* Token types: as many rows as tokenizer.ggml.token_type_count says (the
     * tensor's own row count when the key is absent); only row 0 is used. */
    uint32_t n_dims;
    int64_t ne[4];
    tl_loader_shape(ld, "token_types.weight", &n_dims, ne);
    if (n_dims) {
        uint32_t n_types = (uint32_t)ne[1];
        if (gguf_find_key(m->file, "tokenizer.ggml.token_type_count") >= 0 &&
            !gguf_get_u32(m->file, "tokenizer.ggml.token_type_count", &n_types))
            return tl_fail(ld->err, TL_ERR_FORMAT,
                           "%s: key 'tokenizer.ggml.token_type_count' is not a non-negative 32-bit integer", ld->path);
        if (n_types == 0) return tl_fail(ld->err, TL_ERR_FORMAT, "%s: tokenizer.ggml.token_type_count is 0", ld->path);
        tl_matrix types;
        TL_TRY(tl_loader_matrix(ld, "token_types.weight", d, n_types, TL_REQUIRED, &types));
        float *row0 = model_alloc(ld, (size_t)d * sizeof *row0);
        if (!row0) return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory", ld->path);
        tl_matrix_get_row(&types, 0, row0);
        w->type0 = row0;
    }
    TL_TRY(tl_loader_vector(ld, "token_embd_norm.weight", d, TL_REQUIRED, &w->embd_norm));
    TL_TRY(tl_loader_vector(ld, "token_embd_norm.bias", d, TL_REQUIRED, &w->embd_norm_bias));

    w->layers = model_alloc(ld, hp->n_layer * sizeof *w->layers);
    if (!w->layers) return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory", ld->path);
    char name[128];
#define LAYER_TENSOR(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        bert_layer *L = &w->layers[il];
        TL_TRY(load_qkv(ld, il, L));
        TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("attn_output.weight"), d, d, TL_REQUIRED, &L->wo));
        TL_TRY(load_bias(ld, LAYER_TENSOR("attn_output.bias"), d, &L->bo));
        TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("attn_output_norm.weight"), d, TL_REQUIRED, &L->attn_out_norm));
        TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("attn_output_norm.bias"), d, TL_REQUIRED, &L->attn_out_norm_bias));
        TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("ffn_up.weight"), d, ff, TL_REQUIRED, &L->ffn_up));
        TL_TRY(load_bias(ld, LAYER_TENSOR("ffn_up.bias"), ff, &L->ffn_up_bias));
        if (m->arch->ffn == TL_FFN_SWIGLU)
            TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("ffn_gate.weight"), d, ff, TL_REQUIRED, &L->ffn_gate));
        TL_TRY(tl_loader_matrix(ld, LAYER_TENSOR("ffn_down.weight"), ff, d, TL_REQUIRED, &L->ffn_down));
        TL_TRY(load_bias(ld, LAYER_TENSOR("ffn_down.bias"), d, &L->ffn_down_bias));
        TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("layer_output_norm.weight"), d, TL_REQUIRED, &L->layer_out_norm));
        TL_TRY(tl_loader_vector(ld, LAYER_TENSOR("layer_output_norm.bias"), d, TL_REQUIRED, &L->layer_out_norm_bias));
    }
#undef LAYER_TENSOR
    return TL_OK;
}

/* The classification head of a reranker, when the file has one: cls
 * (n_embd x n_embd) and/or cls.output (n_embd x n_cls_out), each with an
 * optional bias, as llama.cpp loads them. */
static tl_status load_head(tl_loader *ld, bert_weights *w) {
    const int64_t d = ld->m->hp.n_embd;
    char key[160];
    snprintf(key, sizeof key, "%sclassifier.output_labels", ld->prefix);
    uint64_t n_labels = 1;
    gguf_value_type type;
    if (gguf_find_key(ld->m->file, key) >= 0 && !gguf_get_arr_info(ld->m->file, key, &type, &n_labels))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: key '%s' is not an array", ld->path, key);
    if (n_labels == 0 || n_labels > (uint64_t)d)
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: %s has %llu labels (1 to %lld expected)", ld->path, key,
                       (unsigned long long)n_labels, (long long)d);
    TL_TRY(tl_loader_matrix(ld, "cls.weight", d, d, TL_OPTIONAL, &w->cls));
    TL_TRY(load_bias(ld, "cls.bias", d, &w->cls_bias));
    TL_TRY(tl_loader_matrix(ld, "cls.output.weight", d, (int64_t)n_labels, TL_OPTIONAL, &w->cls_out));
    TL_TRY(load_bias(ld, "cls.output.bias", (int64_t)n_labels, &w->cls_out_bias));
    w->n_cls_out = w->cls.data || w->cls_out.data ? (int32_t)n_labels : 0;
    return TL_OK;
}

static tl_status load(tl_loader *ld) {
    TL_TRY(read_hparams(ld));
    bert_weights *w = model_alloc(ld, sizeof *w);
    if (!w) return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory", ld->path);
    ld->m->family = w;
    TL_TRY(load_tensors(ld, w));
    return load_head(ld, w);
}

/* ---- context state ------------------------------------------------------- */

/* Queries per attention unit (one head, a block of tokens). */
#define UNIT_QUERIES 32

/* An attention block: queries [t0, t1) of the sequence of tokens [s0, s1). */
typedef struct bert_block {
    int32_t t0, t1, s0, s1;
} bert_block;

/* Token rows: [n] is a pass's tokens (the context's batch), [n_ctx] one
 * sequence's. */
typedef struct bert_state {
    void *arena;
    size_t arena_bytes;
    float *x;                   /* layer input / encoder output [n][n_embd] */
    float *h;                   /* after the attention block    [n][n_embd] */
    float *qkv;                 /* projections: fused [n][n_embd + 2 kv], or q, k, v one after another */
    float *vt;                  /* values transposed            [kv_dim][n] */
    float *attn;                /* attention output             [n][n_embd] */
    float *proj;                /* output projections           [n][n_embd] */
    float *up;                  /* feed-forward                 [n][n_ff] */
    float *gate;                /* gate projections (SwiGLU)    [n][n_ff] */
    float *rope_cos, *rope_sin; /* rotary tables of positions 0.. [n_ctx][n_rot / 2] */
    float *scores;              /* per thread                   [UNIT_QUERIES][n_ctx] */
    size_t n_ctx;               /* longest sequence */
    int32_t *pos;               /* each token's position in its sequence [n] */
    bert_block *blocks;         /* the pass's attention blocks   [n] */
    int32_t n_blocks;
    tl_act_slots acts;
    int32_t n_encoded; /* rows of x holding the last encode's output; 0 = none */
} bert_state;

/* Buffers for passes of n tokens (the context's batch) made of sequences of
 * at most n_ctx tokens. */
static void layout(bert_state *s, tl_arena *a, const tl_model *m, size_t n, size_t n_ctx, size_t n_threads) {
    const tl_hparams *hp = &m->hp;
    const size_t d = hp->n_embd, ff = hp->n_ff, kv = (size_t)hp->n_head_kv * hp->head_dim;
    const size_t f = sizeof(float);
    const bool gated = m->arch->ffn == TL_FFN_SWIGLU, rotary = m->arch->positions == TL_POS_ROPE;
    s->x = tl_arena_take(a, n * d * f);
    s->h = tl_arena_take(a, n * d * f);
    s->qkv = tl_arena_take(a, n * (d + 2 * kv) * f);
    s->vt = tl_arena_take(a, kv * n * f);
    s->attn = tl_arena_take(a, n * d * f);
    s->proj = tl_arena_take(a, n * d * f);
    s->up = tl_arena_take(a, n * ff * f);
    s->gate = gated ? tl_arena_take(a, n * ff * f) : NULL;
    s->rope_cos = rotary ? tl_arena_take(a, n_ctx * hp->n_rot / 2 * f) : NULL;
    s->rope_sin = rotary ? tl_arena_take(a, n_ctx * hp->n_rot / 2 * f) : NULL;
    s->scores = tl_arena_take(a, n_threads * UNIT_QUERIES * n_ctx * f);
    s->n_ctx = n_ctx;
    s->pos = tl_arena_take(a, n * sizeof *s->pos);
    s->blocks = tl_arena_take(a, n * sizeof *s->blocks);
    const size_t widest = d > ff ? d : ff;
    for (int i = 0; i < TL_ACT_SLOTS; i++) s->acts.buf[i] = tl_arena_take(a, tl_act_slot_bytes(n, widest));
}

/* Rotary positions as the decoder has them, without scaling. */
static tl_rope_params rope_params(const tl_model *m) {
    return (tl_rope_params){.n_rot = (int)m->hp.n_rot,
                            .theta_base = m->hp.rope_theta,
                            .freq_scale = 1.0f,
                            .mscale = 1.0f,
                            .neox = m->arch->rope == TL_ROPE_NEOX};
}

static tl_status context_init(tl_context *ctx, tl_error *err) {
    const tl_model *m = ctx->model;
    if (ctx->n_ctx > m->hp.n_ctx_train)
        return tl_fail(err, TL_ERR_ARGUMENT, "%s: a context of %u tokens is longer than the model's %u positions",
                       m->path, ctx->n_ctx, m->hp.n_ctx_train);
    bert_state *s = calloc(1, sizeof *s);
    if (!s) return tl_fail(err, TL_ERR_NOMEM, "out of memory creating the context");
    const size_t n_threads = (size_t)tl_threadpool_size(ctx->pool);
    tl_arena a = {NULL, 0};
    layout(s, &a, m, ctx->n_batch, ctx->n_ctx, n_threads);
    s->arena_bytes = a.used;
    s->arena = tl_big_alloc(a.used);
    if (!s->arena) {
        free(s);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory creating a context of %u tokens", ctx->n_ctx);
    }
    a = (tl_arena){s->arena, 0};
    layout(s, &a, m, ctx->n_batch, ctx->n_ctx, n_threads);
    ctx->family = s;
    if (s->rope_cos) { /* every encode's positions are 0, 1, ...: one table for all */
        const tl_rope_params rope = rope_params(m);
        const size_t half = m->hp.n_rot / 2;
        for (uint32_t pos = 0; pos < ctx->n_ctx; pos++)
            tl_rope_cache(&rope, (float)pos, s->rope_cos + pos * half, s->rope_sin + pos * half);
    }
    return TL_OK;
}

static void context_free(tl_context *ctx) {
    bert_state *s = ctx->family;
    if (!s) return;
    tl_big_free(s->arena, s->arena_bytes);
    free(s);
    ctx->family = NULL;
}

/* ---- the pass ------------------------------------------------------------ */

typedef struct bert_pass {
    const tl_model *m;
    const bert_weights *w;
    bert_state *s;
    const tl_kernel_set *k;
    tl_threadpool *pool;
    const tl_token *tokens;
    int32_t n; /* tokens of all the sequences */
} bert_pass;

/* Where a layer's queries and keys are in s->qkv: fused rows hold q, k, v
 * side by side; separate projections are three arrays one after another. */
typedef struct qkv_view {
    float *q, *k;
    size_t q_stride, k_stride; /* in floats */
} qkv_view;

static qkv_view view_of(const bert_pass *p, const bert_layer *L) {
    const size_t d = p->m->hp.n_embd, kv = (size_t)p->m->hp.n_head_kv * p->m->hp.head_dim;
    if (L->wqkv.data) return (qkv_view){p->s->qkv, p->s->qkv + d, d + 2 * kv, d + 2 * kv};
    return (qkv_view){p->s->qkv, p->s->qkv + (size_t)p->n * d, d, kv};
}

/* The matrices that read a layer's input x. */
static int qkv_matrices(const bert_layer *L, const tl_matrix **mats) {
    if (L->wqkv.data) {
        mats[0] = &L->wqkv;
        return 1;
    }
    mats[0] = &L->wq;
    mats[1] = &L->wk;
    mats[2] = &L->wv;
    return 3;
}

/* Step: embeddings of this thread's tokens, the embedding LayerNorm, and the
 * conversion for layer 0's projections. Sums in llama.cpp's order:
 * position + (token + type). */
static void embed_share(bert_pass *p, int ith, long t0, long t1) {
    const int64_t d = p->m->hp.n_embd;
    const bert_weights *w = p->w;
    for (long t = t0; t < t1; t++) {
        float *x = p->s->x + t * d, *pos = p->s->h + t * d; /* h is free until layer 0's norm */
        tl_matrix_get_row(&w->token_embd, p->tokens[t], x);
        if (w->type0)
            for (int64_t i = 0; i < d; i++) x[i] += w->type0[i];
        if (w->position_embd.data) {
            tl_matrix_get_row(&w->position_embd, p->s->pos[t], pos);
            for (int64_t i = 0; i < d; i++) x[i] = pos[i] + x[i];
        }
        tl_layer_norm(x, x, w->embd_norm, w->embd_norm_bias, d, p->m->hp.norm_eps);
    }
    const tl_matrix *mats[3];
    const int n_mats = qkv_matrices(&w->layers[0], mats);
    tl_step_convert(p->k, &p->s->acts, ith, mats, n_mats, p->s->x, d, t0, t1);
}

/* This thread's rows of the values, copied transposed into vt: row c of vt
 * holds value dimension c of every token. */
static void transpose_values(bert_pass *p, const float *y, int64_t ld, int64_t v_first, int64_t r0, int64_t r1,
                             int64_t kv) {
    const int64_t lo = r0 > v_first ? r0 : v_first, hi = r1 < v_first + kv ? r1 : v_first + kv;
    for (int64_t r = lo; r < hi; r++) {
        float *dst = p->s->vt + (size_t)(r - v_first) * p->n;
        for (int32_t t = 0; t < p->n; t++) dst[t] = y[(size_t)t * ld + r];
    }
}

/* Step: this thread's rows of the q, k, v projections, and its value rows
 * transposed. */
static void qkv_share(bert_pass *p, int ith, int nth, const bert_layer *L) {
    const tl_hparams *hp = &p->m->hp;
    const int64_t d = hp->n_embd, kv = (int64_t)hp->n_head_kv * hp->head_dim;
    bert_state *s = p->s;
    int64_t r0, r1;
    if (L->wqkv.data) {
        tl_step_matmul(p->k, &s->acts, ith, nth, &L->wqkv, L->bqkv, s->x, p->n, s->qkv);
        tl_step_rows(L->wqkv.n_rows, ith, nth, &r0, &r1);
        transpose_values(p, s->qkv, d + 2 * kv, d + kv, r0, r1, kv);
        return;
    }
    float *q = s->qkv, *k = q + (size_t)p->n * d, *v = k + (size_t)p->n * kv;
    tl_step_matmul(p->k, &s->acts, ith, nth, &L->wq, L->bq, s->x, p->n, q);
    tl_step_matmul(p->k, &s->acts, ith, nth, &L->wk, L->bk, s->x, p->n, k);
    tl_step_matmul(p->k, &s->acts, ith, nth, &L->wv, L->bv, s->x, p->n, v);
    tl_step_rows(kv, ith, nth, &r0, &r1);
    transpose_values(p, v, kv, 0, r0, r1, kv);
}

/* Step: rotary positions on the queries and keys of this thread's tokens. */
static void rope_share(const bert_pass *p, const bert_layer *L, long t0, long t1) {
    const tl_hparams *hp = &p->m->hp;
    const qkv_view view = view_of(p, L);
    const tl_rope_params rope = rope_params(p->m);
    const size_t half = hp->n_rot / 2;
    for (long t = t0; t < t1; t++) {
        const size_t at = (size_t)p->s->pos[t] * half;
        const float *c = p->s->rope_cos + at, *sn = p->s->rope_sin + at;
        tl_rope_apply(&rope, c, sn, view.q + t * view.q_stride, (int)hp->n_head, (int)hp->head_dim);
        tl_rope_apply(&rope, c, sn, view.k + t * view.k_stride, (int)hp->n_head_kv, (int)hp->head_dim);
    }
}

/* One attention unit: head `head`, the queries of block b. Every query sees
 * every token of its sequence. Outputs go to attn[t][head * hd ..]. */
static void attend_unit(const bert_pass *p, const qkv_view *view, float *scores, int head, const bert_block *b) {
    const tl_hparams *hp = &p->m->hp;
    const int64_t hd = hp->head_dim, d = hp->n_embd, n = b->s1 - b->s0;
    const int group = (int)(hp->n_head / hp->n_head_kv);
    const int kv_head = head / group;
    const int32_t t0 = b->t0, nq = b->t1 - b->t0;
    const float scale = 1.0f / sqrtf((float)hd);

    /* S = Q·Kᵀ: the key rows are the "weights", the queries the "tokens". */
    const float *k_head = view->k + (size_t)b->s0 * view->k_stride + (size_t)kv_head * hd;
    const float *q_block = view->q + (size_t)t0 * view->q_stride + (size_t)head * hd;
    tl_kernels_gemm(p->k, TL_TYPE_F32, hd, k_head, view->k_stride * sizeof(float), 0, n, q_block,
                    view->q_stride * sizeof(float), nq, scores, n);
    for (int32_t r = 0; r < nq; r++) {
        float *row = scores + (size_t)r * n;
        for (int64_t j = 0; j < n; j++) row[j] *= scale;
        p->k->softmax(row, n);
    }
    /* O = P·V: the transposed value rows of this head are the "weights". */
    const float *v_head = p->s->vt + (size_t)kv_head * hd * p->n + b->s0;
    tl_kernels_gemm(p->k, TL_TYPE_F32, n, v_head, (size_t)p->n * sizeof(float), 0, hd, scores,
                    (size_t)n * sizeof(float), nq, p->s->attn + (size_t)t0 * d + (size_t)head * hd, d);
}

static void attention_share(const bert_pass *p, const bert_layer *L, int ith, int nth) {
    const qkv_view view = view_of(p, L);
    const int n_head = (int)p->m->hp.n_head;
    const int32_t n_units = p->s->n_blocks * n_head;
    float *scores = p->s->scores + (size_t)ith * UNIT_QUERIES * p->s->n_ctx;
    for (int32_t u = ith; u < n_units; u += nth) attend_unit(p, &view, scores, u % n_head, &p->s->blocks[u / n_head]);
}

/* x = GELU(x + bias) on n values (the kernel set's ggml-rounded GELU). The
 * bias is added here rather than by the matrix step, to pass over the
 * values once. */
static void bias_gelu(const bert_pass *p, float *x, const float *bias, int64_t n) {
    if (bias)
        for (int64_t i = 0; i < n; i++) x[i] += bias[i];
    p->k->geglu(x, NULL, n);
}

/* Step: this thread's rows of the feed-forward activation of x' (in h):
 * GELU(Wup·x' + b) into up, or silu(Wgate·x') * (Wup·x' + b) into gate.
 * Returns the buffer the down projection reads. */
static float *feed_forward_share(bert_pass *p, const bert_layer *L, int ith, int nth) {
    bert_state *s = p->s;
    const int64_t ff = p->m->hp.n_ff;
    int64_t r0, r1;
    tl_step_rows(ff, ith, nth, &r0, &r1);
    if (!s->gate) {
        tl_step_matmul(p->k, &s->acts, ith, nth, &L->ffn_up, NULL, s->h, p->n, s->up);
        const float *up_bias = L->ffn_up_bias ? L->ffn_up_bias + r0 : NULL;
        for (int32_t t = 0; t < p->n; t++) bias_gelu(p, s->up + (size_t)t * ff + r0, up_bias, r1 - r0);
        return s->up;
    }
    tl_step_matmul(p->k, &s->acts, ith, nth, &L->ffn_up, L->ffn_up_bias, s->h, p->n, s->up);
    tl_step_matmul(p->k, &s->acts, ith, nth, &L->ffn_gate, NULL, s->h, p->n, s->gate);
    for (int32_t t = 0; t < p->n; t++)
        p->k->swiglu(s->gate + (size_t)t * ff + r0, s->up + (size_t)t * ff + r0, r1 - r0);
    return s->gate;
}

/* out[t] = LayerNorm((a[t] + a_bias) + b[t]) for this thread's tokens (a
 * projection, its bias, the residual: llama.cpp's order of additions), then
 * converted for the matrices that read it next (none when n_mats is 0). */
static void add_norm_share(bert_pass *p, int ith, long t0, long t1, float *out, const float *a, const float *a_bias,
                           const float *b, const float *weight, const float *bias, const tl_matrix *const *mats,
                           int n_mats) {
    const int64_t d = p->m->hp.n_embd;
    for (long t = t0; t < t1; t++) {
        float *o = out + t * d;
        const float *x = a + t * d, *y = b + t * d;
        if (a_bias)
            for (int64_t i = 0; i < d; i++) o[i] = (x[i] + a_bias[i]) + y[i];
        else
            for (int64_t i = 0; i < d; i++) o[i] = x[i] + y[i];
        tl_layer_norm(o, o, weight, bias, d, p->m->hp.norm_eps);
    }
    if (n_mats) tl_step_convert(p->k, &p->s->acts, ith, mats, n_mats, out, d, t0, t1);
}

static void encoder_worker(void *arg, int ith, int nth) {
    bert_pass *p = arg;
    bert_state *s = p->s;
    const tl_hparams *hp = &p->m->hp;
    const int64_t d = hp->n_embd, ff = hp->n_ff;
    long t0, t1;
    tl_split_range(p->n, ith, nth, &t0, &t1);

    embed_share(p, ith, t0, t1);
    tl_threadpool_barrier(p->pool);

    for (uint32_t il = 0; il < hp->n_layer; il++) {
        const bert_layer *L = &p->w->layers[il];

        /* Self-attention, then x' = LayerNorm(attention + x) into h. */
        qkv_share(p, ith, nth, L);
        tl_threadpool_barrier(p->pool);
        if (s->rope_cos) {
            rope_share(p, L, t0, t1);
            tl_threadpool_barrier(p->pool);
        }
        attention_share(p, L, ith, nth);
        tl_threadpool_barrier(p->pool);
        const tl_matrix *wo[] = {&L->wo};
        tl_step_convert(p->k, &s->acts, ith, wo, 1, s->attn, d, t0, t1);
        tl_threadpool_barrier(p->pool);
        tl_step_matmul(p->k, &s->acts, ith, nth, &L->wo, NULL, s->attn, p->n, s->proj);
        tl_threadpool_barrier(p->pool);
        const tl_matrix *ffn_in[] = {&L->ffn_up, &L->ffn_gate};
        add_norm_share(p, ith, t0, t1, s->h, s->proj, L->bo, s->x, L->attn_out_norm, L->attn_out_norm_bias, ffn_in,
                       s->gate ? 2 : 1);
        tl_threadpool_barrier(p->pool);

        /* Feed-forward, then x = LayerNorm(ffn + x'). */
        const float *act = feed_forward_share(p, L, ith, nth);
        tl_threadpool_barrier(p->pool);
        const tl_matrix *down[] = {&L->ffn_down};
        tl_step_convert(p->k, &s->acts, ith, down, 1, act, ff, t0, t1);
        tl_threadpool_barrier(p->pool);
        tl_step_matmul(p->k, &s->acts, ith, nth, &L->ffn_down, NULL, act, p->n, s->proj);
        tl_threadpool_barrier(p->pool);
        const tl_matrix *next[3];
        const int n_next = il + 1 < hp->n_layer ? qkv_matrices(&p->w->layers[il + 1], next) : 0;
        add_norm_share(p, ith, t0, t1, s->x, s->proj, L->ffn_down_bias, s->h, L->layer_out_norm, L->layer_out_norm_bias,
                       next, n_next);
        tl_threadpool_barrier(p->pool);
    }
}

/* Sequence i is tokens [starts[i], starts[i + 1]): its positions and its
 * attention blocks of at most UNIT_QUERIES queries. */
static void plan_sequences(bert_state *s, const int32_t *starts, int32_t n_seqs) {
    s->n_blocks = 0;
    for (int32_t i = 0; i < n_seqs; i++) {
        const int32_t s0 = starts[i], s1 = starts[i + 1];
        for (int32_t t = s0; t < s1; t++) s->pos[t] = t - s0;
        for (int32_t t0 = s0; t0 < s1; t0 += UNIT_QUERIES)
            s->blocks[s->n_blocks++] = (bert_block){t0, t0 + UNIT_QUERIES < s1 ? t0 + UNIT_QUERIES : s1, s0, s1};
    }
}

static tl_status encode_batch(tl_context *ctx, const tl_token *tokens, const int32_t *starts, int32_t n_seqs,
                              tl_error *err) {
    (void)err; /* the caller has checked the tokens and the lengths */
    const tl_model *m = ctx->model;
    bert_state *s = ctx->family;
    const int32_t n = starts[n_seqs];
    bert_pass p = {.m = m, .w = m->family, .s = s, .k = ctx->kernels, .pool = ctx->pool, .tokens = tokens, .n = n};
    plan_sequences(s, starts, n_seqs);
    s->n_encoded = 0;
    tl_threadpool_run(ctx->pool, encoder_worker, &p);
    s->n_encoded = n;
    return TL_OK;
}

static tl_status encode(tl_context *ctx, const tl_token *tokens, int32_t n, tl_error *err) {
    const int32_t starts[] = {0, n};
    return encode_batch(ctx, tokens, starts, 1, err);
}

static const float *encoder_output(const tl_context *ctx, int32_t *n) {
    const bert_state *s = ctx->family;
    *n = s ? s->n_encoded : 0;
    return s && s->n_encoded > 0 ? s->x : NULL;
}

/* ---- the classification head (rerankers) -------------------------------- */

static int32_t rank_outputs(const tl_model *m) {
    const bert_weights *w = m->family;
    return w ? w->n_cls_out : 0;
}

/* y = W·x (+ bias) for the one row x, through the matrix steps. */
static void head_matmul(bert_pass *p, int ith, int nth, const tl_matrix *w, const float *bias, const float *x,
                        float *y) {
    const tl_matrix *mats[] = {w};
    tl_step_convert(p->k, &p->s->acts, ith, mats, 1, x, p->m->hp.n_embd, 0, ith == 0 ? 1 : 0);
    tl_threadpool_barrier(p->pool);
    tl_step_matmul(p->k, &p->s->acts, ith, nth, w, bias, x, 1, y);
    tl_threadpool_barrier(p->pool);
}

/* The head on row 0 of the encoder output: tanh(cls) into h, cls.output
 * into proj (llama.cpp's order: matrix, bias, activation). */
static void rank_worker(void *arg, int ith, int nth) {
    bert_pass *p = arg;
    const bert_weights *w = p->w;
    const float *x = p->s->x;
    if (w->cls.data) {
        head_matmul(p, ith, nth, &w->cls, w->cls_bias, x, p->s->h);
        int64_t r0, r1;
        tl_step_rows(w->cls.n_rows, ith, nth, &r0, &r1);
        for (int64_t r = r0; r < r1; r++) p->s->h[r] = tanhf(p->s->h[r]);
        tl_threadpool_barrier(p->pool);
        x = p->s->h;
    }
    if (w->cls_out.data) head_matmul(p, ith, nth, &w->cls_out, w->cls_out_bias, x, p->s->proj);
}

static void rank(tl_context *ctx, float *outputs) {
    const tl_model *m = ctx->model;
    const bert_weights *w = m->family;
    bert_pass p = {.m = m, .w = w, .s = ctx->family, .k = ctx->kernels, .pool = ctx->pool, .n = 1};
    tl_threadpool_run(ctx->pool, rank_worker, &p);
    const float *result = w->cls_out.data ? p.s->proj : w->cls.data ? p.s->h : p.s->x;
    memcpy(outputs, result, (size_t)w->n_cls_out * sizeof *outputs);
}

const tl_family_ops tl_bert_ops = {
    .load = load,
    .context_init = context_init,
    .context_free = context_free,
    .encode = encode,
    .encode_batch = encode_batch,
    .encoder_output = encoder_output,
    .rank_outputs = rank_outputs,
    .rank = rank,
};
