/*
 * context.c — creating a context, the KV cache bookkeeping and tl_decode,
 * which splits a long run of tokens into batches for the forward pass.
 */
#include "model/context.h"

#include "model/attention.h"
#include "model/family.h"

#include <stdlib.h>
#include <string.h>

#include "tensor/types.h"
#include "util/memory.h"
#include "util/error.h"
#include "util/limits.h"

tl_context_params tl_context_default_params(void) {
    tl_context_params p = {.n_ctx = 0, .n_batch = 0, .n_threads = 0, .type_k = TL_TYPE_F16, .type_v = TL_TYPE_F16};
    return p;
}

void tl_context_free(tl_context *ctx) {
    if (!ctx) return;
    const tl_family_ops *ops = ctx->model->arch->ops;
    if (ops && ops->context_free) ops->context_free(ctx);
    tl_threadpool_free(ctx->pool);
    tl_big_free(ctx->arena, ctx->arena_bytes);
    free(ctx->logits);
    free(ctx->seq_past);
    free(ctx);
}

/* Carves the context's buffers out of one arena. With a NULL base it only
 * measures; then it is run again on the real allocation. */
static void layout(tl_context *ctx, tl_arena *a, uint32_t n_threads) {
    const tl_hparams *hp = &ctx->model->hp;
    const size_t nb = ctx->n_batch, n_embd = hp->n_embd, n_ff = hp->n_ff;
    const size_t q_dim = (size_t)hp->n_head * hp->head_dim;
    const size_t kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    const size_t f = sizeof(float);
    const size_t cached = (size_t)hp->n_layer * ctx->n_seq * ctx->n_ctx;
    ctx->k_cache = tl_arena_take(a, cached * ctx->k_row_bytes);
    ctx->v_cache = tl_arena_take(a, cached * ctx->v_row_bytes);
    ctx->x = tl_arena_take(a, nb * n_embd * f);
    ctx->xn = tl_arena_take(a, nb * n_embd * f);
    ctx->q = tl_arena_take(a, nb * q_dim * f);
    ctx->k = tl_arena_take(a, nb * kv_dim * f);
    ctx->v = tl_arena_take(a, nb * kv_dim * f);
    ctx->attn = tl_arena_take(a, nb * q_dim * f);
    ctx->proj = tl_arena_take(a, nb * n_embd * f);
    ctx->gate = tl_arena_take(a, nb * n_ff * f);
    ctx->up = tl_arena_take(a, nb * n_ff * f);
    ctx->rope_cos = tl_arena_take(a, nb * hp->n_rot / 2 * f);
    ctx->rope_sin = tl_arena_take(a, nb * hp->n_rot / 2 * f);
    ctx->rope_cos_swa = tl_arena_take(a, nb * hp->n_rot / 2 * f);
    ctx->rope_sin_swa = tl_arena_take(a, nb * hp->n_rot / 2 * f);
    ctx->attn_scratch_bytes = tl_attention_scratch_bytes(hp, ctx->n_ctx);
    ctx->attn_scratch = tl_arena_take(a, ctx->attn_scratch_bytes * n_threads);
    size_t widest = n_embd > n_ff ? n_embd : n_ff;
    if (q_dim > widest) widest = q_dim;
    for (int i = 0; i < TL_ACT_SLOTS; i++) ctx->acts.buf[i] = tl_arena_take(a, tl_act_slot_bytes(nb, widest));
    ctx->batch_seq = tl_arena_take(a, nb * sizeof *ctx->batch_seq);
    ctx->batch_pos = tl_arena_take(a, nb * sizeof *ctx->batch_pos);
    ctx->batch_rows = tl_arena_take(a, nb * sizeof *ctx->batch_rows);
    ctx->batch_runs = tl_arena_take(a, nb * sizeof *ctx->batch_runs);
    ctx->batch_spans = tl_arena_take(a, nb * sizeof *ctx->batch_spans);
    ctx->batch_out_spans = tl_arena_take(a, nb * sizeof *ctx->batch_out_spans);
}

/* Checks a KV cache type: f32, f16, or q8_0 when heads are whole blocks. */
static tl_status check_cache_type(const tl_model *m, uint32_t type, const char *which, tl_error *err) {
    if (type == TL_TYPE_F32 || type == TL_TYPE_F16) return TL_OK;
    if (type == TL_TYPE_Q8_0) {
        if (m->hp.head_dim % 32 == 0) return TL_OK;
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "%s: a q8_0 %s cache needs a head size that is a multiple of 32 (it is %u)", m->path, which,
                       m->hp.head_dim);
    }
    const char *name = tl_type_name(type);
    return tl_fail(err, TL_ERR_ARGUMENT, "%s cache type %s is not supported (f32, f16 or q8_0)", which,
                   name ? name : "(unknown)");
}

static float *alloc_floats(size_t n, bool *ok) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) *ok = false;
    return p;
}

tl_status tl_context_new(const tl_model *model, const tl_context_params *params, tl_context **out, tl_error *err) {
    *out = NULL;
    if (!model) return tl_fail(err, TL_ERR_ARGUMENT, "no model given");
    if (model->vocab_only) return tl_fail(err, TL_ERR_ARGUMENT, "%s: model was loaded vocabulary-only", model->path);
    tl_context_params p = params ? *params : tl_context_default_params();
    const tl_hparams *hp = &model->hp;

    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train < TL_DEFAULT_CTX_CAP ? hp->n_ctx_train : TL_DEFAULT_CTX_CAP;
    if (p.n_ctx > TL_MAX_CTX)
        return tl_fail(err, TL_ERR_ARGUMENT, "context size %u is too large (at most %u)", p.n_ctx, TL_MAX_CTX);
    const uint32_t asked_batch = p.n_batch;
    if (p.n_batch == 0) p.n_batch = 512;
    /* A bidirectional encoder sees its whole input in one pass; a larger
     * batch asked for holds several inputs (tl_embed_batch). */
    if (p.n_batch > p.n_ctx || model->arch->kind == TL_KIND_ENCODER) p.n_batch = p.n_ctx;
    if (model->arch->kind == TL_KIND_ENCODER && asked_batch > p.n_ctx)
        p.n_batch = asked_batch < TL_MAX_CTX ? asked_batch : TL_MAX_CTX;
    if (p.n_threads == 0) p.n_threads = (uint32_t)tl_physical_cores();
    if (p.n_seq == 0) p.n_seq = 1;
    if (p.n_seq > TL_MAX_SEQUENCES)
        return tl_fail(err, TL_ERR_ARGUMENT, "%u sequences are too many (at most %u)", p.n_seq, TL_MAX_SEQUENCES);
    if (p.n_seq > 1 && model->arch->ops)
        return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: a %s model evaluates one sequence at a time", model->path,
                       model->arch_name);
    if (p.n_threads > TL_MAX_THREADS)
        return tl_fail(err, TL_ERR_ARGUMENT, "thread count %u is too large (at most %u)", p.n_threads, TL_MAX_THREADS);

    tl_status st;
    if ((st = check_cache_type(model, p.type_k, "K", err)) != TL_OK ||
        (st = check_cache_type(model, p.type_v, "V", err)) != TL_OK)
        return st;

    tl_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return tl_fail(err, TL_ERR_NOMEM, "out of memory creating the context");
    ctx->model = model;
    ctx->kernels = tl_kernels();
    ctx->n_ctx = p.n_ctx;
    ctx->n_batch = p.n_batch;
    ctx->n_seq = p.n_seq;

    const size_t kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    bool ok = true;
    ctx->type_k = p.type_k;
    ctx->type_v = p.type_v;
    ctx->k_row_bytes = tl_type_row_bytes(p.type_k, (int64_t)kv_dim);
    ctx->v_row_bytes = tl_type_row_bytes(p.type_v, (int64_t)kv_dim);
    if (!model->arch->ops) { /* families allocate their own state below */
        tl_arena a = {NULL, 0};
        layout(ctx, &a, p.n_threads);
        ctx->arena_bytes = a.used;
        ctx->arena = tl_big_alloc(a.used);
        if (ctx->arena) {
            a = (tl_arena){ctx->arena, 0};
            layout(ctx, &a, p.n_threads);
        } else {
            ok = false;
        }
    }
    ctx->logits = alloc_floats((size_t)hp->n_vocab, &ok);
    ctx->seq_past = calloc(p.n_seq, sizeof *ctx->seq_past);
    if (!ctx->seq_past) ok = false;
    ctx->logits_capacity = 1;
    ctx->pool = tl_threadpool_new((int)p.n_threads);
    if (!ctx->pool) ok = false;
    if (!ok) {
        tl_context_free(ctx);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory creating a context of %u tokens", p.n_ctx);
    }
    if (model->arch->ops && (st = model->arch->ops->context_init(ctx, err)) != TL_OK) {
        tl_context_free(ctx);
        return st;
    }
    *out = ctx;
    return TL_OK;
}

uint32_t tl_context_size(const tl_context *ctx) {
    return ctx->n_ctx;
}
uint32_t tl_context_used(const tl_context *ctx) {
    return ctx->seq_past[0];
}
uint32_t tl_context_n_seq(const tl_context *ctx) {
    return ctx->n_seq;
}

uint32_t tl_context_seq_used(const tl_context *ctx, int32_t seq) {
    return seq >= 0 && (uint32_t)seq < ctx->n_seq ? ctx->seq_past[seq] : 0;
}

void tl_context_seq_truncate(tl_context *ctx, int32_t seq, uint32_t pos) {
    if (seq >= 0 && (uint32_t)seq < ctx->n_seq && pos < ctx->seq_past[seq]) ctx->seq_past[seq] = pos;
}

size_t tl_context_memory(const tl_context *ctx) {
    return ctx->arena_bytes + ctx->logits_capacity * (size_t)ctx->model->hp.n_vocab * sizeof(float);
}

void tl_context_truncate(tl_context *ctx, uint32_t pos) {
    tl_context_seq_truncate(ctx, 0, pos);
}

/* Makes room for `rows` rows of logits. */
static tl_status reserve_logits(tl_context *ctx, size_t rows, tl_error *err) {
    if (rows <= ctx->logits_capacity) return TL_OK;
    float *grown = realloc(ctx->logits, rows * (size_t)ctx->model->hp.n_vocab * sizeof(float));
    if (!grown) return tl_fail(err, TL_ERR_NOMEM, "out of memory for %zu rows of logits", rows);
    ctx->logits = grown;
    ctx->logits_capacity = rows;
    return TL_OK;
}

tl_status tl_decode(tl_context *ctx, const tl_token *tokens, int32_t n_tokens, uint32_t start_pos, bool all_logits,
                    tl_error *err) {
    const tl_model *m = ctx->model;
    const tl_family_ops *ops = m->arch->ops;
    if (m->arch->kind == TL_KIND_ENCODER)
        return tl_fail(err, TL_ERR_ARGUMENT, "%s: a %s model computes embeddings only; it cannot decode", m->path,
                       m->arch_name);
    int32_t n_encoded = 0;
    if (m->arch->kind == TL_KIND_ENCODER_DECODER && !ops->encoder_output(ctx, &n_encoded))
        return tl_fail(err, TL_ERR_ARGUMENT, "%s: encode the input first (tl_encode) before decoding", m->path);
    if (n_tokens <= 0) return tl_fail(err, TL_ERR_ARGUMENT, "no tokens to evaluate");
    if (start_pos != ctx->seq_past[0])
        return tl_fail(err, TL_ERR_ARGUMENT, "tokens must continue the cache: start position %u, but %u are cached",
                       start_pos, ctx->seq_past[0]);
    if ((uint64_t)start_pos + (uint64_t)n_tokens > ctx->n_ctx)
        return tl_fail(err, TL_ERR_CONTEXT_FULL, "%d tokens at position %u do not fit in the context of %u tokens",
                       n_tokens, start_pos, ctx->n_ctx);
    for (int32_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= m->hp.n_vocab)
            return tl_fail(err, TL_ERR_ARGUMENT, "token id %d at index %d is outside the vocabulary (0..%d)", tokens[i],
                           i, m->hp.n_vocab - 1);

    const size_t n_vocab = (size_t)m->hp.n_vocab;
    const size_t rows = all_logits ? (size_t)n_tokens : 1;
    tl_status st = reserve_logits(ctx, rows, err);
    if (st != TL_OK) return st;

    for (int32_t done = 0; done < n_tokens;) {
        int32_t n = n_tokens - done;
        if (n > (int32_t)ctx->n_batch) n = (int32_t)ctx->n_batch;
        const bool last_chunk = done + n == n_tokens;
        void (*forward)(tl_context *, const tl_token *, int32_t, bool, float *) = ops ? ops->forward : tl_forward;
        if (all_logits)
            forward(ctx, tokens + done, n, true, ctx->logits + (size_t)done * n_vocab);
        else
            forward(ctx, tokens + done, n, false, last_chunk ? ctx->logits : NULL);
        ctx->seq_past[0] += (uint32_t)n;
        done += n;
    }
    ctx->n_logit_rows = (int32_t)rows;
    ctx->logits_all = all_logits;
    return TL_OK;
}

const float *tl_get_logits(const tl_context *ctx, int32_t i) {
    if (ctx->n_logit_rows == 0) return NULL;
    if (i < 0) i = ctx->n_logit_rows - 1;
    if (i >= ctx->n_logit_rows) return NULL;
    return ctx->logits + (size_t)i * (size_t)ctx->model->hp.n_vocab;
}

tl_status tl_decode_batch(tl_context *ctx, const tl_token *tokens, const int32_t *seq, const bool *want_logits,
                          int32_t n_tokens, tl_error *err) {
    const tl_model *m = ctx->model;
    if (m->arch->ops || m->arch->kind != TL_KIND_DECODER)
        return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: batches of sequences need a decoder-only model", m->path);
    if (n_tokens <= 0) return tl_fail(err, TL_ERR_ARGUMENT, "no tokens to evaluate");
    uint32_t next[TL_MAX_SEQUENCES]; /* each sequence's next position */
    memcpy(next, ctx->seq_past, ctx->n_seq * sizeof *next);
    size_t rows = 0;
    for (int32_t i = 0; i < n_tokens; i++) {
        if (seq[i] < 0 || (uint32_t)seq[i] >= ctx->n_seq)
            return tl_fail(err, TL_ERR_ARGUMENT, "sequence %d of token %d is outside 0..%u", seq[i], i, ctx->n_seq - 1);
        if (tokens[i] < 0 || tokens[i] >= m->hp.n_vocab)
            return tl_fail(err, TL_ERR_ARGUMENT, "token id %d at index %d is outside the vocabulary (0..%d)", tokens[i],
                           i, m->hp.n_vocab - 1);
        if (++next[seq[i]] > ctx->n_ctx)
            return tl_fail(err, TL_ERR_CONTEXT_FULL, "sequence %d does not fit in the context of %u tokens", seq[i],
                           ctx->n_ctx);
        rows += want_logits && want_logits[i];
    }
    tl_status st = reserve_logits(ctx, rows, err);
    if (st != TL_OK) return st;

    const size_t n_vocab = (size_t)m->hp.n_vocab;
    size_t rows_done = 0;
    for (int32_t done = 0; done < n_tokens;) {
        int32_t n = n_tokens - done;
        if (n > (int32_t)ctx->n_batch) n = (int32_t)ctx->n_batch;
        int32_t n_out = 0;
        for (int32_t t = 0; t < n; t++) {
            const int32_t s = seq[done + t];
            ctx->batch_seq[t] = s;
            ctx->batch_pos[t] = ctx->seq_past[s]++;
            if (want_logits && want_logits[done + t]) ctx->batch_rows[n_out++] = t;
        }
        const tl_batch_pass b = {.tokens = tokens + done,
                                 .seq = ctx->batch_seq,
                                 .pos = ctx->batch_pos,
                                 .n = n,
                                 .out_rows = ctx->batch_rows,
                                 .n_out = n_out,
                                 .logits_out = ctx->logits + rows_done * n_vocab};
        tl_forward_batch(ctx, &b);
        rows_done += (size_t)n_out;
        done += n;
    }
    ctx->n_logit_rows = (int32_t)rows;
    ctx->logits_all = false;
    return TL_OK;
}
