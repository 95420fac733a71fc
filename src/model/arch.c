/*
 * arch.c — the table of supported decoder architectures (see arch.h).
 *
 * Adding a llama-like architecture is adding a row here; anything the row
 * cannot express belongs in a new field of tl_arch that forward.c honours,
 * not in a copied forward pass.
 */
#include "model/arch.h"

#include "model/family.h"

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
     .default_rope_theta = 10000.0f},
    /* Qwen2 / Qwen2.5: q/k/v biases, NeoX rotary layout. */
    {.name = "qwen2",
     .norm = TL_NORM_RMS,
     .ffn = TL_FFN_SWIGLU,
     .rope = TL_ROPE_NEOX,
     .qkv_bias = TL_REQUIRED,
     .output_bias = TL_ABSENT,
     .tied_output_allowed = true,
     .default_rope_theta = 1000000.0f},
    /* BERT-style sentence encoders (all-MiniLM, bge): see bert.c. */
    {.name = "bert", .kind = TL_KIND_ENCODER, .ops = &tl_bert_ops, .norm = TL_NORM_LAYER},
    /* T5 / FLAN-T5 encoder-decoders: see t5.c. */
    {.name = "t5", .kind = TL_KIND_ENCODER_DECODER, .ops = &tl_t5_ops, .norm = TL_NORM_RMS},
};

const tl_arch *tl_arch_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (strcmp(arch_table[i].name, name) == 0) return &arch_table[i];
    return NULL;
}

const char *tl_arch_supported_list(void) { return "llama, qwen2, bert, t5"; }
