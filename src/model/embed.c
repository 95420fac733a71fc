/*
 * embed.c — embeddings and encoders through the public API: tl_embed,
 * tl_embed_batch (several inputs per encoder pass), tl_encode, pooling of token vectors into one vector, L2
 * normalization.
 *
 * Families with an encoder (BERT, T5) compute the token vectors with their
 * encoder hook; decoder-only models use the generic pass's hidden states
 * after the final norm, as llama.cpp does for embeddings.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/family.h"
#include "util/error.h"

static const char *const pooling_names[] = {"none", "mean", "cls", "last", "rank"};

const char *tl_pooling_name(tl_pooling pooling) {
    if (pooling == TL_POOLING_DEFAULT) return "default";
    return pooling >= TL_POOLING_NONE && pooling <= TL_POOLING_RANK ? pooling_names[pooling] : "?";
}

tl_pooling tl_model_embedding_pooling(const tl_model *model) {
    const tl_pooling pooling = tl_model_pooling(model);
    if (pooling == TL_POOLING_RANK) return TL_POOLING_CLS; /* the row the head reads */
    if (pooling != TL_POOLING_NONE) return pooling;
    return tl_model_has_decoder(model) ? TL_POOLING_LAST : TL_POOLING_MEAN;
}

int tl_pooling_from_name(const char *name) {
    for (int i = 0; i <= TL_POOLING_LAST; i++) /* rank is tl_rank's, not an embedding's */
        if (strcmp(name, pooling_names[i]) == 0) return i;
    return -2;
}

/* x /= |x| (a zero vector stays zero), as llama.cpp's common_embd_normalize. */
static void l2_normalize(float *x, int64_t d) {
    double sum = 0.0;
    for (int64_t i = 0; i < d; i++) sum += (double)x[i] * x[i];
    const float scale = sum > 0.0 ? (float)(1.0 / sqrt(sum)) : 0.0f;
    for (int64_t i = 0; i < d; i++) x[i] *= scale;
}

/* n rows of d floats → out, pooled (one row) or copied (NONE). */
static void pool_rows(const float *rows, int32_t n, int64_t d, tl_pooling pooling, bool normalize, float *out) {
    int32_t n_out = 1;
    switch (pooling) {
    case TL_POOLING_MEAN:
        for (int64_t i = 0; i < d; i++) {
            double sum = 0.0;
            for (int32_t t = 0; t < n; t++) sum += rows[(size_t)t * d + i];
            out[i] = (float)(sum / n);
        }
        break;
    case TL_POOLING_CLS: memcpy(out, rows, (size_t)d * sizeof(float)); break;
    case TL_POOLING_LAST: memcpy(out, rows + (size_t)(n - 1) * d, (size_t)d * sizeof(float)); break;
    default:
        memcpy(out, rows, (size_t)n * d * sizeof(float));
        n_out = n;
        break;
    }
    if (normalize)
        for (int32_t t = 0; t < n_out; t++) l2_normalize(out + (size_t)t * d, d);
}

static tl_status check_tokens(const tl_context *ctx, const tl_token *tokens, int32_t n, tl_error *err) {
    const tl_model *m = ctx->model;
    if (n <= 0) return tl_fail(err, TL_ERR_ARGUMENT, "no tokens to evaluate");
    if ((uint32_t)n > ctx->n_ctx)
        return tl_fail(err, TL_ERR_CONTEXT_FULL, "%d tokens do not fit in the context of %u tokens", n, ctx->n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->hp.n_vocab)
            return tl_fail(err, TL_ERR_ARGUMENT, "token id %d at index %d is outside the vocabulary (0..%d)", tokens[i],
                           i, m->hp.n_vocab - 1);
    return TL_OK;
}

tl_status tl_encode(tl_context *ctx, const tl_token *tokens, int32_t n_tokens, tl_error *err) {
    const tl_model *m = ctx->model;
    if (!m->arch->ops || !m->arch->ops->encode)
        return tl_fail(err, TL_ERR_ARGUMENT, "%s: a %s model has no encoder", m->path, m->arch_name);
    tl_status st = check_tokens(ctx, tokens, n_tokens, err);
    if (st != TL_OK) return st;
    ctx->seq_past[0] = 0;
    ctx->n_logit_rows = 0;
    return m->arch->ops->encode(ctx, tokens, n_tokens, err);
}

const float *tl_get_encoder_output(const tl_context *ctx, int32_t *n_tokens) {
    const tl_family_ops *ops = ctx->model->arch->ops;
    *n_tokens = 0;
    return ops && ops->encoder_output ? ops->encoder_output(ctx, n_tokens) : NULL;
}

/* The pooling an embedding call means (DEFAULT resolved), or an error. */
static tl_status resolve_pooling(const tl_model *m, tl_pooling *pooling, tl_error *err) {
    if (*pooling == TL_POOLING_DEFAULT)
        *pooling = m->pooling == TL_POOLING_RANK ? TL_POOLING_CLS : (tl_pooling)m->pooling;
    if (*pooling == TL_POOLING_RANK)
        return tl_fail(err, TL_ERR_ARGUMENT, "rank pooling gives scores, not embeddings: use tl_rank");
    if (*pooling < TL_POOLING_NONE || *pooling > TL_POOLING_LAST)
        return tl_fail(err, TL_ERR_ARGUMENT, "unknown pooling %d", (int)*pooling);
    return TL_OK;
}

tl_status tl_embed(tl_context *ctx, const tl_token *tokens, int32_t n_tokens, tl_pooling pooling, bool normalize,
                   float *out, tl_error *err) {
    const tl_model *m = ctx->model;
    const int64_t d = m->hp.n_embd;
    TL_TRY(resolve_pooling(m, &pooling, err));

    if (m->arch->ops) {
        tl_status st = tl_encode(ctx, tokens, n_tokens, err);
        if (st != TL_OK) return st;
        int32_t n = 0;
        const float *rows = m->arch->ops->encoder_output(ctx, &n);
        pool_rows(rows, n, d, pooling, normalize, out);
        return TL_OK;
    }

    /* Decoder-only: the hidden states of every token, in batches. */
    tl_status st = check_tokens(ctx, tokens, n_tokens, err);
    if (st != TL_OK) return st;
    float *rows = malloc((size_t)n_tokens * d * sizeof *rows);
    if (!rows) return tl_fail(err, TL_ERR_NOMEM, "out of memory for %d hidden states", n_tokens);
    ctx->seq_past[0] = 0;
    ctx->n_logit_rows = 0;
    for (int32_t done = 0; done < n_tokens;) {
        int32_t n = n_tokens - done;
        if (n > (int32_t)ctx->n_batch) n = (int32_t)ctx->n_batch;
        tl_forward_hidden(ctx, tokens + done, n, rows + (size_t)done * d);
        ctx->seq_past[0] += (uint32_t)n;
        done += n;
    }
    pool_rows(rows, n_tokens, d, pooling, normalize, out);
    free(rows);
    return TL_OK;
}

/* Sequences [first, last) packed into one pass of the encoder, pooled into out. */
static tl_status embed_packed(tl_context *ctx, const tl_token *const *seqs, const int32_t *lens, int32_t first,
                              int32_t last, tl_pooling pooling, bool normalize, float *out, tl_token *tokens,
                              int32_t *starts, tl_error *err) {
    const tl_model *m = ctx->model;
    const int64_t d = m->hp.n_embd;
    starts[0] = 0;
    for (int32_t i = first; i < last; i++) {
        memcpy(tokens + starts[i - first], seqs[i], (size_t)lens[i] * sizeof *tokens);
        starts[i - first + 1] = starts[i - first] + lens[i];
    }
    ctx->seq_past[0] = 0;
    ctx->n_logit_rows = 0;
    TL_TRY(m->arch->ops->encode_batch(ctx, tokens, starts, last - first, err));
    int32_t n = 0;
    const float *rows = m->arch->ops->encoder_output(ctx, &n);
    for (int32_t i = 0; i < last - first; i++) {
        pool_rows(rows + (size_t)starts[i] * d, lens[first + i], d, pooling, normalize, out);
        out += pooling == TL_POOLING_NONE ? (size_t)lens[first + i] * d : (size_t)d;
    }
    return TL_OK;
}

tl_status tl_embed_batch(tl_context *ctx, const tl_token *const *seqs, const int32_t *lens, int32_t n_seqs,
                         tl_pooling pooling, bool normalize, float *out, tl_error *err) {
    const tl_model *m = ctx->model;
    const int64_t d = m->hp.n_embd;
    TL_TRY(resolve_pooling(m, &pooling, err));
    if (n_seqs < 0) return tl_fail(err, TL_ERR_ARGUMENT, "%d inputs to embed", n_seqs);
    for (int32_t i = 0; i < n_seqs; i++) TL_TRY(check_tokens(ctx, seqs[i], lens[i], err));
    if (!m->arch->ops || !m->arch->ops->encode_batch) { /* one pass per input */
        for (int32_t i = 0; i < n_seqs; i++) {
            TL_TRY(tl_embed(ctx, seqs[i], lens[i], pooling, normalize, out, err));
            out += pooling == TL_POOLING_NONE ? (size_t)lens[i] * d : (size_t)d;
        }
        return TL_OK;
    }
    const int32_t budget = (int32_t)ctx->n_batch;
    tl_token *tokens = malloc((size_t)budget * sizeof *tokens);
    int32_t *starts = malloc(((size_t)budget + 1) * sizeof *starts);
    tl_status st =
        tokens && starts ? TL_OK : tl_fail(err, TL_ERR_NOMEM, "out of memory for a batch of %d tokens", budget);
    for (int32_t first = 0; first < n_seqs && st == TL_OK;) {
        int32_t last = first, n = 0;
        while (last < n_seqs && n + lens[last] <= budget) n += lens[last++];
        st = embed_packed(ctx, seqs, lens, first, last, pooling, normalize, out, tokens, starts, err);
        for (; first < last; first++) out += pooling == TL_POOLING_NONE ? (size_t)lens[first] * d : (size_t)d;
    }
    free(tokens);
    free(starts);
    return st;
}
