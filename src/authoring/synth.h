/*
 * synth.h — writing random-weight models of real shapes.
 *
 * Real model weights cannot be downloaded everywhere tinyllm is tested, so
 * correctness and speed are checked on models with the exact tensor shapes,
 * hyper-parameters and vocabulary of the real ones, filled with deterministic
 * pseudo-random weights (the same seed gives the same bytes on every
 * platform). The vocabulary (all tokenizer.* keys) is copied from an existing
 * GGUF file, e.g. one of llama.cpp's ggml-vocab-*.gguf.
 */
#ifndef TL_AUTHORING_SYNTH_H
#define TL_AUTHORING_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "tinyllm.h"

typedef struct tl_synth_preset {
    const char *name; /* "smollm2-135m" */
    const char *arch; /* general.architecture */
    /* Vocabulary: a file under <shared>/tokenizers/ (a GGUF whose tokenizer.*
     * keys are copied, or a Hugging Face tokenizer.json), or "@unigram" for
     * the project's own T5-style vocabulary (see synth_vocab.h). */
    const char *vocab;
    /* Tokens of the model (config.json's vocab_size) when a GGUF vocabulary
     * has fewer: padded as the converter pads them; 0: the file's count. */
    uint32_t n_vocab;
    uint32_t n_embd, n_layer, n_ff, n_head, n_head_kv, n_ctx;
    uint32_t head_dim; /* 0: n_embd / n_head */
    uint32_t n_rot;    /* rotary dimensions; 0: the whole head */
    float rope_theta, norm_eps;
    bool tied_output; /* when the row allows it */
    /* Decoders: what the model chooses where its architecture's row leaves
     * the tensors optional (a row that requires or excludes them decides:
     * Qwen2's q/k/v biases, Gemma 3's and Qwen3's q/k norms). */
    bool qkv_bias;          /* q/k/v projections have biases (encoders: every matrix) */
    bool qk_norm;           /* per-head q/k norms (StableLM 2 12B: one LayerNorm row per head) */
    bool parallel_residual; /* no ffn_norm: the feed-forward reads the attention's input (StableLM 2 12B) */
    /* Llama 3.1+ RoPE scaling (rope_freqs.weight as the converter writes it). */
    bool llama3_rope;
    float rope_factor, low_freq_factor, high_freq_factor;
    uint32_t original_ctx; /* also Phi-3's rope.scaling.original_context_length */
    /* Phi-3: fused projections; LongRoPE factor tensors (the attention
     * factor follows from n_ctx / original_ctx). */
    bool fused_qkv, fused_gate_up, longrope;
    /* Gemma 2/3: sliding-window layers, soft-capping, q/k norms. */
    uint32_t n_swa, swa_pattern;
    float rope_theta_swa, attn_softcap, final_softcap;
    /* BERT: token types and pooling; rerankers: a classification head of
     * n_cls_out outputs (cls = the pooler's dense + tanh, then cls.output). */
    uint32_t n_token_types, pooling, n_cls_out;
    /* T5: decoder layers and relative-position buckets. */
    uint32_t n_layer_dec, n_rel_buckets;
} tl_synth_preset;

/* The preset called `name`, or NULL. */
const tl_synth_preset *tl_synth_find_preset(const char *name);
/* Number of presets and the i-th one, for --help. */
int tl_synth_preset_count(void);
const tl_synth_preset *tl_synth_preset_at(int i);

typedef struct tl_synth_options {
    const char *type_name; /* "q8_0", or a llama-quantize mixture such as "q4_k_m" */
    uint64_t seed;
    const char *vocab_path; /* GGUF or tokenizer.json, or "@unigram" (see tl_synth_preset.vocab) */
    bool tiny;              /* keep the architecture, shrink the sizes (see tl_synth_shrink) */
    uint32_t n_layer;       /* 0: the preset's; else this many (each tensor's weights depend only on the
                               seed and its name, so the first layers and the rest equal the full model's) */
} tl_synth_options;

/* The preset with test-sized dimensions: same architecture, vocabulary and
 * features (GQA ratio, partial rotary, sliding windows...), a few layers of
 * small width, so a forward pass takes milliseconds. */
tl_synth_preset tl_synth_shrink(const tl_synth_preset *p);

tl_status tl_synth_write(const tl_synth_preset *preset, const tl_synth_options *opts, const char *out_path,
                         tl_error *err);

#endif /* TL_AUTHORING_SYNTH_H */
