/*
 * test_tokenizer_import.c — Hugging Face tokenizer.json files converted to
 * "llama" vocabularies (tl_synth_vocab_from_hf):
 *
 *  - the Llama 2 style and Gemma 3 files of shared/: size, token types,
 *    scores, special ids and flags as llama.cpp's converter writes them;
 *  - a tiny hand-written file whose merge order matters;
 *  - every kind of malformed file (one-line TL_ERR_FORMAT naming what is
 *    wrong) and every kind that is not converted (TL_ERR_UNSUPPORTED).
 * Agreement with llama.cpp on the converted vocabularies is in
 * test_tokenizer_reference.c.
 */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authoring/gguf_writer.h"
#include "authoring/synth_vocab.h"
#include "format/gguf.h"
#include "tokenizer/vocab.h"

typedef struct converted {
    gguf_file *file;
    tl_vocab *vocab;
    uint64_t n_vocab;
} converted;

/* Converts, writes, opens and loads; fails the test on any error. */
static converted convert_and_load(const char *json_path, const char *name) {
    converted c = {0};
    tl_error err = {0};
    gguf_writer *w = gguf_writer_new();
    if (tl_synth_vocab_from_hf(w, json_path, &c.n_vocab, &err) != TL_OK) {
        fail_msg("%s: %s", json_path, err.message);
    }
    const char *path = tl_test_tmp_path(name);
    if (gguf_writer_write(w, path, &err) != TL_OK) fail_msg("%s", err.message);
    gguf_writer_free(w);
    if (gguf_open(path, &c.file, &err) != TL_OK) fail_msg("%s", err.message);
    if (tl_vocab_load(c.file, &c.vocab, &err) != TL_OK) fail_msg("%s", err.message);
    remove(path);
    return c;
}

static void release(converted *c) {
    tl_vocab_free(c->vocab);
    gguf_close(c->file);
}

/* A fresh directory for one test's tokenizer.json (and config). */
static const char *make_dir(const char *name) {
    const char *dir = tl_test_tmp_path(name);
    mkdir(dir, 0777);
    return dir;
}

static const char *write_in(const char *dir, const char *file, const char *text) {
    static char path[8][4096];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, 4096, "%s/%s", dir, file);
    if (!tl_test_write_file(p, text, strlen(text))) fail_msg("cannot write %s", p);
    return p;
}

static void remove_in(const char *dir, const char *file) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    remove(path);
}

/* ------------------------------------------------------------------------ */
/* Llama 2 and Gemma 3                                                      */
/* ------------------------------------------------------------------------ */

/* shared/tokenizers/llama2/tokenizer.json: a 32000-token SentencePiece BPE
 * with a "▁" prepended by the normalizer. (It is not the vocabulary of
 * llama.cpp's ggml-vocab-llama-spm.gguf, whose ids differ.) */
static void llama2_import_writes_the_converter_keys(void **state) {
    (void)state;
    if (!tl_test_have_shared("tokenizers/llama2/tokenizer.json")) skip();
    converted c = convert_and_load(tl_test_shared_path("tokenizers/llama2/tokenizer.json"), "llama2.gguf");
    assert_int_equal(c.n_vocab, 32000);
    assert_true(tl_vocab_add_bos(c.vocab));
    assert_false(tl_vocab_add_eos(c.vocab));
    assert_int_equal(tl_vocab_bos(c.vocab), 1);
    assert_int_equal(tl_vocab_eos(c.vocab), 2);
    assert_int_equal(tl_vocab_token_type(c.vocab, 0), TL_TOKEN_TYPE_UNKNOWN);
    assert_int_equal(tl_vocab_token_type(c.vocab, 1), TL_TOKEN_TYPE_CONTROL);
    assert_int_equal(tl_vocab_token_type(c.vocab, 3), TL_TOKEN_TYPE_BYTE); /* <0x00> */
    assert_int_equal(tl_vocab_token_type(c.vocab, 259), TL_TOKEN_TYPE_NORMAL);
    bool prefix = false;
    assert_true(gguf_get_bool(c.file, "tokenizer.ggml.add_space_prefix", &prefix));
    assert_true(prefix);
    /* "▁t" is made by the first merge, "in" by the second */
    const float *scores = gguf_get_arr_data(c.file, "tokenizer.ggml.scores");
    float s0, s1;
    memcpy(&s0, (const char *)scores + 4 * 261, 4);
    memcpy(&s1, (const char *)scores + 4 * 262, 4);
    assert_string_equal(tl_vocab_token_text(c.vocab, 261), "\xE2\x96\x81t");
    assert_string_equal(tl_vocab_token_text(c.vocab, 262), "in");
    assert_true(s0 == 0.0f && s1 == -1.0f);
    tl_token t[16];
    int32_t n = tl_vocab_tokenize(c.vocab, "Hello world", 11, true, false, t, 16);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], 1);
    assert_string_equal(tl_vocab_token_text(c.vocab, t[1]), "\xE2\x96\x81Hello");
    release(&c);
}

static void gemma3_import_writes_the_converter_keys(void **state) {
    (void)state;
    if (!tl_test_have_shared("tokenizers/gemma3/tokenizer.json")) skip();
    converted c = convert_and_load(tl_test_shared_path("tokenizers/gemma3/tokenizer.json"), "gemma3.gguf");
    const tl_vocab *v = c.vocab;
    assert_int_equal(c.n_vocab, 262144);
    assert_int_equal(tl_vocab_n_tokens(v), 262144);
    assert_string_equal(gguf_get_str(c.file, "tokenizer.ggml.model"), "llama");
    assert_string_equal(gguf_get_str(c.file, "tokenizer.ggml.pre"), "default");
    bool flag = true;
    assert_true(gguf_get_bool(c.file, "tokenizer.ggml.add_space_prefix", &flag));
    assert_false(flag);
    assert_true(tl_vocab_add_bos(v));
    assert_false(tl_vocab_add_eos(v));
    assert_int_equal(tl_vocab_bos(v), 2);
    assert_int_equal(tl_vocab_eos(v), 106); /* tokenizer_config.json: "<end_of_turn>" */
    uint32_t id = 0;
    assert_true(gguf_get_u32(c.file, "tokenizer.ggml.unknown_token_id", &id));
    assert_int_equal(id, 3);
    assert_true(gguf_get_u32(c.file, "tokenizer.ggml.padding_token_id", &id));
    assert_int_equal(id, 0);
    assert_non_null(gguf_get_str(c.file, "tokenizer.chat_template"));

    assert_string_equal(tl_vocab_token_text(v, 2), "<bos>");
    assert_int_equal(tl_vocab_token_type(v, 2), TL_TOKEN_TYPE_CONTROL);
    assert_int_equal(tl_vocab_token_type(v, 3), TL_TOKEN_TYPE_UNKNOWN);
    assert_int_equal(tl_vocab_token_type(v, 106), TL_TOKEN_TYPE_CONTROL);
    assert_true(tl_vocab_is_eog(v, 106));
    /* not special in tokenizer.json, but looks it: control */
    assert_int_equal(tl_vocab_token_type(v, 6), TL_TOKEN_TYPE_CONTROL); /* <unused0> */
    /* byte pieces; an ordinary added token is user-defined, its "▁" spaces */
    tl_token t[64];
    int32_t n = tl_vocab_tokenize(v, "<table>", 7, false, false, t, 64);
    assert_int_equal(n, 1);
    assert_int_equal(tl_vocab_token_type(v, t[0]), TL_TOKEN_TYPE_USER_DEFINED);
    n = tl_vocab_tokenize(v, "a  b", 4, false, false, t, 64);
    assert_int_equal(n, 3);
    assert_string_equal(tl_vocab_token_text(v, t[1]), "  ");
    assert_int_equal(tl_vocab_token_type(v, t[1]), TL_TOKEN_TYPE_USER_DEFINED);
    n = tl_vocab_tokenize(v, "\xF0\x9F\xA6\x99", 4, false, false, t, 64); /* 🦙: byte fallback? */
    assert_true(n >= 1);
    for (tl_token b = 0; b < 262144; b++) {
        const char *text = tl_vocab_token_text(v, b);
        if (strcmp(text, "<0x41>") == 0) {
            assert_int_equal(tl_vocab_token_type(v, b), TL_TOKEN_TYPE_BYTE);
            break;
        }
    }
    release(&c);
}

/* ------------------------------------------------------------------------ */
/* A tiny file                                                              */
/* ------------------------------------------------------------------------ */

#define TINY_VOCAB                                                                                                     \
    "{\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, \"<0x0A>\": 3, \"\\u2581\": 4, "                                          \
    "\"a\": 5, \"b\": 6, \"c\": 7, \"ab\": 8, \"bc\": 9, \"abc\": 10, "                                                \
    "\"\\u2581a\": 11, \"\\u2581abc\": 12}"

/* "b c" ranks before "a b": in "abc", b+c merges first, then a+bc. */
static const char tiny_json[] = "{\"version\": \"1.0\", \"added_tokens\": ["
                                "{\"id\": 0, \"content\": \"<unk>\", \"special\": true},"
                                "{\"id\": 1, \"content\": \"<s>\", \"special\": true},"
                                "{\"id\": 2, \"content\": \"</s>\", \"special\": true}],"
                                "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": ["
                                "{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"},"
                                "{\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\\u2581\"}]},"
                                "\"pre_tokenizer\": null,"
                                "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": ["
                                "{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", "
                                "\"type_id\": 0}}]},"
                                "\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"byte_fallback\": true, "
                                "\"vocab\": " TINY_VOCAB ", \"merges\": [\"b c\", \"a b\", \"a bc\", \"\\u2581 a\", "
                                "\"\\u2581 abc\", \"\\u2581a bc\"]}}";

static void merge_ranks_decide_the_merge_order(void **state) {
    (void)state;
    const char *dir = make_dir("hf-tiny");
    const char *json = write_in(dir, "tokenizer.json", tiny_json);
    converted c = convert_and_load(json, "tiny.gguf");
    assert_int_equal(c.n_vocab, 13);
    tl_token t[16];
    /* "▁abc": b+c (rank 0), a+bc (2), ▁+abc (4) — not ▁+a (3) first */
    int32_t n = tl_vocab_tokenize(c.vocab, "abc", 3, true, false, t, 16);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], 1); /* BOS from the template */
    assert_int_equal(t[1], 12);
    /* "▁ab": a+b (1) before ▁+a (3); "▁"+"ab" has no merge: two tokens */
    n = tl_vocab_tokenize(c.vocab, "ab", 2, false, false, t, 16);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], 4);
    assert_int_equal(t[1], 8);
    /* byte fallback for "\n", unknown for the rest */
    n = tl_vocab_tokenize(c.vocab, "a\nz", 3, false, false, t, 16);
    assert_int_equal(n, 3);
    assert_int_equal(t[0], 11);
    assert_int_equal(t[1], 3);
    assert_int_equal(t[2], 0);
    release(&c);

    /* tokenizer_config.json beside it: ids and flags from there */
    write_in(dir, "tokenizer_config.json",
             "{\"add_bos_token\": false, \"add_eos_token\": true, \"bos_token\": \"<s>\","
             " \"eos_token\": {\"content\": \"</s>\"}, \"chat_template\": \"{{ x }}\"}");
    c = convert_and_load(json, "tiny-config.gguf");
    assert_false(tl_vocab_add_bos(c.vocab));
    assert_true(tl_vocab_add_eos(c.vocab));
    assert_int_equal(tl_vocab_eos(c.vocab), 2);
    assert_string_equal(gguf_get_str(c.file, "tokenizer.chat_template"), "{{ x }}");
    n = tl_vocab_tokenize(c.vocab, "abc", 3, true, false, t, 16);
    assert_int_equal(n, 2);
    assert_int_equal(t[1], 2);
    release(&c);
    remove_in(dir, "tokenizer_config.json");
    remove_in(dir, "tokenizer.json");
    rmdir(dir);
}

/* ------------------------------------------------------------------------ */
/* Bad and unsupported files                                                */
/* ------------------------------------------------------------------------ */

/* tiny_json with `from` replaced by `to` (which must occur once). */
static char *edited(const char *from, const char *to) {
    const char *at = strstr(tiny_json, from);
    if (!at) fail_msg("'%s' is not in the tiny file", from);
    size_t n = strlen(tiny_json) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    size_t head = (size_t)(at - tiny_json);
    memcpy(out, tiny_json, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

static void expect_refused(const char *json_text, tl_status want, const char *needle) {
    const char *dir = make_dir("hf-bad");
    const char *path = write_in(dir, "tokenizer.json", json_text);
    gguf_writer *w = gguf_writer_new();
    tl_error err = {0};
    uint64_t n = 99;
    tl_status st = tl_synth_vocab_from_hf(w, path, &n, &err);
    gguf_writer_free(w);
    remove(path);
    rmdir(dir);
    if (st != want || !strstr(err.message, needle) || strchr(err.message, '\n') || n != 0) {
        fail_msg("status %d (want %d), message '%s' (want '%s')", st, want, err.message, needle);
    }
}

static void malformed_files_are_format_errors(void **state) {
    (void)state;
    expect_refused("{\"model\": ", TL_ERR_FORMAT, "not valid JSON");
    expect_refused("[1, 2]", TL_ERR_FORMAT, "no \"model\" object");
    expect_refused("{\"model\": {\"vocab\": {}}}", TL_ERR_FORMAT, "model.type is missing");
    char *s;
    s = edited("\"vocab\": {", "\"vocab\": [{");
    expect_refused(s, TL_ERR_FORMAT, "not valid JSON");
    free(s);
    s = edited("\"vocab\": " TINY_VOCAB, "\"vocab\": [1, 2]");
    expect_refused(s, TL_ERR_FORMAT, "model.vocab is not an object");
    free(s);
    s = edited("\"vocab\": " TINY_VOCAB, "\"vocab\": {}");
    expect_refused(s, TL_ERR_FORMAT, "model.vocab is empty");
    free(s);
    s = edited("\"abc\": 10", "\"abc\": 13");
    expect_refused(s, TL_ERR_FORMAT, "'abc' has no id in 0..12");
    free(s);
    s = edited("\"abc\": 10", "\"abc\": \"ten\"");
    expect_refused(s, TL_ERR_FORMAT, "'abc' has no id");
    free(s);
    s = edited("\"abc\": 10", "\"abc\": 9");
    expect_refused(s, TL_ERR_FORMAT, "id 9 is given twice");
    free(s);
    s = edited("\"merges\": [", "\"merges\": {");
    expect_refused(s, TL_ERR_FORMAT, "not valid JSON");
    free(s);
    s = edited("\"merges\": [\"b c\", ", "\"merges\": 7, \"x\": [");
    expect_refused(s, TL_ERR_FORMAT, "model.merges is not a list");
    free(s);
    s = edited("\"b c\"", "42");
    expect_refused(s, TL_ERR_FORMAT, "model.merges[0] is neither");
    free(s);
    s = edited("\"b c\"", "\"b c d\"");
    expect_refused(s, TL_ERR_FORMAT, "model.merges[0] is neither");
    free(s);
    s = edited("\"a b\"", "[\"a\", \"x\"]");
    expect_refused(s, TL_ERR_FORMAT, "model.merges[1] ('a' + 'x') names a token that is not");
    free(s);
    s = edited("{\"id\": 1, \"content\": \"<s>\", \"special\": true}", "{\"id\": -1}");
    expect_refused(s, TL_ERR_FORMAT, "added_tokens[1] needs");
    free(s);
    s = edited("{\"id\": 1, \"content\": \"<s>\", \"special\": true}",
               "{\"id\": 1, \"content\": \"<s>\", \"special\": \"yes\"}");
    expect_refused(s, TL_ERR_FORMAT, "added_tokens[1] needs");
    free(s);
    s = edited("\"added_tokens\": [", "\"added_tokens\": {\"x\": [");
    expect_refused(s, TL_ERR_FORMAT, "not valid JSON");
    free(s);
    /* an added token taking the text of another token */
    s = edited("\"content\": \"<s>\"", "\"content\": \"abc\"");
    expect_refused(s, TL_ERR_FORMAT, "would both be 'abc'");
    free(s);
    s = edited("{\"type\": \"Prepend\", ", "{");
    expect_refused(s, TL_ERR_FORMAT, "normalizer has no \"type\"");
    free(s);
    s = edited("\"unk_token\": \"<unk>\"", "\"unk_token\": 0");
    expect_refused(s, TL_ERR_FORMAT, "model.unk_token is not a string");
    free(s);

    gguf_writer *w = gguf_writer_new();
    tl_error err = {0};
    uint64_t n = 0;
    assert_int_equal(tl_synth_vocab_from_hf(w, "/nonexistent/tokenizer.json", &n, &err), TL_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/tokenizer.json"));
    gguf_writer_free(w);
}

static void other_kinds_are_unsupported(void **state) {
    (void)state;
    char *s = edited("\"type\": \"BPE\"", "\"type\": \"WordPiece\"");
    expect_refused(s, TL_ERR_UNSUPPORTED, "a 'WordPiece' tokenizer.json is not converted");
    free(s);
    s = edited("\"type\": \"BPE\"", "\"type\": \"Unigram\"");
    expect_refused(s, TL_ERR_UNSUPPORTED, "'Unigram'");
    free(s);
    s = edited("\"byte_fallback\": true", "\"byte_fallback\": false");
    expect_refused(s, TL_ERR_UNSUPPORTED, "without byte_fallback");
    free(s);
    s = edited("\"pre_tokenizer\": null", "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false}");
    expect_refused(s, TL_ERR_UNSUPPORTED, "byte-level BPE");
    free(s);
    s = edited("{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"}", "{\"type\": \"NFKC\"}");
    expect_refused(s, TL_ERR_UNSUPPORTED, "normalizer 'NFKC' is not supported");
    free(s);
    s = edited("\"pre_tokenizer\": null", "\"pre_tokenizer\": {\"type\": \"Whitespace\"}");
    expect_refused(s, TL_ERR_UNSUPPORTED, "pre_tokenizer 'Whitespace' is not supported");
    free(s);
}

/* An NFC normalizer is recorded (tokenizer.ggml.normalizer = "nfc") and
 * the loader honours it: "a" + U+0301 becomes "\u00e1", which this vocabulary
 * does not have, instead of "\u2581a" and an unknown mark. */
static void an_nfc_normalizer_is_recorded_and_applied(void **state) {
    (void)state;
    const char *dir = make_dir("hf-nfc");
    char *s = edited("{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"},",
                     "{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"}, {\"type\": \"NFC\"},");
    const char *path = write_in(dir, "tokenizer.json", s);
    converted c = convert_and_load(path, "nfc.gguf");
    assert_string_equal(gguf_get_str(c.file, "tokenizer.ggml.normalizer"), "nfc");
    tl_token t[8];
    assert_int_equal(tl_vocab_tokenize(c.vocab, "a\xCC\x81", 3, false, false, t, 8), 2);
    assert_int_equal(t[0], 4); /* "\u2581" */
    assert_int_equal(t[1], 0); /* "\u00e1": unknown */
    release(&c);
    remove(path);
    free(s);

    /* without it: "\u2581a" and the lone mark, unknown */
    path = write_in(dir, "tokenizer.json", tiny_json);
    c = convert_and_load(path, "no-nfc.gguf");
    assert_true(gguf_find_key(c.file, "tokenizer.ggml.normalizer") < 0);
    assert_int_equal(tl_vocab_tokenize(c.vocab, "a\xCC\x81", 3, false, false, t, 8), 2);
    assert_int_equal(t[0], 11);
    assert_int_equal(t[1], 0);
    release(&c);
    remove(path);
    rmdir(dir);
}

/* Metaspace pre-tokenizers decide the space prefix instead of Prepend. */
static void metaspace_sets_the_space_prefix(void **state) {
    (void)state;
    const char *dir = make_dir("hf-metaspace");
    char *s = edited("{\"type\": \"Prepend\", \"prepend\": \"\\u2581\"},", "");
    char *t = NULL;
    static const char *const schemes[3] = {"always", "first", "never"};
    for (int k = 0; k < 3; k++) {
        char pre[200];
        snprintf(pre, sizeof pre,
                 "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", "
                 "\"prepend_scheme\": \"%s\", \"split\": false}",
                 schemes[k]);
        const char *at = strstr(s, "\"pre_tokenizer\": null");
        t = malloc(strlen(s) + strlen(pre) + 1);
        memcpy(t, s, (size_t)(at - s));
        strcpy(t + (at - s), pre);
        strcat(t, at + strlen("\"pre_tokenizer\": null"));
        const char *path = write_in(dir, "tokenizer.json", t);
        converted c = convert_and_load(path, "metaspace.gguf");
        bool prefix = false;
        assert_true(gguf_get_bool(c.file, "tokenizer.ggml.add_space_prefix", &prefix));
        assert_int_equal(prefix, k < 2);
        release(&c);
        remove(path);
        free(t);
    }
    free(s);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(llama2_import_writes_the_converter_keys),
        cmocka_unit_test(gemma3_import_writes_the_converter_keys),
        cmocka_unit_test(merge_ranks_decide_the_merge_order),
        cmocka_unit_test(malformed_files_are_format_errors),
        cmocka_unit_test(other_kinds_are_unsupported),
        cmocka_unit_test(metaspace_sets_the_space_prefix),
        cmocka_unit_test(an_nfc_normalizer_is_recorded_and_applied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
