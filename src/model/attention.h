/*
 * attention.h — causal self-attention over the KV cache (see attention.c).
 */
#ifndef TL_ATTENTION_H
#define TL_ATTENTION_H

#include "model/context.h"

/* Per-thread scratch bytes attention needs for a context of n_ctx. */
size_t tl_attention_scratch_bytes(const tl_hparams *hp, uint32_t n_ctx);

/* True when V of this type is cached transposed (a row per head dimension,
 * positions along it): f32 and f16. Other types keep a row per position. */
bool tl_attention_v_transposed(uint32_t type_v);

/* Write one position's key and value (kv_dim floats each) into the cache. */
void tl_attention_store(tl_context *ctx, const tl_kernel_set *k, uint8_t *k_layer, uint8_t *v_layer, uint32_t pos,
                        const float *key, const float *value);

/* What differs between layers and architectures. */
typedef struct tl_attention_params {
    float scale;     /* queries are multiplied by this */
    float softcap;   /* scores become c·tanh(s/c); 0: off (Gemma 2) */
    uint32_t window; /* a query at p sees keys at p-window+1..p; 0: all before it */
} tl_attention_params;

/* This thread's share of attention in layer il for the queries of the
 * batch's runs (their rotated queries in ctx->q, outputs to ctx->attn); each
 * run's earlier positions and its own are already in its sequence's cache. */
void tl_attention_share(tl_context *ctx, const tl_kernel_set *k, const tl_attention_params *ap, const tl_seq_run *runs,
                        int32_t n_runs, uint32_t il, int ith, int nth);

#endif /* TL_ATTENTION_H */
