/*
 * context.h — the mutable state of evaluating a model (see tl_context in
 * tinyllm.h): the KV cache, per-batch scratch buffers sized once at creation,
 * the logits of the last evaluation and the worker threads.
 */
#ifndef TL_CONTEXT_H
#define TL_CONTEXT_H

#include "model/model.h"
#include "model/steps.h"
#include "tensor/kernels.h"
#include "util/threadpool.h"

/* Consecutive tokens of a batch, [t0, t0 + n), that belong to one sequence
 * and sit at positions pos0, pos0 + 1, ...: attention works run by run. */
typedef struct tl_seq_run {
    int32_t t0, n, seq;
    uint32_t pos0;
    bool exact; /* evaluated as one-token evaluations would be (see tl_token_span) */
} tl_seq_run;

struct tl_context {
    const tl_model *model;
    const tl_kernel_set *kernels;
    uint32_t n_ctx;     /* KV cache capacity in positions */
    uint32_t n_batch;   /* most tokens per forward pass */
    uint32_t n_seq;     /* independent sequences, each with n_ctx positions of cache */
    uint32_t *seq_past; /* positions cached per sequence [n_seq] */
    tl_threadpool *pool;
    void *arena; /* every buffer below but the logits, see layout() */
    size_t arena_bytes;

    /* KV cache: K is [n_layer][n_seq][n_ctx] rows of kv_dim elements of
     * type_k; V is the same, or for f32/f16 transposed: [n_layer][n_seq]
     * [kv_dim] rows of n_ctx (see attention.c). Either way a layer's sequence
     * takes n_ctx * v_row_bytes (tl_kv_layer finds it). */
    uint32_t type_k, type_v;
    size_t k_row_bytes, v_row_bytes;
    uint8_t *k_cache;
    uint8_t *v_cache;

    /* Scratch for one batch of up to n_batch tokens. */
    float *x;                           /* residual stream     [n_batch][n_embd] */
    float *xn;                          /* normalised input    [n_batch][n_embd] */
    float *q;                           /* queries             [n_batch][q_dim] */
    float *k, *v;                       /* new keys / values   [n_batch][kv_dim] */
    float *attn;                        /* attention output    [n_batch][q_dim] */
    float *proj;                        /* projection output   [n_batch][n_embd] */
    float *gate;                        /* feed-forward        [n_batch][n_ff] */
    float *up;                          /*                     [n_batch][n_ff] */
    void *attn_scratch;                 /* per thread, see attention.c */
    size_t attn_scratch_bytes;          /* per thread */
    float *rope_cos, *rope_sin;         /* [n_batch][n_rot/2] */
    float *rope_cos_swa, *rope_sin_swa; /* the same for local layers with their own RoPE */
    tl_act_slots acts;                  /* converted activations (see steps.h) */
    /* Where each token of a batch goes: its sequence and position, and the
     * rows whose logits are wanted ([n_batch] each). */
    int32_t *batch_seq;
    uint32_t *batch_pos;
    int32_t *batch_rows;
    tl_seq_run *batch_runs;
    tl_token_span *batch_spans, *batch_out_spans; /* see forward.c find_spans */

    /* State of families with their own structure (see family.h). */
    void *family;

    /* Logits of the last tl_decode: n_logit_rows rows of n_vocab. */
    float *logits;
    size_t logits_capacity; /* rows allocated */
    int32_t n_logit_rows;
    bool logits_all; /* rows are per token (else only the last) */
};

/* Run the decoder on n tokens of sequence 0 at positions seq_past[0]..
 * (n <= n_batch, fits in the cache). Writes logits for the last token, or
 * all when all_logits. */
void tl_forward(tl_context *ctx, const tl_token *tokens, int32_t n, bool all_logits, float *logits_out);

/* One forward pass over tokens of any sequences: token t belongs to sequence
 * seq[t] at position pos[t] (tokens of a sequence in order, their positions
 * consecutive; earlier positions cached). Logits of the rows listed in
 * out_rows[0..n_out) go to logits_out, in that order. */
typedef struct tl_batch_pass {
    const tl_token *tokens;
    const int32_t *seq;
    const uint32_t *pos;
    int32_t n;
    const int32_t *out_rows;
    int32_t n_out;
    float *logits_out;
} tl_batch_pass;
void tl_forward_batch(tl_context *ctx, const tl_batch_pass *b);

/* The start of layer il's keys (or values) of sequence seq. */
static inline uint8_t *tl_kv_layer(const tl_context *ctx, uint8_t *cache, size_t row_bytes, uint32_t il, int32_t seq) {
    return cache + ((size_t)il * ctx->n_seq + (size_t)seq) * ctx->n_ctx * row_bytes;
}

/* The same pass, writing each token's hidden state after the final norm
 * (n rows of n_embd) instead of logits: embeddings of decoder-only models. */
void tl_forward_hidden(tl_context *ctx, const tl_token *tokens, int32_t n, float *hidden_out);

#endif /* TL_CONTEXT_H */
