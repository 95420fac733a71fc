/*
 * spm.c — the SentencePiece-style tokenizer of "llama" vocabularies, as
 * llama.cpp implements it (llm_tokenizer_spm).
 *
 * The text (spaces already replaced by U+2581) starts as one symbol per
 * UTF-8 character; a byte that is not part of a well-formed sequence is a
 * symbol of its own (llama.cpp would let it swallow the next bytes).
 * Repeatedly, the adjacent pair whose concatenation is the highest-scoring
 * token (leftmost on ties) is merged. Symbols that are not tokens at the end
 * fall back to byte tokens (<0xXX>); where the vocabulary lacks some of a
 * symbol's bytes, a run of such symbols is one unknown token, as Hugging
 * Face's BPE with byte_fallback and fuse_unk makes it (Llama 2, Gemma 3,
 * TinyStories).
 */
#include <stdlib.h>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab_internal.h"

typedef struct spm_symbol {
    int32_t prev, next; /* neighbours in the list of live symbols, -1 at the ends */
    uint32_t offset;    /* start in the text */
    uint32_t n;         /* length in bytes; 0 once merged into its left neighbour */
} spm_symbol;

/* Queue the merge of symbols left and right if their concatenation is a
 * token. */
static void try_add_pair(const tl_vocab *v, const char *text, const spm_symbol *symbols, int32_t left, int32_t right,
                         tl_merge_queue *queue) {
    if (left < 0 || right < 0) {
        return;
    }
    const spm_symbol *l = &symbols[left], *r = &symbols[right];
    tl_token id = tl_vocab_find(v, text + l->offset, (size_t)l->n + r->n);
    if (id < 0) {
        return;
    }
    tl_merge_queue_push(
        queue, (tl_merge_candidate){
                   .priority = v->info[id].score, .left = left, .right = right, .left_len = l->n, .right_len = r->n});
}

/* Output a final symbol: its token, or else its bytes' tokens when the
 * vocabulary has every one of them, or else the unknown token, one for a
 * whole run of such symbols (Hugging Face's byte_fallback and fuse_unk;
 * llama.cpp falls back byte by byte, an unknown token per missing byte).
 * *unknown_run tells whether the last token out was such an unknown. */
static void emit_symbol(const tl_vocab *v, const char *text, const spm_symbol *s, bool *unknown_run,
                        tl_token_vec *out) {
    tl_token id = tl_vocab_find(v, text + s->offset, s->n);
    if (id >= 0) {
        tl_token_vec_push(out, id);
        *unknown_run = false;
        return;
    }
    bool all_bytes = true;
    for (uint32_t i = 0; i < s->n && all_bytes; i++) {
        all_bytes = v->byte_token[(unsigned char)text[s->offset + i]] >= 0;
    }
    if (all_bytes) {
        for (uint32_t i = 0; i < s->n; i++) {
            tl_token_vec_push(out, v->byte_token[(unsigned char)text[s->offset + i]]);
        }
        *unknown_run = false;
    } else if (v->unk >= 0 && !*unknown_run) {
        tl_token_vec_push(out, v->unk);
        *unknown_run = true;
    }
}

void tl_spm_tokenize(const tl_vocab *v, const char *text, size_t len, tl_token_vec *out) {
    if (len == 0) {
        return;
    }
    if (len > UINT32_MAX / 2) {
        out->failed = true;
        return;
    }
    spm_symbol *symbols = malloc(len * sizeof *symbols);
    if (!symbols) {
        out->failed = true;
        return;
    }
    int32_t n = 0;
    for (size_t offset = 0; offset < len;) {
        size_t char_len = tl_utf8_char_len(text + offset, len - offset);
        symbols[n] = (spm_symbol){.prev = n - 1, .next = n + 1, .offset = (uint32_t)offset, .n = (uint32_t)char_len};
        offset += char_len;
        n++;
    }
    symbols[n - 1].next = -1;

    tl_merge_queue queue;
    tl_merge_queue_init(&queue);
    for (int32_t i = 1; i < n; i++) {
        try_add_pair(v, text, symbols, i - 1, i, &queue);
    }
    tl_merge_candidate c;
    while (tl_merge_queue_pop(&queue, &c)) {
        spm_symbol *l = &symbols[c.left], *r = &symbols[c.right];
        /* Skip candidates made stale by an earlier merge. */
        if (l->n == 0 || r->n == 0 || l->n != c.left_len || r->n != c.right_len) {
            continue;
        }
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) {
            symbols[r->next].prev = c.left;
        }
        try_add_pair(v, text, symbols, l->prev, c.left, &queue);
        try_add_pair(v, text, symbols, c.left, l->next, &queue);
    }
    if (queue.out_of_memory) {
        out->failed = true;
    }
    tl_merge_queue_free(&queue);

    bool unknown_run = false;
    for (int32_t i = 0; i != -1; i = symbols[i].next) {
        emit_symbol(v, text, &symbols[i], &unknown_run, out);
    }
    free(symbols);
}
