/*
 * family.h — the hooks of model families whose structure is not the generic
 * decoder's: bidirectional encoders (BERT) and encoder-decoders (T5).
 *
 * Decoder-only architectures differ in details the arch table describes and
 * share forward.c. A family with a different structure has its own small
 * file (bert.c, t5.c) and plugs in through these hooks; the architecture row
 * points to them. Everything a family keeps lives behind model->family and
 * ctx->family.
 */
#ifndef TL_FAMILY_H
#define TL_FAMILY_H

#include "model/context.h"
#include "model/loader.h"

typedef struct tl_family_ops {
    /* Reads the hyper-parameters (into m->hp: n_embd, n_layer, n_head,
     * n_ctx_train, n_vocab... so info and context sizing work), m->pooling,
     * m->decoder_start, and the tensors (into m->family). */
    tl_status (*load)(tl_loader *ld);
    void (*free_model)(tl_model *m);
    /* Allocates ctx->family (caches, scratch) for ctx->n_ctx positions and
     * batches of ctx->n_batch tokens; ctx->pool and ctx->kernels are set. */
    tl_status (*context_init)(tl_context *ctx, tl_error *err);
    void (*context_free)(tl_context *ctx);
    /* Runs the encoder over one whole sequence (forgetting any earlier one,
     * and for encoder-decoders clearing the decoder's cache). */
    tl_status (*encode)(tl_context *ctx, const tl_token *tokens, int32_t n, tl_error *err);
    /* Optional: the encoder over n_seqs sequences packed one after another
     * (sequence i is tokens [starts[i], starts[i + 1]), starts[0] = 0,
     * starts[n_seqs] <= ctx->n_batch, each at most ctx->n_ctx long), each
     * attending only to itself with positions from 0; encoder_output then
     * gives the rows of all of them. */
    tl_status (*encode_batch)(tl_context *ctx, const tl_token *tokens, const int32_t *starts, int32_t n_seqs,
                              tl_error *err);
    /* The last encode's output: *n rows of n_embd floats (after the
     * encoder's final norm), or NULL if nothing was encoded. */
    const float *(*encoder_output)(const tl_context *ctx, int32_t *n);
    /* Encoder-decoders: the decoder, with tl_forward's contract (n tokens at
     * positions ctx->n_past.., n <= n_batch, logits for the last token or all). */
    void (*forward)(tl_context *ctx, const tl_token *tokens, int32_t n, bool all_logits, float *logits);
    /* Rerankers: the number of outputs of the classification head (0: the
     * model has none), and the head on the last encode's first row. */
    int32_t (*rank_outputs)(const tl_model *m);
    void (*rank)(tl_context *ctx, float *outputs);
} tl_family_ops;

/* The families (bert.c, t5.c). */
extern const tl_family_ops tl_bert_ops;
extern const tl_family_ops tl_t5_ops;

#endif /* TL_FAMILY_H */
