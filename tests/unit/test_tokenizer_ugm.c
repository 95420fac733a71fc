/*
 * test_tokenizer_ugm.c — the Unigram ("t5") tokenizer and its precompiled
 * charsmap on hand-made vocabularies whose best segmentation can be worked
 * out by hand; the charsmap builder and lookup; every kind of broken
 * charsmap, which must fail to load (never crash, also on random damage);
 * and the project's own Unigram vocabulary (tl_synth_vocab_unigram): size,
 * layout, determinism. Agreement with llama.cpp on that vocabulary is in
 * test_tokenizer_reference.c.
 */
#include "vocab_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/charsmap_build.h"
#include "authoring/gguf_writer.h"
#include "authoring/synth_vocab.h"
#include "format/gguf.h"
#include "tokenizer/charsmap.h"
#include "tokenizer/vocab.h"

#define SP "\xE2\x96\x81"

/* ------------------------------------------------------------------------ */
/* A hand-made Unigram vocabulary                                           */
/* ------------------------------------------------------------------------ */

static const char *const ugm_tokens[] = {"<pad>", "</s>", "<unk>", SP,    SP "a",         "a",     "b",
                                         SP "ab", "ab",   "c",     "abc", "<extra_id_0>", "<0x41>"};
/* "▁abc": ▁ab + c = -3.5 beats ▁a + bc (no bc) and ▁ + abc = -2 - 2 = -4 */
static const float ugm_scores[] = {0, 0, 0, -2.0f, -1.5f, -1.0f, -1.0f, -1.0f, -3.0f, -2.5f, -2.0f, 0, 0};
static const int32_t ugm_types[] = {3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 4, 6};
#define UGM_N 13

static gguf_writer *ugm_writer(void) {
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "t5");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", ugm_tokens, UGM_N);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, ugm_scores, UGM_N);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, ugm_types, UGM_N);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", true);
    gguf_writer_set_bool(w, "tokenizer.ggml.remove_extra_whitespaces", true);
    return w;
}

static void viterbi_picks_the_best_scoring_segmentation(void **state) {
    (void)state;
    tl_test_vocab l = tl_test_vocab_load_ok(ugm_writer(), "ugm.gguf");
    assert_int_equal(tl_vocab_kind_of(l.vocab), TL_VOCAB_UGM);
    assert_string_equal(tl_vocab_model_name(l.vocab), "t5");
    /* "▁ab" (-1) beats "▁a" + "b" (-2.5) and "▁" + "ab" (-5) */
    tl_test_expect_tokens(l.vocab, "ab", false, (tl_token[]){7}, 1);
    tl_test_expect_tokens(l.vocab, "abc", false, (tl_token[]){7, 9}, 2);
    /* "ba": ▁ is needed on its own (no "▁b") */
    tl_test_expect_tokens(l.vocab, "ba", false, (tl_token[]){3, 6, 5}, 3);
    /* T5: </s> after, no BOS */
    tl_test_expect_tokens(l.vocab, "ab", true, (tl_token[]){7, 1}, 2);
    tl_test_expect_tokens(l.vocab, "", true, (tl_token[]){1}, 1);
    tl_test_expect_tokens(l.vocab, "", false, NULL, 0);
    assert_int_equal(tl_vocab_bos(l.vocab), -1);
    assert_true(tl_vocab_add_eos(l.vocab));
    tl_test_vocab_release(&l);
}

/* Unknown characters are <unk>, runs of them a single <unk>; byte tokens are
 * never used by Unigram. */
static void unknown_characters_merge_into_one_unknown(void **state) {
    (void)state;
    tl_test_vocab l = tl_test_vocab_load_ok(ugm_writer(), "ugm-unk.gguf");
    tl_test_expect_tokens(l.vocab, "xyz", false, (tl_token[]){3, 2}, 2);
    tl_test_expect_tokens(l.vocab, "axyb", false, (tl_token[]){4, 2, 6}, 3);
    tl_test_expect_tokens(l.vocab, "A", false, (tl_token[]){3, 2}, 2);
    /* invalid UTF-8 becomes U+FFFD, also unknown */
    tl_test_expect_tokens(l.vocab, "a\xFF\xFE", false, (tl_token[]){4, 2}, 2);
    /* the unknown token prints nothing without `special` */
    char buf[32];
    tl_token t[] = {4, 2, 6};
    int32_t n = tl_vocab_detokenize(l.vocab, t, 3, false, true, buf, sizeof buf);
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "ab", 2);
    n = tl_vocab_detokenize(l.vocab, t, 3, true, true, buf, sizeof buf);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "a<unk>b", 7);
    tl_test_vocab_release(&l);
}

/* remove_extra_whitespaces: runs of spaces fold and every word gets one
 * "▁"; without it each space is a "▁" and only add_space_prefix adds one
 * in front. */
static void whitespace_options_follow_the_file(void **state) {
    (void)state;
    tl_test_vocab l = tl_test_vocab_load_ok(ugm_writer(), "ugm-ws.gguf");
    tl_test_expect_tokens(l.vocab, "   ab    a  ", false, (tl_token[]){7, 4}, 2);
    tl_test_vocab_release(&l);

    gguf_writer *w = ugm_writer();
    gguf_writer_set_bool(w, "tokenizer.ggml.remove_extra_whitespaces", false);
    l = tl_test_vocab_load_ok(w, "ugm-keep-ws.gguf");
    /* "▁▁ab▁": ▁ + ▁ab + ▁ */
    tl_test_expect_tokens(l.vocab, " ab ", false, (tl_token[]){3, 7, 3}, 3);
    tl_test_vocab_release(&l);

    w = ugm_writer();
    gguf_writer_set_bool(w, "tokenizer.ggml.remove_extra_whitespaces", false);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false);
    l = tl_test_vocab_load_ok(w, "ugm-no-prefix.gguf");
    /* "ab▁a": a + b + ▁a (-3.5) beats ab + ▁a (-4.5) */
    tl_test_expect_tokens(l.vocab, "ab a", false, (tl_token[]){5, 6, 4}, 3);
    /* detokenizing keeps the leading space when none was added */
    char buf[16];
    int32_t n = tl_vocab_detokenize(l.vocab, (tl_token[]){4}, 1, false, true, buf, sizeof buf);
    assert_int_equal(n, 2);
    assert_memory_equal(buf, " a", 2);
    tl_test_vocab_release(&l);
}

/* User-defined tokens are split out of the text and score 0 in Viterbi. */
static void user_defined_tokens_are_kept_whole(void **state) {
    (void)state;
    tl_test_vocab l = tl_test_vocab_load_ok(ugm_writer(), "ugm-user.gguf");
    tl_test_expect_tokens(l.vocab, "a<extra_id_0>b", false, (tl_token[]){4, 11, 3, 6}, 4);
    assert_int_equal(tl_vocab_token_type(l.vocab, 11), TL_TOKEN_TYPE_USER_DEFINED);
    char buf[32];
    int32_t n = tl_vocab_token_to_piece(l.vocab, 11, false, buf, sizeof buf);
    assert_int_equal(n, 12);
    tl_test_vocab_release(&l);
}

/* ------------------------------------------------------------------------ */
/* Charsmaps                                                                */
/* ------------------------------------------------------------------------ */

static const tl_charsmap_rule test_rules[] = {
    {"\xEF\xBC\xA1", "a"},               /* Ａ → a */
    {"\xEF\xBC\xA2", "b"},               /* Ｂ → b */
    {"\xEF\xBC\xA1\xEF\xBC\xA2", "abc"}, /* ＡＢ → abc: longer key wins */
    {"\xE2\x80\x8B", ""},                /* zero-width space → nothing */
    {"\xE3\x80\x80", " "},               /* ideographic space → space */
    {"x\xCC\x81", "ab"},                 /* a key whose first byte alone is no key */
};
#define N_TEST_RULES (sizeof test_rules / sizeof test_rules[0])

static void charsmap_matches_the_longest_key(void **state) {
    (void)state;
    uint8_t *blob = NULL;
    size_t size = 0;
    tl_error err = {0};
    assert_int_equal(tl_charsmap_build(test_rules, N_TEST_RULES, &blob, &size, &err), TL_OK);
    tl_charsmap map;
    assert_int_equal(tl_charsmap_init(&map, blob, size, "test", &err), TL_OK);
    const char *r;
    size_t r_len;
    assert_int_equal(tl_charsmap_match(&map, "\xEF\xBC\xA1\xEF\xBC\xA2!", 7, &r, &r_len), 6);
    assert_int_equal(r_len, 3);
    assert_memory_equal(r, "abc", 3);
    assert_int_equal(tl_charsmap_match(&map, "\xEF\xBC\xA1\xEF\xBC", 5, &r, &r_len), 3);
    assert_memory_equal(r, "a", 1);
    assert_int_equal(tl_charsmap_match(&map, "\xE2\x80\x8Bz", 4, &r, &r_len), 3);
    assert_int_equal(r_len, 0);
    assert_int_equal(tl_charsmap_match(&map, "xy", 2, &r, &r_len), 0);
    assert_int_equal(tl_charsmap_match(&map, "x\xCC\x81", 3, &r, &r_len), 3);
    assert_int_equal(tl_charsmap_match(&map, "", 0, &r, &r_len), 0);
    /* a NUL ends the match */
    assert_int_equal(tl_charsmap_match(&map, "\0\xEF\xBC\xA1", 4, &r, &r_len), 0);
    tl_charsmap_free(&map);
    free(blob);

    /* bad rule lists */
    tl_charsmap_rule dup[] = {{"a", "b"}, {"a", "c"}};
    assert_int_equal(tl_charsmap_build(dup, 2, &blob, &size, &err), TL_ERR_ARGUMENT);
    tl_charsmap_rule empty[] = {{"", "b"}};
    assert_int_equal(tl_charsmap_build(empty, 1, &blob, &size, &err), TL_ERR_ARGUMENT);
    assert_int_equal(tl_charsmap_build(NULL, 0, &blob, &size, &err), TL_ERR_ARGUMENT);
}

static gguf_writer *ugm_writer_with_charsmap(const uint8_t *blob, size_t size) {
    gguf_writer *w = ugm_writer();
    gguf_writer_set_arr(w, "tokenizer.ggml.precompiled_charsmap", GGUF_TYPE_UINT8, blob, size);
    return w;
}

/* The charsmap normalizes before Viterbi; its output spaces count as
 * spaces. */
static void charsmap_normalizes_before_segmentation(void **state) {
    (void)state;
    uint8_t *blob = NULL;
    size_t size = 0;
    tl_error err = {0};
    assert_int_equal(tl_charsmap_build(test_rules, N_TEST_RULES, &blob, &size, &err), TL_OK);
    tl_test_vocab l = tl_test_vocab_load_ok(ugm_writer_with_charsmap(blob, size), "ugm-map.gguf");
    /* ＡＢ → "abc"; "Ａ\u3000Ｂ" → "a b" */
    tl_test_expect_tokens(l.vocab, "\xEF\xBC\xA1\xEF\xBC\xA2", false, (tl_token[]){7, 9}, 2);
    tl_test_expect_tokens(l.vocab, "\xEF\xBC\xA1\xE3\x80\x80\xEF\xBC\xA2", false, (tl_token[]){4, 3, 6}, 3);
    tl_test_expect_tokens(l.vocab,
                          "a\xE2\x80\x8B"
                          "b",
                          false, (tl_token[]){7}, 1);
    tl_test_expect_tokens(l.vocab, "x\xCC\x81", false, (tl_token[]){7}, 1);
    tl_test_vocab_release(&l);
    free(blob);
}

static void expect_charsmap_failure(const uint8_t *blob, size_t size, const char *name, const char *needle) {
    tl_test_vocab l = tl_test_vocab_write(ugm_writer_with_charsmap(blob, size), name);
    if (l.status != TL_ERR_FORMAT || !strstr(l.err.message, needle) ||
        !strstr(l.err.message, "tokenizer.ggml.precompiled_charsmap") || strchr(l.err.message, '\n')) {
        char message[600];
        snprintf(message, sizeof message, "%s", l.err.message);
        tl_status st = l.status;
        tl_test_vocab_release(&l);
        fail_msg("%s: status %d, message '%s' (want '%s')", name, st, message, needle);
    }
    tl_test_vocab_release(&l);
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void broken_charsmaps_fail_to_load(void **state) {
    (void)state;
    uint8_t *blob = NULL;
    size_t size = 0;
    tl_error err = {0};
    assert_int_equal(tl_charsmap_build(test_rules, N_TEST_RULES, &blob, &size, &err), TL_OK);
    uint32_t array_bytes = get_u32(blob);
    uint32_t n_units = array_bytes / 4;
    uint8_t *copy = malloc(size);

    expect_charsmap_failure(blob, 3, "cm-short.gguf", "too short");
    /* cut inside the double array, or right after it (no strings) */
    expect_charsmap_failure(blob, 4 + array_bytes / 2, "cm-cut.gguf", "does not fit");
    expect_charsmap_failure(blob, 4 + array_bytes, "cm-no-strings.gguf", "does not fit");
    memcpy(copy, blob, size);
    put_u32(copy, 0xFFFFFFF0u);
    expect_charsmap_failure(copy, size, "cm-huge.gguf", "does not fit");

    /* the root's children beyond the array */
    memcpy(copy, blob, size);
    put_u32(copy + 4, (n_units + 5) << 10);
    expect_charsmap_failure(copy, size, "cm-root.gguf", "root");

    /* a node whose children lie beyond the array, and a replacement offset
     * past the strings: find units with a label and change them */
    int damaged_offsets = 0, damaged_values = 0;
    for (uint32_t i = 1; i < n_units; i++) {
        uint32_t unit = get_u32(blob + 4 + 4 * i);
        if (unit == 0) continue;
        memcpy(copy, blob, size);
        if (unit >> 31) {
            put_u32(copy + 4 + 4 * i, 1u << 31 | (uint32_t)(size - 4 - array_bytes));
            expect_charsmap_failure(copy, size, "cm-value.gguf", "replacement offset");
            damaged_values++;
        } else {
            put_u32(copy + 4 + 4 * i, (unit & 0x3FFu) | (0x1FFFFFu << 10));
            expect_charsmap_failure(copy, size, "cm-offset.gguf", "outside");
            damaged_offsets++;
        }
    }
    assert_true(damaged_offsets > 0 && damaged_values > 0);

    /* strings that do not end with a NUL */
    memcpy(copy, blob, size);
    copy[size - 1] = 'x';
    expect_charsmap_failure(copy, size, "cm-unterminated.gguf", "replacement offset");

    /* not an array of bytes */
    gguf_writer *w = ugm_writer();
    static const int32_t ints[4] = {1, 2, 3, 4};
    gguf_writer_set_arr(w, "tokenizer.ggml.precompiled_charsmap", GGUF_TYPE_INT32, ints, 4);
    tl_test_vocab l = tl_test_vocab_write(w, "cm-ints.gguf");
    assert_int_equal(l.status, TL_ERR_FORMAT);
    assert_non_null(strstr(l.err.message, "expected an array of bytes"));
    tl_test_vocab_release(&l);
    free(copy);
    free(blob);
}

/* Random damage either fails to load or gives a map that tokenizes any
 * text without reading out of bounds (the sanitizer build checks). */
static void randomly_damaged_charsmaps_never_crash(void **state) {
    (void)state;
    uint8_t *blob = NULL;
    size_t size = 0;
    tl_error err = {0};
    assert_int_equal(tl_charsmap_build(test_rules, N_TEST_RULES, &blob, &size, &err), TL_OK);
    uint8_t *copy = malloc(size);
    rng_seed(42);
    int loaded_ok = 0, failed = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(copy, blob, size);
        int n_flips = 1 + (int)(rng_next() % 4);
        for (int k = 0; k < n_flips; k++) {
            size_t at = 4 + rng_next() % (size - 4);
            copy[at] ^= (uint8_t)(1u << (rng_next() % 8));
        }
        tl_charsmap map;
        if (tl_charsmap_init(&map, copy, size, "fuzz", &err) != TL_OK) {
            failed++;
            continue;
        }
        loaded_ok++;
        char text[64];
        for (int t = 0; t < 20; t++) {
            size_t len = 1 + rng_next() % sizeof text;
            for (size_t i = 0; i < len; i++) text[i] = (char)(rng_next() & 0xFF);
            const char *r;
            size_t r_len;
            size_t used = tl_charsmap_match(&map, text, len, &r, &r_len);
            assert_true(used <= len);
            if (used) assert_true(r_len < size);
        }
        tl_charsmap_free(&map);
    }
    print_message("%d damaged maps loaded, %d refused\n", loaded_ok, failed);
    assert_true(loaded_ok > 0 && failed > 0);
    free(copy);
    free(blob);
}

/* ------------------------------------------------------------------------ */
/* The project's Unigram vocabulary                                         */
/* ------------------------------------------------------------------------ */

static const char *write_unigram(uint32_t n_vocab, const char *name) {
    gguf_writer *w = gguf_writer_new();
    tl_error err = {0};
    if (tl_synth_vocab_unigram(w, n_vocab, &err) != TL_OK) fail_msg("%s", err.message);
    const char *path = tl_test_tmp_path(name);
    if (gguf_writer_write(w, path, &err) != TL_OK) fail_msg("%s", err.message);
    gguf_writer_free(w);
    return path;
}

/* Invalid UTF-8 of every kind tokenizes (to <unk> or byte-free pieces)
 * without undefined behaviour, on the hand-made and the T5-sized vocabulary. */
static void invalid_utf8_of_every_kind_tokenizes(void **state) {
    (void)state;
    tl_test_vocab l = tl_test_vocab_load_ok(ugm_writer(), "ugm-invalid.gguf");
    tl_test_expect_invalid_utf8_tokenizes(l.vocab, "ugm-tiny");
    tl_test_vocab_release(&l);
    const char *path = write_unigram(32128, "t5-invalid.gguf");
    gguf_file *f = NULL;
    tl_error err = {0};
    assert_int_equal(gguf_open(path, &f, &err), TL_OK);
    tl_vocab *v = NULL;
    assert_int_equal(tl_vocab_load(f, &v, &err), TL_OK);
    tl_test_expect_invalid_utf8_tokenizes(v, "t5-32128");
    /* bounded tokenization (no byte bound for Unigram: it stops between
     * special tokens) gives the same tokens */
    static const char *const texts[] = {"The quick brown fox", "  a  b  ", "x<extra_id_0>y</s>z", ""};
    int mismatches = 0;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        mismatches += tl_test_bounded_mismatches(v, "t5-32128", texts[i], strlen(texts[i]));
    for (size_t i = 0; i < tl_test_n_invalid_utf8; i++)
        mismatches +=
            tl_test_bounded_mismatches(v, "t5-32128", tl_test_invalid_utf8[i].bytes, tl_test_invalid_utf8[i].len);
    assert_int_equal(mismatches, 0);
    tl_vocab_free(v);
    gguf_close(f);
    remove(path);
}

static void synthetic_unigram_vocab_has_t5_layout(void **state) {
    (void)state;
    const char *path = write_unigram(32128, "t5-32128.gguf");
    gguf_file *f = NULL;
    tl_error err = {0};
    assert_int_equal(gguf_open(path, &f, &err), TL_OK);
    tl_vocab *v = NULL;
    assert_int_equal(tl_vocab_load(f, &v, &err), TL_OK);
    assert_int_equal(tl_vocab_n_tokens(v), 32128);
    assert_string_equal(tl_vocab_token_text(v, 0), "<pad>");
    assert_string_equal(tl_vocab_token_text(v, 1), "</s>");
    assert_string_equal(tl_vocab_token_text(v, 2), "<unk>");
    assert_string_equal(tl_vocab_token_text(v, 32127), "<extra_id_0>");
    assert_string_equal(tl_vocab_token_text(v, 32028), "<extra_id_99>");
    assert_int_equal(tl_vocab_token_type(v, 32127), TL_TOKEN_TYPE_USER_DEFINED);
    assert_int_equal(tl_vocab_token_type(v, 2), TL_TOKEN_TYPE_UNKNOWN);
    assert_int_equal(tl_vocab_token_type(v, 1), TL_TOKEN_TYPE_CONTROL);
    assert_int_equal(tl_vocab_eos(v), 1);
    assert_true(tl_vocab_is_eog(v, 1));
    /* scores fall with the id; corpus words are single pieces */
    const float *scores = gguf_get_arr_data(f, "tokenizer.ggml.scores");
    for (int32_t id = 4; id < 32028; id++) {
        float a, b;
        memcpy(&a, (const char *)scores + 4 * (id - 1), 4);
        memcpy(&b, (const char *)scores + 4 * id, 4);
        assert_true(b <= a && b < 0);
    }
    tl_token t[64];
    int32_t n = tl_vocab_tokenize(v, "The quick brown fox", 19, true, false, t, 64);
    assert_int_equal(n, 5);
    assert_string_equal(tl_vocab_token_text(v, t[0]), SP "The");
    assert_string_equal(tl_vocab_token_text(v, t[3]), SP "fox");
    assert_int_equal(t[4], 1);
    /* the charsmap turns full-width letters into ASCII */
    tl_token u[64];
    int32_t m = tl_vocab_tokenize(v, "\xEF\xBC\xB4he quick", 11, true, false, u, 64);
    assert_int_equal(m, 3);
    assert_int_equal(u[0], t[0]);
    tl_vocab_free(v);
    gguf_close(f);
    remove(path);
}

static void synthetic_unigram_vocab_is_deterministic(void **state) {
    (void)state;
    const char *a_path = write_unigram(1000, "t5-a.gguf");
    size_t a_len = 0, b_len = 0;
    char *a = tl_test_read_file(a_path, &a_len);
    const char *b_path = write_unigram(1000, "t5-b.gguf");
    char *b = tl_test_read_file(b_path, &b_len);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    gguf_file *f = NULL;
    tl_error err = {0};
    assert_int_equal(gguf_open(a_path, &f, &err), TL_OK);
    tl_vocab *v = NULL;
    assert_int_equal(tl_vocab_load(f, &v, &err), TL_OK);
    assert_int_equal(tl_vocab_n_tokens(v), 1000);
    assert_string_equal(tl_vocab_token_text(v, 999), "<extra_id_0>");
    tl_vocab_free(v);
    gguf_close(f);
    remove(a_path);
    remove(b_path);
    free(a);
    free(b);

    gguf_writer *w = gguf_writer_new();
    assert_int_equal(tl_synth_vocab_unigram(w, 100, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "too small"));
    assert_int_equal(tl_synth_vocab_unigram(w, 1u << 30, &err), TL_ERR_ARGUMENT);
    gguf_writer_free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(viterbi_picks_the_best_scoring_segmentation),
        cmocka_unit_test(unknown_characters_merge_into_one_unknown),
        cmocka_unit_test(whitespace_options_follow_the_file),
        cmocka_unit_test(user_defined_tokens_are_kept_whole),
        cmocka_unit_test(charsmap_matches_the_longest_key),
        cmocka_unit_test(charsmap_normalizes_before_segmentation),
        cmocka_unit_test(broken_charsmaps_fail_to_load),
        cmocka_unit_test(invalid_utf8_of_every_kind_tokenizes),
        cmocka_unit_test(randomly_damaged_charsmaps_never_crash),
        cmocka_unit_test(synthetic_unigram_vocab_has_t5_layout),
        cmocka_unit_test(synthetic_unigram_vocab_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
