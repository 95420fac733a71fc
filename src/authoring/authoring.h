/*
 * authoring.h — the authoring library (libtinyllm_authoring.a): everything
 * that writes model files, kept out of the runtime library (libtinyllm),
 * which only reads them. Linked by the `tinyllm` commands that write files
 * (`synth`; later `convert`, `quantize`, `finetune`) and by the tests.
 *
 * The folder holds the GGUF writer (gguf_writer.h), `synth` (synth.h: presets
 * and a writer per model family), the Hugging Face tokenizer.json importer
 * and the builders of the project's own Unigram vocabulary and its
 * normalization map (synth_vocab.h, unigram_build.h, charsmap_build.h). It
 * reads the runtime's tables (architectures, tensor types, vocabularies);
 * the runtime never includes anything from here.
 *
 * Not installed: the API below is the CLI's and the tests', and will change
 * as the converters arrive.
 */
#ifndef TL_AUTHORING_H
#define TL_AUTHORING_H

#include <stdbool.h>
#include <stdint.h>

#include "tinyllm.h"

/*
 * Write a GGUF model with the exact shapes and hyper-parameters of a named
 * preset ("smollm2-135m", "gemma3-270m", "all-minilm-l6-v2", ...),
 * deterministic pseudo-random weights of `weight_type` ("f32", "f16", "q8_0",
 * ... or a llama-quantize mixture: "q2_k", "q3_k_m", "q4_k_m", "q5_k_m",
 * "q6_k"; norms stay f32), and a vocabulary from `vocab_path`: a GGUF file
 * whose tokenizer.* keys are copied, a Hugging Face tokenizer.json, or
 * "@unigram" for the project's own T5-style vocabulary. `tiny` keeps the
 * architecture and vocabulary but shrinks the sizes for fast tests. Used to
 * test and benchmark architectures whose real weights are not at hand.
 */
typedef struct tl_synth_params {
    const char *preset;
    const char *weight_type;
    uint64_t seed;
    const char *vocab_path;
    bool tiny;
    uint32_t n_layer; /* 0: the preset's; else only its first n_layer layers (same weights: a draft of it) */
} tl_synth_params;

tl_status tl_synth(const tl_synth_params *params, const char *out_path, tl_error *err);
/* tl_synth without `tiny`. */
tl_status tl_synth_model(const char *preset, const char *weight_type, uint64_t seed, const char *vocab_path,
                         const char *out_path, tl_error *err);
/* The i-th preset's name, or NULL past the end; its vocabulary in *vocab: a
 * path under the shared data's tokenizers/ folder, or "@unigram". */
const char *tl_synth_preset_name(int i, const char **vocab);
/* The i-th preset's architecture (its general.architecture), or NULL past
 * the end. */
const char *tl_synth_preset_arch(int i);
/* The architectures synth can write, ", "-separated: the rows of the
 * runtime's architecture table (every kind has a writer here). */
const char *tl_synth_architectures(void);

#endif /* TL_AUTHORING_H */
