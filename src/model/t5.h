/*
 * t5.h — what the T5 family's files share (t5.c loads the model and sets up
 * a context, t5_forward.c runs the encoder and the decoder, t5_attention.c
 * does attention with relative position biases).
 *
 * T5 differs from the generic decoder enough to have its own structure: an
 * encoder stack and a decoder stack; RMS norms without mean or bias; no
 * positional embeddings but a learned bias per (head, relative-position
 * bucket) added to the attention scores, which are not scaled by
 * 1/sqrt(head size); a cross-attention block in every decoder layer over the
 * encoder's output. Everything follows llama.cpp's t5 graph, which is the
 * reference (e.g. a tied output matrix is used unscaled, as there).
 */
#ifndef TL_T5_H
#define TL_T5_H

#include "model/family.h"

/* One encoder or decoder layer. Cross-attention tensors exist in decoder
 * layers only; ffn_gate.data is NULL in plain T5 (ReLU feed-forward). */
typedef struct t5_layer {
    const float *attn_norm;
    tl_matrix wq, wk, wv, wo;
    /* [n_buckets][n_head] floats: this layer's own relative attention bias,
     * else layer 0's (HF T5 stores it in layer 0 only). */
    const float *rel_bias;
    const float *cross_norm;
    tl_matrix cross_q, cross_k, cross_v, cross_o;
    const float *ffn_norm;
    tl_matrix ffn_gate, ffn_up, ffn_down;
} t5_layer;

typedef struct t5_stack {
    uint32_t n_layer;
    t5_layer *layers;
    const float *output_norm;
} t5_stack;

/* m->family of a T5 model. */
typedef struct t5_model {
    t5_stack enc, dec;
    uint32_t n_buckets; /* attention.relative_buckets_count */
    uint32_t inner;     /* n_head * head_dim: width of q, k, v (may differ from n_embd) */
} t5_model;

/* A precomputed relative-position bias: for head h, the bias of key
 * position p seen from query position q is values[h * len + center + p - q]. */
typedef struct t5_bias_table {
    float *values;
    int64_t len, center;
} t5_bias_table;

/* ctx->family: scratch for up to n_tokens = n_ctx tokens (the encoder sees
 * its whole input at once; decoder batches are at most n_batch <= n_ctx),
 * the encoder output, the cross-attention keys and values, the decoder's
 * self-attention cache and the bias tables. One arena holds it all. */
typedef struct t5_state {
    void *arena;
    size_t arena_bytes;
    uint32_t n_tokens; /* capacity of every per-token buffer */
    int n_threads;

    float *x, *xn, *proj;    /* [n_tokens][n_embd] */
    float *q, *k, *v, *attn; /* [n_tokens][inner] */
    float *vt;               /* encoder values transposed: [inner][n_tokens] */
    float *gate, *up;        /* [n_tokens][n_ff] */
    tl_act_slots acts;

    float *enc_out;  /* [n_tokens][n_embd] after enc.output_norm */
    int32_t n_enc;   /* rows of enc_out; 0 until something is encoded */
    float *cross_k;  /* [dec layers][n_tokens][inner] */
    float *cross_vt; /* [dec layers][inner][n_tokens] */

    /* Decoder self-attention cache in ctx->type_k / type_v (layout as
     * attention.c's: K a row per position, V transposed for f32/f16). */
    uint8_t *k_cache, *v_cache;

    /* Per layer, the bias table its attention uses (layers sharing a
     * rel_bias tensor share the table). */
    const t5_bias_table **enc_bias, **dec_bias;
    t5_bias_table *tables; /* the distinct tables */
    int n_tables;

    void *attn_scratch; /* per thread, attn_scratch_bytes each */
    size_t attn_scratch_bytes;
} t5_state;

/* ---- t5_attention.c ---------------------------------------------------- */

/* llama.cpp's llama_relative_position_bucket: the bucket of key position
 * `key_pos` seen from `query_pos` (the same float rounding). */
int32_t t5_relative_bucket(int32_t key_pos, int32_t query_pos, int64_t n_buckets, bool bidirectional);

/* Fills a bias table from rel_bias ([n_buckets][n_head]) for distances
 * key - query in [-center, len - 1 - center]. */
void t5_bias_table_fill(t5_bias_table *t, const float *rel_bias, int n_head, int64_t n_buckets, bool bidirectional);

/* Keys and values an attention reads. K: a row per position (k_row_bytes
 * apart) of k_type, head h at byte offset row_bytes(k_type, h * head_dim).
 * V transposed: a row per dimension (v_row_bytes apart), positions along it;
 * otherwise a row per position like K. */
typedef struct t5_kv {
    uint32_t k_type, v_type;
    const uint8_t *k, *v;
    size_t k_row_bytes, v_row_bytes;
    bool v_transposed;
} t5_kv;

typedef struct t5_attention {
    const float *q; /* n_q rows of n_head * head_dim floats */
    float *out;     /* the same shape */
    int32_t n_q;
    int32_t q_pos0; /* position of the first query */
    int64_t n_kv;   /* keys (causal: query t sees q_pos0 + t + 1 of them) */
    bool causal;
    const t5_bias_table *bias; /* NULL: no position bias (cross-attention) */
    t5_kv kv;
} t5_attention;

/* Per-thread scratch bytes for attending over at most n_kv keys. */
size_t t5_attention_scratch_bytes(int head_dim, int64_t n_kv);

/* This thread's share of softmax(Q·Kᵀ + bias)·V over every head (no
 * 1/sqrt(d) scaling, as T5). Units of (head, block of queries) are dealt
 * round-robin to the threads. */
void t5_attention_share(const t5_attention *a, const tl_kernel_set *k, int n_head, int head_dim, void *scratch, int ith,
                        int nth);

/* ---- t5_forward.c ------------------------------------------------------ */

/* Runs the encoder over n tokens (n <= the state's capacity), leaving the
 * output in st->enc_out and each decoder layer's cross keys and values. */
void t5_run_encoder(tl_context *ctx, const tl_token *tokens, int32_t n);

/* The decoder on n tokens at positions ctx->n_past.. (family.h's forward). */
void t5_run_decoder(tl_context *ctx, const tl_token *tokens, int32_t n, bool all_logits, float *logits);

#endif /* TL_T5_H */
