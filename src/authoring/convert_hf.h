/*
 * convert_hf.h — `tinyllm convert`: a Hugging Face model folder
 * (config.json, model.safetensors or its shards with
 * model.safetensors.index.json, tokenizer.json, tokenizer_config.json) to a
 * GGUF file with the keys and tensor names llama.cpp's convert_hf_to_gguf.py
 * writes, so that llama.cpp reads the files tinyllm writes and the other
 * way round.
 */
#ifndef TL_AUTHORING_CONVERT_HF_H
#define TL_AUTHORING_CONVERT_HF_H

#include <stdint.h>

#include "tinyllm.h"

/* One tensor written (or about to be): for a progress display. */
typedef struct tl_convert_progress {
    const char *name; /* GGUF name */
    uint32_t n_dims;
    int64_t ne[4];    /* GGUF order: innermost first */
    const char *type; /* "f32", "f16", "bf16", "q8_0" */
    int index;        /* 1-based */
    int count;
} tl_convert_progress;

typedef void (*tl_convert_progress_fn)(void *user, const tl_convert_progress *progress);

typedef struct tl_convert_params {
    const char *hf_dir;
    const char *out_path;            /* written as out_path.tmp, renamed when complete */
    const char *type;                /* weight matrices: "f32", "f16", "bf16", "q8_0"; NULL = f16 */
    tl_convert_progress_fn progress; /* may be NULL */
    void *user;
} tl_convert_params;

/* Converts; on failure nothing is left at out_path (nor the .tmp). */
tl_status tl_convert_hf(const tl_convert_params *params, tl_error *err);

/* The Hugging Face architectures (config.json "architectures") convert
 * accepts, ", "-separated with their GGUF architecture: "LlamaForCausalLM
 * (llama), ...". */
const char *tl_convert_hf_architectures(void);

#endif /* TL_AUTHORING_CONVERT_HF_H */
