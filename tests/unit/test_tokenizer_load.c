/*
 * test_tokenizer_load.c — building vocabularies from hand-made GGUF files
 * (written with the GGUF writer): tiny SentencePiece and BPE vocabularies
 * (WordPiece and Unigram ones are in test_tokenizer_wpm.c / _ugm.c)
 * whose merges can be followed by hand, llama.cpp's defaults and text-based
 * special-token rules, and every kind of broken tokenizer metadata, which
 * must fail with a message naming the key at fault. Also the pre-tokenizer
 * on its own: unknown names, and very long runs of one kind of character.
 */
#include "vocab_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/gguf.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/vocab.h"

/* ------------------------------------------------------------------------ */
/* Building vocabulary files                                                */
/* ------------------------------------------------------------------------ */

#define SPACE "\xE2\x96\x81" /* U+2581, SentencePiece's space */

static const char *const spm_tokens[] = {"<unk>", "<s>", "</s>", SPACE, "a", "b", SPACE "a", "ab", SPACE "ab"};
static const float spm_scores[] = {0, 0, 0, -2, -3, -3, -1.0f, -0.5f, -0.1f};
static const int32_t spm_types[] = {2, 3, 3, 1, 1, 1, 1, 1, 1};
#define SPM_N 9

/* A small SentencePiece vocabulary without byte tokens. */
static gguf_writer *spm_writer(void) {
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", spm_tokens, SPM_N);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, spm_scores, SPM_N);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, spm_types, SPM_N);
    return w;
}

/* GPT-2 alphabet: 'Ġ' is the space byte. */
static const char *const bpe_tokens[] = {"a", "b", "c", "\xC4\xA0", "ab", "abc", "<|endoftext|>", "<|im_end|>"};
static const int32_t bpe_types[] = {1, 1, 1, 1, 1, 1, 3, 1};
#define BPE_N 8
/* "x y" names no tokens and "nospace" is malformed: llama.cpp keeps both. */
static const char *const bpe_merges[] = {"a b", "ab c", "x y", "nospace"};

static gguf_writer *bpe_writer(void) {
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "gpt-2");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", bpe_tokens, BPE_N);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, bpe_types, BPE_N);
    gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", bpe_merges, 4);
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 6);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 6);
    return w;
}

static void expect_failure(gguf_writer *w, const char *name, tl_status want, const char *needle) {
    tl_test_vocab l = tl_test_vocab_write(w, name);
    bool good = l.status == want && l.vocab == NULL && strstr(l.err.message, needle) != NULL;
    if (!good) {
        tl_status st = l.status;
        char message[600];
        snprintf(message, sizeof message, "%s", l.err.message);
        tl_test_vocab_release(&l);
        fail_msg("%s: status %d (want %d), message '%s' (want it to contain '%s')", name, st, want, message, needle);
    }
    tl_test_vocab_release(&l);
}

static int32_t tokenize(const tl_vocab *v, const char *text, bool add_special, tl_token *out) {
    return tl_vocab_tokenize(v, text, strlen(text), add_special, false, out, 64);
}

/* ------------------------------------------------------------------------ */
/* Working vocabularies                                                      */
/* ------------------------------------------------------------------------ */

/* "▁ab": the best-scoring pair "ab" merges first, then "▁ab". "c" is not in
 * the vocabulary and there are no byte tokens, so it becomes <unk>. */
static void spm_merges_by_score_and_falls_back_to_unknown(void **state) {
    (void)state;
    tl_test_vocab l = tl_test_vocab_load_ok(spm_writer(), "spm.gguf");
    tl_token t[64];
    int32_t n = tokenize(l.vocab, "ab", true, t);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], 1);
    assert_int_equal(t[1], 8);
    n = tokenize(l.vocab, "ab c", false, t);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], 8);
    assert_int_equal(t[1], 3);
    assert_int_equal(t[2], 0);
    assert_string_equal(tl_vocab_pre_name(l.vocab), "default");
    tl_test_vocab_release(&l);
}

static void bpe_merges_by_rank_and_tolerates_odd_merges(void **state) {
    (void)state;
    tl_test_vocab l = tl_test_vocab_load_ok(bpe_writer(), "bpe.gguf");
    tl_token t[64];
    /* words "abc" and " ab": a+b (rank 0), then ab+c (rank 1); Ġ+ab has no merge */
    int32_t n = tokenize(l.vocab, "abc ab", false, t);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], 5);
    assert_int_equal(t[1], 3);
    assert_int_equal(t[2], 4);
    char buf[8];
    assert_int_equal(tl_vocab_token_to_piece(l.vocab, 3, false, buf, sizeof buf), 1);
    assert_int_equal(buf[0], ' ');
    assert_false(tl_vocab_add_bos(l.vocab));
    assert_int_equal(tl_vocab_bos(l.vocab), 6);
    tl_test_vocab_release(&l);
}

/* llama.cpp treats well-known end-of-turn texts as control + EOG tokens even
 * when the file calls them normal. */
static void end_of_turn_texts_become_control_and_eog(void **state) {
    (void)state;
    tl_test_vocab l = tl_test_vocab_load_ok(bpe_writer(), "eog.gguf");
    assert_true(tl_vocab_is_eog(l.vocab, 6)); /* EOS */
    assert_true(tl_vocab_is_eog(l.vocab, 7)); /* "<|im_end|>", typed normal */
    assert_int_equal(tl_vocab_token_type(l.vocab, 7), TL_TOKEN_TYPE_CONTROL);
    assert_false(tl_vocab_is_eog(l.vocab, 5));
    tl_token t[64];
    assert_int_equal(tl_vocab_tokenize(l.vocab, "<|im_end|>", 10, false, true, t, 64), 1);
    assert_int_equal(t[0], 7);
    tl_test_vocab_release(&l);
}

/* 0xFFFFFFFF (or -1) as a token id means "none"; SentencePiece's default of
 * adding BOS then quietly does not apply. */
static void none_token_ids_are_accepted(void **state) {
    (void)state;
    gguf_writer *w = spm_writer();
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 0xFFFFFFFFu);
    gguf_writer_set_i32(w, "tokenizer.ggml.padding_token_id", -1);
    gguf_writer_set_u64(w, "tokenizer.ggml.seperator_token_id", UINT64_MAX);
    tl_test_vocab l = tl_test_vocab_load_ok(w, "none.gguf");
    assert_int_equal(tl_vocab_bos(l.vocab), -1);
    assert_false(tl_vocab_add_bos(l.vocab));
    tl_token t[64];
    assert_int_equal(tokenize(l.vocab, "ab", true, t), 1);
    assert_int_equal(t[0], 8);
    tl_test_vocab_release(&l);
}

static void defaults_and_flags_of_the_file_apply(void **state) {
    (void)state;
    gguf_writer *w = spm_writer();
    gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", true);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false);
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "anything"); /* ignored by SentencePiece */
    tl_test_vocab l = tl_test_vocab_load_ok(w, "flags.gguf");
    assert_false(tl_vocab_add_bos(l.vocab));
    assert_true(tl_vocab_add_eos(l.vocab));
    tl_token t[64];
    /* no space prefix: "ab" without "▁", then EOS */
    int32_t n = tokenize(l.vocab, "ab", true, t);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], 7);
    assert_int_equal(t[1], 2);
    tl_test_vocab_release(&l);
}

/* An empty token text is replaced by "[EMPTY_<id>]" as llama.cpp does. */
static void empty_token_texts_get_placeholders(void **state) {
    (void)state;
    const char *tokens[] = {"<unk>", "<s>", "</s>", "", "a"};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, 5);
    tl_test_vocab l = tl_test_vocab_load_ok(w, "empty.gguf");
    assert_string_equal(tl_vocab_token_text(l.vocab, 3), "[EMPTY_3]");
    assert_null(tl_vocab_token_text(l.vocab, 5));
    assert_null(tl_vocab_token_text(l.vocab, -1));
    assert_int_equal(tl_vocab_token_type(l.vocab, 4), TL_TOKEN_TYPE_NORMAL);
    tl_test_vocab_release(&l);
}

/* ------------------------------------------------------------------------ */
/* Broken metadata                                                           */
/* ------------------------------------------------------------------------ */

static void missing_keys_are_named(void **state) {
    (void)state;
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    expect_failure(w, "no-tokens.gguf", TL_ERR_FORMAT, "tokenizer.ggml.tokens is missing");

    w = gguf_writer_new();
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", spm_tokens, SPM_N);
    expect_failure(w, "no-model.gguf", TL_ERR_FORMAT, "tokenizer.ggml.model is missing");

    w = bpe_writer();
    gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", NULL, 0);
    tl_test_vocab l = tl_test_vocab_load_ok(w, "no-merges-ok.gguf"); /* an empty list is allowed */
    tl_test_vocab_release(&l);
}

static void unknown_tokenizers_are_unsupported_by_name(void **state) {
    (void)state;
    gguf_writer *w = spm_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "rwkv");
    expect_failure(w, "rwkv.gguf", TL_ERR_UNSUPPORTED, "'rwkv'");

    w = spm_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "my-own-tokenizer");
    expect_failure(w, "own.gguf", TL_ERR_UNSUPPORTED, "'my-own-tokenizer'");

    w = bpe_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "no-such-pre");
    expect_failure(w, "pre.gguf", TL_ERR_UNSUPPORTED, "'no-such-pre'");

    w = spm_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "none");
    expect_failure(w, "none-model.gguf", TL_ERR_UNSUPPORTED, "no vocabulary");
}

static void mismatched_array_lengths_fail(void **state) {
    (void)state;
    gguf_writer *w = spm_writer();
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, spm_scores, SPM_N - 1);
    expect_failure(w, "scores.gguf", TL_ERR_FORMAT, "tokenizer.ggml.scores: has 8 entries");

    static const int32_t long_types[SPM_N + 1] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    w = spm_writer();
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, long_types, SPM_N + 1);
    expect_failure(w, "types.gguf", TL_ERR_FORMAT, "tokenizer.ggml.token_type: has 10 entries");

    w = spm_writer();
    gguf_writer_set_arr_str(w, "tokenizer.ggml.scores", spm_tokens, SPM_N);
    expect_failure(w, "score-strings.gguf", TL_ERR_FORMAT, "tokenizer.ggml.scores");
}

static void bad_token_lists_fail(void **state) {
    (void)state;
    static const int32_t numbers[3] = {1, 2, 3};
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr(w, "tokenizer.ggml.tokens", GGUF_TYPE_INT32, numbers, 3);
    expect_failure(w, "int-tokens.gguf", TL_ERR_FORMAT, "tokenizer.ggml.tokens: expected an array");

    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", NULL, 0);
    expect_failure(w, "no-tokens.gguf", TL_ERR_FORMAT, "tokenizer.ggml.tokens: the vocabulary is empty");

    const char *dup[] = {"<unk>", "<s>", "</s>", "a", "a"};
    w = gguf_writer_new();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", dup, 5);
    expect_failure(w, "dup.gguf", TL_ERR_FORMAT, "duplicate token 'a' (ids 3 and 4)");

    w = bpe_writer();
    gguf_writer_set_u32(w, "tokenizer.ggml.merges", 3);
    expect_failure(w, "merges-u32.gguf", TL_ERR_FORMAT, "tokenizer.ggml.merges");
}

/* A vocabulary of 2^21 + 1 empty tokens (16 MB of zeros; such files once
 * took 4.5 GB and 24 s to tokenize) is refused by name, quickly. */
/* tokenizer.ggml.normalizer: "nfc" or "none"; anything else is refused. */
static void unknown_normalizers_are_refused(void **state) {
    (void)state;
    gguf_writer *w = bpe_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.normalizer", "nfkd");
    expect_failure(w, "nfkd.gguf", TL_ERR_UNSUPPORTED, "tokenizer.ggml.normalizer: normalizer 'nfkd'");
    w = bpe_writer();
    gguf_writer_set_u32(w, "tokenizer.ggml.normalizer", 1);
    expect_failure(w, "normalizer-u32.gguf", TL_ERR_FORMAT, "tokenizer.ggml.normalizer: expected a string");
    static const char *const accepted[] = {"nfc", "none"};
    for (int k = 0; k < 2; k++) {
        w = bpe_writer();
        gguf_writer_set_str(w, "tokenizer.ggml.normalizer", accepted[k]);
        tl_test_vocab l = tl_test_vocab_load_ok(w, "normalizer.gguf");
        tl_test_vocab_release(&l);
    }
}

static void oversized_vocabularies_are_refused(void **state) {
    (void)state;
    uint8_t head[256];
    size_t n = 0;
#define PUT(p, len) (memcpy(head + n, p, len), n += len)
#define PUT_U32(v)                                                                                                     \
    do {                                                                                                               \
        uint32_t v_ = (v);                                                                                             \
        PUT(&v_, 4);                                                                                                   \
    } while (0)
#define PUT_U64(v)                                                                                                     \
    do {                                                                                                               \
        uint64_t v_ = (v);                                                                                             \
        PUT(&v_, 8);                                                                                                   \
    } while (0)
#define PUT_STR(s)                                                                                                     \
    do {                                                                                                               \
        PUT_U64(strlen(s));                                                                                            \
        PUT(s, strlen(s));                                                                                             \
    } while (0)
    PUT("GGUF", 4);
    PUT_U32(3);
    PUT_U64(0); /* tensors */
    PUT_U64(2); /* metadata */
    PUT_STR("tokenizer.ggml.model");
    PUT_U32(GGUF_TYPE_STRING);
    PUT_STR("llama");
    PUT_STR("tokenizer.ggml.tokens");
    PUT_U32(GGUF_TYPE_ARRAY);
    PUT_U32(GGUF_TYPE_STRING);
    const uint64_t count = TL_VOCAB_MAX_TOKENS + 1u;
    PUT_U64(count); /* then `count` zero lengths: empty strings */
#undef PUT_STR
#undef PUT_U64
#undef PUT_U32
#undef PUT
    const char *path = tl_test_tmp_path("huge-vocab.gguf");
    assert_true(tl_test_write_sparse(path, head, n, n + 8 * count));
    gguf_file *f = NULL;
    tl_error err = {0};
    assert_int_equal(gguf_open(path, &f, &err), TL_OK);
    tl_vocab *v = (tl_vocab *)&v;
    assert_int_equal(tl_vocab_load(f, &v, &err), TL_ERR_FORMAT);
    assert_null(v);
    assert_non_null(strstr(err.message, "tokenizer.ggml.tokens: 2097153 tokens is more than the 2097152"));
    gguf_close(f);
    remove(path);
}

static void bad_special_token_ids_are_named(void **state) {
    (void)state;
    gguf_writer *w = spm_writer();
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 999);
    expect_failure(w, "bos.gguf", TL_ERR_FORMAT, "tokenizer.ggml.bos_token_id: token id 999");

    w = spm_writer();
    gguf_writer_set_i32(w, "tokenizer.ggml.eos_token_id", -5);
    expect_failure(w, "eos.gguf", TL_ERR_FORMAT, "tokenizer.ggml.eos_token_id: token id -5");

    w = spm_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.unknown_token_id", "zero");
    expect_failure(w, "unk.gguf", TL_ERR_FORMAT, "tokenizer.ggml.unknown_token_id");

    w = spm_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.add_bos_token", "yes");
    expect_failure(w, "add-bos.gguf", TL_ERR_FORMAT, "tokenizer.ggml.add_bos_token: expected a boolean");

    w = spm_writer();
    gguf_writer_set_u32(w, "tokenizer.ggml.add_space_prefix", 7);
    expect_failure(w, "prefix.gguf", TL_ERR_FORMAT, "tokenizer.ggml.add_space_prefix: expected a boolean");

    w = spm_writer();
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 0xFFFFFFFFu);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", true);
    expect_failure(w, "add-eos.gguf", TL_ERR_FORMAT,
                   "tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id");

    w = bpe_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "");
    gguf_writer_set_u64(w, "tokenizer.ggml.eot_token_id", 1ull << 40);
    expect_failure(w, "eot.gguf", TL_ERR_FORMAT, "tokenizer.ggml.eot_token_id");
}

/* ------------------------------------------------------------------------ */
/* Pre-tokenizer                                                             */
/* ------------------------------------------------------------------------ */

/* A 200 KB word overflows PCRE2's JIT stack with the GPT-4o expression; the
 * split must still be the one short text gets: the word, " ", "123". */
static void long_runs_split_like_short_text(void **state) {
    (void)state;
    tl_pretokenizer *p = NULL;
    tl_pre_defaults defaults;
    tl_error err = {0};
    assert_int_equal(tl_pretokenizer_new("gpt-4o", &p, &defaults, &err), TL_OK);
    assert_false(defaults.clean_spaces);
    size_t run = 200000;
    char *text = malloc(run + 4);
    for (size_t i = 0; i < run; i++) text[i] = "ab"[i % 2];
    memcpy(text + run, " 123", 4);
    tl_span_vec words = {0}, scratch = {0};
    assert_true(tl_pretokenize(p, text, run + 4, &words, &scratch));
    assert_int_equal(words.count, 3);
    assert_int_equal(words.items[0].length, run);
    assert_int_equal(words.items[1].length, 1);
    assert_int_equal(words.items[2].offset, run + 1);
    assert_int_equal(words.items[2].length, 3);
    tl_span_vec_free(&words);
    tl_span_vec_free(&scratch);
    free(text);
    tl_pretokenizer_free(p);

    assert_int_equal(tl_pretokenizer_new("kimi-k2", &p, &defaults, &err), TL_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "'kimi-k2'"));
}

/* llama.cpp's defaults for WordPiece and Unigram vocabularies. */
static void bert_and_t5_defaults_follow_llama_cpp(void **state) {
    (void)state;
    gguf_writer *w = spm_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "t5");
    tl_test_vocab l = tl_test_vocab_load_ok(w, "t5-defaults.gguf");
    assert_int_equal(tl_vocab_kind_of(l.vocab), TL_VOCAB_UGM);
    assert_int_equal(tl_vocab_bos(l.vocab), -1);
    assert_int_equal(tl_vocab_eos(l.vocab), 1);
    assert_false(tl_vocab_add_bos(l.vocab));
    assert_true(tl_vocab_add_eos(l.vocab));
    tl_test_vocab_release(&l);

    /* BERT's default ids (101, 102, ...) do not exist in a small vocabulary */
    w = spm_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "bert");
    l = tl_test_vocab_load_ok(w, "bert-defaults.gguf");
    assert_int_equal(tl_vocab_kind_of(l.vocab), TL_VOCAB_WPM);
    assert_int_equal(tl_vocab_bos(l.vocab), -1);
    assert_int_equal(tl_vocab_eos(l.vocab), -1);
    tl_token t[8];
    assert_int_equal(tokenize(l.vocab, "", true, t), 0);
    tl_test_vocab_release(&l);

    /* Unigram: the charsmap key must be an array of bytes */
    w = spm_writer();
    gguf_writer_set_str(w, "tokenizer.ggml.model", "t5");
    gguf_writer_set_str(w, "tokenizer.ggml.precompiled_charsmap", "abc");
    expect_failure(w, "t5-charsmap.gguf", TL_ERR_FORMAT, "tokenizer.ggml.precompiled_charsmap");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spm_merges_by_score_and_falls_back_to_unknown),
        cmocka_unit_test(bpe_merges_by_rank_and_tolerates_odd_merges),
        cmocka_unit_test(end_of_turn_texts_become_control_and_eog),
        cmocka_unit_test(none_token_ids_are_accepted),
        cmocka_unit_test(defaults_and_flags_of_the_file_apply),
        cmocka_unit_test(empty_token_texts_get_placeholders),
        cmocka_unit_test(missing_keys_are_named),
        cmocka_unit_test(unknown_tokenizers_are_unsupported_by_name),
        cmocka_unit_test(mismatched_array_lengths_fail),
        cmocka_unit_test(bad_token_lists_fail),
        cmocka_unit_test(bad_special_token_ids_are_named),
        cmocka_unit_test(oversized_vocabularies_are_refused),
        cmocka_unit_test(unknown_normalizers_are_refused),
        cmocka_unit_test(long_runs_split_like_short_text),
        cmocka_unit_test(bert_and_t5_defaults_follow_llama_cpp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
