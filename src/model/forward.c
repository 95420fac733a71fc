/*
 * forward.c — the one generic decoder-only transformer.
 *
 * Reads top to bottom like llama2.c's forward(), for a batch of n tokens at
 * once: embed, then per layer (norm → q/k/v → RoPE → cache → causal attention
 * → output projection → residual; norm → gated feed-forward → residual), then
 * the final norm and the output matrix. What differs between architectures
 * (norm kind, activation, RoPE layout, biases) comes from model->arch.
 */
#include <math.h>
#include <string.h>

#include "model/context.h"
#include "tensor/ops.h"

static void norm_rows(const tl_model *m, float *out, const float *x, const float *w,
                      const float *b, int32_t n) {
    const int64_t d = m->hp.n_embd;
    for (int32_t t = 0; t < n; t++) {
        if (m->arch->norm == TL_NORM_RMS)
            tl_rms_norm(out + t * d, x + t * d, w, d, m->hp.norm_eps);
        else
            tl_layer_norm(out + t * d, x + t * d, w, b, d, m->hp.norm_eps);
    }
}

static void matmul(tl_context *ctx, const tl_matrix *w, const float *bias, const float *x,
                   int32_t n, float *y) {
    tl_matmul(ctx->pool, w, x, n, y, ctx->act_scratch);
    if (bias) tl_add_bias(y, bias, w->n_rows, n);
}

typedef struct attention_task {
    tl_context *ctx;
    int32_t n;         /* tokens in the batch */
    uint32_t pos0;     /* position of the first */
    const float *k_layer, *v_layer; /* this layer's cache [n_ctx][kv_dim] */
} attention_task;

/* Causal attention: each (token, head) pair is independent; threads take a
 * share of the pairs. Scores are softmax(q·k / sqrt(head_dim)) over every
 * cached position up to the token's own. */
static void attention_heads(void *arg, int ith, int nth) {
    const attention_task *a = arg;
    tl_context *ctx = a->ctx;
    const tl_hparams *hp = &ctx->model->hp;
    const int hd = (int)hp->head_dim;
    const int group = (int)(hp->n_head / hp->n_head_kv);
    const size_t q_dim = (size_t)hp->n_head * hd, kv_dim = (size_t)hp->n_head_kv * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    float *scores = ctx->scores + (size_t)ith * ctx->n_ctx;

    long begin, end;
    tl_split_range((long)a->n * hp->n_head, ith, nth, &begin, &end);
    for (long pair = begin; pair < end; pair++) {
        const int32_t t = (int32_t)(pair / hp->n_head);
        const int h = (int)(pair % hp->n_head);
        const size_t kv_off = (size_t)(h / group) * hd;
        const float *q = ctx->q + t * q_dim + (size_t)h * hd;
        const uint32_t n_pos = a->pos0 + (uint32_t)t + 1;
        for (uint32_t p = 0; p < n_pos; p++) {
            const float *k = a->k_layer + p * kv_dim + kv_off;
            float dot = 0.0f;
            for (int i = 0; i < hd; i++) dot += q[i] * k[i];
            scores[p] = dot * scale;
        }
        tl_softmax(scores, n_pos);
        float *out = ctx->attn + t * q_dim + (size_t)h * hd;
        memset(out, 0, (size_t)hd * sizeof *out);
        for (uint32_t p = 0; p < n_pos; p++) {
            const float *v = a->v_layer + p * kv_dim + kv_off;
            const float s = scores[p];
            for (int i = 0; i < hd; i++) out[i] += s * v[i];
        }
    }
}

void tl_forward(tl_context *ctx, const tl_token *tokens, int32_t n, bool all_logits,
                float *logits_out) {
    const tl_model *m = ctx->model;
    const tl_hparams *hp = &m->hp;
    const size_t n_embd = hp->n_embd, n_ff = hp->n_ff;
    const size_t q_dim = (size_t)hp->n_head * hp->head_dim;
    const size_t kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    const uint32_t pos0 = ctx->n_past;
    const int half_rot = (int)hp->n_rot / 2;

    tl_rope_params rope = {.n_rot = (int)hp->n_rot,
                           .theta_base = hp->rope_theta,
                           .freq_scale = hp->rope_freq_scale,
                           .freq_factors = m->rope_freq_factors,
                           .neox = m->arch->rope == TL_ROPE_NEOX};
    for (int32_t t = 0; t < n; t++)
        tl_rope_cache(&rope, (float)(pos0 + (uint32_t)t), ctx->rope_cos + t * half_rot,
                      ctx->rope_sin + t * half_rot);

    for (int32_t t = 0; t < n; t++) tl_matrix_get_row(&m->token_embd, tokens[t], ctx->x + t * n_embd);

    for (uint32_t il = 0; il < hp->n_layer; il++) {
        const tl_layer_weights *L = &m->layers[il];
        float *k_layer = ctx->k_cache + (size_t)il * ctx->n_ctx * kv_dim;
        float *v_layer = ctx->v_cache + (size_t)il * ctx->n_ctx * kv_dim;

        /* Attention block. */
        norm_rows(m, ctx->xn, ctx->x, L->attn_norm, L->attn_norm_bias, n);
        matmul(ctx, &L->wq, L->bq, ctx->xn, n, ctx->q);
        matmul(ctx, &L->wk, L->bk, ctx->xn, n, ctx->k);
        matmul(ctx, &L->wv, L->bv, ctx->xn, n, ctx->v);
        for (int32_t t = 0; t < n; t++) {
            const float *c = ctx->rope_cos + t * half_rot, *s = ctx->rope_sin + t * half_rot;
            tl_rope_apply(&rope, c, s, ctx->q + t * q_dim, (int)hp->n_head, (int)hp->head_dim);
            tl_rope_apply(&rope, c, s, ctx->k + t * kv_dim, (int)hp->n_head_kv, (int)hp->head_dim);
        }
        memcpy(k_layer + pos0 * kv_dim, ctx->k, (size_t)n * kv_dim * sizeof(float));
        memcpy(v_layer + pos0 * kv_dim, ctx->v, (size_t)n * kv_dim * sizeof(float));

        attention_task task = {.ctx = ctx, .n = n, .pos0 = pos0, .k_layer = k_layer, .v_layer = v_layer};
        tl_threadpool_run(ctx->pool, attention_heads, &task);

        matmul(ctx, &L->wo, L->bo, ctx->attn, n, ctx->proj);
        for (size_t i = 0; i < (size_t)n * n_embd; i++) ctx->x[i] += ctx->proj[i];

        /* Feed-forward block. */
        norm_rows(m, ctx->xn, ctx->x, L->ffn_norm, L->ffn_norm_bias, n);
        matmul(ctx, &L->ffn_gate, NULL, ctx->xn, n, ctx->gate);
        matmul(ctx, &L->ffn_up, NULL, ctx->xn, n, ctx->up);
        for (int32_t t = 0; t < n; t++) {
            if (m->arch->ffn == TL_FFN_SWIGLU)
                tl_swiglu(ctx->gate + t * n_ff, ctx->up + t * n_ff, (int64_t)n_ff);
            else
                tl_geglu(ctx->gate + t * n_ff, ctx->up + t * n_ff, (int64_t)n_ff);
        }
        matmul(ctx, &L->ffn_down, NULL, ctx->gate, n, ctx->proj);
        for (size_t i = 0; i < (size_t)n * n_embd; i++) ctx->x[i] += ctx->proj[i];
    }

    if (!logits_out) return;
    /* Only the rows whose logits are wanted go through the output matrix. */
    const int32_t first = all_logits ? 0 : n - 1;
    const int32_t n_out = n - first;
    norm_rows(m, ctx->xn, ctx->x + (size_t)first * n_embd, m->output_norm, m->output_norm_bias,
              n_out);
    tl_matmul(ctx->pool, &m->output, ctx->xn, n_out, logits_out, ctx->act_scratch);
}
