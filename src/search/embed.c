/*
 * embed.c — texts' embeddings for indexing (many per encoder pass) and for
 * queries, and the
 * description of a model that a database keeps to refuse another one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"
#include "util/error.h"

/* The probe whose embedding tells models apart (same size, other weights). */
static const char probe_text[] = "tinyllm search probe: the quick brown fox jumps over the lazy dog";

/* A text's tokens (malloc'd in *out), cut to the context keeping a closing
 * special token ([SEP]). */
static tl_status tokenize_for(tl_context *ctx, const tl_model *model, const char *text, size_t len, tl_token **out,
                              int32_t *n_out, tl_error *err) {
    int32_t cap = 512;
    tl_token *tokens = NULL;
    int32_t n;
    for (;;) {
        tl_token *grown = realloc(tokens, (size_t)cap * sizeof *tokens);
        if (!grown) {
            free(tokens);
            return tl_fail(err, TL_ERR_NOMEM, "out of memory");
        }
        tokens = grown;
        n = tl_tokenize(model, text, len, true, false, tokens, cap);
        if (n >= 0) break;
        if (-n <= cap) { /* an error, not a size */
            free(tokens);
            return tl_fail(err, TL_ERR_ARGUMENT, "the text could not be tokenized");
        }
        cap = -n;
    }
    const int32_t n_ctx = (int32_t)tl_context_size(ctx);
    if (n > n_ctx) {
        tl_token specials[8];
        const int32_t n_specials = tl_tokenize(model, "", 0, true, false, specials, 8);
        const int32_t suffix = n_specials >= 2 ? 1 : 0;
        if (suffix) tokens[n_ctx - 1] = tokens[n - 1];
        n = n_ctx;
    }
    if (n <= 0) {
        free(tokens);
        return tl_fail(err, TL_ERR_ARGUMENT, "the text gives no tokens");
    }
    *out = tokens;
    *n_out = n;
    return TL_OK;
}

tl_status tl_search_embed_batch(tl_context *ctx, const tl_model *model, tl_pooling pooling, const char *const *texts,
                                int32_t n_texts, float *out, tl_error *err) {
    tl_token **seqs = calloc((size_t)(n_texts > 0 ? n_texts : 1), sizeof *seqs);
    int32_t *lens = calloc((size_t)(n_texts > 0 ? n_texts : 1), sizeof *lens);
    tl_status st = seqs && lens ? TL_OK : tl_fail(err, TL_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < n_texts && st == TL_OK; i++)
        st = tokenize_for(ctx, model, texts[i], strlen(texts[i]), &seqs[i], &lens[i], err);
    if (st == TL_OK) st = tl_embed_batch(ctx, (const tl_token *const *)seqs, lens, n_texts, pooling, true, out, err);
    for (int32_t i = 0; seqs && i < n_texts; i++) free(seqs[i]);
    free(seqs);
    free(lens);
    return st;
}

tl_status tl_search_embed(tl_context *ctx, const tl_model *model, tl_pooling pooling, const char *text, size_t len,
                          float *out, tl_error *err) {
    tl_token *tokens = NULL;
    int32_t n = 0;
    TL_TRY(tokenize_for(ctx, model, text, len, &tokens, &n, err));
    tl_status st = tl_embed(ctx, tokens, n, pooling, true, out, err);
    free(tokens);
    return st;
}

tl_status tl_search_describe_model(tl_context *ctx, const tl_model *model, const char *name, tl_vector_type type,
                                   tl_search_model *out, tl_error *err) {
    *out = (tl_search_model){.dim = tl_model_embedding_size(model),
                             .pooling = tl_model_embedding_pooling(model),
                             .normalize = true,
                             .type = type};
    snprintf(out->name, sizeof out->name, "%s", name);
    if (out->dim == 0) return tl_fail(err, TL_ERR_UNSUPPORTED, "%s gives no embeddings", name);
    float *v = malloc(out->dim * sizeof *v);
    if (!v) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    tl_status st = tl_search_embed(ctx, model, (tl_pooling)out->pooling, probe_text, strlen(probe_text), v, err);
    for (uint32_t i = 0; st == TL_OK && i < 8; i++) out->probe[i] = i < out->dim ? v[i] : 0;
    free(v);
    return st;
}

bool tl_search_same_model(const tl_search_model *a, const tl_search_model *b, char *why, size_t why_size) {
    if (a->dim != b->dim) {
        snprintf(why, why_size, "its vectors have %u dimensions, the database's %u", b->dim, a->dim);
        return false;
    }
    if (a->pooling != b->pooling) {
        snprintf(why, why_size, "it pools by %s, the database's model by %s", tl_pooling_name((tl_pooling)b->pooling),
                 tl_pooling_name((tl_pooling)a->pooling));
        return false;
    }
    for (int i = 0; i < 8; i++)
        if (!(fabsf(a->probe[i] - b->probe[i]) <= 2e-3f)) {
            snprintf(why, why_size, "it gives other embeddings than the database's model");
            return false;
        }
    return true;
}
