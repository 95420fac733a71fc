/*
 * test_tokenizer.c — the tokenizers against llama.cpp on real vocabularies:
 *
 *  - every llama.cpp test vector (ggml-vocab-*.gguf.inp/.out) whose vocab
 *    file is present, tokenized as test-tokenizer-0 does (no BOS, special
 *    text not parsed), and llama.cpp's ids for a set of random strings
 *    (tests/data/tokenizer-fuzz) — except the strings of hf_exceptions,
 *    where Hugging Face's tokenizer proves llama.cpp wrong and tinyllm must
 *    give Hugging Face's ids (agreement with Hugging Face on its own corpus
 *    is test_tokenizer_hf.c);
 *  - detokenize(tokenize(s)) == s over tests/data/multilingual.txt for every
 *    vocabulary;
 *  - SentencePiece specifics on stories260K (BOS, empty text, byte
 *    fallback, the unknown token, the leading-space rule);
 *  - pieces of a character split over byte tokens, invalid UTF-8, buffers
 *    that are too small, special tokens, EOG sets, threads and speed.
 *
 * Loading errors on hand-made vocabularies are in test_tokenizer_load.c.
 */
#include "vocab_support.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format/gguf.h"
#include "tokenizer/vocab.h"

#define VOCAB_DIR "tokenizers/llama.cpp-vocab"
#define MAX_TOKENS 16384

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct loaded_vocab {
    gguf_file *file;
    tl_vocab *vocab;
} loaded_vocab;

/* Loads a vocabulary from a path; fails the test on error. */
static loaded_vocab load_path(const char *path) {
    loaded_vocab lv = {0};
    tl_error err = {0};
    if (gguf_open(path, &lv.file, &err) != TL_OK) fail_msg("gguf_open(%s): %s", path, err.message);
    if (tl_vocab_load(lv.file, &lv.vocab, &err) != TL_OK) {
        gguf_close(lv.file);
        fail_msg("tl_vocab_load(%s): %s", path, err.message);
    }
    return lv;
}

static void unload(loaded_vocab *lv) {
    tl_vocab_free(lv->vocab);
    gguf_close(lv->file);
}

/* "ggml-vocab-<name>.gguf" from the shared vectors, or skip the test. */
static bool have_vocab(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, VOCAB_DIR "/ggml-vocab-%s.gguf", name);
    return tl_test_have_shared(rel);
}

static loaded_vocab load_vocab(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, VOCAB_DIR "/ggml-vocab-%s.gguf", name);
    return load_path(tl_test_shared_path(rel));
}

static int32_t tokenize(const tl_vocab *v, const char *text, size_t len, bool add_special, bool parse_special,
                        tl_token *out) {
    int32_t n = tl_vocab_tokenize(v, text, len, add_special, parse_special, out, MAX_TOKENS);
    assert_true(n >= 0);
    return n;
}

static int32_t tokenize_str(const tl_vocab *v, const char *text, bool add_special, bool parse_special, tl_token *out) {
    return tokenize(v, text, strlen(text), add_special, parse_special, out);
}

static void assert_tokens(const tl_token *got, int32_t n_got, const tl_token *want, int32_t n_want) {
    bool same = n_got == n_want;
    for (int32_t i = 0; same && i < n_got; i++) same = got[i] == want[i];
    if (!same) {
        char msg[2048];
        int k = snprintf(msg, sizeof msg, "got %d tokens:", n_got);
        for (int32_t i = 0; i < n_got && k < 1900; i++) k += snprintf(msg + k, sizeof msg - k, " %d", got[i]);
        k += snprintf(msg + k, sizeof msg - k, "; want %d:", n_want);
        for (int32_t i = 0; i < n_want && k < 2000; i++) k += snprintf(msg + k, sizeof msg - k, " %d", want[i]);
        fail_msg("%s", msg);
    }
}

/* Detokenizes into a malloc'd buffer (NUL-terminated); *len gets the size. */
static char *detokenize(const tl_vocab *v, const tl_token *tokens, int32_t n, bool special, bool remove_leading_space,
                        int32_t *len) {
    int32_t need = tl_vocab_detokenize(v, tokens, n, special, remove_leading_space, NULL, 0);
    if (need < 0) need = -need;
    char *buf = malloc((size_t)need + 1);
    assert_non_null(buf);
    int32_t got = tl_vocab_detokenize(v, tokens, n, special, remove_leading_space, buf, need);
    assert_true(got >= 0 && got <= need);
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* tokenizer.ggml.model of an open file ("" if absent). */
static const char *model_of(const gguf_file *f) {
    const char *m = gguf_get_str(f, "tokenizer.ggml.model");
    return m ? m : "";
}

/* Every tokenizer kind tinyllm implements. */
static bool is_supported_model(const char *model) {
    return strcmp(model, "llama") == 0 || strcmp(model, "gpt2") == 0 || strcmp(model, "bert") == 0 ||
           strcmp(model, "t5") == 0;
}

/* ------------------------------------------------------------------------ */
/* llama.cpp's test vectors                                                 */
/* ------------------------------------------------------------------------ */

/* Strings of tests/data/tokenizer-fuzz where llama.cpp's ids are wrong and
 * Hugging Face's tokenizer proves it: there tinyllm must give Hugging Face's
 * ids (<vocab>.<set>.hf.out, made by scripts/reference/hf/hf_fuzz.mjs), and
 * an entry whose string llama.cpp gets right is itself a failure. */
typedef struct hf_exception {
    const char *file;
    int index;
    const char *why;
} hf_exception;

#define QWEN2_NOT_CONTROL "Qwen's \"</s>\" is an ordinary piece (llama.cpp makes it a control token)"
#define QWEN2_NFC "Qwen's tokenizer.json normalizes to NFC (llama.cpp does not)"
#define BERT_HANGUL                                                                                                    \
    "BertNormalizer's NFD turns Hangul syllables into jamo (llama.cpp keeps the first code point of a decomposition "  \
    "only)"
#define BERT_MARKER "a \"▁\" of the text inside a word makes it unknown (llama.cpp starts a new word there)"
#define BERT_NEL "BertNormalizer drops U+0085, a control character (llama.cpp: whitespace)"
#define BERT_VIRAMA                                                                                                    \
    "only Mn marks are stripped: the Devanagari virama goes, the vowel signs (Mc) stay (llama.cpp drops every mark)"

static const hf_exception hf_exceptions[] = {
    {"ggml-vocab-qwen2.special.out", 8, QWEN2_NOT_CONTROL},
    {"ggml-vocab-qwen2.special.out", 19, QWEN2_NOT_CONTROL},
    {"ggml-vocab-qwen2.special.out", 24, QWEN2_NOT_CONTROL},
    {"ggml-vocab-qwen2.special.out", 43, QWEN2_NOT_CONTROL},
    {"ggml-vocab-qwen2.special.out", 46, QWEN2_NOT_CONTROL},
    {"ggml-vocab-qwen2.special.out", 48, QWEN2_NOT_CONTROL},
    {"ggml-vocab-qwen2.plain.out", 21, QWEN2_NFC},
    {"ggml-vocab-qwen2.plain.out", 29, QWEN2_NFC},
    {"ggml-vocab-bert-bge.special.out", 6, BERT_HANGUL},
    {"ggml-vocab-bert-bge.special.out", 21, BERT_HANGUL "; " BERT_MARKER},
    {"ggml-vocab-bert-bge.special.out", 58, BERT_NEL},
    {"ggml-vocab-bert-bge.special.out", 62, BERT_HANGUL},
    {"ggml-vocab-bert-bge.special.out", 69, BERT_HANGUL},
    {"ggml-vocab-bert-bge.special.out", 81, BERT_HANGUL},
    {"ggml-vocab-bert-bge.plain.out", 97, BERT_HANGUL "; " BERT_VIRAMA},
    {"ggml-vocab-bert-bge.plain.out", 113, BERT_MARKER},
    {"ggml-vocab-bert-bge.plain.out", 136, BERT_HANGUL "; " BERT_VIRAMA},
};

static const char *hf_exception_reason(const char *file, int index) {
    for (size_t i = 0; i < sizeof hf_exceptions / sizeof hf_exceptions[0]; i++) {
        if (strcmp(hf_exceptions[i].file, file) == 0 && hf_exceptions[i].index == index) {
            return hf_exceptions[i].why;
        }
    }
    return NULL;
}

/* The ids of one line of a .out file (cut off at its newline); *rest gets
 * the next line, NULL at the end. */
static int32_t parse_ids(char *line, tl_token *ids, char **rest) {
    char *next_line = strchr(line, '\n');
    if (next_line) *next_line++ = '\0';
    *rest = next_line;
    int32_t n = 0;
    for (char *p = line;;) {
        char *q;
        long id = strtol(p, &q, 10);
        if (q == p) break;
        assert_true(n < MAX_TOKENS);
        ids[n++] = (tl_token)id;
        p = q;
    }
    return n;
}

static bool same_ids(const tl_token *a, int32_t n_a, const tl_token *b, int32_t n_b) {
    return n_a == n_b && (n_a == 0 || memcmp(a, b, (size_t)n_a * sizeof *a) == 0);
}

/* Runs one .inp/.out pair; returns the number of failing strings. The .inp
 * holds strings separated by "\n__ggml_vocab_test__\n" (the last one ends
 * with it too); the .out one line of ids per string. `hf` is Hugging Face's
 * .hf.out for the same strings, or NULL (see hf_exceptions). */
static int run_vector_file(const tl_vocab *v, const char *name, char *inp, size_t inp_len, char *out, char *hf,
                           bool parse_special, int *n_cases) {
    static const char sep[] = "\n__ggml_vocab_test__\n";
    static tl_token want[MAX_TOKENS], got[MAX_TOKENS], hf_want[MAX_TOKENS];
    int failures = 0;
    *n_cases = 0;
    char *line = out, *hf_line = hf;
    for (size_t pos = 0; pos < inp_len;) {
        char *end = strstr(inp + pos, sep);
        size_t len = end ? (size_t)(end - (inp + pos)) : inp_len - pos;
        if (!line || !*line) fail_msg("%s: fewer lines in .out than strings in .inp", name);
        int32_t n_want = parse_ids(line, want, &line);
        int32_t n_hf = -1;
        if (hf_line && *hf_line) n_hf = parse_ids(hf_line, hf_want, &hf_line);
        int32_t n_got = tokenize(v, inp + pos, len, false, parse_special, got);
        bool same = same_ids(got, n_got, want, n_want);
        const char *reason = hf_exception_reason(name, *n_cases);
        if (reason) {
            /* llama.cpp is wrong here: Hugging Face's ids, and only those */
            bool hf_same = n_hf >= 0 && same_ids(got, n_got, hf_want, n_hf);
            if (same || !hf_same) {
                failures++;
                print_message("%s: string %d ('%.*s'), an exception (%s): %s\n", name, *n_cases, (int)len, inp + pos,
                              reason, same ? "llama.cpp's ids, drop the exception" : "not Hugging Face's ids");
            }
        } else if (!same) {
            failures++;
            print_message("%s: string %d ('%.*s') tokenized differently (%d tokens, want %d%s)\n", name, *n_cases,
                          (int)len, inp + pos, n_got, n_want,
                          n_hf < 0                              ? ""
                          : same_ids(got, n_got, hf_want, n_hf) ? "; Hugging Face's ids"
                                                                : "; not Hugging Face's either");
        }
        (*n_cases)++;
        if (!end) break;
        pos = (size_t)(end - inp) + sizeof sep - 1;
    }
    return failures;
}

static void every_present_vocab_passes_llama_cpp_vectors(void **state) {
    (void)state;
    if (!tl_test_have_shared(VOCAB_DIR)) skip();
    DIR *dir = opendir(tl_test_shared_path(VOCAB_DIR));
    assert_non_null(dir);
    int vocabs_run = 0, total_failures = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < 9 || strcmp(entry->d_name + n - 9, ".gguf.inp") != 0) continue;
        char base[256], rel[512];
        snprintf(base, sizeof base, "%.*s", (int)(n - 4), entry->d_name); /* drop ".inp" */
        snprintf(rel, sizeof rel, VOCAB_DIR "/%s", base);
        const char *gguf_path = tl_test_shared_path(rel);
        FILE *probe = fopen(gguf_path, "rb");
        if (!probe) {
            print_message("%s: no vocab file, vectors not run\n", base);
            continue;
        }
        fclose(probe);

        gguf_file *f = NULL;
        tl_error err = {0};
        if (gguf_open(gguf_path, &f, &err) != TL_OK) fail_msg("%s", err.message);
        const char *model = model_of(f);
        if (!is_supported_model(model)) {
            print_message("%s: tokenizer '%s' is not implemented yet, skipped\n", base, model);
            gguf_close(f);
            continue;
        }
        gguf_close(f);

        loaded_vocab lv = load_path(gguf_path);
        char inp_rel[600], out_rel[600];
        snprintf(inp_rel, sizeof inp_rel, "%s.inp", rel);
        snprintf(out_rel, sizeof out_rel, "%s.out", rel);
        size_t inp_len = 0;
        char *inp = tl_test_read_file(tl_test_shared_path(inp_rel), &inp_len);
        char *out = tl_test_read_file(tl_test_shared_path(out_rel), NULL);
        assert_non_null(inp);
        assert_non_null(out);
        int cases = 0;
        int failures = run_vector_file(lv.vocab, base, inp, inp_len, out, NULL, false, &cases);
        print_message("%s: %d/%d strings match llama.cpp\n", base, cases - failures, cases);
        total_failures += failures;
        vocabs_run++;
        free(inp);
        free(out);
        unload(&lv);
    }
    closedir(dir);
    assert_true(vocabs_run > 0);
    assert_int_equal(total_failures, 0);
}

/* Random strings (odd whitespace, contractions, scripts, unassigned code
 * points, special-token texts) with the ids llama.cpp gave for them, made by
 * tests/data/tokenizer-fuzz/make_reference.mjs: plain.inp tokenized without
 * parsing special tokens, special.inp with. */
static void fuzz_strings_match_llama_cpp(void **state) {
    (void)state;
    if (!tl_test_have_shared(VOCAB_DIR)) skip();
    const char *dir_path = tl_test_source_path("tests/data/tokenizer-fuzz");
    DIR *dir = opendir(dir_path);
    assert_non_null(dir);
    int files_run = 0, total_failures = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        size_t n = strlen(name);
        bool special = n > 12 && strcmp(name + n - 12, ".special.out") == 0;
        bool plain = n > 10 && strcmp(name + n - 10, ".plain.out") == 0;
        if (!special && !plain) continue;
        char base[256], rel[512];
        snprintf(base, sizeof base, "%.*s", (int)(n - (special ? 12 : 10)), name);
        snprintf(rel, sizeof rel, VOCAB_DIR "/%s.gguf", base);
        FILE *probe = fopen(tl_test_shared_path(rel), "rb");
        if (!probe) continue;
        fclose(probe);
        gguf_file *f = NULL;
        tl_error err = {0};
        if (gguf_open(tl_test_shared_path(rel), &f, &err) != TL_OK) fail_msg("%s", err.message);
        bool supported = is_supported_model(model_of(f));
        gguf_close(f);
        if (!supported) continue;

        loaded_vocab lv = load_path(tl_test_shared_path(rel));
        char inp_rel[600], out_rel[600];
        snprintf(inp_rel, sizeof inp_rel, "tests/data/tokenizer-fuzz/%s.inp", special ? "special" : "plain");
        snprintf(out_rel, sizeof out_rel, "tests/data/tokenizer-fuzz/%s", name);
        size_t inp_len = 0;
        char *inp = tl_test_read_file(tl_test_source_path(inp_rel), &inp_len);
        char *out = tl_test_read_file(tl_test_source_path(out_rel), NULL);
        assert_non_null(inp);
        assert_non_null(out);
        char hf_rel[600];
        snprintf(hf_rel, sizeof hf_rel, "tests/data/tokenizer-fuzz/%s.%s.hf.out", base, special ? "special" : "plain");
        char *hf = tl_test_read_file(tl_test_source_path(hf_rel), NULL); /* NULL: none */
        int cases = 0;
        total_failures += run_vector_file(lv.vocab, name, inp, inp_len, out, hf, special, &cases);
        free(hf);
        assert_true(cases >= 100);
        files_run++;
        free(inp);
        free(out);
        unload(&lv);
    }
    closedir(dir);
    print_message("%d reference files checked\n", files_run);
    assert_true(files_run > 0);
    assert_int_equal(total_failures, 0);
}

/* ------------------------------------------------------------------------ */
/* Round trip over the multilingual corpus                                   */
/* ------------------------------------------------------------------------ */

static bool round_trips(const tl_vocab *v, const char *text, size_t len) {
    static tl_token tokens[MAX_TOKENS];
    int32_t n = tokenize(v, text, len, false, false, tokens);
    int32_t out_len;
    char *out = detokenize(v, tokens, n, false, true, &out_len);
    bool same = (size_t)out_len == len && memcmp(out, text, len) == 0;
    if (!same) print_message("round trip changed '%.*s' into '%s'\n", (int)len, text, out);
    free(out);
    return same;
}

static void every_vocab_round_trips_multilingual_text(void **state) {
    (void)state;
    if (!tl_test_have_shared(VOCAB_DIR)) skip();
    size_t corpus_len = 0;
    char *corpus = tl_test_read_file(tl_test_source_path("tests/data/multilingual.txt"), &corpus_len);
    assert_non_null(corpus);
    assert_true(corpus_len > 2000);

    DIR *dir = opendir(tl_test_shared_path(VOCAB_DIR));
    assert_non_null(dir);
    int vocabs = 0, failures = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < 5 || strcmp(entry->d_name + n - 5, ".gguf") != 0) continue;
        char rel[512];
        snprintf(rel, sizeof rel, VOCAB_DIR "/%s", entry->d_name);
        gguf_file *f = NULL;
        tl_error err = {0};
        if (gguf_open(tl_test_shared_path(rel), &f, &err) != TL_OK) fail_msg("%s", err.message);
        /* WordPiece lower-cases and drops whitespace: it does not round trip */
        bool supported = strcmp(model_of(f), "llama") == 0 || strcmp(model_of(f), "gpt2") == 0;
        gguf_close(f);
        if (!supported) continue;

        loaded_vocab lv = load_path(tl_test_shared_path(rel));
        int before = failures;
        failures += !round_trips(lv.vocab, corpus, corpus_len);
        for (size_t start = 0; start < corpus_len;) {
            const char *nl = memchr(corpus + start, '\n', corpus_len - start);
            size_t end = nl ? (size_t)(nl - corpus) + 1 : corpus_len;
            failures += !round_trips(lv.vocab, corpus + start, end - start);
            start = end;
        }
        if (failures != before) print_message("%s: round trip failed\n", entry->d_name);
        vocabs++;
        unload(&lv);
    }
    closedir(dir);
    free(corpus);
    assert_true(vocabs > 0);
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------------------ */
/* SentencePiece on stories260K                                              */
/* ------------------------------------------------------------------------ */

#define STORIES "models/stories260K.gguf"

static void spm_tokenizes_once_upon_a_time_with_bos(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    loaded_vocab lv = load_path(tl_test_shared_path(STORIES));
    tl_token t[MAX_TOKENS];
    int32_t n = tokenize_str(lv.vocab, "Once upon a time", true, false, t);
    assert_tokens(t, n, (tl_token[]){1, 403, 407, 261, 378}, 5);
    assert_int_equal(tl_vocab_kind_of(lv.vocab), TL_VOCAB_SPM);
    assert_string_equal(tl_vocab_model_name(lv.vocab), "llama");
    assert_int_equal(tl_vocab_n_tokens(lv.vocab), 512);
    assert_true(tl_vocab_add_bos(lv.vocab));
    assert_false(tl_vocab_add_eos(lv.vocab));
    assert_int_equal(tl_vocab_bos(lv.vocab), 1);
    assert_int_equal(tl_vocab_eos(lv.vocab), 2);
    assert_true(tl_vocab_is_eog(lv.vocab, 2));
    assert_false(tl_vocab_is_eog(lv.vocab, 1));
    unload(&lv);
}

static void spm_empty_text_is_just_bos(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    loaded_vocab lv = load_path(tl_test_shared_path(STORIES));
    tl_token t[8];
    assert_int_equal(tl_vocab_tokenize(lv.vocab, "", 0, true, false, t, 8), 1);
    assert_int_equal(t[0], 1);
    assert_int_equal(tl_vocab_tokenize(lv.vocab, "", 0, false, false, t, 8), 0);
    assert_int_equal(tl_vocab_tokenize(lv.vocab, NULL, 0, true, true, t, 8), 1);
    unload(&lv);
}

/* Characters the 512-token vocabulary lacks become <0xXX> byte tokens, which
 * in this vocabulary are ids 3 + byte. */
static void spm_falls_back_to_byte_tokens(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    loaded_vocab lv = load_path(tl_test_shared_path(STORIES));
    const char *text = "\xE4\xB8\xAD\xF0\x9F\x98\x80"; /* 中😀 */
    tl_token t[MAX_TOKENS];
    int32_t n = tokenize_str(lv.vocab, text, false, false, t);
    /* "▁" then the seven bytes */
    assert_int_equal(n, 8);
    assert_string_equal(tl_vocab_token_text(lv.vocab, t[0]), "\xE2\x96\x81");
    for (int i = 0; i < 7; i++) {
        assert_int_equal(t[1 + i], 3 + (unsigned char)text[i]);
        assert_int_equal(tl_vocab_token_type(lv.vocab, t[1 + i]), TL_TOKEN_TYPE_BYTE);
    }
    int32_t len;
    char *back = detokenize(lv.vocab, t, n, false, true, &len);
    assert_string_equal(back, text);
    free(back);
    unload(&lv);
}

static void spm_unknown_token_is_special(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    loaded_vocab lv = load_path(tl_test_shared_path(STORIES));
    const tl_vocab *v = lv.vocab;
    assert_int_equal(tl_vocab_token_type(v, 0), TL_TOKEN_TYPE_UNKNOWN);
    assert_string_equal(tl_vocab_token_text(v, 0), "<unk>");
    tl_token t[MAX_TOKENS];
    /* recognised in text only with parse_special */
    int32_t n = tokenize_str(v, "<unk>", false, true, t);
    assert_tokens(t, n, (tl_token[]){0}, 1);
    n = tokenize_str(v, "<unk>", false, false, t);
    assert_true(n > 1);
    for (int32_t i = 0; i < n; i++) assert_int_not_equal(t[i], 0);
    /* printed only when special */
    char buf[16];
    assert_int_equal(tl_vocab_token_to_piece(v, 0, false, buf, sizeof buf), 0);
    assert_int_equal(tl_vocab_token_to_piece(v, 0, true, buf, sizeof buf), 5);
    assert_memory_equal(buf, "<unk>", 5);
    assert_int_equal(tl_vocab_token_to_piece(v, 1, true, buf, sizeof buf), 3);
    assert_memory_equal(buf, "<s>", 3);
    unload(&lv);
}

/* llama.cpp's rule: the first token loses the space SentencePiece put in
 * front; a BOS that prints nothing takes that turn, so the space stays. */
static void spm_leading_space_rule(void **state) {
    (void)state;
    if (!tl_test_have_shared(STORIES)) skip();
    loaded_vocab lv = load_path(tl_test_shared_path(STORIES));
    tl_token t[MAX_TOKENS];
    int32_t n = tokenize_str(lv.vocab, "Once upon", true, false, t);
    assert_int_equal(t[0], 1);
    int32_t len;
    char *s = detokenize(lv.vocab, t + 1, n - 1, false, true, &len);
    assert_string_equal(s, "Once upon");
    free(s);
    s = detokenize(lv.vocab, t + 1, n - 1, false, false, &len);
    assert_string_equal(s, " Once upon");
    free(s);
    s = detokenize(lv.vocab, t, n, false, true, &len);
    assert_string_equal(s, " Once upon");
    free(s);
    s = detokenize(lv.vocab, t, n, true, true, &len);
    assert_string_equal(s, "<s> Once upon");
    free(s);
    unload(&lv);
}

/* ------------------------------------------------------------------------ */
/* Pieces, invalid input, buffer sizes                                       */
/* ------------------------------------------------------------------------ */

/* A character split over several byte tokens: each piece is an incomplete
 * UTF-8 sequence, and the pieces concatenate to the character. */
static void pieces_of_a_split_character_concatenate(void **state) {
    (void)state;
    if (!have_vocab("gpt-2") || !tl_test_have_shared(STORIES)) skip();
    const char *llama = "\xF0\x9F\xA6\x99"; /* 🦙: no single GPT-2 token */
    const char *paths[2] = {tl_test_shared_path(VOCAB_DIR "/ggml-vocab-gpt-2.gguf"), tl_test_shared_path(STORIES)};
    for (int k = 0; k < 2; k++) {
        loaded_vocab lv = load_path(paths[k]);
        tl_token t[MAX_TOKENS];
        int32_t n = tokenize_str(lv.vocab, llama, false, false, t);
        assert_true(n >= 2);
        char joined[64];
        size_t len = 0;
        int partial_pieces = 0;
        for (int32_t i = 0; i < n; i++) {
            char piece[16];
            int32_t m = tl_vocab_token_to_piece(lv.vocab, t[i], false, piece, sizeof piece);
            assert_true(m >= 0 && m < 8);
            partial_pieces += m > 0 && m < 4 && ((unsigned char)piece[0] >= 0x80);
            memcpy(joined + len, piece, (size_t)m);
            len += (size_t)m;
        }
        assert_true(partial_pieces >= 2);
        /* SentencePiece adds its leading space */
        const char *want = k == 0 ? llama : " \xF0\x9F\xA6\x99";
        assert_int_equal(len, strlen(want));
        assert_memory_equal(joined, want, len);
        unload(&lv);
    }
}

/* Invalid UTF-8 neither crashes nor gets lost: the bytes come back. */
static void invalid_utf8_is_tokenized_as_bytes(void **state) {
    (void)state;
    if (!have_vocab("gpt-2") || !have_vocab("llama-bpe") || !tl_test_have_shared(STORIES)) skip();
    static const char bad[] = "ok\xFF\xFE bytes \xC3 cut \xE2\x82 end\x80\xBF and \xF8\x88\x80\x80\x80";
    const char *paths[3] = {tl_test_shared_path(VOCAB_DIR "/ggml-vocab-gpt-2.gguf"),
                            tl_test_shared_path(VOCAB_DIR "/ggml-vocab-llama-bpe.gguf"), tl_test_shared_path(STORIES)};
    for (int k = 0; k < 3; k++) {
        loaded_vocab lv = load_path(paths[k]);
        tl_token t[MAX_TOKENS];
        int32_t n = tokenize(lv.vocab, bad, sizeof bad - 1, false, true, t);
        assert_true(n > 0);
        int32_t len;
        char *back = detokenize(lv.vocab, t, n, false, true, &len);
        assert_int_equal(len, sizeof bad - 1);
        assert_memory_equal(back, bad, sizeof bad - 1);
        free(back);
        unload(&lv);
    }
}

/* Every shared vocabulary (SentencePiece, BPE, WordPiece) takes invalid
 * UTF-8 of every kind (what comes back depends on the byte tokens a
 * vocabulary has, as in llama.cpp: invalid_utf8_is_tokenized_as_bytes checks
 * the round trip where they are all there). */
static void every_vocab_takes_invalid_utf8_of_every_kind(void **state) {
    (void)state;
    if (!tl_test_have_shared(VOCAB_DIR)) skip();
    DIR *dir = opendir(tl_test_shared_path(VOCAB_DIR));
    assert_non_null(dir);
    int vocabs = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < 5 || strcmp(entry->d_name + n - 5, ".gguf") != 0) continue;
        char rel[512];
        snprintf(rel, sizeof rel, VOCAB_DIR "/%s", entry->d_name);
        loaded_vocab lv = load_path(tl_test_shared_path(rel));
        tl_test_expect_invalid_utf8_tokenizes(lv.vocab, entry->d_name);
        vocabs++;
        unload(&lv);
    }
    closedir(dir);
    assert_true(vocabs >= 10);
}

static void too_small_buffers_report_the_size_needed(void **state) {
    (void)state;
    if (!have_vocab("llama-bpe")) skip();
    loaded_vocab lv = load_vocab("llama-bpe");
    const tl_vocab *v = lv.vocab;
    const char *text = "Hello world, this is a test of buffer sizes.";
    tl_token t[MAX_TOKENS];
    int32_t n = tokenize_str(v, text, true, false, t);
    assert_true(n > 4);
    assert_int_equal(tl_vocab_tokenize(v, text, strlen(text), true, false, t, 3), -n);
    assert_int_equal(tl_vocab_tokenize(v, text, strlen(text), true, false, NULL, 0), -n);
    assert_int_equal(tl_vocab_tokenize(v, text, strlen(text), true, false, t, n), n);

    char piece[4];
    tl_token hello = t[1]; /* "Hello" */
    assert_int_equal(tl_vocab_token_to_piece(v, hello, false, piece, 4), -5);
    assert_int_equal(tl_vocab_token_to_piece(v, hello, false, NULL, 0), -5);
    assert_int_equal(tl_vocab_token_to_piece(v, -1, true, piece, 4), 0);
    assert_int_equal(tl_vocab_token_to_piece(v, 1 << 30, true, piece, 4), 0);

    char small[10];
    int32_t need = (int32_t)strlen(text);
    assert_int_equal(tl_vocab_detokenize(v, t, n, false, true, small, sizeof small), -need);
    char *full = malloc((size_t)need);
    assert_int_equal(tl_vocab_detokenize(v, t, n, false, true, full, need), need);
    assert_memory_equal(full, text, (size_t)need);
    free(full);
    unload(&lv);
}

/* ------------------------------------------------------------------------ */
/* Special tokens                                                            */
/* ------------------------------------------------------------------------ */

static void control_tokens_only_with_parse_special(void **state) {
    (void)state;
    if (!have_vocab("qwen2")) skip();
    loaded_vocab lv = load_vocab("qwen2");
    const tl_vocab *v = lv.vocab;
    tl_token t[MAX_TOKENS];
    const char *chat = "<|im_start|>user\nhi<|im_end|>";
    int32_t n = tokenize_str(v, chat, false, true, t);
    assert_true(n >= 4);
    assert_int_equal(t[0], 151644);
    assert_int_equal(t[n - 1], 151645);
    n = tokenize_str(v, chat, false, false, t);
    for (int32_t i = 0; i < n; i++) {
        assert_true(t[i] < 151643);
    }
    /* control tokens print only when asked */
    char buf[32];
    assert_int_equal(tl_vocab_token_to_piece(v, 151645, false, buf, sizeof buf), 0);
    assert_int_equal(tl_vocab_token_to_piece(v, 151645, true, buf, sizeof buf), 10);
    assert_memory_equal(buf, "<|im_end|>", 10);
    unload(&lv);
}

/* User-defined tokens are split out even without parse_special, except
 * those llama.cpp turns into control tokens (FIM markers). */
static void user_defined_tokens_are_always_recognised(void **state) {
    (void)state;
    if (!have_vocab("qwen2")) skip();
    loaded_vocab lv = load_vocab("qwen2");
    const tl_vocab *v = lv.vocab;
    tl_token t[MAX_TOKENS];
    int32_t n = tokenize_str(v, "a<think>b", false, false, t);
    assert_int_equal(n, 3);
    assert_int_equal(t[1], 151667);
    assert_int_equal(tl_vocab_token_type(v, 151667), TL_TOKEN_TYPE_USER_DEFINED);
    /* printed even without special */
    char buf[16];
    assert_int_equal(tl_vocab_token_to_piece(v, 151667, false, buf, sizeof buf), 7);

    assert_int_equal(tl_vocab_token_type(v, 151659), TL_TOKEN_TYPE_CONTROL); /* <|fim_prefix|> */
    n = tokenize_str(v, "<|fim_prefix|>", false, false, t);
    assert_true(n > 1);
    n = tokenize_str(v, "<|fim_prefix|>", false, true, t);
    assert_tokens(t, n, (tl_token[]){151659}, 1);
    unload(&lv);
}

/* Phi-3: llama.cpp makes special tokens swallow the whitespace after them. */
static void phi3_special_tokens_strip_following_spaces(void **state) {
    (void)state;
    if (!have_vocab("phi-3")) skip();
    loaded_vocab lv = load_vocab("phi-3");
    tl_token a[MAX_TOKENS], b[MAX_TOKENS];
    int32_t na = tokenize_str(lv.vocab, "<|user|>  \n hello<|end|>", false, true, a);
    int32_t nb = tokenize_str(lv.vocab, "<|user|>hello<|end|>", false, true, b);
    assert_tokens(a, na, b, nb);
    assert_int_equal(a[0], 32010);
    unload(&lv);
}

static void eog_sets_match_llama_cpp(void **state) {
    (void)state;
    if (!have_vocab("llama-bpe") || !have_vocab("qwen2") || !have_vocab("phi-3")) skip();
    struct {
        const char *name;
        tl_token eog[8];
        int n_eog;
        tl_token not_eog;
    } cases[] = {
        {"llama-bpe", {128001, 128009}, 2, 128000},
        {"qwen2", {151643, 151645, 151662, 151663, 151664}, 5, 151644},
        {"phi-3", {2, 32000, 32007}, 3, 32010},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        loaded_vocab lv = load_vocab(cases[c].name);
        for (int i = 0; i < cases[c].n_eog; i++) assert_true(tl_vocab_is_eog(lv.vocab, cases[c].eog[i]));
        assert_false(tl_vocab_is_eog(lv.vocab, cases[c].not_eog));
        assert_false(tl_vocab_is_eog(lv.vocab, -1));
        unload(&lv);
    }
}

static void bos_defaults_follow_the_pre_tokenizer(void **state) {
    (void)state;
    if (!have_vocab("llama-bpe") || !have_vocab("qwen2") || !have_vocab("gpt-2")) skip();
    loaded_vocab lv = load_vocab("llama-bpe");
    assert_true(tl_vocab_add_bos(lv.vocab)); /* llama3 pre-tokenizer: BOS by default */
    assert_string_equal(tl_vocab_pre_name(lv.vocab), "llama-bpe");
    tl_token t[MAX_TOKENS];
    int32_t n = tokenize_str(lv.vocab, "Hello", true, false, t);
    assert_tokens(t, n, (tl_token[]){128000, 9906}, 2);
    unload(&lv);
    lv = load_vocab("qwen2");
    assert_false(tl_vocab_add_bos(lv.vocab));
    n = tokenize_str(lv.vocab, "Hello", true, false, t);
    assert_tokens(t, n, (tl_token[]){9707}, 1);
    unload(&lv);
    lv = load_vocab("gpt-2");
    assert_false(tl_vocab_add_bos(lv.vocab));
    assert_int_equal(tl_vocab_kind_of(lv.vocab), TL_VOCAB_BPE);
    unload(&lv);
}

/* GPT-2 style vocabularies clean up " ," and friends when detokenizing, as
 * llama.cpp does; Qwen2 asks not to. */
static void detokenize_cleans_spaces_where_llama_cpp_does(void **state) {
    (void)state;
    if (!have_vocab("gpt-2") || !have_vocab("qwen2")) skip();
    const char *text = "Hello , world ! It 's fine .";
    tl_token t[MAX_TOKENS];
    int32_t len;
    loaded_vocab lv = load_vocab("gpt-2");
    int32_t n = tokenize_str(lv.vocab, text, false, false, t);
    char *s = detokenize(lv.vocab, t, n, false, true, &len);
    assert_string_equal(s, "Hello, world! It's fine.");
    free(s);
    unload(&lv);
    lv = load_vocab("qwen2");
    n = tokenize_str(lv.vocab, text, false, false, t);
    s = detokenize(lv.vocab, t, n, false, true, &len);
    assert_string_equal(s, text);
    free(s);
    unload(&lv);
}

/* ------------------------------------------------------------------------ */
/* Threads and speed                                                         */
/* ------------------------------------------------------------------------ */

typedef struct thread_job {
    const tl_vocab *vocab;
    const char *text;
    size_t len;
    tl_token *tokens;
    int32_t n;
} thread_job;

static void *tokenize_job(void *arg) {
    thread_job *job = arg;
    for (int rep = 0; rep < 5; rep++) {
        job->n = tl_vocab_tokenize(job->vocab, job->text, job->len, true, true, job->tokens, MAX_TOKENS);
    }
    return NULL;
}

static void tokenize_is_thread_safe_on_a_shared_vocab(void **state) {
    (void)state;
    if (!have_vocab("llama-bpe")) skip();
    loaded_vocab lv = load_vocab("llama-bpe");
    size_t len = 0;
    char *text = tl_test_read_file(tl_test_source_path("tests/data/multilingual.txt"), &len);
    assert_non_null(text);
    static tl_token expected[MAX_TOKENS];
    int32_t n = tl_vocab_tokenize(lv.vocab, text, len, true, true, expected, MAX_TOKENS);
    assert_true(n > 0);
    enum { N_THREADS = 4 };
    pthread_t threads[N_THREADS];
    thread_job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (thread_job){lv.vocab, text, len, malloc(MAX_TOKENS * sizeof(tl_token)), 0};
        assert_int_equal(pthread_create(&threads[i], NULL, tokenize_job, &jobs[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_tokens(jobs[i].tokens, jobs[i].n, expected, n);
        free(jobs[i].tokens);
    }
    free(text);
    unload(&lv);
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

/* 100 KB of mixed text in well under a second, for each kind of tokenizer. */
static void tokenizing_100kb_is_fast(void **state) {
    (void)state;
    if (!have_vocab("llama-bpe") || !have_vocab("llama-spm")) skip();
    size_t corpus_len = 0;
    char *corpus = tl_test_read_file(tl_test_source_path("tests/data/multilingual.txt"), &corpus_len);
    assert_non_null(corpus);
    size_t len = 100 * 1024;
    char *text = malloc(len);
    for (size_t i = 0; i < len; i++) text[i] = corpus[i % corpus_len];
    tl_token *tokens = malloc(len * sizeof *tokens);
    const char *names[] = {"llama-bpe", "llama-spm", "qwen2", "gpt-2"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (!have_vocab(names[k])) continue;
        loaded_vocab lv = load_vocab(names[k]);
        double t0 = now_ms();
        int32_t n = tl_vocab_tokenize(lv.vocab, text, len, true, true, tokens, (int32_t)len);
        double ms = now_ms() - t0;
        print_message("%s: 100 KB -> %d tokens in %.1f ms\n", names[k], n, ms);
        assert_true(n > 0);
        assert_true(ms < (SLOW_BUILD ? 10000.0 : 1000.0) * tl_test_time_scale());
        unload(&lv);
    }
    free(tokens);
    free(text);
    free(corpus);
}

/* tl_vocab_tokenize_bounded gives exactly tl_vocab_tokenize's tokens when
 * they fit, and refuses one token fewer, on every shared vocabulary: the
 * multilingual corpus (whole and line by line), special tokens, invalid
 * UTF-8, whitespace runs. */
static void bounded_tokenization_is_exact(void **state) {
    (void)state;
    if (!tl_test_have_shared(VOCAB_DIR)) skip();
    size_t corpus_len = 0;
    char *corpus = tl_test_read_file(tl_test_source_path("tests/data/multilingual.txt"), &corpus_len);
    assert_non_null(corpus);
    static const char *const extra[] = {"",
                                        " ",
                                        "\n\n\n",
                                        "   leading and trailing   ",
                                        "<s>hello</s> <|im_end|>  <|endoftext|>x",
                                        "[CLS] a [SEP]  [MASK]",
                                        "<|end|>   \n  after",
                                        "a\tb\r\nc",
                                        "\xE2\x96\x81\xE2\x96\x81 x"};
    DIR *dir = opendir(tl_test_shared_path(VOCAB_DIR));
    assert_non_null(dir);
    int vocabs = 0, mismatches = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < 5 || strcmp(entry->d_name + n - 5, ".gguf") != 0) continue;
        char rel[512];
        snprintf(rel, sizeof rel, VOCAB_DIR "/%s", entry->d_name);
        loaded_vocab lv = load_path(tl_test_shared_path(rel));
        const char *name = entry->d_name;
        mismatches += tl_test_bounded_mismatches(lv.vocab, name, corpus, corpus_len);
        for (size_t start = 0; start < corpus_len;) {
            const char *nl = memchr(corpus + start, '\n', corpus_len - start);
            size_t end = nl ? (size_t)(nl - corpus) + 1 : corpus_len;
            mismatches += tl_test_bounded_mismatches(lv.vocab, name, corpus + start, end - start);
            start = end;
        }
        for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
            mismatches += tl_test_bounded_mismatches(lv.vocab, name, extra[i], strlen(extra[i]));
        for (size_t i = 0; i < tl_test_n_invalid_utf8; i++)
            mismatches +=
                tl_test_bounded_mismatches(lv.vocab, name, tl_test_invalid_utf8[i].bytes, tl_test_invalid_utf8[i].len);
        vocabs++;
        unload(&lv);
    }
    closedir(dir);
    free(corpus);
    assert_true(vocabs >= 10);
    assert_int_equal(mismatches, 0);
}

/* A prompt far beyond the limit is refused without tokenizing it: 1 GiB of
 * "text" whose every byte past the first 256 KiB is unreadable (a read
 * would crash the test). SentencePiece and BPE refuse it from its length
 * alone; WordPiece after its first 64 KiB piece. */
static void bounded_tokenization_stops_early(void **state) {
    (void)state;
    static const char *const names[] = {"llama-spm", "llama-bpe", "qwen2", "gpt-2", "bert-bge"};
    const size_t readable = 256 << 10, total = (size_t)1 << 30;
    char *text = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(text != MAP_FAILED);
    static const char sentence[] = "Once upon a time, there was a little girl named Lily. ";
    for (size_t i = 0; i < readable; i++) text[i] = sentence[i % (sizeof sentence - 1)];
    assert_int_equal(mprotect(text + readable, total - readable, PROT_NONE), 0);
    tl_token *tokens = malloc(4096 * sizeof *tokens);
    int tested = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (!have_vocab(names[k])) continue;
        loaded_vocab lv = load_vocab(names[k]);
        const double t0 = now_ms();
        const int32_t n = tl_vocab_tokenize_bounded(lv.vocab, text, total, true, false, tokens, 4096);
        const double ms = now_ms() - t0;
        print_message("%s: 1 GiB refused in %.1f ms\n", names[k], ms);
        assert_int_equal(n, TL_VOCAB_TOO_LONG);
        assert_true(ms < (SLOW_BUILD ? 5000.0 : 500.0) * tl_test_time_scale());
        /* what fits is still tokenized whole */
        const int32_t fits = tl_vocab_tokenize_bounded(lv.vocab, text, 1000, true, false, tokens, 4096);
        assert_true(fits > 100 && fits < 1000);
        unload(&lv);
        tested++;
    }
    munmap(text, total);

    /* Phi-3's special tokens swallow whitespace, so only the text between
     * them counts: 8 MB of spaces and tabs is refused once split there. */
    if (have_vocab("phi-3")) {
        const size_t len = 8u << 20;
        char *spaces = malloc(len);
        assert_non_null(spaces);
        for (size_t i = 0; i < len; i++) spaces[i] = i % 7 ? ' ' : '\t';
        memcpy(spaces + len / 2, "<|end|>", 7);
        loaded_vocab lv = load_vocab("phi-3");
        const double t0 = now_ms();
        const int32_t n = tl_vocab_tokenize_bounded(lv.vocab, spaces, len, true, true, tokens, 4096);
        const double ms = now_ms() - t0;
        print_message("phi-3: 8 MB of whitespace refused in %.1f ms\n", ms);
        assert_int_equal(n, TL_VOCAB_TOO_LONG);
        assert_true(ms < (SLOW_BUILD ? 10000.0 : 1000.0) * tl_test_time_scale());
        unload(&lv);
        free(spaces);
        tested++;
    }
    free(tokens);
    if (tested == 0) skip();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_present_vocab_passes_llama_cpp_vectors),
        cmocka_unit_test(fuzz_strings_match_llama_cpp),
        cmocka_unit_test(every_vocab_round_trips_multilingual_text),
        cmocka_unit_test(spm_tokenizes_once_upon_a_time_with_bos),
        cmocka_unit_test(spm_empty_text_is_just_bos),
        cmocka_unit_test(spm_falls_back_to_byte_tokens),
        cmocka_unit_test(spm_unknown_token_is_special),
        cmocka_unit_test(spm_leading_space_rule),
        cmocka_unit_test(pieces_of_a_split_character_concatenate),
        cmocka_unit_test(invalid_utf8_is_tokenized_as_bytes),
        cmocka_unit_test(every_vocab_takes_invalid_utf8_of_every_kind),
        cmocka_unit_test(too_small_buffers_report_the_size_needed),
        cmocka_unit_test(control_tokens_only_with_parse_special),
        cmocka_unit_test(user_defined_tokens_are_always_recognised),
        cmocka_unit_test(phi3_special_tokens_strip_following_spaces),
        cmocka_unit_test(eog_sets_match_llama_cpp),
        cmocka_unit_test(bos_defaults_follow_the_pre_tokenizer),
        cmocka_unit_test(detokenize_cleans_spaces_where_llama_cpp_does),
        cmocka_unit_test(tokenize_is_thread_safe_on_a_shared_vocab),
        cmocka_unit_test(tokenizing_100kb_is_fast),
        cmocka_unit_test(bounded_tokenization_is_exact),
        cmocka_unit_test(bounded_tokenization_stops_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
