/*
 * fuzz_documents.c — fuzz target: what `tinyllm index` does to a user's file
 * before embedding it (src/search/index.c): the kind its name says, the
 * binary check, HTML blanking, and the token chunker (chunk.h) counting with
 * the BGE WordPiece vocabulary the search tests use; then a snippet of each
 * chunk as a search shows it (tl_search_snippet).
 *
 * Input: a byte giving the chunk size (1 + b % 48 tokens), a byte giving the
 * overlap (b % 32 tokens, which the chunker lowers to half the chunk size),
 * a file name up to '\n', then the file's content. Without a '\n' the rest
 * is the content of "input.txt". Names that index skips (PDF, other
 * extensions) and binary content end there, as they do in index.
 *
 * Checked: blanking keeps the length, every newline and every byte outside
 * markup, leaves no '<' it did not decode from "&lt;" and valid UTF-8 valid;
 * chunks are non-empty, trimmed, in order (starts and ends increasing), with
 * nothing but whitespace between or around them, their line ranges the
 * file's own, at most the chunk size in tokens (a single character aside),
 * neighbours sharing at most the overlap, never cut inside a UTF-8
 * character of valid text; snippets are one line of bounded length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "search/chunk.h"
#include "search/extract.h"
#include "search/search.h"
#include "tokenizer/utf8.h"

#define SNIPPET_BYTES 40

static tl_model *vocab;
static bool verbose;        /* $FUZZ_VERBOSE: print each chunk (to check seeds and findings) */
static tl_token tokens[64]; /* the counter's scratch: chunk sizes stay below 48 tokens */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    vocab = fuzz_load_vocab("tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf");
    return 0;
}

/* index.c's counter: tokens without special ones, stopping past the limit. */
static int32_t count_tokens(void *user, const char *text, size_t len, int32_t limit) {
    (void)user;
    if (len == 0) return 0;
    if (limit < 0 || limit + 1 > (int32_t)(sizeof tokens / sizeof tokens[0])) abort();
    int32_t n = 0;
    tl_error err;
    const tl_status st = tl_tokenize_prompt(vocab, text, len, false, false, tokens, limit, &n, &err);
    if (st == TL_OK && n > limit) abort();
    return st == TL_OK ? n : st == TL_ERR_CONTEXT_FULL ? limit + 1 : -1;
}

static bool is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f';
}

static bool only_spaces(const char *t, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if (!is_space(t[i])) return false;
    return true;
}

static bool is_continuation(const char *t, size_t len, size_t i) {
    return i < len && ((unsigned char)t[i] & 0xC0) == 0x80;
}

/* Well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static bool valid_utf8(const char *text, size_t len) {
    for (size_t i = 0; i < len;) {
        bool bad = false;
        const size_t n = tl_utf8_strict(text + i, len - i, &bad);
        if (bad || n == 0) return false;
        i += n;
    }
    return true;
}

static int64_t newlines(const char *t, size_t from, size_t to) {
    int64_t n = 0;
    for (size_t i = from; i < to; i++) n += t[i] == '\n';
    return n;
}

/* Blanking: same length, same newlines, markup turned into spaces or the
 * character an entity names, no '<' left but a decoded "&lt;". */
static void check_html(const char *before, const char *after, size_t len, bool was_utf8) {
    for (size_t i = 0; i < len; i++) {
        if ((before[i] == '\n') != (after[i] == '\n')) abort();
        if (after[i] == '<' && (len - i < 4 || memcmp(before + i, "&lt;", 4) != 0)) abort();
        if (after[i] != before[i] && !strchr(" &<>\"'", after[i])) abort();
    }
    if (was_utf8 && !valid_utf8(after, len)) abort();
}

/* One line, no runs of whitespace, at most max bytes and "...". */
static void check_snippet(const char *chunk, bool utf8) {
    char *s = tl_search_snippet(chunk, SNIPPET_BYTES);
    if (!s) return;
    const size_t n = strlen(s);
    if (n > SNIPPET_BYTES + 3 || (n > 0 && is_space(s[0]))) abort();
    for (size_t i = 0; i < n; i++)
        if ((is_space(s[i]) && s[i] != ' ') || (s[i] == ' ' && i + 1 < n && s[i + 1] == ' ')) abort();
    if (utf8 && !valid_utf8(s, n)) abort();
    free(s);
}

/* Chunks the text and checks each chunk against the one before. */
static void check_chunks(const char *text, size_t len, int32_t max_tokens, int32_t overlap) {
    const bool utf8 = valid_utf8(text, len);
    tl_chunker chunker;
    tl_chunker_init(&chunker, text, len, max_tokens, overlap, count_tokens, NULL);
    const int32_t shared = chunker.overlap;
    if (shared < 0 || shared > max_tokens / 2) abort();
    tl_chunk c, prev = {0};
    size_t n = 0;
    int more;
    while ((more = tl_chunker_next(&chunker, &c)) == 1) {
        if (++n > len) abort(); /* every chunk starts further on */
        if (verbose)
            fprintf(stderr, "chunk %zu: bytes %zu-%zu lines %lld-%lld: \"%.*s\"\n", n, c.start, c.end,
                    (long long)c.first_line, (long long)c.last_line, (int)(c.end - c.start), text + c.start);
        if (c.start >= c.end || c.end > len || is_space(text[c.start]) || is_space(text[c.end - 1])) abort();
        if (c.first_line != 1 + newlines(text, 0, c.start) ||
            c.last_line != c.first_line + newlines(text, c.start, c.end))
            abort();
        if (utf8 && (is_continuation(text, len, c.start) || is_continuation(text, len, c.end))) abort();
        size_t one_char = c.start + 1;
        while (is_continuation(text, len, one_char)) one_char++;
        if (c.end > one_char && count_tokens(NULL, text + c.start, c.end - c.start, max_tokens) > max_tokens) abort();
        if (n == 1) {
            if (!only_spaces(text, 0, c.start)) abort();
        } else {
            if (c.start <= prev.start || c.end <= prev.end) abort();
            if (c.start >= prev.end
                    ? !only_spaces(text, prev.end, c.start)
                    : shared == 0 || count_tokens(NULL, text + c.start, prev.end - c.start, shared) > shared)
                abort();
        }
        char *piece = malloc(c.end - c.start + 1);
        if (!piece) return;
        memcpy(piece, text + c.start, c.end - c.start);
        piece[c.end - c.start] = 0;
        check_snippet(piece, utf8);
        free(piece);
        prev = c;
    }
    if (more < 0) return; /* the tokenizer failed: index reports the file */
    if (!only_spaces(text, n ? prev.end : 0, len)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const int32_t max_tokens = 1 + data[0] % 48, overlap = data[1] % 32;
    data += 2;
    size -= 2;
    const char *nl = memchr(data, '\n', size);
    const size_t name_len = nl ? (size_t)(nl - (const char *)data) : 0;
    char *name = malloc(nl ? name_len + 1 : sizeof "input.txt");
    if (!name) return 0;
    if (nl) {
        memcpy(name, data, name_len);
        name[name_len] = 0;
        data += name_len + 1;
        size -= name_len + 1;
    } else {
        strcpy(name, "input.txt");
    }
    const tl_doc_kind kind = tl_doc_kind_of(name);
    free(name);
    if (kind > TL_DOC_OTHER) abort();
    if (kind == TL_DOC_PDF || kind == TL_DOC_OTHER) return 0;
    const bool binary = memchr(data, 0, size < 8192 ? size : 8192) != NULL;
    if (tl_doc_is_binary((const char *)data, size) != binary) abort();
    if (binary) return 0;

    char *text = malloc(size + 1); /* NUL-terminated, as index reads it */
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    text[size] = 0;
    if (kind == TL_DOC_HTML) {
        tl_doc_strip_html(text, size);
        check_html((const char *)data, text, size, valid_utf8((const char *)data, size));
        if (text[size] != 0) abort();
    }
    check_chunks(text, size, max_tokens, overlap);
    free(text);
    return 0;
}
