/*
 * bpe.c — the byte-level BPE tokenizer of "gpt2" vocabularies, as llama.cpp
 * implements it (llm_tokenizer_bpe).
 *
 * The pre-tokenizer splits the text into words. Each word's bytes are
 * written in the GPT-2 byte alphabet and start as one symbol per character;
 * repeatedly, the adjacent pair with the lowest merge rank (leftmost on
 * ties) is merged. With ignore_merges (Llama 3), a word that is a token as a
 * whole is taken as is. A final symbol that is not a token is output byte by
 * byte, each byte as the token of that single byte's text, as llama.cpp does.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab_internal.h"
#include "util/buffer.h"

typedef struct tl_bpe_symbol {
    int32_t prev, next;
    uint32_t offset, n; /* in the encoded word; n = 0 once merged away */
} bpe_symbol;

void tl_bpe_scratch_free(tl_bpe_scratch *s) {
    tl_span_vec_free(&s->words);
    tl_span_vec_free(&s->pieces);
    free(s->encoded);
    free(s->symbols);
    tl_merge_queue_free(&s->queue);
    memset(s, 0, sizeof *s);
}

/* Queue the merge of two neighbouring symbols if the vocabulary has it. */
static void add_pair(const tl_vocab *v, const char *word, const bpe_symbol *symbols, int32_t left, int32_t right,
                     tl_merge_queue *queue) {
    if (left < 0 || right < 0) {
        return;
    }
    const bpe_symbol *l = &symbols[left], *r = &symbols[right];
    int32_t rank = tl_merge_map_find(&v->merges, word + l->offset, l->n, word + r->offset, r->n);
    if (rank < 0) {
        return;
    }
    tl_merge_queue_push(
        queue, (tl_merge_candidate){
                   .priority = -(double)rank, .left = left, .right = right, .left_len = l->n, .right_len = r->n});
}

/* Merge one encoded word and output its tokens. */
static void tokenize_word(const tl_vocab *v, const char *word, size_t len, tl_bpe_scratch *s, tl_token_vec *out) {
    if (v->ignore_merges) {
        tl_token id = tl_vocab_find(v, word, len);
        if (id >= 0) {
            tl_token_vec_push(out, id);
            return;
        }
    }
    bpe_symbol *symbols = tl_grow(s->symbols, &s->symbols_capacity, len, sizeof *symbols, 256);
    if (!symbols) {
        out->failed = true;
        return;
    }
    s->symbols = symbols;
    int32_t n = 0;
    for (size_t offset = 0; offset < len;) {
        size_t char_len = tl_utf8_len((unsigned char)word[offset]);
        if (char_len > len - offset) {
            char_len = len - offset;
        }
        symbols[n] = (bpe_symbol){n - 1, n + 1, (uint32_t)offset, (uint32_t)char_len};
        offset += char_len;
        n++;
    }
    symbols[n - 1].next = -1;

    tl_merge_queue_clear(&s->queue);
    for (int32_t i = 1; i < n; i++) {
        add_pair(v, word, symbols, i - 1, i, &s->queue);
    }
    tl_merge_candidate c;
    while (tl_merge_queue_pop(&s->queue, &c)) {
        bpe_symbol *l = &symbols[c.left], *r = &symbols[c.right];
        if (l->n == 0 || r->n == 0 || l->n != c.left_len || r->n != c.right_len) {
            continue; /* stale: one side has changed since it was queued */
        }
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) {
            symbols[r->next].prev = c.left;
        }
        add_pair(v, word, symbols, l->prev, c.left, &s->queue);
        add_pair(v, word, symbols, c.left, l->next, &s->queue);
    }
    if (s->queue.out_of_memory) {
        out->failed = true;
    }

    for (int32_t i = 0; i != -1; i = symbols[i].next) {
        const bpe_symbol *sym = &symbols[i];
        tl_token id = tl_vocab_find(v, word + sym->offset, sym->n);
        if (id >= 0) {
            tl_token_vec_push(out, id);
            continue;
        }
        for (uint32_t j = 0; j < sym->n; j++) {
            tl_token byte = tl_vocab_find(v, word + sym->offset + j, 1);
            if (byte >= 0) {
                tl_token_vec_push(out, byte);
            }
        }
    }
}

void tl_bpe_tokenize(const tl_vocab *v, const char *text, size_t len, tl_bpe_scratch *s, tl_token_vec *out) {
    s->words.count = 0;
    if (!tl_pretokenize(v->pretokenizer, text, len, &s->words, &s->pieces)) {
        out->failed = true;
        return;
    }
    for (size_t w = 0; w < s->words.count && !out->failed; w++) {
        const char *word = text + s->words.items[w].offset;
        size_t word_len = s->words.items[w].length;
        /* Each byte becomes at most two bytes in the GPT-2 alphabet. */
        char *encoded = tl_grow(s->encoded, &s->encoded_capacity, 2 * word_len + 1, 1, 256);
        if (!encoded) {
            out->failed = true;
            return;
        }
        s->encoded = encoded;
        size_t n = 0;
        for (size_t i = 0; i < word_len; i++) {
            size_t char_len;
            const char *ch = tl_byte_to_unicode((uint8_t)word[i], &char_len);
            memcpy(s->encoded + n, ch, char_len);
            n += char_len;
        }
        if (n > 0) {
            tokenize_word(v, s->encoded, n, s, out);
        }
    }
}
