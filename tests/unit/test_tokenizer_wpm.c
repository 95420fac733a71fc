/*
 * test_tokenizer_wpm.c — the WordPiece ("bert") tokenizer: on BGE's real
 * vocabulary (llama.cpp's ids and text, read off node-llama-cpp 3.22.1 /
 * llama.cpp v0.5.0 for these strings; the full vector files are run by
 * test_tokenizer.c), and on a hand-made vocabulary for the normalizer
 * options, unknown words and the special tokens around the text.
 */
#include "vocab_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authoring/gguf_writer.h"
#include "format/gguf.h"
#include "tokenizer/vocab.h"

#define BGE "tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf"

typedef struct loaded {
    gguf_file *file;
    tl_vocab *vocab;
} loaded;

static loaded load_path(const char *path) {
    loaded l = {0};
    tl_error err = {0};
    if (gguf_open(path, &l.file, &err) != TL_OK) fail_msg("%s", err.message);
    if (tl_vocab_load(l.file, &l.vocab, &err) != TL_OK) fail_msg("%s", err.message);
    return l;
}

static loaded write_and_load(gguf_writer *w, const char *name) {
    tl_error err = {0};
    const char *path = tl_test_tmp_path(name);
    if (gguf_writer_write(w, path, &err) != TL_OK) fail_msg("%s", err.message);
    gguf_writer_free(w);
    loaded l = load_path(path);
    remove(path);
    return l;
}

static void release(loaded *l) {
    tl_vocab_free(l->vocab);
    gguf_close(l->file);
}

static void expect_text(const tl_vocab *v, const tl_token *tokens, int32_t n, bool special, const char *want) {
    char buf[256];
    int32_t len = tl_vocab_detokenize(v, tokens, n, special, true, buf, sizeof buf);
    assert_true(len >= 0);
    buf[len] = '\0';
    assert_string_equal(buf, want);
}

/* ------------------------------------------------------------------------ */
/* BGE                                                                      */
/* ------------------------------------------------------------------------ */

static void bge_lowercases_strips_accents_and_splits_punctuation(void **state) {
    (void)state;
    if (!tl_test_have_shared(BGE)) skip();
    loaded l = load_path(tl_test_shared_path(BGE));
    assert_int_equal(tl_vocab_kind_of(l.vocab), TL_VOCAB_WPM);
    assert_string_equal(tl_vocab_model_name(l.vocab), "bert");
    tl_test_expect_tokens(l.vocab, "Hello World!", false, (tl_token[]){7592, 2088, 999}, 3);
    tl_test_expect_tokens(l.vocab,
                          "Caf\xC3\xA9 \xC3\x91"
                          "and\xC3\xBA na\xC3\xAFve",
                          false, (tl_token[]){7668, 16660, 8566, 15743}, 4);
    /* continuation pieces ("##ing" in BERT's file) */
    tl_test_expect_tokens(l.vocab, "playing unaffable", false, (tl_token[]){2652, 14477, 20961, 3468}, 4);
    /* CJK ideographs are words of their own */
    tl_test_expect_tokens(l.vocab,
                          "\xE4\xB8\xAD\xE6\x96\x87"
                          "abc",
                          false, (tl_token[]){1746, 1861, 5925}, 3);
    tl_test_expect_tokens(l.vocab, "don't stop", false, (tl_token[]){2123, 1005, 1056, 2644}, 4);
    release(&l);
}

/* Hugging Face's BertNormalizer, where llama.cpp differs (ids from the
 * Rust tokenizers library, scripts/reference/hf): full NFD, and only the
 * nonspacing marks (Mn) go. */
static void bge_strips_only_nonspacing_marks_like_hugging_face(void **state) {
    (void)state;
    if (!tl_test_have_shared(BGE)) skip();
    loaded l = load_path(tl_test_shared_path(BGE));
    /* Hindi: the virama goes, the vowel signs (Mc) stay: h i n d ii */
    tl_test_expect_tokens(l.vocab, "\xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\xA8\xE0\xA5\x8D\xE0\xA4\xA6\xE0\xA5\x80", false,
                          (tl_token[]){1339, 29877, 29863, 29861, 29878}, 5);
    /* a Hangul syllable decomposes into its three jamo */
    tl_test_expect_tokens(l.vocab, "\xED\x95\x9C", false, (tl_token[]){1469, 30006, 30021}, 3);
    /* U+0085 is a control character, dropped: "a" + NEL + "b" is one word */
    tl_test_expect_tokens(l.vocab,
                          "a\xC2\x85"
                          "b",
                          false, (tl_token[]){11113}, 1);
    /* 100,000 marks of two combining classes after "a": put in canonical
     * order (in linear time) and all stripped */
    enum { MARKS = 100000 };
    char *marks = malloc(1 + 2 * MARKS);
    assert_non_null(marks);
    marks[0] = 'a';
    for (int k = 0; k < MARKS; k++) {
        memcpy(marks + 1 + 2 * k, k % 2 ? "\xCC\x81" : "\xCC\x96", 2); /* U+0301 (230), U+0316 (220) */
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tl_token t[4];
    assert_int_equal(tl_vocab_tokenize(l.vocab, marks, 1 + 2 * MARKS, false, false, t, 4), 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(t[0], 1037); /* "a" */
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms < 2000 * tl_test_time_scale());
    free(marks);
    /* a "\u2581" of the text inside a word makes it unknown */
    tl_test_expect_tokens(l.vocab, "1\xE2\x96\x81\xC2\xB2", false, (tl_token[]){100}, 1);
    release(&l);
}

static void bge_adds_cls_and_sep_and_detokenizes_like_llama_cpp(void **state) {
    (void)state;
    if (!tl_test_have_shared(BGE)) skip();
    loaded l = load_path(tl_test_shared_path(BGE));
    tl_test_expect_tokens(l.vocab, "Hello World!", true, (tl_token[]){101, 7592, 2088, 999, 102}, 5);
    tl_test_expect_tokens(l.vocab, "", true, (tl_token[]){101, 102}, 2);
    /* [CLS] / [SEP] in the text only with parse_special */
    tl_token t[16];
    int32_t n = tl_vocab_tokenize(l.vocab, "[CLS] x [SEP]", 13, false, true, t, 16);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], 101);
    assert_int_equal(t[1], 1060);
    assert_int_equal(t[2], 102);
    /* pieces are "▁word" / "piece": words come out with a space in front,
     * and BERT's clean-up removes it before punctuation */
    expect_text(l.vocab, (tl_token[]){7592, 2088, 999}, 3, false, " hello world!");
    expect_text(l.vocab, (tl_token[]){2652, 14477, 20961, 3468}, 4, false, " playing unaffable");
    expect_text(l.vocab, (tl_token[]){2123, 1005, 1056, 2644}, 4, false, " don't stop");
    expect_text(l.vocab, (tl_token[]){101, 7592, 102}, 3, false, " hello");
    expect_text(l.vocab, (tl_token[]){101, 7592, 102}, 3, true, "[CLS] hello[SEP]");
    assert_int_equal(tl_vocab_bos(l.vocab), 101);
    assert_false(tl_vocab_add_eos(l.vocab));
    release(&l);
}

/* ------------------------------------------------------------------------ */
/* A hand-made vocabulary                                                   */
/* ------------------------------------------------------------------------ */

#define SP "\xE2\x96\x81"
static const char *const tiny_tokens[] = {"[PAD]",   "[UNK]",       "[CLS]", "[SEP]", "[MASK]",   SP "hello",
                                          SP "play", "ing",         SP "!",  "!",     SP "HELLO", SP "\xE4\xB8\xAD",
                                          SP "e",    SP "\xC3\xA9", SP "a",  "b"};
#define TINY_N 16

static gguf_writer *tiny_writer(void) {
    static const int32_t types[TINY_N] = {3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "bert");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tiny_tokens, TINY_N);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, TINY_N);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 2);
    gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 1);
    gguf_writer_set_u32(w, "tokenizer.ggml.seperator_token_id", 3);
    gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", 0);
    return w;
}

/* Whitespace of any kind separates words; controls vanish; a word that
 * cannot be cut into pieces is one [UNK]. */
static void words_are_cut_greedily_or_become_unknown(void **state) {
    (void)state;
    loaded l = write_and_load(tiny_writer(), "wpm-tiny.gguf");
    tl_test_expect_tokens(l.vocab, "Playing\xE3\x80\x80hello\x07!", false, (tl_token[]){6, 7, 5, 8}, 4);
    tl_test_expect_tokens(l.vocab, "hellohello playx", false, (tl_token[]){1, 1}, 2);
    tl_test_expect_tokens(l.vocab, "hello", true, (tl_token[]){2, 5, 3}, 3);
    /* invalid UTF-8 decodes to U+FFFD, which is dropped like a control */
    tl_test_expect_tokens(l.vocab, "\xFFhello\xC3", false, (tl_token[]){5}, 1);
    /* U+4E2D is a word of its own even inside a word */
    tl_test_expect_tokens(l.vocab,
                          "a\xE4\xB8\xAD"
                          "b",
                          false, (tl_token[]){14, 11, 1}, 3);
    release(&l);
}

/* Invalid UTF-8 of every kind: no undefined behaviour (code points past
 * U+10FFFF once reached memcpy with a NULL buffer), and what cannot be a
 * character is dropped like U+FFFD. */
static void invalid_utf8_of_every_kind_is_dropped(void **state) {
    (void)state;
    loaded l = write_and_load(tiny_writer(), "wpm-invalid.gguf");
    tl_test_expect_invalid_utf8_tokenizes(l.vocab, "wpm-tiny");
    tl_test_expect_tokens(l.vocab, "\xF4\x90\x80\x80", false, NULL, 0);
    tl_test_expect_tokens(l.vocab, "hello \xF4\x90\x80\x80", false, (tl_token[]){5}, 1);
    tl_test_expect_tokens(l.vocab, "hel\xF4\x90\x80\x80lo \xF7\xBF\xBF\xBF!", false, (tl_token[]){5, 8}, 2);
    tl_test_expect_tokens(l.vocab, "\xED\xA0\x80hello", false, (tl_token[]){5}, 1);
    release(&l);
    if (!tl_test_have_shared(BGE)) return;
    l = load_path(tl_test_shared_path(BGE));
    tl_test_expect_invalid_utf8_tokenizes(l.vocab, "bert-bge");
    release(&l);
}

/* A vocabulary with one very long token: the longest match at each
 * position is found in one walk (trying every length down from the longest
 * token text, each by hashing, took seconds per word). Words are at most
 * 100 characters (Hugging Face's max_input_chars_per_word); a longer one is
 * the unknown token. */
static void a_very_long_token_does_not_slow_matching(void **state) {
    (void)state;
    enum { LONG = 100000, WORD = 100, WORDS = 200 };
    char *long_token = malloc(LONG + 4);
    assert_non_null(long_token);
    memcpy(long_token, SP, 3);
    memset(long_token + 3, 'a', LONG - 1);
    long_token[LONG + 2] = 'b';
    long_token[LONG + 3] = 0;
    const char *tokens[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", SP "a", "a", long_token};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "bert");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, 8);
    gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 1);
    free(long_token);
    loaded l = write_and_load(w, "wpm-long-token.gguf");
    char *text = malloc(WORDS * (WORD + 1) + 1);
    assert_non_null(text);
    for (int k = 0; k < WORDS; k++) {
        memset(text + k * (WORD + 1), 'a', WORD);
        text[k * (WORD + 1) + WORD] = ' ';
    }
    const size_t len = WORDS * (WORD + 1);
    tl_token *got = malloc(len * sizeof *got);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int32_t n = tl_vocab_tokenize(l.vocab, text, len, false, false, got, (int32_t)len);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("  %d words of %d bytes in %.1f ms\n", WORDS, WORD, ms);
    assert_int_equal(n, WORDS * WORD);
    assert_int_equal(got[0], 5); /* "▁a", then "a" ... */
    assert_int_equal(got[1], 6);
    assert_int_equal(got[WORD], 5);
    assert_true(ms < 5000 * tl_test_time_scale());
    text[WORD] = 'a'; /* the first two words become one of 201 characters */
    assert_int_equal(tl_vocab_tokenize(l.vocab, text, 2 * WORD + 1, false, false, got, (int32_t)len), 1);
    assert_int_equal(got[0], 1);
    free(got);
    free(text);
    release(&l);
}

/* tokenizer.ggml.normalizer.lowercase / strip_accents (BertNormalizer). */
static void normalizer_options_come_from_the_file(void **state) {
    (void)state;
    loaded l = write_and_load(tiny_writer(), "wpm-default.gguf");
    /* default: lower-case and strip accents: "É" → "e" */
    tl_test_expect_tokens(l.vocab, "HELLO \xC3\x89", false, (tl_token[]){5, 12}, 2);
    release(&l);

    gguf_writer *w = tiny_writer();
    gguf_writer_set_bool(w, "tokenizer.ggml.normalizer.lowercase", false);
    l = write_and_load(w, "wpm-cased.gguf");
    /* no lower-casing, and (following it) no accent stripping */
    tl_test_expect_tokens(l.vocab, "HELLO hello \xC3\xA9", false, (tl_token[]){10, 5, 13}, 3);
    release(&l);

    w = tiny_writer();
    gguf_writer_set_bool(w, "tokenizer.ggml.normalizer.strip_accents", false);
    l = write_and_load(w, "wpm-accents.gguf");
    tl_test_expect_tokens(l.vocab, "\xC3\x89", false, (tl_token[]){13}, 1);
    /* a combining accent stays part of the word: no piece has it */
    tl_test_expect_tokens(l.vocab, "e\xCC\x81", false, (tl_token[]){1}, 1);
    release(&l);

    w = tiny_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.normalizer.lowercase", "yes");
    tl_error err = {0};
    const char *path = tl_test_tmp_path("wpm-bad-flag.gguf");
    assert_int_equal(gguf_writer_write(w, path, &err), TL_OK);
    gguf_writer_free(w);
    gguf_file *f = NULL;
    assert_int_equal(gguf_open(path, &f, &err), TL_OK);
    tl_vocab *v = NULL;
    assert_int_equal(tl_vocab_load(f, &v, &err), TL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "tokenizer.ggml.normalizer.lowercase"));
    gguf_close(f);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bge_lowercases_strips_accents_and_splits_punctuation),
        cmocka_unit_test(bge_strips_only_nonspacing_marks_like_hugging_face),
        cmocka_unit_test(bge_adds_cls_and_sep_and_detokenizes_like_llama_cpp),
        cmocka_unit_test(words_are_cut_greedily_or_become_unknown),
        cmocka_unit_test(normalizer_options_come_from_the_file),
        cmocka_unit_test(invalid_utf8_of_every_kind_is_dropped),
        cmocka_unit_test(a_very_long_token_does_not_slow_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
