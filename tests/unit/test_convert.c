/*
 * test_convert.c — `tinyllm convert` (src/authoring/convert_hf.c) on the
 * Hugging Face folder shared/models/TinyStories-656K (llama, a 2048-token
 * SentencePiece-style BPE vocabulary):
 *   - the converted file gives llama.cpp's numbers on the same file
 *     (tests/reference/tinystories656k-<type>.json, made by
 *     scripts/reference/make_reference.sh): the prompt's tokens, the top-20
 *     logits within 1e-4 relative (1e-3 absolute) and 32 greedy ids;
 *   - its vocabulary tokenizes the corpus tests/data/hf-corpus.json exactly
 *     as Hugging Face does (tests/reference/hf-tokens-tinystories656k.json).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/convert_hf.h"
#include "format/gguf.h"
#include "test_support.h"
#include "tinyllm.h"
#include "tokenizer/vocab.h"

#define HF_DIR "models/TinyStories-656K"

static cJSON *read_json(const char *relative) {
    char *text = tl_test_read_file(tl_test_source_path(relative), NULL);
    if (!text) fail_msg("cannot read %s", relative);
    cJSON *json = cJSON_Parse(text);
    free(text);
    if (!json) fail_msg("%s: not valid JSON", relative);
    return json;
}

/* Converts the shared folder to `name` in the test's temporary folder. */
static const char *convert(const char *type, const char *name) {
    if (!tl_test_have_shared(HF_DIR "/config.json")) {
        print_message("%s not found, skipped\n", HF_DIR);
        skip();
    }
    static char path[4096];
    snprintf(path, sizeof path, "%s", tl_test_tmp_path(name));
    const tl_convert_params params = {.hf_dir = tl_test_shared_path(HF_DIR), .out_path = path, .type = type};
    tl_error err = {0};
    if (tl_convert_hf(&params, &err) != TL_OK) fail_msg("convert: %s", err.message);
    return path;
}

static tl_token argmax(const float *x, int32_t n) {
    tl_token best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* One reference case: tokens of the prompt, top logits, greedy ids. */
static void check_case(tl_model *m, const cJSON *c, int index) {
    const cJSON *ref_tokens = cJSON_GetObjectItem(c, "tokens");
    const cJSON *prompt = cJSON_GetObjectItem(c, "prompt");
    const int32_t n = cJSON_GetArraySize(ref_tokens);
    tl_token tokens[1024];
    assert_true(n > 0 && n < 1024);
    for (int32_t i = 0; i < n; i++) tokens[i] = cJSON_GetArrayItem(ref_tokens, i)->valueint;
    if (cJSON_IsString(prompt)) {
        tl_token mine[1024];
        const int32_t got = tl_tokenize(m, prompt->valuestring, strlen(prompt->valuestring), true, false, mine, 1024);
        if (got != n) fail_msg("case %d: prompt gives %d tokens, llama.cpp %d", index, got, n);
        for (int32_t i = 0; i < n; i++)
            if (mine[i] != tokens[i]) fail_msg("case %d: token %d is %d, llama.cpp %d", index, i, mine[i], tokens[i]);
    }
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 256;
    p.n_threads = 2;
    p.type_k = p.type_v = 0; /* f32, as the reference was made */
    tl_context *ctx = NULL;
    tl_error err = {0};
    if (tl_context_new(m, &p, &ctx, &err) != TL_OK) fail_msg("%s", err.message);
    assert_int_equal(tl_decode(ctx, tokens, n, 0, false, &err), TL_OK);
    const float *logits = tl_get_logits(ctx, -1);
    const cJSON *pair;
    cJSON_ArrayForEach(pair, cJSON_GetObjectItem(c, "top")) {
        const int id = cJSON_GetArrayItem(pair, 0)->valueint;
        const double want = cJSON_GetArrayItem(pair, 1)->valuedouble;
        if (fabs(logits[id] - want) > 1e-3 + 1e-4 * fabs(want))
            fail_msg("case %d: logit of token %d is %.6f, llama.cpp %.6f", index, id, logits[id], want);
    }
    const cJSON *want_id;
    int i = 0;
    cJSON_ArrayForEach(want_id, cJSON_GetObjectItem(c, "greedy")) {
        tl_token got = argmax(tl_get_logits(ctx, -1), tl_vocab_size(m));
        if (got != want_id->valueint)
            fail_msg("case %d: greedy token %d is %d, llama.cpp %d", index, i, got, want_id->valueint);
        assert_int_equal(tl_decode(ctx, &got, 1, tl_context_used(ctx), false, &err), TL_OK);
        i++;
    }
    assert_true(i >= 32);
    tl_context_free(ctx);
}

static void check_against_llama_cpp(const char *type) {
    char name[64], ref[128];
    snprintf(name, sizeof name, "tinystories656k-%s.gguf", type);
    snprintf(ref, sizeof ref, "tests/reference/tinystories656k-%s.json", type);
    const char *path = convert(type, name);
    tl_model *m = NULL;
    tl_error err = {0};
    if (tl_model_load(path, NULL, &m, &err) != TL_OK) fail_msg("%s", err.message);
    cJSON *json = read_json(ref);
    const cJSON *c;
    int index = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(json, "cases")) check_case(m, c, index++);
    assert_true(index >= 5);
    print_message("%s: %d cases equal llama.cpp's\n", ref, index);
    cJSON_Delete(json);
    tl_model_free(m);
    remove(path);
}

static void f32_matches_llama_cpp(void **state) {
    (void)state;
    check_against_llama_cpp("f32");
}

static void q8_0_matches_llama_cpp(void **state) {
    (void)state;
    check_against_llama_cpp("q8_0");
}

/* The converted vocabulary against Hugging Face's tokenizer on the corpus
 * (add_special = false, parse_special = true, as the reference was made). */
static void tokenizer_matches_hugging_face(void **state) {
    (void)state;
    const char *path = convert("f16", "tinystories656k-vocab.gguf");
    gguf_file *file = NULL;
    tl_vocab *v = NULL;
    tl_error err = {0};
    if (gguf_open(path, &file, &err) != TL_OK || tl_vocab_load(file, &v, &err) != TL_OK) fail_msg("%s", err.message);
    cJSON *corpus = read_json("tests/data/hf-corpus.json");
    cJSON *want_file = read_json("tests/reference/hf-tokens-tinystories656k.json");
    const cJSON *want_item = cJSON_GetObjectItem(want_file, "ids")->child, *text;
    static tl_token got[4096];
    int strings = 0, failures = 0;
    cJSON_ArrayForEach(text, corpus) {
        assert_non_null(want_item);
        const int32_t n = tl_vocab_tokenize(v, text->valuestring, strlen(text->valuestring), false, true, got, 4096);
        bool same = n == cJSON_GetArraySize(want_item);
        for (int32_t i = 0; same && i < n; i++) same = got[i] == cJSON_GetArrayItem(want_item, i)->valueint;
        if (!same) {
            failures++;
            print_message("string %d \"%s\": differs from Hugging Face\n", strings, text->valuestring);
        }
        want_item = want_item->next;
        strings++;
    }
    print_message("%d strings, %d differ from Hugging Face\n", strings, failures);
    assert_true(strings >= 300);
    assert_int_equal(failures, 0);
    tl_vocab_free(v);
    gguf_close(file);
    cJSON_Delete(corpus);
    cJSON_Delete(want_file);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f32_matches_llama_cpp),
        cmocka_unit_test(q8_0_matches_llama_cpp),
        cmocka_unit_test(tokenizer_matches_hugging_face),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
