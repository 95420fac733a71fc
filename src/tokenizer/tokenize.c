/*
 * tokenize.c — text → token ids (tl_vocab_tokenize): special tokens are split
 * out of the text first, then each stretch of ordinary text goes through the
 * vocabulary's tokenizer (spm.c, bpe.c, wpm.c, ugm.c), as in llama.cpp's
 * llama_vocab::tokenize, which also decides the tokens added around it.
 *
 * Bounded tokenization (tl_vocab_tokenize_bounded, for prompts that must
 * fit a context) gives the same tokens, but refuses text that certainly
 * needs more than the limit: at once when its length alone proves it
 * (fewest_tokens), else by stopping between special-token fragments (and
 * WordPiece words) once the limit is passed.
 *
 * Special-token splitting (llama.cpp's tokenizer_st_partition): every
 * control, user-defined and unknown token is looked for in the text, longest
 * first, and each occurrence becomes that token. Control and unknown tokens
 * are only recognised with parse_special; user-defined ones always are. A
 * token with the lstrip/rstrip attribute also swallows the whitespace before
 * or after it.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/unicode_norm.h"
#include "tokenizer/vocab_internal.h"
#include "util/buffer.h"

/* A piece of the input: a special token, or a stretch of text to tokenize. */
typedef struct fragment {
    tl_token token; /* -1 for text */
    size_t offset, length;
} fragment;

typedef struct fragment_vec {
    fragment *items;
    size_t count, capacity;
    bool failed;
} fragment_vec;

static void fragment_push(fragment_vec *v, fragment f) {
    if (v->failed) {
        return;
    }
    fragment *items = tl_grow(v->items, &v->capacity, v->count + 1, sizeof *items, 16);
    if (!items) {
        v->failed = true;
        return;
    }
    v->items = items;
    v->items[v->count++] = f;
}

/* First occurrence of needle in hay[0..hay_len), or NULL. */
static const char *find_bytes(const char *hay, size_t hay_len, const char *needle, size_t needle_len) {
    if (needle_len == 0 || needle_len > hay_len) {
        return NULL;
    }
    const char *end = hay + hay_len - needle_len + 1;
    for (const char *p = hay; p < end;) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p) {
            return NULL;
        }
        if (memcmp(p, needle, needle_len) == 0) {
            return p;
        }
        p++;
    }
    return NULL;
}

/* Split one text fragment at every occurrence of `needle`, the text of
 * special token `id` (or another spelling of it). */
static void split_at_token(const tl_vocab *v, const char *text, fragment f, tl_token id, const tl_str *needle,
                           fragment_vec *out) {
    const uint32_t attr = v->info[id].attr;
    size_t offset = f.offset, length = f.length;
    while (length > 0) {
        const char *match = find_bytes(text + offset, length, needle->ptr, needle->len);
        if (!match) {
            fragment_push(out, (fragment){-1, offset, length});
            return;
        }
        size_t match_offset = (size_t)(match - text);
        size_t left_length = match_offset - offset;
        if (attr & TL_ATTR_LSTRIP) {
            while (left_length > 0 && isspace((unsigned char)text[offset + left_length - 1])) {
                left_length--;
            }
        }
        if (left_length > 0) {
            fragment_push(out, (fragment){-1, offset, left_length});
        }
        fragment_push(out, (fragment){id, 0, 0});
        size_t right_offset = match_offset + needle->len;
        size_t right_length = offset + length - right_offset;
        if (attr & TL_ATTR_RSTRIP) {
            while (right_length > 0 && isspace((unsigned char)text[right_offset])) {
                right_offset++;
                right_length--;
            }
        }
        offset = right_offset;
        length = right_length;
    }
}

/* Splits every text fragment at `needle`, a spelling of special token id. */
static void split_fragments(const tl_vocab *v, const char *text, tl_token id, const tl_str *needle,
                            fragment_vec *fragments, fragment_vec *next) {
    next->count = 0;
    for (size_t i = 0; i < fragments->count; i++) {
        if (fragments->items[i].token >= 0) {
            fragment_push(next, fragments->items[i]);
        } else {
            split_at_token(v, text, fragments->items[i], id, needle, next);
        }
    }
    fragment_vec tmp = *fragments;
    *fragments = *next;
    *next = tmp;
}

/* SentencePiece-style vocabularies converted from a tokenizer.json store a
 * user-defined token of "▁"s (Gemma's "▁▁", "▁▁▁", ...) as spaces, which
 * llama.cpp matches in the raw text; Hugging Face matches the "▁"s
 * themselves there (and the spaces become the same token through the
 * model). The "▁" spelling of such a token into buffer, or false. */
static bool marker_spelling(const tl_vocab *v, tl_token id, char *buffer, size_t capacity, tl_str *spelling) {
    const tl_str *t = &v->texts[id];
    if (v->kind != TL_VOCAB_SPM || !(v->info[id].attr & TL_ATTR_USER_DEFINED) || t->len == 0 || 3 * t->len > capacity) {
        return false;
    }
    for (size_t i = 0; i < t->len; i++) {
        if (t->ptr[i] != ' ') return false;
        memcpy(buffer + 3 * i, "\xE2\x96\x81", 3);
    }
    *spelling = (tl_str){buffer, 3 * t->len};
    return true;
}

static void partition(const tl_vocab *v, const char *text, size_t len, bool parse_special, fragment_vec *fragments) {
    if (len > 0) {
        fragment_push(fragments, (fragment){-1, 0, len});
    }
    fragment_vec next = {0};
    char spelling_buffer[3 * 64];
    for (int32_t s = 0; s < v->n_special && !fragments->failed; s++) {
        tl_token id = v->special[s];
        if (!parse_special && (v->info[id].attr & (TL_ATTR_CONTROL | TL_ATTR_UNKNOWN))) {
            continue;
        }
        tl_str spelling;
        if (marker_spelling(v, id, spelling_buffer, sizeof spelling_buffer, &spelling)) {
            split_fragments(v, text, id, &spelling, fragments, &next);
        }
        split_fragments(v, text, id, &v->texts[id], fragments, &next);
    }
    free(next.items);
}

/* SentencePiece text: an optional leading space, and every space as U+2581. */
static bool spm_escape(const char *text, size_t len, bool prefix_space, char **buffer, size_t *capacity,
                       size_t *out_len) {
    if (len > SIZE_MAX / 3 - 1) {
        return false;
    }
    char *b = tl_grow(*buffer, capacity, 3 * len + 3, 1, 256);
    if (!b) {
        return false;
    }
    *buffer = b;
    char *p = *buffer;
    if (prefix_space) {
        memcpy(p, "\xE2\x96\x81", 3);
        p += 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(p, "\xE2\x96\x81", 3);
            p += 3;
        } else {
            *p++ = text[i];
        }
    }
    *out_len = (size_t)(p - *buffer);
    return true;
}

static void tokenize_spm(const tl_vocab *v, const char *text, const fragment_vec *fragments, size_t limit,
                         tl_token_vec *out) {
    char *buffer = NULL;
    size_t capacity = 0;
    bool previous_was_special = true; /* the text start counts as one */
    for (size_t i = 0; i < fragments->count && !out->failed && out->count <= limit; i++) {
        const fragment *f = &fragments->items[i];
        if (f->token >= 0) {
            tl_token_vec_push(out, f->token);
            previous_was_special = true;
            continue;
        }
        size_t n;
        if (!spm_escape(text + f->offset, f->length, v->add_space_prefix && previous_was_special, &buffer, &capacity,
                        &n)) {
            out->failed = true;
            break;
        }
        tl_spm_tokenize(v, buffer, n, out);
        previous_was_special = false;
    }
    free(buffer);
}

static void tokenize_bpe(const tl_vocab *v, const char *text, const fragment_vec *fragments, size_t limit,
                         tl_token_vec *out) {
    tl_bpe_scratch scratch = {0};
    tl_merge_queue_init(&scratch.queue);
    for (size_t i = 0; i < fragments->count && !out->failed && out->count <= limit; i++) {
        const fragment *f = &fragments->items[i];
        if (f->token >= 0) {
            tl_token_vec_push(out, f->token);
        } else {
            tl_bpe_tokenize(v, text + f->offset, f->length, &scratch, out);
        }
    }
    tl_bpe_scratch_free(&scratch);
}

/* WordPiece words never contain whitespace, so a long stretch of text can
 * be cut after any ASCII whitespace byte and tokenized piece by piece with
 * the same result, stopping once more than `limit` tokens are out. */
static void tokenize_wpm_in_pieces(const tl_vocab *v, const char *text, size_t len, size_t limit, tl_token_vec *out) {
    enum { PIECE = 1 << 16 };
    for (size_t start = 0; start < len && !out->failed && out->count <= limit;) {
        size_t end = len;
        if (len - start > PIECE) {
            end = start + PIECE;
            while (end < len && !(text[end - 1] == ' ' || (text[end - 1] >= 0x09 && text[end - 1] <= 0x0D))) end++;
        }
        tl_wpm_tokenize(v, text + start, end - start, out);
        start = end;
    }
}

/* WordPiece and Unigram tokenize each stretch of text on its own. */
static void tokenize_fragments(const tl_vocab *v, const char *text, const fragment_vec *fragments, size_t limit,
                               tl_token_vec *out) {
    for (size_t i = 0; i < fragments->count && !out->failed && out->count <= limit; i++) {
        const fragment *f = &fragments->items[i];
        if (f->token >= 0) {
            tl_token_vec_push(out, f->token);
        } else if (v->kind == TL_VOCAB_WPM) {
            tokenize_wpm_in_pieces(v, text + f->offset, f->length, limit, out);
        } else {
            tl_ugm_tokenize(v, text + f->offset, f->length, out);
        }
    }
}

/* The fewest tokens the partitioned text can give where every byte ends
 * up in some token (see fewest_tokens): one per special token, and each
 * stretch of text's bytes over the longest token text. Exact about the
 * whitespace special tokens swallow, which fewest_tokens cannot be. */
static size_t fewest_tokens_of_fragments(const tl_vocab *v, const fragment_vec *fragments) {
    if (!v->every_byte_in_a_token || v->max_token_len == 0) {
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < fragments->count; i++) {
        const size_t len = fragments->items[i].length;
        n += fragments->items[i].token >= 0 ? 1 : len / v->max_token_len + (len % v->max_token_len != 0);
    }
    return n;
}

/* The vocabulary's Unicode normalization (NFC) of each stretch of text, as
 * Hugging Face normalizes the text between added tokens: the fragments are
 * pointed into `normalized`. false when out of memory. */
static bool normalize_fragments(const char *text, fragment_vec *fragments, tl_text_buffer *normalized) {
    for (size_t i = 0; i < fragments->count; i++) {
        fragment *f = &fragments->items[i];
        if (f->token >= 0) continue;
        size_t offset = normalized->length;
        if (!tl_nfc_append(text + f->offset, f->length, normalized)) return false;
        f->offset = offset;
        f->length = normalized->length - offset;
    }
    return true;
}

/* All of text's tokens into out, except that it stops, with more than
 * `limit` tokens in out, once that many are certain. */
static void tokenize_into(const tl_vocab *v, const char *text, size_t text_len, bool add_special, bool parse_special,
                          size_t limit, tl_token_vec *out) {
    fragment_vec fragments = {0};
    partition(v, text, text_len, parse_special, &fragments);
    tl_text_buffer normalized = {0};
    if (v->nfc && !fragments.failed) {
        fragments.failed = !normalize_fragments(text, &fragments, &normalized);
        text = normalized.data ? normalized.data : "";
    }
    if (limit != SIZE_MAX && fewest_tokens_of_fragments(v, &fragments) > limit) {
        out->count = limit + 1; /* certainly too long: nothing tokenized */
        free(fragments.items);
        free(normalized.data);
        return;
    }

    out->failed = fragments.failed;
    /* BERT always gets [CLS] ... [SEP] with add_special, whatever the
     * add_bos / add_sep flags say (as llama.cpp). */
    const bool wordpiece = v->kind == TL_VOCAB_WPM;
    if (add_special && (v->add_bos || wordpiece) && v->bos >= 0) {
        tl_token_vec_push(out, v->bos);
    }
    switch (v->kind) {
    case TL_VOCAB_SPM: tokenize_spm(v, text, &fragments, limit, out); break;
    case TL_VOCAB_BPE: tokenize_bpe(v, text, &fragments, limit, out); break;
    case TL_VOCAB_WPM:
    case TL_VOCAB_UGM: tokenize_fragments(v, text, &fragments, limit, out); break;
    }
    if (add_special && wordpiece && v->sep >= 0) {
        tl_token_vec_push(out, v->sep);
    } else if (add_special && !wordpiece && v->add_eos && v->eos >= 0) {
        tl_token_vec_push(out, v->eos);
    }
    free(fragments.items);
    free(normalized.data);
}

/* Copies the tokens of `out` to `tokens` when they are at most `limit`
 * and frees `out`: their count, `too_long` past the limit, INT32_MIN when
 * tokenizing ran out of memory. */
static int32_t hand_over(tl_token_vec *out, tl_token *tokens, size_t limit, int32_t too_long) {
    int32_t result;
    if (out->failed) {
        result = INT32_MIN;
    } else if (out->count > limit) {
        result = too_long;
    } else {
        if (out->count > 0) {
            memcpy(tokens, out->items, out->count * sizeof *tokens);
        }
        result = (int32_t)out->count;
    }
    tl_token_vec_free(out);
    return result;
}

int32_t tl_vocab_tokenize(const tl_vocab *v, const char *text, size_t text_len, bool add_special, bool parse_special,
                          tl_token *tokens, int32_t max_tokens) {
    if (!text) {
        text_len = 0;
        text = "";
    }
    tl_token_vec out = {0};
    tokenize_into(v, text, text_len, add_special, parse_special, SIZE_MAX, &out);
    const bool too_many = !out.failed && out.count > INT32_MAX; /* absurdly many tokens: as out of memory */
    return hand_over(&out, tokens, max_tokens > 0 ? (size_t)max_tokens : 0, too_many ? INT32_MIN : -(int32_t)out.count);
}

/* The fewest tokens `text` can give, from its length alone: where every
 * byte ends up in some token (vocab_internal.h), no token covers more bytes
 * than the longest token text (SentencePiece's escaping and BPE's byte
 * alphabet only lengthen text); whitespace is left out of the count when a
 * special token may swallow it, and NFC's shrinking is allowed for. 0 where
 * nothing is known. */
static size_t fewest_tokens(const tl_vocab *v, const char *text, size_t len) {
    if (!v->every_byte_in_a_token || v->max_token_len == 0) {
        return 0;
    }
    size_t counted = len;
    if (v->special_strips_whitespace) {
        counted = 0;
        for (size_t i = 0; i < len; i++) {
            counted += !isspace((unsigned char)text[i]);
        }
    }
    if (v->nfc) {
        counted /= TL_NFC_MAX_SHRINK;
    }
    return counted / v->max_token_len + (counted % v->max_token_len != 0);
}

int32_t tl_vocab_tokenize_bounded(const tl_vocab *v, const char *text, size_t text_len, bool add_special,
                                  bool parse_special, tl_token *tokens, int32_t max_tokens) {
    if (!text) {
        text_len = 0;
        text = "";
    }
    const size_t limit = max_tokens > 0 ? (size_t)max_tokens : 0;
    if (fewest_tokens(v, text, text_len) > limit) {
        return TL_VOCAB_TOO_LONG;
    }
    tl_token_vec out = {0};
    tokenize_into(v, text, text_len, add_special, parse_special, limit, &out);
    return hand_over(&out, tokens, limit, TL_VOCAB_TOO_LONG);
}
