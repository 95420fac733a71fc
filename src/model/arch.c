/*
 * arch.c — the table of supported decoder architectures (see arch.h).
 *
 * Adding a llama-like architecture is adding a row here; anything the row
 * cannot express belongs in a new field of tl_arch that forward.c honours,
 * not in a copied forward pass. Encoder rows (bert, nomic-bert) point to
 * their family's hooks, which read the same fields (norm, ffn, positions,
 * rope).
 */
#include "model/arch.h"

#include "model/family.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const tl_arch arch_table[] = {
    /* SmolLM, TinyLlama, Llama 2/3.x, Sheared-LLaMA, llama2.c exports. */
    {.name = "llama",
     .norm = TL_NORM_RMS,
     .ffn = TL_FFN_SWIGLU,
     .rope = TL_ROPE_NORM,
     .qkv_bias = TL_OPTIONAL,
     .output_bias = TL_OPTIONAL,
     .tied_output_allowed = true,
     .default_rope_theta = 10000.0f,
     .ffn_norm = TL_REQUIRED},
    /* Qwen2 / Qwen2.5: q/k/v biases, NeoX rotary layout. */
    {.name = "qwen2",
     .norm = TL_NORM_RMS,
     .ffn = TL_FFN_SWIGLU,
     .rope = TL_ROPE_NEOX,
     .qkv_bias = TL_REQUIRED,
     .output_bias = TL_ABSENT,
     .tied_output_allowed = true,
     .default_rope_theta = 1000000.0f,
     .ffn_norm = TL_REQUIRED},
    /* Qwen3: no biases; q/k RMS norms per head (one [head_dim] weight
     * shared by the heads) before RoPE; head size from attention.key_length
     * (128 for 16 heads in a 1024-wide model). RoPE base: llama.cpp's default
     * when the file has none. */
    {.name = "qwen3",
     .norm = TL_NORM_RMS,
     .ffn = TL_FFN_SWIGLU,
     .rope = TL_ROPE_NEOX,
     .tied_output_allowed = true,
     .default_rope_theta = 10000.0f,
     .qk_norm = TL_REQUIRED,
     .ffn_norm = TL_REQUIRED},
    /* Phi-3 / Phi-3.5 mini: fused q/k/v and gate/up matrices (split at load),
     * LongRoPE factors; the sliding window is not applied, as in llama.cpp. */
    {.name = "phi3",
     .norm = TL_NORM_RMS,
     .ffn = TL_FFN_SWIGLU,
     .rope = TL_ROPE_NEOX,
     .qkv_bias = TL_OPTIONAL,
     .output_bias = TL_OPTIONAL,
     .tied_output_allowed = true,
     .default_rope_theta = 10000.0f,
     .ffn_norm = TL_REQUIRED,
     .swa_ignored = true},
    /* Gemma: GeGLU, scaled embeddings, tied output. */
    {.name = "gemma",
     .norm = TL_NORM_RMS,
     .ffn = TL_FFN_GEGLU,
     .rope = TL_ROPE_NEOX,
     .tied_output_allowed = true,
     .default_rope_theta = 10000.0f,
     .scale_embeddings = true,
     .ffn_norm = TL_REQUIRED},
    /* Gemma 2: + post-norms, soft-capping, every other layer local (4096). */
    {.name = "gemma2",
     .norm = TL_NORM_RMS,
     .ffn = TL_FFN_GEGLU,
     .rope = TL_ROPE_NEOX,
     .tied_output_allowed = true,
     .default_rope_theta = 10000.0f,
     .scale_embeddings = true,
     .post_norms = TL_REQUIRED,
     .ffn_norm = TL_REQUIRED,
     .attn_softcap = 50.0f,
     .final_softcap = 30.0f,
     .reads_softcap_keys = true,
     .swa_pattern = 2,
     .default_swa = 4096,
     .wide_scale_layers = 46},
    /* Gemma 3: + q/k norms, 5 local layers per global one with their own
     * RoPE base (rope.freq_base_swa), no attention soft-capping. */
    {.name = "gemma3",
     .norm = TL_NORM_RMS,
     .ffn = TL_FFN_GEGLU,
     .rope = TL_ROPE_NEOX,
     .tied_output_allowed = true,
     .default_rope_theta = 1000000.0f,
     .scale_embeddings = true,
     .post_norms = TL_REQUIRED,
     .qk_norm = TL_REQUIRED,
     .ffn_norm = TL_REQUIRED,
     .reads_softcap_keys = true,
     .swa_pattern = 6,
     .swa_rope_theta = 10000.0f,
     .wide_scale_layers = 62},
    /* StableLM 2: LayerNorm with bias, partial rotary, optional q/k/v biases
     * and per-head q/k norms, parallel residual when ffn_norm is absent. */
    {.name = "stablelm",
     .norm = TL_NORM_LAYER,
     .ffn = TL_FFN_SWIGLU,
     .rope = TL_ROPE_NEOX,
     .qkv_bias = TL_OPTIONAL,
     .default_rope_theta = 10000.0f,
     .qk_norm = TL_OPTIONAL,
     .ffn_norm = TL_OPTIONAL},
    /* BERT-style sentence encoders (all-MiniLM, bge): see bert.c. */
    {.name = "bert",
     .kind = TL_KIND_ENCODER,
     .ops = &tl_bert_ops,
     .norm = TL_NORM_LAYER,
     .ffn = TL_FFN_GELU,
     .positions = TL_POS_LEARNED},
    /* nomic-embed-text v1/v1.5: BERT's post-norm encoder with rotary
     * positions (NeoX layout, base 1000 in the file) instead of learned
     * ones, fused q/k/v and a SwiGLU feed-forward, no biases. */
    {.name = "nomic-bert",
     .kind = TL_KIND_ENCODER,
     .ops = &tl_bert_ops,
     .norm = TL_NORM_LAYER,
     .ffn = TL_FFN_SWIGLU,
     .rope = TL_ROPE_NEOX,
     .positions = TL_POS_ROPE,
     .default_rope_theta = 10000.0f},
    /* T5 / FLAN-T5 encoder-decoders: see t5.c. */
    {.name = "t5", .kind = TL_KIND_ENCODER_DECODER, .ops = &tl_t5_ops, .norm = TL_NORM_RMS},
};

const tl_arch *tl_arch_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (strcmp(arch_table[i].name, name) == 0) return &arch_table[i];
    return NULL;
}

/* The names of the table's rows, ", "-separated, built once. */
static char supported_list[512];
static pthread_once_t supported_once = PTHREAD_ONCE_INIT;

static void build_supported_list(void) {
    size_t used = 0;
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++) {
        const int n =
            snprintf(supported_list + used, sizeof supported_list - used, "%s%s", i ? ", " : "", arch_table[i].name);
        if (n < 0 || (size_t)n >= sizeof supported_list - used) break; /* (the buffer holds far more) */
        used += (size_t)n;
    }
}

const char *tl_arch_supported_list(void) {
    pthread_once(&supported_once, build_supported_list);
    return supported_list;
}
