/*
 * wpm.c — the WordPiece tokenizer of "bert" vocabularies: Hugging Face's
 * BertNormalizer, BertPreTokenizer and WordPiece model, with llama.cpp's
 * token texts.
 *
 * Normalizer, in Hugging Face's order: clean_text drops U+0000, U+FFFD
 * (also what invalid UTF-8 decodes to) and every control, format, private
 * use and surrogate character (Cc, Cf, Co, Cs; unassigned code points and
 * noncharacters stay) except tab, newline and carriage return, and turns
 * whitespace into word breaks; CJK ideographs become words of their own; with accent
 * stripping the text is put in canonical decomposition (NFD: every
 * character fully decomposed, marks in canonical order) and the nonspacing
 * marks (Mn) are removed, while spacing marks (Mc: Devanagari, Bengali,
 * Tamil, Thai vowel signs) and enclosing marks (Me) stay; with lower-casing
 * each character is lower-cased. The pre-tokenizer then splits at
 * whitespace and makes every punctuation character (Unicode P*) and every
 * ASCII symbol a word of its own. Character classes, case mappings and
 * decompositions come from utf8proc.
 *
 * Each word, with U+2581 in front (llama.cpp's converter writes word-initial
 * pieces as "▁piece" and continuation pieces, "##piece" in BERT's files,
 * without the "##"), is cut greedily into the longest tokens from the left;
 * if some position matches no token (a "▁" of the text inside a word
 * matches none: it would read as a word-initial piece), or the word is
 * longer than 100 characters (Hugging Face's max_input_chars_per_word), the
 * whole word becomes the unknown token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/unicode_norm.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab_internal.h"
#include "util/error.h"
#include "util/buffer.h"

static bool is_whitespace(uint32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

/* The CJK ranges BERT treats as single-character words (the same list as
 * llama.cpp and Hugging Face, including their 0x2B920 start). */
static bool is_chinese_char(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

static utf8proc_category_t category_of(uint32_t cp) {
    return cp <= 0x10FFFF ? utf8proc_category((utf8proc_int32_t)cp) : UTF8PROC_CATEGORY_CN;
}

/* clean_text: characters dropped (Hugging Face's is_control, except tab,
 * newline, carriage return, which are whitespace). */
static bool is_dropped(uint32_t cp) {
    if (cp == 0 || cp == 0xFFFD || cp > 0x10FFFF) return true;
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    utf8proc_category_t cat = category_of(cp);
    return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CO ||
           cat == UTF8PROC_CATEGORY_CS;
}

/* The normalizer: text[0..len) into code points, whitespace as ' '. */
static void normalize(const tl_vocab *v, const char *text, size_t len, tl_codepoints *out) {
    for (size_t offset = 0; offset < len && !out->failed;) {
        uint32_t cp;
        offset += tl_utf8_decode(text + offset, len - offset, &cp);
        if (is_dropped(cp)) continue;
        if (is_whitespace(cp)) {
            tl_codepoints_push(out, ' ');
        } else if (v->strip_accents) {
            tl_codepoints_push_decomposed(out, (int32_t)cp);
        } else {
            tl_codepoints_push(out, (int32_t)cp);
        }
    }
    if (v->strip_accents) {
        tl_codepoints_canonical_order(out);
        size_t kept = 0;
        for (size_t i = 0; i < out->count; i++) {
            if (category_of((uint32_t)out->items[i]) != UTF8PROC_CATEGORY_MN) {
                out->items[kept++] = out->items[i];
            }
        }
        out->count = kept;
    }
    if (v->lowercase) {
        for (size_t i = 0; i < out->count; i++) {
            out->items[i] = utf8proc_tolower(out->items[i]);
        }
    }
}

/* Words as spans of a normalized copy of the text. */
typedef struct word_list {
    char *text;
    size_t length, capacity;
    tl_span_vec words;
    size_t word_start; /* where the word being built starts */
    bool failed;
} word_list;

static void append(word_list *w, const char *bytes, size_t n) {
    if (w->failed || n == 0) return; /* w->text is NULL until the first bytes */
    char *text = n <= SIZE_MAX - w->length ? tl_grow(w->text, &w->capacity, w->length + n, 1, 256) : NULL;
    if (!text) {
        w->failed = true;
        return;
    }
    w->text = text;
    memcpy(w->text + w->length, bytes, n);
    w->length += n;
}

static void finish_word(word_list *w) {
    if (w->failed || w->length == w->word_start) return;
    if (!tl_span_vec_push(&w->words, w->word_start, w->length - w->word_start)) {
        w->failed = true;
    }
    w->word_start = w->length;
}

/* BERT's normalizer and pre-tokenizer: text[0..len) into w. */
static void split_words(const tl_vocab *v, const char *text, size_t len, word_list *w) {
    tl_codepoints normalized = {0};
    normalize(v, text, len, &normalized);
    w->failed = normalized.failed;
    for (size_t i = 0; i < normalized.count && !w->failed; i++) {
        uint32_t cp = (uint32_t)normalized.items[i];
        if (cp == ' ') {
            finish_word(w);
            continue;
        }
        char utf8[4];
        size_t n = tl_utf8_encode(cp, utf8);
        utf8proc_category_t cat = category_of(cp);
        bool punctuation = cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
        bool ascii_symbol = cp < 0x7F && cat >= UTF8PROC_CATEGORY_SM && cat <= UTF8PROC_CATEGORY_SO;
        if (punctuation || ascii_symbol || is_chinese_char(cp)) {
            finish_word(w);
            append(w, utf8, n);
            finish_word(w);
        } else {
            append(w, utf8, n);
        }
    }
    finish_word(w);
    tl_codepoints_free(&normalized);
}

tl_status tl_wpm_setup(tl_vocab *v, tl_error *err) {
    size_t total = 0;
    for (tl_token id = 0; id < v->n_tokens; id++) total += v->texts[id].len;
    if (!tl_byte_trie_init(&v->wpm_tokens, total)) {
        return tl_fail(err, TL_ERR_NOMEM, "tokenizer.ggml.tokens: out of memory for the token trie");
    }
    for (tl_token id = 0; id < v->n_tokens; id++) {
        tl_byte_trie_insert(&v->wpm_tokens, v->texts[id].ptr, v->texts[id].len, id);
    }
    return TL_OK;
}

/* The longest token that starts text[0..len): its id and length, or -1.
 * One walk down the trie (trying every length from the longest token text
 * down, as llama.cpp does, costs the square of that length per position,
 * which a file with one very long token makes unbounded). */
static tl_token longest_token(const tl_vocab *v, const char *text, size_t len, size_t *match_len) {
    tl_token id = -1;
    int32_t node = 0;
    for (size_t k = 0; k < len; k++) {
        node = tl_byte_trie_child(&v->wpm_tokens, node, (unsigned char)text[k]);
        if (node < 0) break;
        tl_token here = tl_byte_trie_value(&v->wpm_tokens, node);
        if (here >= 0) {
            id = here;
            *match_len = k + 1;
        }
    }
    return id;
}

/* Hugging Face's max_input_chars_per_word: a longer word is unknown. */
#define MAX_WORD_CHARS 100

/* Greedy longest-match of "▁" + word; the unknown token if it fails. */
static void tokenize_word(const tl_vocab *v, const char *word, size_t word_len, char **scratch,
                          size_t *scratch_capacity, tl_token_vec *out) {
    const size_t n = word_len + 3;
    char *grown = tl_grow(*scratch, scratch_capacity, n, 1, 64);
    if (!grown) {
        out->failed = true;
        return;
    }
    *scratch = grown;
    char *w = *scratch;
    memcpy(w, "\xE2\x96\x81", 3);
    memcpy(w + 3, word, word_len);

    size_t first = out->count;
    size_t n_chars = 0;
    for (size_t i = 0; i < word_len; i++) n_chars += ((unsigned char)word[i] & 0xC0) != 0x80;
    for (size_t i = 0; i < n && n_chars <= MAX_WORD_CHARS; i++) {
        size_t j = 0;
        /* A "▁" of the text itself inside the word would read as the start
         * of a word-initial piece; BERT's "##▁..." pieces do not exist. */
        bool marker_inside = i > 0 && n - i >= 3 && memcmp(w + i, "\xE2\x96\x81", 3) == 0;
        tl_token id = marker_inside ? -1 : longest_token(v, w + i, n - i, &j);
        if (id < 0) {
            out->count = first; /* discard the word's tokens */
            break;
        }
        tl_token_vec_push(out, id);
        i += j - 1;
    }
    if (out->count == first && v->unk >= 0) {
        tl_token_vec_push(out, v->unk);
    }
}

void tl_wpm_tokenize(const tl_vocab *v, const char *text, size_t len, tl_token_vec *out) {
    word_list w = {0};
    split_words(v, text, len, &w);
    if (w.failed) {
        out->failed = true;
    }
    char *scratch = NULL;
    size_t scratch_capacity = 0;
    for (size_t k = 0; k < w.words.count && !out->failed; k++) {
        tokenize_word(v, w.text + w.words.items[k].offset, w.words.items[k].length, &scratch, &scratch_capacity, out);
    }
    free(scratch);
    free(w.text);
    tl_span_vec_free(&w.words);
}
