/*
 * test_golden.c — the forward pass against llama.cpp's own numbers.
 *
 * ../shared/golden/llama-reference.json holds, for real (stories260K) and
 * random (llama2-tiny-random, F16) llama models, the prompt tokens, the top-20
 * logits at the last prompt position and 64 greedy ids as llama.cpp computed
 * them. tests/reference/ files hold the same for random-weight models of
 * every decoder architecture that tl_synth writes (see scripts/reference). Every case must give the same tokens, logits
 * within 1e-4 relative (1e-3 absolute) and the same greedy ids.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/authoring.h"
#include "test_support.h"
#include "tinyllm.h"

static tl_model *load(const char *path) {
    tl_model *m = NULL;
    tl_error err = {0};
    if (tl_model_load(path, NULL, &m, &err) != TL_OK) fail_msg("%s", err.message);
    return m;
}

static tl_context *new_context(tl_model *m, uint32_t n_threads, uint32_t n_batch) {
    tl_context *ctx = NULL;
    tl_error err = {0};
    tl_context_params p = tl_context_default_params();
    p.n_threads = n_threads;
    p.n_batch = n_batch;
    p.n_ctx = 1024;
    p.type_k = p.type_v = 0; /* f32, as the llama.cpp references were made */
    if (tl_context_new(m, &p, &ctx, &err) != TL_OK) fail_msg("%s", err.message);
    return ctx;
}

static tl_token argmax(const float *x, int32_t n) {
    tl_token best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Checks one reference case: tokens (when the case has a prompt), top
 * logits, greedy continuation. */
static void check_case(tl_model *m, const cJSON *c, const char *label) {
    const cJSON *ref_tokens = cJSON_GetObjectItem(c, "tokens");
    const cJSON *prompt = cJSON_GetObjectItem(c, "prompt");
    int32_t n = cJSON_GetArraySize(ref_tokens);
    tl_token *tokens = calloc((size_t)n + 1, sizeof *tokens);
    for (int32_t i = 0; i < n; i++) tokens[i] = cJSON_GetArrayItem(ref_tokens, i)->valueint;
    if (cJSON_IsString(prompt)) {
        tl_token mine[1024];
        int32_t got = tl_tokenize(m, prompt->valuestring, strlen(prompt->valuestring), true, false, mine, 1024);
        if (got != n) fail_msg("%s: prompt gives %d tokens, llama.cpp %d", label, got, n);
        for (int32_t i = 0; i < n; i++)
            if (mine[i] != tokens[i]) fail_msg("%s: token %d is %d, llama.cpp %d", label, i, mine[i], tokens[i]);
    }

    tl_context *ctx = new_context(m, 2, 512);
    tl_error err = {0};
    assert_int_equal(tl_decode(ctx, tokens, n, 0, false, &err), TL_OK);
    const float *logits = tl_get_logits(ctx, -1);
    const cJSON *top = cJSON_GetObjectItem(c, "top");
    double worst = 0;
    for (int i = 0; i < cJSON_GetArraySize(top); i++) {
        const cJSON *pair = cJSON_GetArrayItem(top, i);
        int id = cJSON_GetArrayItem(pair, 0)->valueint;
        double want = cJSON_GetArrayItem(pair, 1)->valuedouble;
        double diff = fabs(logits[id] - want);
        double tol = 1e-3 + 1e-4 * fabs(want);
        if (diff / tol > worst) worst = diff / tol;
        if (diff > tol) fail_msg("%s: logit of token %d is %.6f, llama.cpp %.6f", label, id, logits[id], want);
    }
    const cJSON *greedy = cJSON_GetObjectItem(c, "greedy");
    const int32_t n_vocab = tl_vocab_size(m);
    for (int i = 0; i < cJSON_GetArraySize(greedy); i++) {
        tl_token want = cJSON_GetArrayItem(greedy, i)->valueint;
        tl_token got = argmax(tl_get_logits(ctx, -1), n_vocab);
        if (got != want) fail_msg("%s: greedy token %d is %d, llama.cpp %d", label, i, got, want);
        assert_int_equal(tl_decode(ctx, &got, 1, tl_context_used(ctx), false, &err), TL_OK);
    }
    printf("  %s: ok (worst logit error %.2f of tolerance)\n", label, worst);
    tl_context_free(ctx);
    free(tokens);
}

/* Runs every case of a reference file whose model can be found. */
static void check_reference_file(const char *ref_path, const char *(*model_path)(const char *name)) {
    char *text = tl_test_read_file(ref_path, NULL);
    if (!text) fail_msg("cannot read %s", ref_path);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    const cJSON *cases = cJSON_GetObjectItem(root, "cases");
    const char *top_model = cJSON_GetStringValue(cJSON_GetObjectItem(root, "model"));
    int checked = 0;
    for (int i = 0; i < cJSON_GetArraySize(cases); i++) {
        const cJSON *c = cJSON_GetArrayItem(cases, i);
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "model"));
        if (!name) name = top_model;
        const char *path = model_path(name);
        if (!path) continue;
        tl_model *m = load(path);
        char label[256];
        snprintf(label, sizeof label, "%s case %d", name, i);
        check_case(m, c, label);
        tl_model_free(m);
        checked++;
    }
    assert_true(checked > 0);
    cJSON_Delete(root);
    free(text);
}

static const char *shared_model(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s", name);
    return tl_test_have_shared(rel) ? tl_test_shared_path(rel) : NULL;
}

static void llama_reference_matches(void **state) {
    (void)state;
    if (!tl_test_have_shared("golden/llama-reference.json")) skip();
    check_reference_file(tl_test_shared_path("golden/llama-reference.json"), shared_model);
}

/* Random-weight models written by the project's own synth, compared with
 * what llama.cpp computed on the same files (scripts/reference/
 * make_reference.sh; keep the preset, type and seed in sync with it). */
typedef struct synth_case {
    const char *reference; /* tests/reference/<reference>.json */
    const char *preset, *type;
    bool tiny;
    const char *vocab; /* under the shared tokenizers/ folder; NULL: the preset's */
} synth_case;

static const synth_case synth_models[] = {
    {"qwen2-test-q8_0", "qwen2-test", "q8_0", false, NULL},
    {"llama3-test-q4_0", "llama3-test", "q4_0", false, NULL},
    {"phi3-tiny-f32", "phi3-mini", "f32", true, NULL},
    {"stablelm-tiny-q8_0", "stablelm2-1.6b", "q8_0", true, NULL},
    /* per-head q/k LayerNorms, parallel residual, GQA */
    {"stablelm12b-tiny-q8_0", "stablelm2-12b", "q8_0", true, NULL},
    {"gemma-tiny-q8_0", "gemma-2b", "q8_0", true, NULL},
    {"gemma2-tiny-f32", "gemma2-2b", "f32", true, NULL},
    /* f32: logits of this sharp random model reach ~50, where quantized
     * activations summed in another order than llama.cpp's drift by 1e-3. */
    {"gemma3-tiny-f32", "gemma3-270m", "f32", true, NULL},
    /* Qwen3: per-head q/k RMS norms, no biases, heads x head size != width.
     * f32 for the reason above: with q8_0 the 600-token case drifts by 1e-3. */
    {"qwen3-tiny-f32", "qwen3-0.6b", "f32", true, NULL},
};
static char synth_path[4096];

static const char *synth_model(const char *name) {
    (void)name;
    return synth_path;
}

/* The preset's vocabulary as a path: under the shared tokenizers/ folder, or
 * "@unigram"; NULL (test skipped) when the shared file is absent. */
static const char *preset_vocab(const char *preset, const char *vocab) {
    static char rel[512];
    for (int i = 0; !vocab && tl_synth_preset_name(i, &vocab); i++)
        if (strcmp(tl_synth_preset_name(i, NULL), preset) != 0) vocab = NULL;
    assert_non_null(vocab);
    if (vocab[0] == '@') return vocab;
    snprintf(rel, sizeof rel, "tokenizers/%s", vocab);
    return tl_test_have_shared(rel) ? tl_test_shared_path(rel) : NULL;
}

static void synth_models_match_llama_cpp(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof synth_models / sizeof synth_models[0]; i++) {
        const synth_case *c = &synth_models[i];
        const char *vocab = preset_vocab(c->preset, c->vocab);
        if (!vocab) skip();
        char ref_rel[256];
        snprintf(synth_path, sizeof synth_path, "%s", tl_test_tmp_path(c->reference));
        tl_error err = {0};
        const tl_synth_params params = {
            .preset = c->preset, .weight_type = c->type, .seed = 42, .vocab_path = vocab, .tiny = c->tiny};
        if (tl_synth(&params, synth_path, &err) != TL_OK) fail_msg("synth %s: %s", c->reference, err.message);
        snprintf(ref_rel, sizeof ref_rel, "tests/reference/%s.json", c->reference);
        print_message("%s\n", c->reference);
        check_reference_file(tl_test_source_path(ref_rel), synth_model);
        remove(synth_path);
    }
}

/* Logits of a prompt evaluated in one batch, in small batches, and one token
 * at a time must agree (the KV cache and positions are consistent). */
static void batched_equals_token_by_token(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K.gguf")) skip();
    tl_model *m = load(tl_test_shared_path("models/stories260K.gguf"));
    const char *text = "Lily and Tom went to the park. They saw a big dog and it was happy.";
    tl_token tokens[128];
    int32_t n = tl_tokenize(m, text, strlen(text), true, false, tokens, 128);
    assert_true(n > 8);
    const int32_t n_vocab = tl_vocab_size(m);
    const uint32_t batches[] = {512, 5, 1};
    float *ref = malloc((size_t)n * n_vocab * sizeof *ref);
    for (size_t b = 0; b < 3; b++) {
        tl_context *ctx = new_context(m, b == 2 ? 1 : 2, batches[b]);
        tl_error err = {0};
        assert_int_equal(tl_decode(ctx, tokens, n, 0, true, &err), TL_OK);
        for (int32_t t = 0; t < n; t++) {
            const float *l = tl_get_logits(ctx, t);
            assert_non_null(l);
            for (int32_t i = 0; i < n_vocab; i++) {
                float *r = &ref[(size_t)t * n_vocab + i];
                if (b == 0)
                    *r = l[i];
                else if (fabsf(l[i] - *r) > 1e-3f * (1.0f + fabsf(*r)))
                    fail_msg("batch %u: token %d logit %d: %f vs %f", batches[b], t, i, l[i], *r);
            }
        }
        tl_context_free(ctx);
    }
    free(ref);
    tl_model_free(m);
}

/* The v1 (32-bit lengths) file holds the same weights as the v3 file. */
static void gguf_v1_gives_same_logits(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K-v1-f32.gguf") || !tl_test_have_shared("models/stories260K.gguf"))
        skip();
    tl_model *a = load(tl_test_shared_path("models/stories260K.gguf"));
    tl_model *b = load(tl_test_shared_path("models/stories260K-v1-f32.gguf"));
    tl_token tokens[] = {1, 403, 407, 261, 378};
    tl_context *ca = new_context(a, 1, 512), *cb = new_context(b, 1, 512);
    tl_error err = {0};
    assert_int_equal(tl_decode(ca, tokens, 5, 0, false, &err), TL_OK);
    assert_int_equal(tl_decode(cb, tokens, 5, 0, false, &err), TL_OK);
    assert_memory_equal(tl_get_logits(ca, -1), tl_get_logits(cb, -1), 512 * sizeof(float));
    tl_context_free(ca);
    tl_context_free(cb);
    tl_model_free(a);
    tl_model_free(b);
}

/* The Q8_0 file whose ffn_down rows (172) cut through blocks loads, and its
 * logits stay close to the F32 model's. */
static void q8_0_with_split_blocks_runs(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K-v2-q8_0.gguf")) skip();
    tl_model *m = load(tl_test_shared_path("models/stories260K-v2-q8_0.gguf"));
    tl_context *ctx = new_context(m, 2, 512);
    tl_token tokens[] = {1, 403, 407, 261, 378};
    tl_error err = {0};
    assert_int_equal(tl_decode(ctx, tokens, 5, 0, false, &err), TL_OK);
    const float *l = tl_get_logits(ctx, -1);
    /* llama.cpp's F32 reference: token 432 at 17.80, then 383 at 14.28. */
    assert_int_equal(argmax(l, 512), 432);
    assert_true(fabsf(l[432] - 17.80f) < 0.5f);
    assert_true(fabsf(l[383] - 14.28f) < 0.5f);
    tl_context_free(ctx);
    tl_model_free(m);
}

/* A prompt longer than the context is refused, not overrun. */
static void context_overflow_is_an_error(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K.gguf")) skip();
    tl_model *m = load(tl_test_shared_path("models/stories260K.gguf"));
    tl_context *ctx = NULL;
    tl_error err = {0};
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 8;
    assert_int_equal(tl_context_new(m, &p, &ctx, &err), TL_OK);
    tl_token tokens[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    assert_int_equal(tl_decode(ctx, tokens, 9, 0, false, &err), TL_ERR_CONTEXT_FULL);
    assert_non_null(strstr(err.message, "context"));
    assert_int_equal(tl_decode(ctx, tokens, 8, 0, false, &err), TL_OK);
    assert_int_equal(tl_decode(ctx, tokens, 1, 8, false, &err), TL_ERR_CONTEXT_FULL);
    tl_token bad = 512;
    tl_context_truncate(ctx, 0);
    assert_int_equal(tl_decode(ctx, &bad, 1, 0, false, &err), TL_ERR_ARGUMENT);
    assert_int_equal(tl_decode(ctx, tokens, 1, 3, false, &err), TL_ERR_ARGUMENT);
    tl_context_free(ctx);
    tl_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama_reference_matches),       cmocka_unit_test(synth_models_match_llama_cpp),
        cmocka_unit_test(batched_equals_token_by_token), cmocka_unit_test(gguf_v1_gives_same_logits),
        cmocka_unit_test(q8_0_with_split_blocks_runs),   cmocka_unit_test(context_overflow_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
