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
#ifndef TL_SYNTH_H
#define TL_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "tinyllm.h"

typedef struct tl_synth_preset {
    const char *name;        /* "smollm2-135m" */
    const char *arch;        /* general.architecture */
    const char *vocab_file;  /* file name under <shared>/tokenizers/llama.cpp-vocab/ */
    uint32_t n_embd, n_layer, n_ff, n_head, n_head_kv, n_ctx;
    float rope_theta, norm_eps;
    bool tied_output;
    bool llama3_rope;        /* write rope_freqs.weight as the Llama 3.1+ converter does */
    float rope_factor;       /* Llama 3 scaling: factor, low/high frequency factors, */
    float low_freq_factor, high_freq_factor; /* original context */
    uint32_t original_ctx;
} tl_synth_preset;

/* The preset called `name`, or NULL. */
const tl_synth_preset *tl_synth_find_preset(const char *name);
/* Number of presets and the i-th one, for --help. */
int tl_synth_preset_count(void);
const tl_synth_preset *tl_synth_preset_at(int i);

typedef struct tl_synth_options {
    const char *type_name; /* "q8_0", or a llama-quantize mixture such as "q4_k_m" */
    uint64_t seed;
    const char *vocab_path; /* GGUF whose tokenizer.* keys are copied */
} tl_synth_options;

tl_status tl_synth_write(const tl_synth_preset *preset, const tl_synth_options *opts,
                         const char *out_path, tl_error *err);

#endif /* TL_SYNTH_H */
