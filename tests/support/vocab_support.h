/*
 * vocab_support.h — helpers of the tokenizer tests: write a vocabulary GGUF
 * built in the test, load it, check tokenizations.
 */
#ifndef TL_VOCAB_SUPPORT_H
#define TL_VOCAB_SUPPORT_H

#include "authoring/gguf_writer.h"
#include "format/gguf.h"
#include "test_support.h"
#include "tokenizer/vocab.h"

typedef struct tl_test_vocab {
    gguf_file *file;
    tl_vocab *vocab;
    tl_status status; /* of tl_vocab_load */
    tl_error err;
} tl_test_vocab;

/* Writes the file (a scratch file called `name`), frees the writer, opens it
 * and loads the vocabulary, whose status is kept for the test to check. */
tl_test_vocab tl_test_vocab_write(gguf_writer *w, const char *name);
/* The same, failing the test unless the vocabulary loads. */
tl_test_vocab tl_test_vocab_load_ok(gguf_writer *w, const char *name);
void tl_test_vocab_release(tl_test_vocab *l);
/* Fails the test unless `text` tokenizes (special tokens not parsed) to `want`. */
void tl_test_expect_tokens(const tl_vocab *v, const char *text, bool add_special, const tl_token *want, int32_t n_want);

/* Invalid UTF-8 of every kind (overlong forms, surrogates, code points past
 * U+10FFFF, 5- and 6-byte forms, truncated sequences, lone continuation
 * bytes, FE/FF, an embedded NUL), each between ordinary letters. */
typedef struct tl_test_bytes {
    const char *what;
    const char *bytes;
    size_t len;
} tl_test_bytes;
extern const tl_test_bytes tl_test_invalid_utf8[];
extern const size_t tl_test_n_invalid_utf8;
/* Tokenizes every tl_test_invalid_utf8 case (with and without special
 * tokens); fails the test unless each succeeds with ids in range. */
void tl_test_expect_invalid_utf8_tokenizes(const tl_vocab *v, const char *vocab_name);
/* Bounded tokenization is exact: for every combination of add_special and
 * parse_special, tl_vocab_tokenize_bounded with max_tokens = the full count
 * gives the same tokens, and with one less TL_VOCAB_TOO_LONG. Returns the
 * number of mismatches (printed). */
int tl_test_bounded_mismatches(const tl_vocab *v, const char *name, const char *text, size_t len);

#endif /* TL_VOCAB_SUPPORT_H */
