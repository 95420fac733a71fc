/*
 * t5.c — the T5 family (T5, FLAN-T5, LaMini-Flan-T5): loading a GGUF file as
 * llama.cpp's converter writes it, setting up a context, and the family
 * hooks (see family.h and t5.h). The passes are in t5_forward.c.
 *
 * File layout (llama.cpp's names): token_embd (shared by both stacks),
 * enc.blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_o, attn_rel_b,
 * ffn_norm, ffn_gate, ffn_up, ffn_down}, enc.output_norm, dec.blk.N.{the
 * same, plus cross_attn_norm and cross_attn_q/k/v/o}, dec.output_norm and
 * output (absent when tied to token_embd). attn_rel_b is in layer 0 only in
 * converted HF models; other layers reuse it. ffn_gate is present in gated
 * GELU models (FLAN-T5) and absent in ReLU ones (original T5).
 */
#include "model/t5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/types.h"
#include "util/error.h"
#include "util/memory.h"

/* ---- loading ------------------------------------------------------------ */

static tl_status read_hparams(tl_loader *ld, t5_model *tm) {
    tl_model *m = ld->m;
    tl_hparams *hp = &m->hp;
    memset(hp, 0, sizeof *hp);
    TL_TRY(tl_loader_shape_hparams(ld));
    TL_TRY(tl_loader_f32(ld, "attention.layer_norm_rms_epsilon", true, &hp->norm_eps));
    TL_TRY(tl_loader_u32(ld, "attention.relative_buckets_count", true, &tm->n_buckets));
    tm->enc.n_layer = hp->n_layer;
    tm->dec.n_layer = hp->n_layer;
    TL_TRY(tl_loader_u32(ld, "decoder_block_count", false, &tm->dec.n_layer));
    if (tm->dec.n_layer == 0 || tm->dec.n_layer > 4096)
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: %sdecoder_block_count %u is out of range (1..4096)", ld->path,
                       ld->prefix, tm->dec.n_layer);
    if (tm->n_buckets < 4 || tm->n_buckets > 65536)
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: %sattention.relative_buckets_count %u is out of range (4..65536)",
                       ld->path, ld->prefix, tm->n_buckets);
    if (!(hp->norm_eps >= 0))
        return tl_fail(ld->err, TL_ERR_FORMAT, "%s: %sattention.layer_norm_rms_epsilon must not be negative", ld->path,
                       ld->prefix);
    if (hp->n_head_kv != hp->n_head)
        return tl_fail(ld->err, TL_ERR_UNSUPPORTED,
                       "%s: a t5 model with head_count_kv (%u) different from head_count (%u) is "
                       "not supported",
                       ld->path, hp->n_head_kv, hp->n_head);
    tm->inner = hp->n_head * hp->head_dim;

    /* The first token the decoder reads: the file's, else BOS as llama.cpp's
     * examples fall back to (HF T5 uses the pad token, id 0, and says so). */
    uint32_t start = 0;
    char key[160];
    snprintf(key, sizeof key, "%sdecoder_start_token_id", ld->prefix);
    if (gguf_find_key(m->file, key) >= 0) {
        TL_TRY(tl_loader_u32(ld, "decoder_start_token_id", true, &start));
        if (start >= (uint32_t)hp->n_vocab)
            return tl_fail(ld->err, TL_ERR_FORMAT, "%s: %s %u is outside the vocabulary (0..%d)", ld->path, key, start,
                           hp->n_vocab - 1);
        m->decoder_start = (tl_token)start;
    } else {
        m->decoder_start = tl_vocab_bos(m->vocab);
    }
    return tl_loader_pooling(ld);
}

/* A relative attention bias [n_head, n_buckets] (f32, f16 or anything the
 * loader reads) as owned floats, a row of n_head per bucket. */
static tl_status load_rel_bias(tl_loader *ld, const char *name, tl_presence presence, int64_t n_head, int64_t n_buckets,
                               const float **out) {
    tl_matrix raw;
    *out = NULL;
    TL_TRY(tl_loader_matrix(ld, name, n_head, n_buckets, presence, &raw));
    if (!raw.data) return TL_OK;
    float *values = malloc((size_t)(n_head * n_buckets) * sizeof *values);
    if (!values || !tl_loader_own(ld->m, values)) {
        free(values);
        return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory converting '%s'", ld->path, name);
    }
    for (int64_t b = 0; b < n_buckets; b++) tl_matrix_get_row(&raw, b, values + b * n_head);
    *out = values;
    return TL_OK;
}

/* The layers of one stack ("enc" or "dec"). */
static tl_status load_stack(tl_loader *ld, t5_model *tm, t5_stack *stack, const char *prefix, bool decoder) {
    const tl_hparams *hp = &ld->m->hp;
    const int64_t d = hp->n_embd, ff = hp->n_ff, inner = tm->inner;
    stack->layers = calloc(stack->n_layer, sizeof *stack->layers);
    if (!stack->layers) return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory", ld->path);
    char name[160];
#define T5_TENSOR(suffix) (snprintf(name, sizeof name, "%s.blk.%u." suffix, prefix, il), name)
    for (uint32_t il = 0; il < stack->n_layer; il++) {
        t5_layer *L = &stack->layers[il];
        TL_TRY(tl_loader_vector(ld, T5_TENSOR("attn_norm.weight"), d, TL_REQUIRED, &L->attn_norm));
        TL_TRY(load_rel_bias(ld, T5_TENSOR("attn_rel_b.weight"), il == 0 ? TL_REQUIRED : TL_OPTIONAL, hp->n_head,
                             tm->n_buckets, &L->rel_bias));
        if (!L->rel_bias) L->rel_bias = stack->layers[0].rel_bias;
        TL_TRY(tl_loader_matrix(ld, T5_TENSOR("attn_q.weight"), d, inner, TL_REQUIRED, &L->wq));
        TL_TRY(tl_loader_matrix(ld, T5_TENSOR("attn_k.weight"), d, inner, TL_REQUIRED, &L->wk));
        TL_TRY(tl_loader_matrix(ld, T5_TENSOR("attn_v.weight"), d, inner, TL_REQUIRED, &L->wv));
        TL_TRY(tl_loader_matrix(ld, T5_TENSOR("attn_o.weight"), inner, d, TL_REQUIRED, &L->wo));
        if (decoder) {
            TL_TRY(tl_loader_vector(ld, T5_TENSOR("cross_attn_norm.weight"), d, TL_REQUIRED, &L->cross_norm));
            TL_TRY(tl_loader_matrix(ld, T5_TENSOR("cross_attn_q.weight"), d, inner, TL_REQUIRED, &L->cross_q));
            TL_TRY(tl_loader_matrix(ld, T5_TENSOR("cross_attn_k.weight"), d, inner, TL_REQUIRED, &L->cross_k));
            TL_TRY(tl_loader_matrix(ld, T5_TENSOR("cross_attn_v.weight"), d, inner, TL_REQUIRED, &L->cross_v));
            TL_TRY(tl_loader_matrix(ld, T5_TENSOR("cross_attn_o.weight"), inner, d, TL_REQUIRED, &L->cross_o));
        }
        TL_TRY(tl_loader_vector(ld, T5_TENSOR("ffn_norm.weight"), d, TL_REQUIRED, &L->ffn_norm));
        TL_TRY(tl_loader_matrix(ld, T5_TENSOR("ffn_gate.weight"), d, ff, TL_OPTIONAL, &L->ffn_gate));
        TL_TRY(tl_loader_matrix(ld, T5_TENSOR("ffn_up.weight"), d, ff, TL_REQUIRED, &L->ffn_up));
        TL_TRY(tl_loader_matrix(ld, T5_TENSOR("ffn_down.weight"), ff, d, TL_REQUIRED, &L->ffn_down));
    }
#undef T5_TENSOR
    snprintf(name, sizeof name, "%s.output_norm.weight", prefix);
    return tl_loader_vector(ld, name, d, TL_REQUIRED, &stack->output_norm);
}

static void free_model(tl_model *m) {
    t5_model *tm = m->family;
    if (!tm) return;
    free(tm->enc.layers);
    free(tm->dec.layers);
    free(tm);
    m->family = NULL;
}

static tl_status load(tl_loader *ld) {
    tl_model *m = ld->m;
    t5_model *tm = calloc(1, sizeof *tm);
    if (!tm) return tl_fail(ld->err, TL_ERR_NOMEM, "%s: out of memory", ld->path);
    m->family = tm; /* freed by free_model, also when loading fails */
    TL_TRY(read_hparams(ld, tm));
    const int64_t d = m->hp.n_embd, n_vocab = m->hp.n_vocab;
    TL_TRY(tl_loader_matrix(ld, "token_embd.weight", d, n_vocab, TL_REQUIRED, &m->token_embd));
    TL_TRY(tl_loader_matrix(ld, "output.weight", d, n_vocab, TL_OPTIONAL, &m->output));
    if (!m->output.data) m->output = m->token_embd; /* tied: used as is, as llama.cpp does */
    TL_TRY(load_stack(ld, tm, &tm->enc, "enc", false));
    TL_TRY(load_stack(ld, tm, &tm->dec, "dec", true));
    m->output_norm = tm->dec.output_norm;
    return TL_OK;
}

/* ---- contexts ----------------------------------------------------------- */

/* Carves the state's buffers out of one arena: measured with a NULL base,
 * then run again on the allocation (as context.c does). */
static void layout(const tl_context *ctx, t5_state *st, tl_arena *a) {
    const tl_model *m = ctx->model;
    const t5_model *tm = m->family;
    const size_t T = st->n_tokens, d = m->hp.n_embd, ff = m->hp.n_ff, inner = tm->inner;
    const size_t f = sizeof(float);
    const uint32_t n_dec = tm->dec.n_layer, n_enc_layers = tm->enc.n_layer;

    st->x = tl_arena_take(a, T * d * f);
    st->xn = tl_arena_take(a, T * d * f);
    st->proj = tl_arena_take(a, T * d * f);
    st->q = tl_arena_take(a, T * inner * f);
    st->k = tl_arena_take(a, T * inner * f);
    st->v = tl_arena_take(a, T * inner * f);
    st->attn = tl_arena_take(a, T * inner * f);
    st->vt = tl_arena_take(a, inner * T * f);
    st->gate = tl_arena_take(a, T * ff * f);
    st->up = tl_arena_take(a, T * ff * f);
    size_t widest = d > ff ? d : ff;
    if (inner > widest) widest = inner;
    for (int i = 0; i < TL_ACT_SLOTS; i++) st->acts.buf[i] = tl_arena_take(a, tl_act_slot_bytes(T, widest));
    st->enc_out = tl_arena_take(a, T * d * f);
    st->cross_k = tl_arena_take(a, (size_t)n_dec * T * inner * f);
    st->cross_vt = tl_arena_take(a, (size_t)n_dec * inner * T * f);
    st->k_cache = tl_arena_take(a, (size_t)n_dec * ctx->n_ctx * ctx->k_row_bytes);
    st->v_cache = tl_arena_take(a, (size_t)n_dec * ctx->n_ctx * ctx->v_row_bytes);
    st->attn_scratch_bytes = t5_attention_scratch_bytes((int)m->hp.head_dim, (int64_t)T);
    st->attn_scratch = tl_arena_take(a, st->attn_scratch_bytes * (size_t)st->n_threads);

    /* Bias tables: one per distinct rel_bias tensor of a stack (usually
     * layer 0's, which the other layers reuse). */
    st->enc_bias = tl_arena_take(a, n_enc_layers * sizeof *st->enc_bias);
    st->dec_bias = tl_arena_take(a, n_dec * sizeof *st->dec_bias);
    st->tables = tl_arena_take(a, (n_enc_layers + n_dec) * sizeof *st->tables);
    int n_tables = 0;
    for (int pass = 0; pass < 2; pass++) {
        const bool encoder = pass == 0;
        const t5_stack *stack = encoder ? &tm->enc : &tm->dec;
        const t5_bias_table **per_layer = encoder ? st->enc_bias : st->dec_bias;
        for (uint32_t il = 0; il < stack->n_layer; il++) {
            const float *rel_bias = stack->layers[il].rel_bias;
            uint32_t same = 0;
            while (same < il && stack->layers[same].rel_bias != rel_bias) same++;
            if (same < il) {
                if (a->base) per_layer[il] = per_layer[same];
                continue;
            }
            const int64_t len = encoder ? 2 * (int64_t)T - 1 : (int64_t)T;
            float *values = tl_arena_take(a, (size_t)len * m->hp.n_head * f);
            if (a->base) {
                t5_bias_table *t = &st->tables[n_tables];
                t->len = len;
                t->center = (int64_t)T - 1;
                t->values = values;
                t5_bias_table_fill(t, rel_bias, (int)m->hp.n_head, tm->n_buckets, encoder);
                per_layer[il] = t;
            }
            n_tables++;
        }
    }
    st->n_tables = n_tables;
}

static void context_free(tl_context *ctx) {
    t5_state *st = ctx->family;
    if (!st) return;
    tl_big_free(st->arena, st->arena_bytes);
    free(st);
    ctx->family = NULL;
}

static tl_status context_init(tl_context *ctx, tl_error *err) {
    t5_state *st = calloc(1, sizeof *st);
    if (!st) return tl_fail(err, TL_ERR_NOMEM, "out of memory creating a t5 context");
    ctx->family = st;
    st->n_tokens = ctx->n_ctx;
    st->n_threads = tl_threadpool_size(ctx->pool);
    if (st->n_threads < 1) st->n_threads = 1;
    tl_arena a = {NULL, 0};
    layout(ctx, st, &a);
    st->arena_bytes = a.used;
    st->arena = tl_big_alloc(a.used);
    if (!st->arena) {
        context_free(ctx);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory creating a context of %u tokens", ctx->n_ctx);
    }
    a = (tl_arena){st->arena, 0};
    layout(ctx, st, &a);
    return TL_OK;
}

/* ---- hooks -------------------------------------------------------------- */

static tl_status encode(tl_context *ctx, const tl_token *tokens, int32_t n, tl_error *err) {
    t5_state *st = ctx->family;
    if (n <= 0 || (uint32_t)n > st->n_tokens)
        return tl_fail(err, TL_ERR_CONTEXT_FULL, "%d tokens do not fit in the context of %u tokens", n, st->n_tokens);
    st->n_enc = 0;
    t5_run_encoder(ctx, tokens, n);
    st->n_enc = n;
    return TL_OK;
}

static const float *encoder_output(const tl_context *ctx, int32_t *n) {
    const t5_state *st = ctx->family;
    *n = st->n_enc;
    return st->n_enc > 0 ? st->enc_out : NULL;
}

const tl_family_ops tl_t5_ops = {
    .load = load,
    .free_model = free_model,
    .context_init = context_init,
    .context_free = context_free,
    .encode = encode,
    .encoder_output = encoder_output,
    .forward = t5_run_decoder,
};
