/*
 * convert_hf_internal.h — what the parts of `tinyllm convert` share: the
 * model's hyper-parameters from config.json, the table of Hugging Face
 * architectures, and the mapping of Hugging Face tensor names to GGUF ones
 * (convert_hf_names.c), used by the driver (convert_hf.c).
 */
#ifndef TL_AUTHORING_CONVERT_HF_INTERNAL_H
#define TL_AUTHORING_CONVERT_HF_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "authoring/gguf_writer.h"
#include "tinyllm.h"

/* A row per Hugging Face class convert accepts. */
typedef struct hf_arch {
    const char *hf_class;  /* config.json "architectures"[0] */
    const char *gguf_arch; /* general.architecture */
    bool permute_qk;       /* llama: q/k rows from rotate-half to interleaved pairs */
    bool qkv_bias;         /* q/k/v biases required (qwen2) */
    bool qk_norm;          /* q/k norms required (qwen3) */
} hf_arch;

/* config.json, as far as the converter uses it. */
typedef struct hf_params {
    int64_t n_vocab, n_embd, n_ff, n_layer, n_head, n_head_kv, head_dim, n_ctx;
    double rope_theta, norm_eps;
    bool has_rope_theta, tied_embeddings;
} hf_params;

/* The row for a config's class, or NULL. */
const hf_arch *hf_arch_find(const char *hf_class);
/* "LlamaForCausalLM (llama), ..." */
const char *hf_arch_list(void);

/* Kinds of GGUF tensor the converter knows: the shape it must have and how
 * its data is changed on the way. */
typedef enum hf_role { ROLE_OTHER, ROLE_Q, ROLE_K } hf_role;

/* Maps a Hugging Face tensor name to its GGUF name (in out, of out_size);
 * false when the name is not one of the architecture's. *skip is set for
 * tensors the converter drops (rotary inv_freq buffers). *role says whether
 * q/k permutation applies. */
bool hf_map_name(const char *hf_name, char *out, size_t out_size, bool *skip, hf_role *role);

/* The PyTorch shape (rows, cols; cols 0 for 1-D) a GGUF tensor must have;
 * false when the name has no fixed shape. */
bool hf_expected_shape(const char *gguf_name, const hf_params *p, int64_t *rows, int64_t *cols);

/* Sets tokenizer.ggml.pre of the byte-level BPE vocabulary in w (whose
 * metadata is only the vocabulary so far) by llama.cpp's hash rule
 * (convert_hf_pre.c); writes and removes scratch_path on the way. `where`
 * names the folder in messages. */
tl_status hf_detect_pre(gguf_writer *w, const char *scratch_path, const char *where, tl_error *err);

#endif /* TL_AUTHORING_CONVERT_HF_INTERNAL_H */
