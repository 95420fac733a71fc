/*
 * t5_forward.c — the T5 encoder and decoder passes.
 *
 * Encoder, per layer: RMS norm → q/k/v → bidirectional attention with the
 * relative position bias → output projection → residual; RMS norm → gated
 * GELU (or ReLU) feed-forward → residual. Then enc.output_norm gives the
 * encoder output, and every decoder layer's cross-attention keys and values
 * are computed from it once, here, rather than at every decoded token.
 *
 * Decoder, per layer: the same self-attention block, causal, over the KV
 * cache with unidirectional buckets; a cross-attention block (RMS norm → q →
 * attention over the encoder's keys and values, no bias → output projection
 * → residual); the feed-forward block. Then dec.output_norm and the output
 * matrix.
 *
 * As in forward.c, a pass is one task on the context's thread pool: every
 * thread runs the same sequence of steps, does its share of each (a band of
 * matrix rows, a range of tokens, a set of attention units) and meets the
 * others at a barrier before a step reads what the previous one wrote.
 */
#include <string.h>

#include "model/attention.h"
#include "model/t5.h"

typedef struct t5_pass {
    tl_context *ctx;
    const tl_model *m;
    const t5_model *tm;
    t5_state *st;
    const tl_kernel_set *k;
    const tl_token *tokens;
    int32_t n;     /* tokens in the pass */
    uint32_t pos0; /* decoder: position of the first */
    bool all_logits;
    float *logits; /* decoder: NULL when no logits are wanted */
} t5_pass;

/* ---- steps -------------------------------------------------------------- */

/* Normalise rows [first, first + count) of the residual stream into
 * xn[0..count) and convert them for the matrices that read them. */
static void norm_and_convert(t5_pass *p, int ith, int nth, const float *weight, int32_t first, int32_t count,
                             const tl_matrix *const *mats, int n_mats) {
    t5_state *st = p->st;
    const int64_t d = p->m->hp.n_embd;
    long t0, t1;
    tl_split_range(count, ith, nth, &t0, &t1);
    for (long t = t0; t < t1; t++) tl_rms_norm(st->xn + t * d, st->x + (first + t) * d, weight, d, p->m->hp.norm_eps);
    tl_step_convert(p->k, &st->acts, ith, mats, n_mats, st->xn, d, t0, t1);
}

/* Convert this thread's tokens of x (n_cols wide) for one matrix. */
static void convert_for(t5_pass *p, int ith, int nth, const tl_matrix *w, const float *x, int64_t n_cols) {
    long t0, t1;
    tl_split_range(p->n, ith, nth, &t0, &t1);
    const tl_matrix *mats[] = {w};
    tl_step_convert(p->k, &p->st->acts, ith, mats, 1, x, n_cols, t0, t1);
}

static void matmul(t5_pass *p, int ith, int nth, const tl_matrix *w, const float *x, int32_t count, float *y) {
    tl_step_matmul(p->k, &p->st->acts, ith, nth, w, NULL, x, count, y);
}

/* This thread's rows of x += W·in (the thread that computed a row adds it,
 * so no barrier is needed in between). */
static void matmul_residual(t5_pass *p, int ith, int nth, const tl_matrix *w, const float *in) {
    t5_state *st = p->st;
    matmul(p, ith, nth, w, in, p->n, st->proj);
    int64_t r0, r1;
    tl_step_rows(w->n_rows, ith, nth, &r0, &r1);
    for (int32_t t = 0; t < p->n; t++)
        for (int64_t r = r0; r < r1; r++) st->x[t * w->n_rows + r] += st->proj[t * w->n_rows + r];
}

/* This thread's dimensions of src ([n][width]) into dst ([width][stride]). */
static void transpose_share(int ith, int nth, const float *src, int32_t n, int64_t width, float *dst, int64_t stride) {
    long d0, d1;
    tl_split_range((long)width, ith, nth, &d0, &d1);
    for (long d = d0; d < d1; d++)
        for (int32_t t = 0; t < n; t++) dst[d * stride + t] = src[(int64_t)t * width + d];
}

/* Output projection of the attention in st->attn, added to the residual. */
static void attention_output(t5_pass *p, int ith, int nth, const tl_matrix *wo) {
    tl_threadpool *pool = p->ctx->pool;
    convert_for(p, ith, nth, wo, p->st->attn, p->tm->inner);
    tl_threadpool_barrier(pool);
    matmul_residual(p, ith, nth, wo, p->st->attn);
    tl_threadpool_barrier(pool);
}

/* The feed-forward block: gelu(gate(x)) * up(x) (FLAN-T5) or relu(up(x))
 * (T5), then down, added to the residual. */
static void feed_forward(t5_pass *p, int ith, int nth, const t5_layer *L) {
    t5_state *st = p->st;
    tl_threadpool *pool = p->ctx->pool;
    const int64_t n_ff = p->m->hp.n_ff;
    const bool gated = L->ffn_gate.data != NULL;
    const tl_matrix *in[] = {gated ? &L->ffn_gate : &L->ffn_up, &L->ffn_up};
    norm_and_convert(p, ith, nth, L->ffn_norm, 0, p->n, in, gated ? 2 : 1);
    tl_threadpool_barrier(pool);
    int64_t r0, r1;
    tl_step_rows(n_ff, ith, nth, &r0, &r1);
    if (gated) {
        matmul(p, ith, nth, &L->ffn_gate, st->xn, p->n, st->gate);
        matmul(p, ith, nth, &L->ffn_up, st->xn, p->n, st->up);
        for (int32_t t = 0; t < p->n; t++) tl_geglu(st->gate + t * n_ff + r0, st->up + t * n_ff + r0, r1 - r0);
    } else {
        matmul(p, ith, nth, &L->ffn_up, st->xn, p->n, st->up);
        for (int32_t t = 0; t < p->n; t++)
            for (int64_t r = r0; r < r1; r++) {
                float *v = st->up + t * n_ff + r;
                *v = *v > 0.0f ? *v : 0.0f;
            }
    }
    tl_threadpool_barrier(pool);
    const float *act = gated ? st->gate : st->up;
    convert_for(p, ith, nth, &L->ffn_down, act, n_ff);
    tl_threadpool_barrier(pool);
    matmul_residual(p, ith, nth, &L->ffn_down, act);
    tl_threadpool_barrier(pool);
}

/* Token embeddings of this thread's tokens into the residual stream. */
static void embed(t5_pass *p, int ith, int nth) {
    const int64_t d = p->m->hp.n_embd;
    long t0, t1;
    tl_split_range(p->n, ith, nth, &t0, &t1);
    for (long t = t0; t < t1; t++) tl_matrix_get_row(&p->m->token_embd, p->tokens[t], p->st->x + t * d);
}

/* ---- the encoder -------------------------------------------------------- */

static void encoder_worker(void *arg, int ith, int nth) {
    t5_pass *p = arg;
    t5_state *st = p->st;
    const t5_model *tm = p->tm;
    tl_threadpool *pool = p->ctx->pool;
    const int64_t d = p->m->hp.n_embd, inner = tm->inner, T = st->n_tokens;
    const int n_head = (int)p->m->hp.n_head, head_dim = (int)p->m->hp.head_dim;
    void *scratch = (uint8_t *)st->attn_scratch + (size_t)ith * st->attn_scratch_bytes;

    embed(p, ith, nth);
    tl_threadpool_barrier(pool);
    for (uint32_t il = 0; il < tm->enc.n_layer; il++) {
        const t5_layer *L = &tm->enc.layers[il];
        const tl_matrix *qkv[] = {&L->wq, &L->wk, &L->wv};
        norm_and_convert(p, ith, nth, L->attn_norm, 0, p->n, qkv, 3);
        tl_threadpool_barrier(pool);
        matmul(p, ith, nth, &L->wq, st->xn, p->n, st->q);
        matmul(p, ith, nth, &L->wk, st->xn, p->n, st->k);
        matmul(p, ith, nth, &L->wv, st->xn, p->n, st->v);
        tl_threadpool_barrier(pool);
        transpose_share(ith, nth, st->v, p->n, inner, st->vt, T);
        tl_threadpool_barrier(pool);
        const t5_attention a = {.q = st->q,
                                .out = st->attn,
                                .n_q = p->n,
                                .q_pos0 = 0,
                                .n_kv = p->n,
                                .causal = false,
                                .bias = st->enc_bias[il],
                                .kv = {.k_type = TL_TYPE_F32,
                                       .v_type = TL_TYPE_F32,
                                       .k = (const uint8_t *)st->k,
                                       .v = (const uint8_t *)st->vt,
                                       .k_row_bytes = (size_t)inner * sizeof(float),
                                       .v_row_bytes = (size_t)T * sizeof(float),
                                       .v_transposed = true}};
        t5_attention_share(&a, p->k, n_head, head_dim, scratch, ith, nth);
        tl_threadpool_barrier(pool);
        attention_output(p, ith, nth, &L->wo);
        feed_forward(p, ith, nth, L);
    }

    /* The encoder output, then each decoder layer's cross keys and values. */
    long t0, t1;
    tl_split_range(p->n, ith, nth, &t0, &t1);
    for (long t = t0; t < t1; t++)
        tl_rms_norm(st->enc_out + t * d, st->x + t * d, tm->enc.output_norm, d, p->m->hp.norm_eps);
    for (uint32_t il = 0; il < tm->dec.n_layer; il++) {
        const t5_layer *L = &tm->dec.layers[il];
        const tl_matrix *kv[] = {&L->cross_k, &L->cross_v};
        tl_step_convert(p->k, &st->acts, ith, kv, 2, st->enc_out, d, t0, t1);
        tl_threadpool_barrier(pool);
        matmul(p, ith, nth, &L->cross_k, st->enc_out, p->n, st->cross_k + (size_t)il * T * inner);
        matmul(p, ith, nth, &L->cross_v, st->enc_out, p->n, st->v);
        tl_threadpool_barrier(pool);
        transpose_share(ith, nth, st->v, p->n, inner, st->cross_vt + (size_t)il * inner * T, T);
    }
}

void t5_run_encoder(tl_context *ctx, const tl_token *tokens, int32_t n) {
    t5_pass p = {.ctx = ctx,
                 .m = ctx->model,
                 .tm = ctx->model->family,
                 .st = ctx->family,
                 .k = ctx->kernels,
                 .tokens = tokens,
                 .n = n};
    tl_threadpool_run(ctx->pool, encoder_worker, &p);
}

/* ---- the decoder -------------------------------------------------------- */

static void decoder_worker(void *arg, int ith, int nth) {
    t5_pass *p = arg;
    tl_context *ctx = p->ctx;
    t5_state *st = p->st;
    const t5_model *tm = p->tm;
    tl_threadpool *pool = ctx->pool;
    const int64_t inner = tm->inner, T = st->n_tokens;
    const int n_head = (int)p->m->hp.n_head, head_dim = (int)p->m->hp.head_dim;
    void *scratch = (uint8_t *)st->attn_scratch + (size_t)ith * st->attn_scratch_bytes;
    const bool v_transposed = tl_attention_v_transposed(ctx->type_v);
    long t0, t1;
    tl_split_range(p->n, ith, nth, &t0, &t1);

    embed(p, ith, nth);
    tl_threadpool_barrier(pool);
    for (uint32_t il = 0; il < tm->dec.n_layer; il++) {
        const t5_layer *L = &tm->dec.layers[il];
        uint8_t *k_layer = st->k_cache + (size_t)il * ctx->n_ctx * ctx->k_row_bytes;
        uint8_t *v_layer = st->v_cache + (size_t)il * ctx->n_ctx * ctx->v_row_bytes;

        /* Causal self-attention over the cache. */
        const tl_matrix *qkv[] = {&L->wq, &L->wk, &L->wv};
        norm_and_convert(p, ith, nth, L->attn_norm, 0, p->n, qkv, 3);
        tl_threadpool_barrier(pool);
        matmul(p, ith, nth, &L->wq, st->xn, p->n, st->q);
        matmul(p, ith, nth, &L->wk, st->xn, p->n, st->k);
        matmul(p, ith, nth, &L->wv, st->xn, p->n, st->v);
        tl_threadpool_barrier(pool);
        for (long t = t0; t < t1; t++)
            tl_attention_store(ctx, p->k, k_layer, v_layer, p->pos0 + (uint32_t)t, st->k + t * inner,
                               st->v + t * inner);
        tl_threadpool_barrier(pool);
        const t5_attention self = {
            .q = st->q,
            .out = st->attn,
            .n_q = p->n,
            .q_pos0 = (int32_t)p->pos0,
            .n_kv = (int64_t)p->pos0 + p->n,
            .causal = true,
            .bias = st->dec_bias[il],
            .kv = {.k_type = ctx->type_k,
                   .v_type = ctx->type_v,
                   .k = k_layer,
                   .v = v_layer,
                   .k_row_bytes = ctx->k_row_bytes,
                   .v_row_bytes = v_transposed ? tl_type_row_bytes(ctx->type_v, ctx->n_ctx) : ctx->v_row_bytes,
                   .v_transposed = v_transposed}};
        t5_attention_share(&self, p->k, n_head, head_dim, scratch, ith, nth);
        tl_threadpool_barrier(pool);
        attention_output(p, ith, nth, &L->wo);

        /* Cross-attention over the encoder output. */
        const tl_matrix *cross_q[] = {&L->cross_q};
        norm_and_convert(p, ith, nth, L->cross_norm, 0, p->n, cross_q, 1);
        tl_threadpool_barrier(pool);
        matmul(p, ith, nth, &L->cross_q, st->xn, p->n, st->q);
        tl_threadpool_barrier(pool);
        const t5_attention cross = {.q = st->q,
                                    .out = st->attn,
                                    .n_q = p->n,
                                    .q_pos0 = 0,
                                    .n_kv = st->n_enc,
                                    .causal = false,
                                    .bias = NULL,
                                    .kv = {.k_type = TL_TYPE_F32,
                                           .v_type = TL_TYPE_F32,
                                           .k = (const uint8_t *)(st->cross_k + (size_t)il * T * inner),
                                           .v = (const uint8_t *)(st->cross_vt + (size_t)il * inner * T),
                                           .k_row_bytes = (size_t)inner * sizeof(float),
                                           .v_row_bytes = (size_t)T * sizeof(float),
                                           .v_transposed = true}};
        t5_attention_share(&cross, p->k, n_head, head_dim, scratch, ith, nth);
        tl_threadpool_barrier(pool);
        attention_output(p, ith, nth, &L->cross_o);

        feed_forward(p, ith, nth, L);
    }

    if (!p->logits) return;
    /* Only the rows whose logits are wanted go through the output matrix. */
    const int32_t first = p->all_logits ? 0 : p->n - 1;
    const tl_matrix *out[] = {&p->m->output};
    norm_and_convert(p, ith, nth, tm->dec.output_norm, first, p->n - first, out, 1);
    tl_threadpool_barrier(pool);
    matmul(p, ith, nth, &p->m->output, st->xn, p->n - first, p->logits);
}

void t5_run_decoder(tl_context *ctx, const tl_token *tokens, int32_t n, bool all_logits, float *logits) {
    t5_pass p = {.ctx = ctx,
                 .m = ctx->model,
                 .tm = ctx->model->family,
                 .st = ctx->family,
                 .k = ctx->kernels,
                 .tokens = tokens,
                 .n = n,
                 .pos0 = ctx->seq_past[0],
                 .all_logits = all_logits,
                 .logits = logits};
    tl_threadpool_run(ctx->pool, decoder_worker, &p);
}
