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
    int32_t n;              /* tokens in the batch */
    const uint32_t *pos;    /* each token's position in its sequence */
    const int32_t *seq;     /* each token's sequence */
    const tl_seq_run *runs; /* the batch cut into runs of one sequence */
    int32_t n_runs;
    const int32_t *out_rows; /* tokens whose logits are wanted */
    int32_t n_out;
    /* The tokens, and the rows of out_rows, cut into exact (short runs) and batched spans. */
    const tl_token_span *spans, *out_spans;
    int32_t n_spans, n_out_spans;
    float *logits;           /* NULL: no logits wanted */
    float *hidden;           /* non-NULL: every token's final-norm output instead of logits */
    tl_rope_params rope;     /* global layers */
    tl_rope_params rope_swa; /* local (sliding-window) layers */
    bool separate_swa_rope;  /* local layers have their own RoPE tables */
} forward_pass;

/* Convert rows [t0, t1) of x for the matrices that read them. */
static void convert_input(forward_pass *f, int ith, const tl_matrix *const *mats, int n_mats, const float *x,
                          int64_t n_cols, int64_t t0, int64_t t1) {
    tl_step_convert(f->k, &f->ctx->acts, ith, mats, n_mats, x, n_cols, t0, t1);
}

/* Step: normalise rows rows[0..count) of x (NULL: rows 0..count-1) into
 * xn[0..count) and convert them for the matrices that read them. Threads
 * split the rows. */
static void norm_and_convert(forward_pass *f, int ith, int nth, const float *x, const float *w, const float *b,
                             const int32_t *rows, int32_t count, const tl_matrix *const *mats, int n_mats) {
    const tl_model *m = f->m;
    const int64_t d = m->hp.n_embd;
    long t0, t1;
    tl_split_range(count, ith, nth, &t0, &t1);
    for (long t = t0; t < t1; t++) {
        const float *row = x + (rows ? rows[t] : t) * d;
        if (m->arch->norm == TL_NORM_RMS)
            tl_rms_norm(f->ctx->xn + t * d, row, w, d, m->hp.norm_eps);
        else
            tl_layer_norm(f->ctx->xn + t * d, row, w, b, d, m->hp.norm_eps);
    }
    convert_input(f, ith, mats, n_mats, f->ctx->xn, d, t0, t1);
}

/* Normalise one vector of n floats in place with the architecture's norm. */
static void norm_in_place(const forward_pass *f, float *x, const float *w, int64_t n) {
    if (f->m->arch->norm == TL_NORM_RMS)
        tl_rms_norm(x, x, w, n, f->m->hp.norm_eps);
    else
        tl_layer_norm(x, x, w, NULL, n, f->m->hp.norm_eps);
}

/* ---- matrix steps ------------------------------------------------------- */

/* This thread's rows of y = W·x (+ bias), for `count` tokens. */
static void matmul_share(forward_pass *f, int ith, int nth, const tl_matrix *w, const float *bias, const float *x,
                         int32_t count, float *y) {
    if (count == f->n)
        tl_step_matmul_spans(f->k, &f->ctx->acts, ith, nth, w, bias, x, f->spans, f->n_spans, y);
    else if (count == f->n_out)
        tl_step_matmul_spans(f->k, &f->ctx->acts, ith, nth, w, bias, x, f->out_spans, f->n_out_spans, y);
    else
        tl_step_matmul(f->k, &f->ctx->acts, ith, nth, w, bias, x, count, y);
}

/* This thread's rows of x += W·in: the residual is added by the thread that
 * computed the rows, so no extra barrier is needed. */
static void matmul_residual_share(forward_pass *f, int ith, int nth, const tl_matrix *w, const float *bias,
                                  const float *in) {
    tl_context *ctx = f->ctx;
    matmul_share(f, ith, nth, w, bias, in, f->n, ctx->proj);
    int64_t r0, r1;
    tl_step_rows(w->n_rows, ith, nth, &r0, &r1);
    for (int32_t t = 0; t < f->n; t++)
        for (int64_t r = r0; r < r1; r++) ctx->x[t * w->n_rows + r] += ctx->proj[t * w->n_rows + r];
}

/* Step after y = W·in into ctx->proj (all rows, after a barrier): x +=
 * norm(proj) for this thread's tokens (Gemma 2/3 post-norms). */
static void post_norm_residual(forward_pass *f, int ith, int nth, const float *w) {
    tl_context *ctx = f->ctx;
    const int64_t d = f->m->hp.n_embd;
    long t0, t1;
    tl_split_range(f->n, ith, nth, &t0, &t1);
    for (long t = t0; t < t1; t++) {
        float *p = ctx->proj + t * d, *x = ctx->x + t * d;
        norm_in_place(f, p, w, d);
        for (int64_t i = 0; i < d; i++) x[i] += p[i];
    }
}

/* The output projection of a block joined to the residual stream: directly,
 * or through the block's post-norm. Ends with all threads past a barrier. */
static void project_to_residual(forward_pass *f, int ith, int nth, const tl_matrix *w, const float *bias,
                                const float *in, const float *post_norm) {
    if (!post_norm) {
        matmul_residual_share(f, ith, nth, w, bias, in);
    } else {
        matmul_share(f, ith, nth, w, bias, in, f->n, f->ctx->proj);
        tl_threadpool_barrier(f->ctx->pool);
        post_norm_residual(f, ith, nth, post_norm);
    }
    tl_threadpool_barrier(f->ctx->pool);
}

/* Gate and up projections and the gated activation on this thread's rows. */
static void feed_forward_share(forward_pass *f, int ith, int nth, const tl_layer_weights *L) {
    tl_context *ctx = f->ctx;
    const int64_t n_ff = f->m->hp.n_ff;
    matmul_share(f, ith, nth, &L->ffn_gate, NULL, ctx->xn, f->n, ctx->gate);
    matmul_share(f, ith, nth, &L->ffn_up, NULL, ctx->xn, f->n, ctx->up);
    int64_t r0, r1;
    tl_step_rows(n_ff, ith, nth, &r0, &r1);
    const tl_swiglu_fn gated = f->m->arch->ffn == TL_FFN_SWIGLU ? f->k->swiglu : f->k->geglu;
    for (int32_t t = 0; t < f->n; t++) gated(ctx->gate + t * n_ff + r0, ctx->up + t * n_ff + r0, r1 - r0);
}

/* ---- attention ---------------------------------------------------------- */

/* Per-head norms of n_heads heads (Gemma 3, StableLM 2 12B). */
static void head_norms(const forward_pass *f, float *x, int n_heads, const float *w) {
    const tl_model *m = f->m;
    const int hd = (int)m->hp.head_dim;
    for (int h = 0; h < n_heads; h++) norm_in_place(f, x + (size_t)h * hd, w + (size_t)h * m->qk_norm_stride, hd);
}

/* q/k norms and RoPE on this thread's tokens, then their keys and values
 * into their sequences' caches of layer il. */
static void rope_and_store(forward_pass *f, int ith, int nth, const tl_layer_weights *L, uint32_t il) {
    tl_context *ctx = f->ctx;
    const tl_hparams *hp = &f->m->hp;
    const size_t q_dim = (size_t)hp->n_head * hp->head_dim, kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    const int half_rot = (int)hp->n_rot / 2;
    const bool local = L->is_swa && f->separate_swa_rope;
    const tl_rope_params *rope = local ? &f->rope_swa : &f->rope;
    const float *cos_table = local ? ctx->rope_cos_swa : ctx->rope_cos;
    const float *sin_table = local ? ctx->rope_sin_swa : ctx->rope_sin;
    long t0, t1;
    tl_split_range(f->n, ith, nth, &t0, &t1);
    for (long t = t0; t < t1; t++) {
        if (L->q_norm) {
            head_norms(f, ctx->q + t * q_dim, (int)hp->n_head, L->q_norm);
            head_norms(f, ctx->k + t * kv_dim, (int)hp->n_head_kv, L->k_norm);
        }
        const float *c = cos_table + t * half_rot, *s = sin_table + t * half_rot;
        tl_rope_apply(rope, c, s, ctx->q + t * q_dim, (int)hp->n_head, (int)hp->head_dim);
        tl_rope_apply(rope, c, s, ctx->k + t * kv_dim, (int)hp->n_head_kv, (int)hp->head_dim);
        tl_attention_store(ctx, f->k, tl_kv_layer(ctx, ctx->k_cache, ctx->k_row_bytes, il, f->seq[t]),
                           tl_kv_layer(ctx, ctx->v_cache, ctx->v_row_bytes, il, f->seq[t]), f->pos[t],
                           ctx->k + t * kv_dim, ctx->v + t * kv_dim);
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
    const float embd_scale = m->arch->scale_embeddings ? sqrtf((float)n_embd) : 1.0f;
    for (long t = t0; t < t1; t++) {
        float *x = ctx->x + t * n_embd;
        tl_matrix_get_row(&m->token_embd, f->tokens[t], x);
        if (embd_scale != 1.0f)
            for (size_t i = 0; i < n_embd; i++) x[i] *= embd_scale;
        const float pos = (float)f->pos[t];
        tl_rope_cache(&f->rope, pos, ctx->rope_cos + t * half_rot, ctx->rope_sin + t * half_rot);
        if (f->separate_swa_rope)
            tl_rope_cache(&f->rope_swa, pos, ctx->rope_cos_swa + t * half_rot, ctx->rope_sin_swa + t * half_rot);
    }
    tl_threadpool_barrier(pool);

    for (uint32_t il = 0; il < hp->n_layer; il++) {
        const tl_layer_weights *L = &m->layers[il];

        /* Attention block. */
        const tl_matrix *qkv[] = {&L->wq, &L->wk, &L->wv};
        norm_and_convert(f, ith, nth, ctx->x, L->attn_norm, L->attn_norm_bias, NULL, f->n, qkv, 3);
        tl_threadpool_barrier(pool);
        matmul_share(f, ith, nth, &L->wq, L->bq, ctx->xn, f->n, ctx->q);
        matmul_share(f, ith, nth, &L->wk, L->bk, ctx->xn, f->n, ctx->k);
        matmul_share(f, ith, nth, &L->wv, L->bv, ctx->xn, f->n, ctx->v);
        tl_threadpool_barrier(pool);
        rope_and_store(f, ith, nth, L, il);
        tl_threadpool_barrier(pool);
        const tl_attention_params ap = {
            .scale = hp->attn_scale, .softcap = hp->attn_softcap, .window = L->is_swa ? hp->n_swa : 0};
        tl_attention_share(ctx, f->k, &ap, f->runs, f->n_runs, il, ith, nth);
        tl_threadpool_barrier(pool);
        const tl_matrix *wo[] = {&L->wo};
        convert_input(f, ith, wo, 1, ctx->attn, (int64_t)q_dim, t0, t1);
        tl_threadpool_barrier(pool);
        project_to_residual(f, ith, nth, &L->wo, L->bo, ctx->attn, L->attn_post_norm);

        /* Feed-forward block; without its own norm (parallel residual) it
         * reads the attention block's normalised input, still in xn. */
        const tl_matrix *gate_up[] = {&L->ffn_gate, &L->ffn_up};
        if (L->ffn_norm)
            norm_and_convert(f, ith, nth, ctx->x, L->ffn_norm, L->ffn_norm_bias, NULL, f->n, gate_up, 2);
        else
            convert_input(f, ith, gate_up, 2, ctx->xn, (int64_t)n_embd, t0, t1);
        tl_threadpool_barrier(pool);
        feed_forward_share(f, ith, nth, L);
        tl_threadpool_barrier(pool);
        const tl_matrix *down[] = {&L->ffn_down};
        convert_input(f, ith, down, 1, ctx->gate, (int64_t)hp->n_ff, t0, t1);
        tl_threadpool_barrier(pool);
        project_to_residual(f, ith, nth, &L->ffn_down, NULL, ctx->gate, L->ffn_post_norm);
    }

    if (f->hidden) {
        norm_and_convert(f, ith, nth, ctx->x, m->output_norm, m->output_norm_bias, NULL, f->n, NULL, 0);
        for (long t = t0; t < t1; t++) memcpy(f->hidden + t * n_embd, ctx->xn + t * n_embd, n_embd * sizeof(float));
        return;
    }
    if (!f->logits || f->n_out == 0) return;
    /* Only the rows whose logits are wanted go through the output matrix. */
    const tl_matrix *out[] = {&m->output};
    norm_and_convert(f, ith, nth, ctx->x, m->output_norm, m->output_norm_bias, f->out_rows, f->n_out, out, 1);
    tl_threadpool_barrier(pool);
    matmul_share(f, ith, nth, &m->output, NULL, ctx->xn, f->n_out, f->logits);
    if (hp->final_softcap > 0) { /* c·tanh(logit / c) on the rows this thread wrote */
        const float c = hp->final_softcap;
        int64_t r0, r1;
        tl_step_rows(m->output.n_rows, ith, nth, &r0, &r1);
        for (int32_t t = 0; t < f->n_out; t++)
            for (int64_t r = r0; r < r1; r++) {
                float *y = f->logits + (size_t)t * m->output.n_rows + r;
                *y = c * tanhf(*y / c);
            }
    }
}

/* Frequency divisors: Llama 3's, or LongRoPE's long factors when the context
 * exceeds the original training length (short ones otherwise), as llama.cpp. */
static const float *rope_factors(const tl_context *ctx) {
    const tl_model *m = ctx->model;
    if (m->rope_freq_factors) return m->rope_freq_factors;
    if (m->rope_long && ctx->n_ctx > m->hp.n_ctx_orig) return m->rope_long;
    return m->rope_short;
}

/* Cuts the batch into runs of consecutive tokens of one sequence. */
static int32_t find_runs(const int32_t *seq, const uint32_t *pos, int32_t n, tl_seq_run *runs) {
    int32_t n_runs = 0;
    for (int32_t t = 0; t < n; t++) {
        tl_seq_run *last = n_runs ? &runs[n_runs - 1] : NULL;
        if (last && last->seq == seq[t] && last->pos0 + (uint32_t)last->n == pos[t]) {
            last->n++;
        } else {
            runs[n_runs++] = (tl_seq_run){.t0 = t, .n = 1, .seq = seq[t], .pos0 = pos[t]};
        }
    }
    return n_runs;
}

/* Adds tokens [t, t + 1) of the given kind to the spans, merging with the last. */
static void span_add(tl_token_span *spans, int32_t *n, int32_t t, bool exact) {
    if (*n && spans[*n - 1].exact == exact && spans[*n - 1].t1 == t)
        spans[*n - 1].t1 = t + 1;
    else
        spans[(*n)++] = (tl_token_span){.t0 = t, .t1 = t + 1, .exact = exact};
}

/* The run holding token t (runs are in batch order; r is where to start). */
static int32_t run_of(const forward_pass *f, int32_t t, int32_t r) {
    while (r > 0 && t < f->runs[r].t0) r--;
    while (r + 1 < f->n_runs && t >= f->runs[r].t0 + f->runs[r].n) r++;
    return r;
}

/* Marks the exact runs (at most TL_EXACT_RUN tokens, logits asked for every
 * one: see tl_token_span) and cuts the batch's tokens and its logits rows
 * into spans (a row is exact when its token's run is). */
static void find_spans(forward_pass *f, tl_context *ctx) {
    int32_t n = 0, n_out = 0;
    for (int32_t r = 0; r < f->n_runs; r++) {
        tl_seq_run *run = &ctx->batch_runs[r];
        run->exact = false;
        if (run->n > TL_EXACT_RUN || !f->logits) continue;
        int32_t wanted = 0;
        for (int32_t i = 0; i < f->n_out; i++) wanted += f->out_rows[i] >= run->t0 && f->out_rows[i] < run->t0 + run->n;
        run->exact = wanted == run->n;
    }
    for (int32_t r = 0; r < f->n_runs; r++)
        for (int32_t t = f->runs[r].t0; t < f->runs[r].t0 + f->runs[r].n; t++)
            span_add(ctx->batch_spans, &n, t, f->runs[r].exact);
    for (int32_t i = 0, r = 0; i < f->n_out; i++) {
        r = run_of(f, f->out_rows[i], r);
        span_add(ctx->batch_out_spans, &n_out, i, f->runs[r].exact);
    }
    f->spans = ctx->batch_spans;
    f->n_spans = n;
    f->out_spans = ctx->batch_out_spans;
    f->n_out_spans = n_out;
}

/* Passes with less arithmetic than this (multiply-adds) run on one thread:
 * waking the workers and the barriers between steps would cost more than
 * they save (a 260K-parameter model, or a few tokens of one: its
 * speculative verifications of 17 tokens took 0.2 ms on one thread, and
 * on two, one time in three, 3.3 ms, a scheduler tick lost at a barrier on
 * a busy 2-vCPU VM). Results do not depend on the thread count. */
#define SMALL_PASS_MACS 12000000.0

static int pass_threads(const tl_context *ctx, const tl_batch_pass *b) {
    const tl_hparams *hp = &ctx->model->hp;
    const double attn = (double)hp->n_embd * (2.0 * hp->n_head * hp->head_dim + 2.0 * hp->n_head_kv * hp->head_dim);
    const double per_token = (double)hp->n_layer * (attn + 3.0 * hp->n_embd * hp->n_ff);
    const double macs = per_token * b->n + (double)b->n_out * hp->n_vocab * hp->n_embd;
    return macs < SMALL_PASS_MACS ? 1 : tl_threadpool_size(ctx->pool);
}

static void run_pass(tl_context *ctx, const tl_batch_pass *b, float *hidden_out) {
    const tl_model *m = ctx->model;
    const tl_hparams *hp = &m->hp;
    forward_pass f = {.ctx = ctx,
                      .hidden = hidden_out,
                      .m = m,
                      .k = ctx->kernels,
                      .tokens = b->tokens,
                      .n = b->n,
                      .pos = b->pos,
                      .seq = b->seq,
                      .runs = ctx->batch_runs,
                      .out_rows = b->out_rows,
                      .n_out = b->n_out,
                      .logits = b->logits_out,
                      .rope = {.n_rot = (int)hp->n_rot,
                               .theta_base = hp->rope_theta,
                               .freq_scale = hp->rope_freq_scale,
                               .freq_factors = rope_factors(ctx),
                               .mscale = hp->rope_attn_factor,
                               .neox = m->arch->rope == TL_ROPE_NEOX}};
    f.n_runs = find_runs(b->seq, b->pos, b->n, ctx->batch_runs);
    find_spans(&f, ctx);
    /* Local layers of Gemma 3 have their own base and no scaling. */
    f.separate_swa_rope = hp->n_swa > 0 && m->arch->swa_rope_theta > 0;
    f.rope_swa = f.rope;
    f.rope_swa.theta_base = hp->rope_theta_swa;
    f.rope_swa.freq_scale = 1.0f;
    tl_threadpool_run_on(ctx->pool, forward_worker, &f, pass_threads(ctx, b));
}

/* A pass over n tokens of sequence 0 that follow its cached positions. */
static tl_batch_pass sequence_zero_pass(tl_context *ctx, const tl_token *tokens, int32_t n, bool all_logits,
                                        float *logits_out) {
    for (int32_t t = 0; t < n; t++) {
        ctx->batch_seq[t] = 0;
        ctx->batch_pos[t] = ctx->seq_past[0] + (uint32_t)t;
        ctx->batch_rows[t] = t;
    }
    return (tl_batch_pass){.tokens = tokens,
                           .seq = ctx->batch_seq,
                           .pos = ctx->batch_pos,
                           .n = n,
                           .out_rows = all_logits ? ctx->batch_rows : ctx->batch_rows + n - 1,
                           .n_out = logits_out ? (all_logits ? n : 1) : 0,
                           .logits_out = logits_out};
}

void tl_forward(tl_context *ctx, const tl_token *tokens, int32_t n, bool all_logits, float *logits_out) {
    const tl_batch_pass b = sequence_zero_pass(ctx, tokens, n, all_logits, logits_out);
    run_pass(ctx, &b, NULL);
}

void tl_forward_batch(tl_context *ctx, const tl_batch_pass *b) {
    run_pass(ctx, b, NULL);
}

void tl_forward_hidden(tl_context *ctx, const tl_token *tokens, int32_t n, float *hidden_out) {
    const tl_batch_pass b = sequence_zero_pass(ctx, tokens, n, false, NULL);
    run_pass(ctx, &b, hidden_out);
}
