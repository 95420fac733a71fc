/*
 * model.h — what a loaded model is, inside the library.
 *
 * tl_model ties together the mapped GGUF file, the architecture description,
 * the hyper-parameters read from `<arch>.*` keys, the vocabulary and the
 * weights. Weight matrices point into the mapping (used in place); only small
 * 1-D tensors (norms, biases, RoPE factors) and the rare tensor whose rows do
 * not start on block boundaries are converted to owned float arrays.
 */
#ifndef TL_MODEL_H
#define TL_MODEL_H

#include <stdint.h>

#include "format/gguf.h"
#include "model/arch.h"
#include "tensor/ops.h"
#include "tokenizer/vocab.h"
#include "tinyllm.h"

typedef struct tl_hparams {
    uint32_t n_ctx_train;
    uint32_t n_embd;
    uint32_t n_layer;
    uint32_t n_ff;
    uint32_t n_head;
    uint32_t n_head_kv;
    uint32_t head_dim;     /* attention.key_length, else n_embd / n_head */
    uint32_t n_rot;        /* rope.dimension_count, else head_dim */
    float rope_theta;      /* rope.freq_base */
    float rope_freq_scale; /* 1 / rope.scaling.factor for linear scaling */
    float norm_eps;
    int32_t n_vocab;
    float attn_scale;       /* queries are multiplied by this (1/sqrt(head_dim)) */
    float attn_softcap;     /* 0: off */
    float final_softcap;    /* 0: off */
    uint32_t n_swa;         /* sliding window of local layers (0: none) */
    float rope_theta_swa;   /* RoPE base of local layers */
    float rope_attn_factor; /* cos/sin multiplier (LongRoPE attention factor), 1 */
    uint32_t n_ctx_orig;    /* rope.scaling.original_context_length */
} tl_hparams;

typedef struct tl_layer_weights {
    const float *attn_norm, *attn_norm_bias;
    tl_matrix wq, wk, wv, wo;              /* views into attn_qkv when the file fuses them */
    const float *bq, *bk, *bv, *bo;        /* NULL when absent */
    const float *q_norm, *k_norm;          /* per-head norms, NULL when absent */
    const float *attn_post_norm;           /* NULL when absent */
    const float *ffn_norm, *ffn_norm_bias; /* NULL: parallel residual */
    tl_matrix ffn_gate, ffn_up, ffn_down;  /* gate/up: views of a fused ffn_up */
    const float *ffn_post_norm;
    bool is_swa; /* local (sliding-window) layer */
} tl_layer_weights;

struct tl_model {
    char *path;
    gguf_file *file;
    const tl_arch *arch; /* NULL for vocab-only loads of unknown architectures */
    char *arch_name;
    tl_hparams hp;
    tl_vocab *vocab;
    bool vocab_only;

    tl_matrix token_embd;
    const float *output_norm, *output_norm_bias;
    tl_matrix output;                    /* == token_embd when tied */
    const float *rope_freq_factors;      /* n_rot/2 divisors of the frequencies, or NULL */
    const float *rope_long, *rope_short; /* LongRoPE divisors beyond / within n_ctx_orig */
    uint32_t qk_norm_stride;             /* floats between heads' q/k norm weights: 0 shared, head_dim per head */
    tl_layer_weights *layers;

    /* Families with their own structure (see family.h). */
    void *family;
    int32_t pooling;        /* tl_pooling from <arch>.pooling_type; TL_POOLING_NONE if unset */
    tl_token decoder_start; /* first decoder token of encoder-decoders, else -1 */

    /* Owned float copies (1-D tensors, re-laid-out matrices), freed with the model. */
    void **owned;
    size_t n_owned;
};

/* The vocabulary of a model (tokenizer code works on it directly). */
const tl_vocab *tl_model_vocab(const tl_model *model);

#endif /* TL_MODEL_H */
