/*
 * test_rerank.c — rerankers (src/model/rank.c and the classification head in
 * src/model/bert.c): the tiny ms-marco-minilm-l6-v2 preset written by
 * tl_synth with the real BERT vocabulary, compared with what llama.cpp
 * computed on the same files (tests/reference/rerank-tiny-<type>.json, made
 * by scripts/reference/make_reference.sh): the same pair token ids as
 * llama-server's /v1/rerank and every score within 1e-3. Then the errors:
 * a model without a head, a pair longer than the context, rank pooling
 * asked of tl_embed; and tl_rank_order.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/authoring.h"
#include "test_support.h"
#include "tinyllm.h"

static const char *bge_vocab(void) {
    const char *rel = "tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf";
    return tl_test_have_shared(rel) ? tl_test_shared_path(rel) : NULL;
}

/* A tiny preset written with the BERT vocabulary and loaded; NULL (after a
 * skip notice) without the shared vocabulary. */
static tl_model *synth_model(const char *preset, const char *type, const char *file) {
    const char *vocab_path = bge_vocab();
    if (!vocab_path) return NULL;
    char vocab[4096]; /* a copy: the path helpers share their buffers */
    snprintf(vocab, sizeof vocab, "%s", vocab_path);
    const char *path = tl_test_tmp_path(file);
    const tl_synth_params params = {
        .preset = preset, .weight_type = type, .seed = 42, .vocab_path = vocab, .tiny = true};
    tl_error err = {0};
    if (tl_synth(&params, path, &err) != TL_OK) fail_msg("synth: %s", err.message);
    tl_model *m = NULL;
    if (tl_model_load(path, NULL, &m, &err) != TL_OK) fail_msg("%s", err.message);
    remove(path);
    return m;
}

static tl_context *context(const tl_model *m, uint32_t n_ctx, uint32_t n_threads) {
    tl_context_params p = tl_context_default_params();
    p.n_ctx = n_ctx;
    p.n_threads = n_threads;
    tl_context *ctx = NULL;
    tl_error err = {0};
    if (tl_context_new(m, &p, &ctx, &err) != TL_OK) fail_msg("%s", err.message);
    return ctx;
}

/* One reference file: per case the pair's token ids, tl_rank's output for
 * them and tl_rerank's score, against llama.cpp's. */
static void check_reference(tl_model *m, const char *ref_name, uint32_t n_threads) {
    char rel[128];
    snprintf(rel, sizeof rel, "tests/reference/%s.json", ref_name);
    char *text = tl_test_read_file(tl_test_source_path(rel), NULL);
    if (!text) fail_msg("cannot read %s", rel);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "pooling")), "rank");
    assert_int_equal(cJSON_GetObjectItem(root, "n_cls_out")->valueint, tl_model_rank_outputs(m));
    tl_context *ctx = context(m, 512, n_threads);
    const cJSON *cases = cJSON_GetObjectItem(root, "cases");
    double worst = 0.0;
    for (int ci = 0; ci < cJSON_GetArraySize(cases); ci++) {
        const cJSON *c = cJSON_GetArrayItem(cases, ci);
        const char *query = cJSON_GetStringValue(cJSON_GetObjectItem(c, "query"));
        const char *document = cJSON_GetStringValue(cJSON_GetObjectItem(c, "document"));
        assert_non_null(query);
        assert_non_null(document);
        const cJSON *ref_tokens = cJSON_GetObjectItem(c, "tokens");
        const int n = cJSON_GetArraySize(ref_tokens);
        tl_token tokens[512];
        int32_t got = 0;
        tl_error err = {0};
        if (tl_rank_tokenize(m, query, document, tokens, 512, &got, &err) != TL_OK) fail_msg("%s", err.message);
        if (got != n) fail_msg("%s case %d: %d tokens, llama.cpp %d", ref_name, ci, got, n);
        for (int i = 0; i < n; i++)
            if (tokens[i] != cJSON_GetArrayItem(ref_tokens, i)->valueint)
                fail_msg("%s case %d: token %d is %d, llama.cpp %d", ref_name, ci, i, tokens[i],
                         cJSON_GetArrayItem(ref_tokens, i)->valueint);

        const float want = (float)cJSON_GetArrayItem(cJSON_GetObjectItem(c, "embedding"), 0)->valuedouble;
        float output = 0.0f, score = 0.0f;
        if (tl_rank(ctx, tokens, got, &output, &err) != TL_OK) fail_msg("%s", err.message);
        int64_t evaluated = 0;
        if (tl_rerank(ctx, query, &document, 1, &score, &evaluated, &err) != TL_OK) fail_msg("%s", err.message);
        assert_int_equal(evaluated, n);
        assert_true(score == output); /* the same pass */
        const double diff = fabs((double)score - want);
        if (diff > worst) worst = diff;
        /* 1e-3; a q8_0 file on kernels that quantize activations otherwise than
         * llama.cpp's x86 build (scalar, NEON): 1e-2 (2.6e-3 measured under qemu aarch64). */
        const bool loose = strstr(ref_name, "q8_0") && !tl_test_x86_activations();
        if (diff > (loose ? 1e-2 : 1e-3)) fail_msg("%s case %d: score %.7f, llama.cpp %.7f", ref_name, ci, score, want);
    }
    print_message("  %s (%u threads): %d cases, worst difference %.3g\n", ref_name, n_threads,
                  cJSON_GetArraySize(cases), worst);
    tl_context_free(ctx);
    cJSON_Delete(root);
    free(text);
}

static void scores_match_llama_cpp(void **state) {
    (void)state;
    static const char *const types[] = {"f32", "q8_0"};
    for (size_t ti = 0; ti < 2; ti++) {
        char file[64], ref_name[64];
        snprintf(file, sizeof file, "rerank-tiny-%s.gguf", types[ti]);
        tl_model *m = synth_model("ms-marco-minilm-l6-v2", types[ti], file);
        if (!m) skip();
        assert_int_equal(tl_model_pooling(m), TL_POOLING_RANK);
        assert_int_equal(tl_model_rank_outputs(m), 1);
        snprintf(ref_name, sizeof ref_name, "rerank-tiny-%s", types[ti]);
        check_reference(m, ref_name, 2);
        if (ti == 0) check_reference(m, ref_name, 1);
        tl_model_free(m);
    }
}

/* Several documents at once give each one's own score, in order. */
static void rerank_scores_every_document(void **state) {
    (void)state;
    tl_model *m = synth_model("ms-marco-minilm-l6-v2", "f32", "rerank-many.gguf");
    if (!m) skip();
    tl_context *ctx = context(m, 128, 2);
    const char *docs[] = {"a cat sat on the mat", "the weather is nice", "cats are small animals"};
    float all[3], one;
    int64_t n_all = 0, n_one, n_sum = 0;
    tl_error err = {0};
    assert_int_equal(tl_rerank(ctx, "what is a cat?", docs, 3, all, &n_all, &err), TL_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tl_rerank(ctx, "what is a cat?", &docs[i], 1, &one, &n_one, &err), TL_OK);
        assert_true(one == all[i]);
        n_sum += n_one;
    }
    assert_int_equal(n_all, n_sum);
    assert_true(all[0] != all[1] && all[1] != all[2]);
    tl_context_free(ctx);
    tl_model_free(m);
}

/* A pair longer than the context fails naming the document; the others
 * before it were scored. */
static void pair_longer_than_context_fails(void **state) {
    (void)state;
    tl_model *m = synth_model("ms-marco-minilm-l6-v2", "f32", "rerank-long.gguf");
    if (!m) skip();
    tl_context *ctx = context(m, 16, 1);
    const char *docs[] = {"short", "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"};
    float scores[2];
    tl_error err = {0};
    assert_int_equal(tl_rerank(ctx, "query", docs, 2, scores, NULL, &err), TL_ERR_CONTEXT_FULL);
    assert_non_null(strstr(err.message, "document 1"));
    assert_non_null(strstr(err.message, "more than 16 tokens"));
    tl_token tokens[4];
    int32_t n = -1;
    assert_int_equal(tl_rank_tokenize(m, "query", docs[1], tokens, 4, &n, &err), TL_ERR_CONTEXT_FULL);
    assert_int_equal(n, 0);
    tl_context_free(ctx);
    tl_model_free(m);
}

/* An embedding model has no head: not a reranker, and tl_rerank says so. */
static void embedding_model_is_not_a_reranker(void **state) {
    (void)state;
    tl_model *m = synth_model("all-minilm-l6-v2", "f32", "rerank-embed.gguf");
    if (!m) skip();
    assert_int_equal(tl_model_rank_outputs(m), 0);
    tl_context *ctx = context(m, 64, 1);
    const char *doc = "text";
    float score;
    tl_token tokens[3] = {101, 2000, 102};
    tl_error err = {0};
    assert_int_equal(tl_rerank(ctx, "q", &doc, 1, &score, NULL, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "is not a reranker"));
    assert_int_equal(tl_rank(ctx, tokens, 3, &score, &err), TL_ERR_ARGUMENT);
    tl_context_free(ctx);
    tl_model_free(m);
}

/* A reranker's embeddings are its first token's row; rank pooling itself
 * is not an embedding. */
static void reranker_embeddings_are_the_first_row(void **state) {
    (void)state;
    tl_model *m = synth_model("ms-marco-minilm-l6-v2", "f32", "rerank-embedding.gguf");
    if (!m) skip();
    assert_int_equal(tl_model_embedding_pooling(m), TL_POOLING_CLS);
    assert_string_equal(tl_pooling_name(TL_POOLING_RANK), "rank");
    assert_int_equal(tl_pooling_from_name("rank"), -2);
    tl_context *ctx = context(m, 64, 1);
    const tl_token tokens[] = {101, 2054, 2003, 102, 7632};
    const uint32_t d = tl_model_embedding_size(m);
    float *by_default = malloc(d * sizeof(float)), *cls = malloc(d * sizeof(float));
    tl_error err = {0};
    assert_int_equal(tl_embed(ctx, tokens, 5, TL_POOLING_DEFAULT, false, by_default, &err), TL_OK);
    assert_int_equal(tl_embed(ctx, tokens, 5, TL_POOLING_CLS, false, cls, &err), TL_OK);
    assert_memory_equal(by_default, cls, d * sizeof(float));
    assert_int_equal(tl_embed(ctx, tokens, 5, TL_POOLING_RANK, false, cls, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "tl_rank"));
    free(by_default);
    free(cls);
    tl_context_free(ctx);
    tl_model_free(m);
}

/* Best first, equal scores in index order, NaN last. */
static void rank_order_sorts_best_first(void **state) {
    (void)state;
    const float scores[] = {0.5f, 2.0f, NAN, -1.0f, 2.0f, 0.5f, -INFINITY};
    int32_t order[7];
    tl_rank_order(scores, 7, order);
    const int32_t want[] = {1, 4, 0, 5, 3, 6, 2};
    assert_memory_equal(order, want, sizeof want);
    tl_rank_order(scores, 0, order); /* nothing to order */
    float many[1000];
    int32_t many_order[1000];
    for (int i = 0; i < 1000; i++) many[i] = (float)((i * 7919) % 1000) / 10.0f;
    tl_rank_order(many, 1000, many_order);
    for (int i = 1; i < 1000; i++) assert_true(many[many_order[i - 1]] >= many[many_order[i]]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scores_match_llama_cpp),
        cmocka_unit_test(rerank_scores_every_document),
        cmocka_unit_test(pair_longer_than_context_fails),
        cmocka_unit_test(embedding_model_is_not_a_reranker),
        cmocka_unit_test(reranker_embeddings_are_the_first_row),
        cmocka_unit_test(rank_order_sorts_best_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
