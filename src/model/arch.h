/*
 * arch.h — model architectures described as data.
 *
 * An architecture is not a forward function: it is a row of the table in
 * arch.c saying what differs between decoder-only transformers (which norm,
 * which feed-forward activation, which RoPE layout, which biases, whether the
 * output matrix may be tied to the embeddings). The one generic decoder in
 * forward.c reads this description. Genuinely different structures
 * (encoder-decoder, bidirectional encoders) will get their own small files.
 */
#ifndef TL_ARCH_H
#define TL_ARCH_H

#include <stdbool.h>
#include <stdint.h>

typedef enum tl_norm_kind {
    TL_NORM_RMS,   /* x / sqrt(mean(x^2) + eps) * w */
    TL_NORM_LAYER, /* (x - mean) / sqrt(var + eps) * w + b */
} tl_norm_kind;

typedef enum tl_ffn_kind {
    TL_FFN_SWIGLU, /* down(silu(gate(x)) * up(x)) */
    TL_FFN_GEGLU,  /* down(gelu(gate(x)) * up(x)) */
    TL_FFN_GELU,   /* down(gelu(up(x) + b) + b), not gated (BERT) */
} tl_ffn_kind;

typedef enum tl_rope_kind {
    TL_ROPE_NORM, /* rotate adjacent pairs (x[2i], x[2i+1]): GGUF llama layout */
    TL_ROPE_NEOX, /* rotate halves (x[i], x[i + n_rot/2]): GPT-NeoX / Qwen layout */
} tl_rope_kind;

/* How token positions enter the model. */
typedef enum tl_position_kind {
    TL_POS_ROPE,    /* rotary: q and k rotated by position (layout from `rope`) */
    TL_POS_LEARNED, /* position_embd.weight rows added to the token embeddings (BERT) */
} tl_position_kind;

/* What the model computes. */
typedef enum tl_model_kind {
    TL_KIND_DECODER,         /* causal language model (forward.c) */
    TL_KIND_ENCODER,         /* bidirectional encoder: embeddings only (bert.c) */
    TL_KIND_ENCODER_DECODER, /* encoder + decoder with cross-attention (t5.c) */
} tl_model_kind;

struct tl_family_ops;

typedef enum tl_presence {
    TL_ABSENT,   /* the architecture has no such tensor */
    TL_OPTIONAL, /* used when the file has it */
    TL_REQUIRED, /* loading fails without it */
} tl_presence;

typedef struct tl_arch {
    const char *name; /* value of general.architecture */
    tl_model_kind kind;
    const struct tl_family_ops *ops; /* NULL for the generic decoder */
    tl_norm_kind norm;               /* encoders: of the post-norms (and the embeddings' norm) */
    tl_ffn_kind ffn;
    tl_rope_kind rope;
    tl_position_kind positions;
    tl_presence qkv_bias;     /* blk.N.attn_{q,k,v}.bias */
    tl_presence output_bias;  /* blk.N.attn_output.bias */
    bool tied_output_allowed; /* output.weight may be absent: reuse token_embd */
    float default_rope_theta;

    /* Gemma: embeddings scaled by sqrt(n_embd). */
    bool scale_embeddings;
    /* Gemma 2/3: blk.N.post_attention_norm / post_ffw_norm normalise each
     * block's output before it joins the residual stream. */
    tl_presence post_norms;
    /* blk.N.attn_q_norm / attn_k_norm, applied per head before RoPE with the
     * architecture's norm: [head_dim] shared by all heads (Gemma 3) or
     * [head_dim, n_head] one per head (StableLM 2 12B). */
    tl_presence qk_norm;
    /* blk.N.ffn_norm; when an optional one is absent the feed-forward reads
     * the attention block's normalised input (parallel residual, StableLM). */
    tl_presence ffn_norm;
    /* Soft-capping c·tanh(x/c) of attention scores and of logits (0: off);
     * <arch>.attn_logit_softcapping / final_logit_softcapping override. */
    float attn_softcap, final_softcap;
    bool reads_softcap_keys;
    /* Sliding-window attention: every layer but the last of each group of
     * swa_pattern is local (il % n < n - 1), with a window of
     * <arch>.attention.sliding_window (default_swa when the key is absent; 0:
     * no window unless the key says so). swa_ignored: the window is read
     * but not applied (Phi-3, as llama.cpp). */
    uint32_t swa_pattern, default_swa;
    bool swa_ignored;
    /* RoPE base of local layers when they have their own (Gemma 3: 10000,
     * or <arch>.rope.freq_base_swa; no linear scaling); 0: as global layers. */
    float swa_rope_theta;
    /* Queries scale by 1/sqrt(n_embd / n_head) instead of 1/sqrt(head_dim)
     * in the variant with this many layers (Gemma 2/3 27B), 0: never. */
    uint32_t wide_scale_layers;
} tl_arch;

/* The description for general.architecture, or NULL if tinyllm lacks it. */
const tl_arch *tl_arch_find(const char *name);
/* Comma-separated names of the table's architectures, for error messages. */
const char *tl_arch_supported_list(void);

#endif /* TL_ARCH_H */
