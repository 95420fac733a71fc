/*
 * rank.c — rerankers through the public API: a query-document pair's tokens
 * as llama-server builds them (tools/server's format_prompt_rerank), the
 * classification head's outputs for one pair (tl_rank), the scores of
 * many documents for one query (tl_rerank) and their order (tl_rank_order).
 *
 * The family computes the head (bert.c, llama.cpp's rank pooling); this file
 * only builds inputs and hands them to its encoder.
 */
#include <stdlib.h>
#include <string.h>

#include "model/family.h"
#include "tinyllm.h"
#include "util/buffer.h"
#include "util/error.h"

int32_t tl_model_rank_outputs(const tl_model *model) {
    const tl_family_ops *ops = model->arch ? model->arch->ops : NULL;
    return ops && ops->rank_outputs && !model->vocab_only ? ops->rank_outputs(model) : 0;
}

/* Appends one id when `wanted`; TL_ERR_CONTEXT_FULL when the pair already
 * fills max_tokens. */
static tl_status push(bool wanted, tl_token id, tl_token *tokens, int32_t max_tokens, int32_t *n) {
    if (!wanted) return TL_OK;
    if (*n >= max_tokens) return TL_ERR_CONTEXT_FULL;
    tokens[(*n)++] = id;
    return TL_OK;
}

/* Tokenizes text without added special tokens after the *n ids already there. */
static tl_status push_text(const tl_model *model, const char *text, bool parse_special, tl_token *tokens,
                           int32_t max_tokens, int32_t *n, tl_error *err) {
    int32_t added = 0;
    TL_TRY(
        tl_tokenize_prompt(model, text, strlen(text), false, parse_special, tokens + *n, max_tokens - *n, &added, err));
    *n += added;
    return TL_OK;
}

/* The template with {query} and {document} replaced (every occurrence). */
static char *fill_template(const char *tmpl, const char *query, const char *document) {
    tl_buf out = {0};
    bool ok = tl_buf_reserve(&out, strlen(tmpl));
    for (const char *p = tmpl; ok && *p;) {
        if (strncmp(p, "{query}", 7) == 0) {
            ok = tl_buf_append(&out, query, strlen(query));
            p += 7;
        } else if (strncmp(p, "{document}", 10) == 0) {
            ok = tl_buf_append(&out, document, strlen(document));
            p += 10;
        } else {
            ok = tl_buf_append(&out, p++, 1);
        }
    }
    if (ok) return tl_buf_take(&out);
    tl_buf_free(&out);
    return NULL;
}

/* [BOS] query [EOS] [SEP] document [EOS], each where the vocabulary adds it. */
static tl_status pair_tokens(const tl_model *model, const char *query, const char *document, tl_token *tokens,
                             int32_t max_tokens, int32_t *n, tl_error *err) {
    const tl_vocab *v = tl_model_vocab(model);
    tl_token eos = tl_vocab_eos(v);
    if (eos < 0) eos = tl_vocab_sep(v);
    const bool add_eos = tl_vocab_add_eos(v) && eos >= 0;
    TL_TRY(push(tl_vocab_add_bos(v) && tl_vocab_bos(v) >= 0, tl_vocab_bos(v), tokens, max_tokens, n));
    TL_TRY(push_text(model, query, false, tokens, max_tokens, n, err));
    TL_TRY(push(add_eos, eos, tokens, max_tokens, n));
    TL_TRY(push(tl_vocab_add_sep(v) && tl_vocab_sep(v) >= 0, tl_vocab_sep(v), tokens, max_tokens, n));
    TL_TRY(push_text(model, document, false, tokens, max_tokens, n, err));
    return push(add_eos, eos, tokens, max_tokens, n);
}

tl_status tl_rank_tokenize(const tl_model *model, const char *query, const char *document, tl_token *tokens,
                           int32_t max_tokens, int32_t *n_tokens, tl_error *err) {
    *n_tokens = 0;
    int32_t n = 0;
    tl_status st;
    const char *tmpl = gguf_get_str(model->file, "tokenizer.chat_template.rerank");
    if (tmpl) {
        char *prompt = fill_template(tmpl, query, document);
        if (!prompt) return tl_fail(err, TL_ERR_NOMEM, "out of memory building the rerank prompt");
        st = push_text(model, prompt, true, tokens, max_tokens, &n, err);
        free(prompt);
    } else {
        st = pair_tokens(model, query, document, tokens, max_tokens, &n, err);
    }
    if (st == TL_ERR_CONTEXT_FULL)
        return tl_fail(err, st, "the query and the document are more than %d tokens", max_tokens);
    if (st != TL_OK) return st;
    if (n == 0) return tl_fail(err, TL_ERR_ARGUMENT, "the query and the document give no tokens");
    *n_tokens = n;
    return TL_OK;
}

tl_status tl_rank(tl_context *ctx, const tl_token *tokens, int32_t n_tokens, float *outputs, tl_error *err) {
    const tl_model *m = ctx->model;
    if (tl_model_rank_outputs(m) == 0)
        return tl_fail(err, TL_ERR_ARGUMENT, "%s is not a reranker (no classification head: cls.output.weight)",
                       m->path);
    TL_TRY(tl_encode(ctx, tokens, n_tokens, err));
    m->arch->ops->rank(ctx, outputs);
    return TL_OK;
}

tl_status tl_rerank(tl_context *ctx, const char *query, const char *const *documents, int32_t n_documents,
                    float *scores, int64_t *n_tokens, tl_error *err) {
    const tl_model *m = ctx->model;
    const int32_t n_out = tl_model_rank_outputs(m);
    if (n_tokens) *n_tokens = 0;
    if (n_out == 0)
        return tl_fail(err, TL_ERR_ARGUMENT, "%s is not a reranker (no classification head: cls.output.weight)",
                       m->path);
    const int32_t max_tokens = (int32_t)tl_context_size(ctx);
    tl_token *tokens = malloc((size_t)max_tokens * sizeof *tokens);
    float *outputs = malloc((size_t)n_out * sizeof *outputs);
    tl_status st = tokens && outputs ? TL_OK : tl_fail(err, TL_ERR_NOMEM, "out of memory for %d tokens", max_tokens);
    for (int32_t i = 0; st == TL_OK && i < n_documents; i++) {
        int32_t n = 0;
        st = tl_rank_tokenize(m, query, documents[i], tokens, max_tokens, &n, err);
        if (st == TL_OK) st = tl_rank(ctx, tokens, n, outputs, err);
        if (st != TL_OK && err) {
            char message[sizeof err->message];
            memcpy(message, err->message, sizeof message);
            tl_fail(err, st, "document %d: %s", i, message);
            break;
        }
        scores[i] = outputs[0];
        if (n_tokens) *n_tokens += n;
    }
    free(tokens);
    free(outputs);
    return st;
}

/* True when index a ranks before index b: the higher score, NaN last, then
 * the lower index. */
static bool ranks_before(const float *scores, int32_t a, int32_t b) {
    const float x = scores[a], y = scores[b];
    if (x != y) {
        if (x != x) return false; /* NaN */
        if (y != y) return true;
        return x > y;
    }
    return a < b;
}

/* Moves order[i] down the heap of n entries whose root ranks last. */
static void sift_down(const float *scores, int32_t *order, int32_t i, int32_t n) {
    for (;;) {
        int32_t child = 2 * i + 1;
        if (child >= n) return;
        if (child + 1 < n && ranks_before(scores, order[child], order[child + 1])) child++;
        if (!ranks_before(scores, order[i], order[child])) return;
        const int32_t t = order[i];
        order[i] = order[child];
        order[child] = t;
        i = child;
    }
}

void tl_rank_order(const float *scores, int32_t n, int32_t *order) {
    /* Heap sort: no allocation, and the order is total, so the result is
     * the same as any sort's. */
    for (int32_t i = 0; i < n; i++) order[i] = i;
    for (int32_t i = n / 2 - 1; i >= 0; i--) sift_down(scores, order, i, n);
    for (int32_t end = n - 1; end > 0; end--) {
        const int32_t t = order[0];
        order[0] = order[end];
        order[end] = t;
        sift_down(scores, order, 0, end);
    }
}
