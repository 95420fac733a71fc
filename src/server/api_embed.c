/*
 * api_embed.c — embeddings for /v1/embeddings, /api/embed and
 * /api/embeddings: each input is tokenized with the vocabulary's special
 * tokens ([CLS] ... [SEP] for BERT), evaluated on its own by tl_embed in the
 * loaded model's embedding context (one request at a time, under its lock),
 * pooled as the model says and L2-normalized, as `tinyllm embed` does.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_common.h"

/* A list of whole numbers as token ids (range checked later). */
static bool read_ids(const cJSON *list, const char *field, api_embed_input *in, api_error *e) {
    const int n = cJSON_GetArraySize(list);
    in->tokens = malloc(((size_t)n + 1) * sizeof *in->tokens);
    if (!in->tokens) return api_fail(e, 500, NULL, "out of memory");
    in->n_tokens = 0;
    for (const cJSON *id = list->child; id; id = id->next) {
        /* Range first: converting a double outside int32_t is undefined. */
        if (!cJSON_IsNumber(id) || !(id->valuedouble >= INT32_MIN && id->valuedouble <= INT32_MAX) ||
            id->valuedouble != floor(id->valuedouble))
            return api_fail(e, 400, field, "field '%s' must be a string, a list of strings, or token ids", field);
        in->tokens[in->n_tokens++] = (tl_token)id->valuedouble;
    }
    return true;
}

/* The most inputs one request may embed: OpenAI's documented limit. Each
 * input costs a forward pass, so without it a body of short strings would
 * keep the model busy for as long as its size allows. */
#define MAX_EMBED_INPUTS 2048

bool api_embed_inputs(const cJSON *input, const char *field, api_embed_input **inputs, int *n_inputs, api_error *e) {
    *inputs = NULL;
    *n_inputs = 0;
    if (!input || cJSON_IsNull(input)) return api_fail(e, 400, field, "field '%s' is required", field);
    if (cJSON_IsString(input)) {
        if (!(*inputs = calloc(1, sizeof **inputs))) return api_fail(e, 500, NULL, "out of memory");
        (*inputs)[0].text = input->valuestring;
        *n_inputs = 1;
        return true;
    }
    if (!cJSON_IsArray(input))
        return api_fail(e, 400, field, "field '%s' must be a string or a list of strings", field);
    const int n = cJSON_GetArraySize(input);
    if (n == 0) return api_fail(e, 400, field, "field '%s' must not be an empty list", field);
    if (n > MAX_EMBED_INPUTS && !cJSON_IsNumber(input->child))
        return api_fail(e, 400, field, "field '%s' has %d inputs, more than the limit of %d per request", field, n,
                        MAX_EMBED_INPUTS);
    /* A list of numbers is one input given as token ids. */
    const bool one_id_list = cJSON_IsNumber(input->child);
    if (!(*inputs = calloc(one_id_list ? 1 : (size_t)n, sizeof **inputs)))
        return api_fail(e, 500, NULL, "out of memory");
    if (one_id_list) {
        *n_inputs = 1;
        return read_ids(input, field, &(*inputs)[0], e);
    }
    for (const cJSON *item = input->child; item; item = item->next) {
        api_embed_input *in = &(*inputs)[(*n_inputs)++];
        if (cJSON_IsString(item))
            in->text = item->valuestring;
        else if (!cJSON_IsArray(item) || !read_ids(item, field, in, e))
            return e->status
                       ? false
                       : api_fail(e, 400, field, "field '%s' must be a string, a list of strings, or token ids", field);
    }
    return true;
}

void api_embed_inputs_free(api_embed_input *inputs, int n_inputs) {
    for (int i = 0; inputs && i < n_inputs; i++) free(inputs[i].tokens);
    free(inputs);
}

/* Tokenizes the text inputs (with special tokens) and checks every input
 * against the vocabulary and the context. */
static bool prepare(const tl_model *model, uint32_t n_ctx, api_embed_input *inputs, int n_inputs, api_error *e) {
    const int32_t n_vocab = tl_vocab_size(model);
    for (int i = 0; i < n_inputs; i++) {
        api_embed_input *in = &inputs[i];
        if (in->text) {
            /* Four contexts' worth, so a moderately long input is told its
             * exact count; past that it is refused without reading it all. */
            const int32_t capacity = (int32_t)n_ctx * 4 + 8;
            if (!(in->tokens = malloc((size_t)capacity * sizeof *in->tokens)))
                return api_fail(e, 500, NULL, "out of memory");
            tl_error err = {0};
            const tl_status status = tl_tokenize_prompt(model, in->text, strlen(in->text), true, false, in->tokens,
                                                        capacity, &in->n_tokens, &err);
            if (status == TL_ERR_NOMEM) return api_fail(e, 500, NULL, "out of memory");
            if (status == TL_ERR_CONTEXT_FULL)
                return api_fail(e, 400, "input", "input %d: %s, more than the context of %u", i, err.message, n_ctx);
            if (status != TL_OK)
                return api_fail(e, 400, "input", "input %d could not be tokenized: %s", i, err.message);
        }
        for (int32_t t = 0; t < in->n_tokens; t++)
            if (in->tokens[t] < 0 || in->tokens[t] >= n_vocab)
                return api_fail(e, 400, "input", "input %d: token %d is not in the vocabulary (0..%d)", i,
                                in->tokens[t], n_vocab - 1);
        if (in->n_tokens == 0) return api_fail(e, 400, "input", "input %d is empty", i);
        if ((uint32_t)in->n_tokens > n_ctx)
            return api_fail(e, 400, "input", "input %d has %d tokens, more than the context of %u", i, in->n_tokens,
                            n_ctx);
    }
    return true;
}

bool api_embed_context(loaded_model *m, api_error *e) {
    if (m->embed_ctx) return true;
    tl_error err = {0};
    tl_context_params params = tl_context_default_params();
    params.n_ctx = 0; /* min(the model's, 4096) */
    if (tl_context_new(m->model, &params, &m->embed_ctx, &err) != TL_OK)
        return api_fail(e, 500, NULL, "cannot make an embedding context: %s", err.message);
    return true;
}

/* Runs under the model's embed_lock. */
static bool embed_locked(loaded_model *m, api_embed_input *inputs, int n_inputs, float *vectors, uint32_t dim,
                         api_error *e) {
    tl_error err = {0};
    if (!api_embed_context(m, e)) return false;
    const uint32_t n_ctx = tl_context_size(m->embed_ctx);
    if (!prepare(m->model, n_ctx, inputs, n_inputs, e)) return false;
    const tl_pooling pooling = tl_model_embedding_pooling(m->model);
    for (int i = 0; i < n_inputs; i++) {
        float *out = vectors + (size_t)i * dim;
        const tl_status status = tl_embed(m->embed_ctx, inputs[i].tokens, inputs[i].n_tokens, pooling, true, out, &err);
        if (status == TL_ERR_CONTEXT_FULL)
            return api_fail(e, 400, "input", "input %d has %d tokens, more than the context of %u", i,
                            inputs[i].n_tokens, n_ctx);
        if (status != TL_OK) return api_fail(e, 500, NULL, "embedding failed: %s", err.message);
    }
    return true;
}

bool api_embed(server *srv, loaded_model *m, api_embed_input *inputs, int n_inputs, float **vectors, int *dim,
               int64_t *n_tokens, api_error *e) {
    (void)srv;
    const uint32_t size = tl_model_embedding_size(m->model);
    *vectors = malloc((size_t)n_inputs * size * sizeof **vectors);
    if (!*vectors) return api_fail(e, 500, NULL, "out of memory");
    pthread_mutex_t *lock = m->embed_lock;
    if (!lock) {
        free(*vectors);
        *vectors = NULL;
        return api_fail(e, 500, NULL, "model '%s' has no embedding lock", m->entry->name);
    }
    pthread_mutex_lock(lock);
    const bool ok = embed_locked(m, inputs, n_inputs, *vectors, size, e);
    pthread_mutex_unlock(lock);
    if (!ok) {
        free(*vectors);
        *vectors = NULL;
        return false;
    }
    *dim = (int)size;
    *n_tokens = 0;
    for (int i = 0; i < n_inputs; i++) *n_tokens += inputs[i].n_tokens;
    return true;
}

char *api_float_list(const float *values, int n) {
    char *out = malloc((size_t)n * 16 + 3);
    if (!out) return NULL;
    size_t at = 0;
    out[at++] = '[';
    for (int i = 0; i < n; i++) {
        if (i) out[at++] = ',';
        if (isfinite(values[i]))
            at += (size_t)snprintf(out + at, 16, "%.7g", (double)values[i]);
        else
            out[at++] = '0'; /* JSON has no NaN; a broken vector should not break the reply */
    }
    out[at++] = ']';
    out[at] = 0;
    return out;
}
