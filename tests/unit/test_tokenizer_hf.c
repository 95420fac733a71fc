/*
 * test_tokenizer_hf.c — tinyllm's tokens against Hugging Face's own
 * tokenizer (the Rust `tokenizers` library) on the reference corpus
 * tests/data/hf-corpus.json, for every vocabulary of shared/ that has a
 * tokenizer.json, and for BERT (bge):
 *
 *   bert, qwen3, llama3, smollm2   llama.cpp's GGUF of the same vocabulary
 *                                  (shared/tokenizers/llama.cpp-vocab; the
 *                                  reference script checked that every id has
 *                                  the same text in both);
 *   gemma3, llama2, tinystories656k  the tokenizer.json converted by the
 *                                  project's importer (tl_synth_vocab_from_hf).
 *
 * The ids in tests/reference/hf-tokens-NAME.json were made by
 * scripts/reference/hf/hf_tokens.mjs with add_special_tokens = false, and
 * Hugging Face splits added tokens out of the text whatever that flag says:
 * so tinyllm tokenizes with add_special = false and parse_special = true.
 * Every string must give exactly Hugging Face's ids.
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
#include "tokenizer/vocab.h"

#define MAX_TOKENS 4096

typedef struct reference {
    const char *name;
    const char *gguf; /* a llama.cpp vocabulary file, or NULL */
    const char *json; /* else the tokenizer.json to convert */
} reference;

static cJSON *read_json(const char *relative) {
    char *text = tl_test_read_file(tl_test_source_path(relative), NULL);
    if (!text) fail_msg("cannot read %s", relative);
    cJSON *json = cJSON_Parse(text);
    free(text);
    if (!json) fail_msg("%s: not valid JSON", relative);
    return json;
}

/* Opens the GGUF (or converts the tokenizer.json into one) and loads its
 * vocabulary. */
static tl_vocab *load_vocab(const reference *r, gguf_file **file) {
    tl_error err = {0};
    const char *path;
    if (r->gguf) {
        path = tl_test_shared_path(r->gguf);
    } else {
        gguf_writer *w = gguf_writer_new();
        uint64_t n = 0;
        if (tl_synth_vocab_from_hf(w, tl_test_shared_path(r->json), &n, &err) != TL_OK) {
            fail_msg("%s: %s", r->json, err.message);
        }
        char name[64];
        snprintf(name, sizeof name, "hf-%s.gguf", r->name);
        path = tl_test_tmp_path(name);
        if (gguf_writer_write(w, path, &err) != TL_OK) fail_msg("%s", err.message);
        gguf_writer_free(w);
    }
    if (gguf_open(path, file, &err) != TL_OK) fail_msg("%s", err.message);
    tl_vocab *v = NULL;
    if (tl_vocab_load(*file, &v, &err) != TL_OK) fail_msg("%s", err.message);
    if (!r->gguf) remove(path);
    return v;
}

static void print_ids(const char *label, const tl_token *ids, int n) {
    char line[512];
    int used = snprintf(line, sizeof line, "    %-8s", label);
    for (int i = 0; i < n && used < (int)sizeof line - 16; i++) {
        used += snprintf(line + used, sizeof line - (size_t)used, " %d", ids[i]);
    }
    print_message("%s%s\n", line, used >= (int)sizeof line - 16 ? " ..." : "");
}

static int32_t tokenize_text(const tl_vocab *v, const char *text, size_t len, tl_token *out, int32_t max) {
    return tl_vocab_tokenize(v, text, len, false, true, out, max);
}

/* Tokenizes every corpus string; prints each one that differs. */
static void check_vocabulary(const reference *r) {
    if (!tl_test_have_shared(r->gguf ? r->gguf : r->json)) {
        print_message("%s: %s not found, skipped\n", r->name, r->gguf ? r->gguf : r->json);
        skip();
    }
    cJSON *corpus = read_json("tests/data/hf-corpus.json");
    char rel[128];
    snprintf(rel, sizeof rel, "tests/reference/hf-tokens-%s.json", r->name);
    cJSON *want_file = read_json(rel);
    const cJSON *want_all = cJSON_GetObjectItemCaseSensitive(want_file, "ids");
    assert_true(cJSON_IsArray(corpus));
    assert_true(cJSON_IsArray(want_all));
    assert_int_equal(cJSON_GetArraySize(want_all), cJSON_GetArraySize(corpus));
    assert_true(cJSON_GetArraySize(corpus) >= 300);

    gguf_file *file = NULL;
    tl_vocab *v = load_vocab(r, &file);
    static tl_token got[MAX_TOKENS], want[MAX_TOKENS], bounded[MAX_TOKENS];
    int index = 0, failures = 0, total_tokens = 0;
    const cJSON *text_item, *want_item = want_all->child;
    cJSON_ArrayForEach(text_item, corpus) {
        const char *text = text_item->valuestring;
        int n_want = 0;
        const cJSON *id;
        cJSON_ArrayForEach(id, want_item) {
            assert_true(n_want < MAX_TOKENS);
            want[n_want++] = (tl_token)id->valuedouble;
        }
        int32_t n = tokenize_text(v, text, strlen(text), got, MAX_TOKENS);
        assert_true(n >= 0);
        /* bounded to exactly that many tokens, the same count (its bounds
         * from byte lengths allow for NFC and "▁" spellings) */
        assert_int_equal(tl_vocab_tokenize_bounded(v, text, strlen(text), false, true, bounded, n), n);
        total_tokens += n_want;
        if (n != n_want || memcmp(got, want, (size_t)n * sizeof *got) != 0) {
            failures++;
            print_message("%s string %d \"%s\": tinyllm %d tokens, Hugging Face %d\n", r->name, index, text, n, n_want);
            print_ids("tinyllm", got, n);
            print_ids("HF", want, n_want);
        }
        want_item = want_item->next;
        index++;
    }
    print_message("%s: %d strings (%d tokens), %d differ from Hugging Face\n", r->name, index, total_tokens, failures);
    tl_vocab_free(v);
    gguf_close(file);
    cJSON_Delete(corpus);
    cJSON_Delete(want_file);
    assert_int_equal(failures, 0);
}

#define VOCAB_DIR "tokenizers/llama.cpp-vocab/"

static void bert_matches_hugging_face(void **state) {
    (void)state;
    check_vocabulary(&(reference){"bert", VOCAB_DIR "ggml-vocab-bert-bge.gguf", NULL});
}

static void qwen3_matches_hugging_face(void **state) {
    (void)state;
    check_vocabulary(&(reference){"qwen3", VOCAB_DIR "ggml-vocab-qwen2.gguf", NULL});
}

/* NFC puts marks in canonical order before composing: "e" + U+0301 (class
 * 230) + U+0316 (220) and "e" + U+0316 + U+0301 both become U+00E9 U+0316;
 * and a run of 100,000 marks takes linear time. */
static void qwen3_composes_in_canonical_order_in_linear_time(void **state) {
    (void)state;
    reference r = {"qwen3", VOCAB_DIR "ggml-vocab-qwen2.gguf", NULL};
    if (!tl_test_have_shared(r.gguf)) skip();
    gguf_file *file = NULL;
    tl_vocab *v = load_vocab(&r, &file);
    static const char *const forms[] = {"e\xCC\x81\xCC\x96", "e\xCC\x96\xCC\x81", "\xC3\xA9\xCC\x96"};
    tl_token want[16], got[16];
    int32_t n = tokenize_text(v, forms[2], strlen(forms[2]), want, 16);
    assert_true(n > 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tokenize_text(v, forms[k], strlen(forms[k]), got, 16), n);
        assert_memory_equal(got, want, (size_t)n * sizeof *got);
    }
    enum { MARKS = 100000 };
    char *text = malloc(1 + 2 * MARKS);
    tl_token *tokens = malloc((1 + 2 * MARKS) * sizeof *tokens);
    assert_non_null(text);
    assert_non_null(tokens);
    text[0] = 'e';
    for (int k = 0; k < MARKS; k++) memcpy(text + 1 + 2 * k, k % 2 ? "\xCC\x81" : "\xCC\x96", 2);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_true(tokenize_text(v, text, 1 + 2 * MARKS, tokens, 1 + 2 * MARKS) > 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("qwen3: 100,000 marks in %.1f ms\n", ms);
    assert_true(ms < 5000 * tl_test_time_scale());
    free(tokens);
    free(text);
    tl_vocab_free(v);
    gguf_close(file);
}

static void llama3_matches_hugging_face(void **state) {
    (void)state;
    check_vocabulary(&(reference){"llama3", VOCAB_DIR "ggml-vocab-llama-bpe.gguf", NULL});
}

static void smollm2_matches_hugging_face(void **state) {
    (void)state;
    check_vocabulary(&(reference){"smollm2", VOCAB_DIR "ggml-vocab-smollm.gguf", NULL});
}

static void gemma3_matches_hugging_face(void **state) {
    (void)state;
    check_vocabulary(&(reference){"gemma3", NULL, "tokenizers/gemma3/tokenizer.json"});
}

static void llama2_matches_hugging_face(void **state) {
    (void)state;
    check_vocabulary(&(reference){"llama2", NULL, "tokenizers/llama2/tokenizer.json"});
}

static void tinystories656k_matches_hugging_face(void **state) {
    (void)state;
    check_vocabulary(&(reference){"tinystories656k", NULL, "models/TinyStories-656K/tokenizer.json"});
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bert_matches_hugging_face),
        cmocka_unit_test(qwen3_matches_hugging_face),
        cmocka_unit_test(qwen3_composes_in_canonical_order_in_linear_time),
        cmocka_unit_test(llama3_matches_hugging_face),
        cmocka_unit_test(smollm2_matches_hugging_face),
        cmocka_unit_test(gemma3_matches_hugging_face),
        cmocka_unit_test(llama2_matches_hugging_face),
        cmocka_unit_test(tinystories656k_matches_hugging_face),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
