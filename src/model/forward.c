/*
 * forward.c — the one generic decoder-only transformer.
 *
 * Reads top to bottom like llama2.c's forward(), for a batch of n tokens at
 * once: embed, then per layer (norm → q/k/v → RoPE → cache → causal attention
 * → output projection → residual; norm → gated feed-forward → residual), then
 * the final norm and the output matrix. What differs between architectures
 * (norm kind, activation, RoPE layout, biases) comes from model->arch.
 *
 * The whole pass is one task on the context's thread pool: every thread runs
 * this same sequence, does its share of each step (a band of matrix rows, a
 * range of tokens, a set of attention heads) and meets the others at a
 * barrier before the next step reads what the step wrote.
 */
#include <math.h>
#include <string.h>

#include "model/attention.h"
#include "model/context.h"
#include "tensor/ops.h"

typedef struct forward_pass {
    tl_context *ctx;
    const tl_model *m;
    const tl_kernel_set *k;
    const tl_token *tokens;
    int32_t n;       /* tokens in the batch */
    uint32_t pos0;   /* position of the first */
    bool all_logits;
    float *logits;   /* NULL: no logits wanted */
    float *hidden;   /* non-NULL: every token's final-norm output instead of logits */
    tl_rope_params rope;
} forward_pass;

/* Convert rows [t0, t1) of x for the matrices that read them. */
static void convert_input(forward_pass *f, int ith, const tl_matrix *const *mats, int n_mats,
                          const float *x, int64_t n_cols, int64_t t0, int64_t t1) {
    tl_step_convert(f->k, &f->ctx->acts, ith, mats, n_mats, x, n_cols, t0, t1);
}

/* Step: normalise rows [first, first+count) of x into xn[0..count) and
 * convert them for the matrices that read them. Threads split the rows. */
static void norm_and_convert(forward_pass *f, int ith, int nth, const float *x, const float *w,
                             const float *b, int32_t first, int32_t count,
                             const tl_matrix *const *mats, int n_mats) {
    const tl_model *m = f->m;
    const int64_t d = m->hp.n_embd;
    long t0, t1;
    tl_split_range(count, ith, nth, &t0, &t1);
    for (long t = t0; t < t1; t++) {
        if (m->arch->norm == TL_NORM_RMS)
            tl_rms_norm(f->ctx->xn + t * d, x + (first + t) * d, w, d, m->hp.norm_eps);
        else
            tl_layer_norm(f->ctx->xn + t * d, x + (first + t) * d, w, b, d, m->hp.norm_eps);
    }
    convert_input(f, ith, mats, n_mats, f->ctx->xn, d, t0, t1);
}

/* ---- matrix steps ------------------------------------------------------- */

/* This thread's rows of y = W·x (+ bias), for `count` tokens. */
static void matmul_share(forward_pass *f, int ith, int nth, const tl_matrix *w, const float *bias,
                         const float *x, int32_t count, float *y) {
    tl_step_matmul(f->k, &f->ctx->acts, ith, nth, w, bias, x, count, y);
}

/* This thread's rows of x += W·in: the residual is added by the thread that
 * computed the rows, so no extra barrier is needed. */
static void matmul_residual_share(forward_pass *f, int ith, int nth, const tl_matrix *w,
                                  const float *bias, const float *in) {
    tl_context *ctx = f->ctx;
    matmul_share(f, ith, nth, w, bias, in, f->n, ctx->proj);
    int64_t r0, r1;
    tl_step_rows(w->n_rows, ith, nth, &r0, &r1);
    for (int32_t t = 0; t < f->n; t++)
        for (int64_t r = r0; r < r1; r++) ctx->x[t * w->n_rows + r] += ctx->proj[t * w->n_rows + r];
}

/* Gate and up projections and the gated activation on this thread's rows. */
static void feed_forward_share(forward_pass *f, int ith, int nth, const tl_layer_weights *L) {
    tl_context *ctx = f->ctx;
    const int64_t n_ff = f->m->hp.n_ff;
    matmul_share(f, ith, nth, &L->ffn_gate, NULL, ctx->xn, f->n, ctx->gate);
    matmul_share(f, ith, nth, &L->ffn_up, NULL, ctx->xn, f->n, ctx->up);
    int64_t r0, r1;
    tl_step_rows(n_ff, ith, nth, &r0, &r1);
    for (int32_t t = 0; t < f->n; t++) {
        if (f->m->arch->ffn == TL_FFN_SWIGLU)
            tl_swiglu(ctx->gate + t * n_ff + r0, ctx->up + t * n_ff + r0, r1 - r0);
        else
            tl_geglu(ctx->gate + t * n_ff + r0, ctx->up + t * n_ff + r0, r1 - r0);
    }
}

/* ---- attention ---------------------------------------------------------- */

/* RoPE on this thread's tokens, then their keys and values into the cache. */
static void rope_and_store(forward_pass *f, int ith, int nth, uint8_t *k_layer, uint8_t *v_layer) {
    tl_context *ctx = f->ctx;
    const tl_hparams *hp = &f->m->hp;
    const size_t q_dim = (size_t)hp->n_head * hp->head_dim, kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    const int half_rot = (int)hp->n_rot / 2;
    long t0, t1;
    tl_split_range(f->n, ith, nth, &t0, &t1);
    for (long t = t0; t < t1; t++) {
        const float *c = ctx->rope_cos + t * half_rot, *s = ctx->rope_sin + t * half_rot;
        tl_rope_apply(&f->rope, c, s, ctx->q + t * q_dim, (int)hp->n_head, (int)hp->head_dim);
        tl_rope_apply(&f->rope, c, s, ctx->k + t * kv_dim, (int)hp->n_head_kv, (int)hp->head_dim);
        tl_attention_store(ctx, f->k, k_layer, v_layer, f->pos0 + (uint32_t)t, ctx->k + t * kv_dim,
                           ctx->v + t * kv_dim);
    }
}

/* ---- the pass ----------------------------------------------------------- */

static void forward_worker(void *arg, int ith, int nth) {
    forward_pass *f = arg;
    tl_context *ctx = f->ctx;
    tl_threadpool *pool = ctx->pool;
    const tl_model *m = f->m;
    const tl_hparams *hp = &m->hp;
    const size_t n_embd = hp->n_embd;
    const size_t q_dim = (size_t)hp->n_head * hp->head_dim;
    const int half_rot = (int)hp->n_rot / 2;

    /* Embeddings and RoPE angles of this thread's tokens. */
    long t0, t1;
    tl_split_range(f->n, ith, nth, &t0, &t1);
    for (long t = t0; t < t1; t++) {
        tl_matrix_get_row(&m->token_embd, f->tokens[t], ctx->x + t * n_embd);
        tl_rope_cache(&f->rope, (float)(f->pos0 + (uint32_t)t), ctx->rope_cos + t * half_rot,
                      ctx->rope_sin + t * half_rot);
    }
    tl_threadpool_barrier(pool);

    for (uint32_t il = 0; il < hp->n_layer; il++) {
        const tl_layer_weights *L = &m->layers[il];
        uint8_t *k_layer = ctx->k_cache + (size_t)il * ctx->n_ctx * ctx->k_row_bytes;
        uint8_t *v_layer = ctx->v_cache + (size_t)il * ctx->n_ctx * ctx->v_row_bytes;

        /* Attention block. */
        const tl_matrix *qkv[] = {&L->wq, &L->wk, &L->wv};
        norm_and_convert(f, ith, nth, ctx->x, L->attn_norm, L->attn_norm_bias, 0, f->n, qkv, 3);
        tl_threadpool_barrier(pool);
        matmul_share(f, ith, nth, &L->wq, L->bq, ctx->xn, f->n, ctx->q);
        matmul_share(f, ith, nth, &L->wk, L->bk, ctx->xn, f->n, ctx->k);
        matmul_share(f, ith, nth, &L->wv, L->bv, ctx->xn, f->n, ctx->v);
        tl_threadpool_barrier(pool);
        rope_and_store(f, ith, nth, k_layer, v_layer);
        tl_threadpool_barrier(pool);
        tl_attention_share(ctx, f->k, f->n, f->pos0, k_layer, v_layer, ith, nth);
        tl_threadpool_barrier(pool);
        const tl_matrix *wo[] = {&L->wo};
        convert_input(f, ith, wo, 1, ctx->attn, (int64_t)q_dim, t0, t1);
        tl_threadpool_barrier(pool);
        matmul_residual_share(f, ith, nth, &L->wo, L->bo, ctx->attn);
        tl_threadpool_barrier(pool);

        /* Feed-forward block. */
        const tl_matrix *gate_up[] = {&L->ffn_gate, &L->ffn_up};
        norm_and_convert(f, ith, nth, ctx->x, L->ffn_norm, L->ffn_norm_bias, 0, f->n, gate_up, 2);
        tl_threadpool_barrier(pool);
        feed_forward_share(f, ith, nth, L);
        tl_threadpool_barrier(pool);
        const tl_matrix *down[] = {&L->ffn_down};
        convert_input(f, ith, down, 1, ctx->gate, (int64_t)hp->n_ff, t0, t1);
        tl_threadpool_barrier(pool);
        matmul_residual_share(f, ith, nth, &L->ffn_down, NULL, ctx->gate);
        tl_threadpool_barrier(pool);
    }

    if (f->hidden) {
        norm_and_convert(f, ith, nth, ctx->x, m->output_norm, m->output_norm_bias, 0, f->n, NULL, 0);
        for (long t = t0; t < t1; t++)
            memcpy(f->hidden + t * n_embd, ctx->xn + t * n_embd, n_embd * sizeof(float));
        return;
    }
    if (!f->logits) return;
    /* Only the rows whose logits are wanted go through the output matrix. */
    const int32_t first = f->all_logits ? 0 : f->n - 1;
    const tl_matrix *out[] = {&m->output};
    norm_and_convert(f, ith, nth, ctx->x, m->output_norm, m->output_norm_bias, first, f->n - first,
                     out, 1);
    tl_threadpool_barrier(pool);
    matmul_share(f, ith, nth, &m->output, NULL, ctx->xn, f->n - first, f->logits);
}

static void run_pass(tl_context *ctx, const tl_token *tokens, int32_t n, bool all_logits,
                     float *logits_out, float *hidden_out) {
    const tl_model *m = ctx->model;
    forward_pass f = {.ctx = ctx,
                      .hidden = hidden_out,
                      .m = m,
                      .k = ctx->kernels,
                      .tokens = tokens,
                      .n = n,
                      .pos0 = ctx->n_past,
                      .all_logits = all_logits,
                      .logits = logits_out,
                      .rope = {.n_rot = (int)m->hp.n_rot,
                               .theta_base = m->hp.rope_theta,
                               .freq_scale = m->hp.rope_freq_scale,
                               .freq_factors = m->rope_freq_factors,
                               .neox = m->arch->rope == TL_ROPE_NEOX}};
    tl_threadpool_run(ctx->pool, forward_worker, &f);
}

void tl_forward(tl_context *ctx, const tl_token *tokens, int32_t n, bool all_logits,
                float *logits_out) {
    run_pass(ctx, tokens, n, all_logits, logits_out, NULL);
}

void tl_forward_hidden(tl_context *ctx, const tl_token *tokens, int32_t n, float *hidden_out) {
    run_pass(ctx, tokens, n, false, NULL, hidden_out);
}
