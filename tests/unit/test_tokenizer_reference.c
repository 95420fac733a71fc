/*
 * test_tokenizer_reference.c — the vocabularies tinyllm writes itself,
 * tokenized by tinyllm and by llama.cpp:
 *
 *  - Gemma 3's tokenizer.json (shared/tokenizers/gemma3) converted by
 *    tl_synth_vocab_from_hf ("llama" SentencePiece-style, 262144 tokens);
 *  - shared/tokenizers/llama2/tokenizer.json, converted the same way (32000
 *    tokens, with the space prefix);
 *  - the project's Unigram vocabulary, tl_synth_vocab_unigram(32128) ("t5",
 *    with a precompiled charsmap).
 *
 * Each is written to a GGUF file (with the few llama hyper-parameters
 * llama.cpp needs to load a vocabulary only), loaded with tl_model_load
 * (vocab_only) and must give, for every case of
 * tests/reference/tokenizer-<name>.json (made by
 * scripts/reference/tokenize_reference.mjs from the same files), llama.cpp's
 * ids and llama.cpp's detokenized text. Where that text is the input, the
 * round trip text → ids → text is exact.
 *
 * With TL_TOKENIZER_VOCAB_OUT=DIR the files are also left in DIR as
 * vocab-gemma3.gguf, vocab-llama2.gguf and vocab-t5.gguf, for the .mjs
 * script (its header has the commands).
 */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authoring/gguf_writer.h"
#include "authoring/synth_vocab.h"
#include "format/gguf.h"
#include "tinyllm.h"

#define GEMMA3_JSON "tokenizers/gemma3/tokenizer.json"
#define LLAMA2_JSON "tokenizers/llama2/tokenizer.json"
#define MAX_TOKENS 65536

/* The hyper-parameters llama.cpp reads before the vocabulary. */
static void write_minimal_llama_keys(gguf_writer *w) {
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_str(w, "general.name", "tinyllm tokenizer reference");
    gguf_writer_set_u32(w, "llama.context_length", 2048);
    gguf_writer_set_u32(w, "llama.embedding_length", 64);
    gguf_writer_set_u32(w, "llama.block_count", 1);
    gguf_writer_set_u32(w, "llama.feed_forward_length", 128);
    gguf_writer_set_u32(w, "llama.attention.head_count", 4);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
}

/* Writes vocab-<name>.gguf to the test's temporary directory (and to
 * $TL_TOKENIZER_VOCAB_OUT when set); returns its path. */
static const char *write_vocab_file(const char *name) {
    tl_error err = {0};
    gguf_writer *w = gguf_writer_new();
    write_minimal_llama_keys(w);
    tl_status st;
    if (strcmp(name, "gemma3") == 0 || strcmp(name, "llama2") == 0) {
        bool gemma = strcmp(name, "gemma3") == 0;
        uint64_t n = 0;
        st = tl_synth_vocab_from_hf(w, tl_test_shared_path(gemma ? GEMMA3_JSON : LLAMA2_JSON), &n, &err);
        if (st == TL_OK) assert_int_equal(n, gemma ? 262144 : 32000);
    } else {
        st = tl_synth_vocab_unigram(w, 32128, &err);
    }
    if (st != TL_OK) fail_msg("building the %s vocabulary: %s", name, err.message);
    char file[64];
    snprintf(file, sizeof file, "vocab-%s.gguf", name);
    const char *out_dir = getenv("TL_TOKENIZER_VOCAB_OUT");
    if (out_dir && *out_dir) {
        char kept[4096];
        snprintf(kept, sizeof kept, "%s/%s", out_dir, file);
        if (gguf_writer_write(w, kept, &err) != TL_OK) fail_msg("%s", err.message);
    }
    const char *path = tl_test_tmp_path(file);
    if (gguf_writer_write(w, path, &err) != TL_OK) fail_msg("%s", err.message);
    gguf_writer_free(w);
    return path;
}

static tl_model *load_vocab_only(const char *path) {
    tl_model_params params = tl_model_default_params();
    params.vocab_only = true;
    tl_model *model = NULL;
    tl_error err = {0};
    if (tl_model_load(path, &params, &model, &err) != TL_OK) fail_msg("%s", err.message);
    return model;
}

/* Every case of tests/reference/tokenizer-<name>.json; returns how many. */
static int check_reference_cases(const tl_model *model, const char *name) {
    char rel[128];
    snprintf(rel, sizeof rel, "tests/reference/tokenizer-%s.json", name);
    char *text = tl_test_read_file(tl_test_source_path(rel), NULL);
    assert_non_null(text);
    cJSON *json = cJSON_Parse(text);
    free(text);
    assert_non_null(json);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(json, "cases");
    assert_true(cJSON_IsArray(cases));

    static tl_token got[MAX_TOKENS];
    int n_cases = 0, failures = 0, round_trips = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        const char *input = cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring;
        bool special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "special"));
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "tokens");
        const char *want_text = cJSON_GetObjectItemCaseSensitive(c, "detokenized")->valuestring;
        size_t len = strlen(input);
        int32_t n = tl_tokenize(model, input, len, false, special, got, MAX_TOKENS);
        assert_true(n >= 0);
        bool same = n == cJSON_GetArraySize(want);
        int32_t i = 0;
        const cJSON *id;
        cJSON_ArrayForEach(id, want) {
            if (i < n && got[i] != (tl_token)id->valuedouble) same = false;
            i++;
        }
        if (!same) {
            failures++;
            print_message("%s case %d ('%.60s'): %d tokens, llama.cpp %d\n", name, n_cases, input, n,
                          cJSON_GetArraySize(want));
        }
        /* llama.cpp's detokenize drops the leading space it added. */
        int32_t need = tl_detokenize(model, got, n, false, true, NULL, 0);
        need = need < 0 ? -need : need;
        char *back = malloc((size_t)need + 1);
        assert_non_null(back);
        int32_t m = tl_detokenize(model, got, n, false, true, back, need);
        assert_int_equal(m, need);
        back[m] = '\0';
        if (strcmp(back, want_text) != 0) {
            failures++;
            print_message("%s case %d: detokenized to '%.60s', llama.cpp '%.60s'\n", name, n_cases, back, want_text);
        }
        if (strcmp(want_text, input) == 0) {
            round_trips++;
            if (strcmp(back, input) != 0) failures++;
        }
        free(back);
        n_cases++;
    }
    cJSON_Delete(json);
    print_message("%s: %d cases, %d failures, %d round trips\n", name, n_cases, failures, round_trips);
    assert_true(n_cases >= 70);
    assert_true(round_trips >= 5); /* T5 folds whitespace, so few of its cases come back */
    assert_int_equal(failures, 0);
    return n_cases;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#if defined(__SANITIZE_ADDRESS__)
#define SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLOW_BUILD 1
#endif
#endif
#ifndef SLOW_BUILD
#define SLOW_BUILD 0
#endif

/* 100 KB of the multilingual text, special tokens parsed, well under a
 * second. */
static void assert_tokenizes_100kb_quickly(const tl_model *model, const char *name) {
    size_t corpus_len = 0;
    char *corpus = tl_test_read_file(tl_test_source_path("tests/data/multilingual.txt"), &corpus_len);
    assert_non_null(corpus);
    size_t len = 100 * 1024;
    char *text = malloc(len);
    tl_token *tokens = malloc(len * sizeof *tokens);
    assert_non_null(text);
    assert_non_null(tokens);
    for (size_t i = 0; i < len; i++) text[i] = corpus[i % corpus_len];
    double t0 = now_ms();
    int32_t n = tl_tokenize(model, text, len, true, true, tokens, (int32_t)len);
    double ms = now_ms() - t0;
    print_message("%s: 100 KB -> %d tokens in %.1f ms\n", name, n, ms);
    assert_true(n > 0);
    assert_true(ms < (SLOW_BUILD ? 10000.0 : 1000.0) * tl_test_time_scale());
    free(tokens);
    free(text);
    free(corpus);
}

static void gemma3_vocabulary_matches_llama_cpp(void **state) {
    (void)state;
    if (!tl_test_have_shared(GEMMA3_JSON)) skip();
    const char *path = write_vocab_file("gemma3");
    double t0 = now_ms();
    tl_model *model = load_vocab_only(path);
    double ms = now_ms() - t0;
    print_message("gemma3: 262144-token vocabulary loaded in %.1f ms\n", ms);
    assert_true(ms < (SLOW_BUILD ? 5000.0 : 500.0) * tl_test_time_scale());
    check_reference_cases(model, "gemma3");
    assert_tokenizes_100kb_quickly(model, "gemma3");

    /* BOS is added, EOS is not (tokenizer_config.json) */
    tl_token t[8];
    assert_int_equal(tl_tokenize(model, "Hi", 2, true, false, t, 8), 2);
    assert_int_equal(t[0], 2);
    tl_model_free(model);
    remove(path);
}

static void llama2_vocabulary_matches_llama_cpp(void **state) {
    (void)state;
    if (!tl_test_have_shared(LLAMA2_JSON)) skip();
    const char *path = write_vocab_file("llama2");
    tl_model *model = load_vocab_only(path);
    check_reference_cases(model, "llama2");
    tl_model_free(model);
    remove(path);
}

static void t5_vocabulary_matches_llama_cpp(void **state) {
    (void)state;
    const char *path = write_vocab_file("t5");
    tl_model *model = load_vocab_only(path);
    check_reference_cases(model, "t5");
    assert_tokenizes_100kb_quickly(model, "t5");

    /* T5 appends </s> and adds no BOS */
    tl_token t[16];
    int32_t n = tl_tokenize(model, "Hello", 5, true, false, t, 16);
    assert_true(n >= 2);
    assert_int_equal(t[n - 1], 1);
    assert_int_equal(tl_tokenize(model, "", 0, true, false, t, 16), 1);
    assert_int_equal(t[0], 1);
    tl_model_free(model);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemma3_vocabulary_matches_llama_cpp),
        cmocka_unit_test(llama2_vocabulary_matches_llama_cpp),
        cmocka_unit_test(t5_vocabulary_matches_llama_cpp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
