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

#include <cjson/cJSON.h>

#include "authoring/convert_hf.h"
#include "authoring/gguf_writer.h"
#include "authoring/safetensors.h"
#include "tinyllm.h"

/* How a family writes its <arch>.* keys (after llama.cpp's model classes). */
typedef enum hf_keys {
    KEYS_LLAMA,    /* LlamaModel: the generic keys + vocab_size, rope.dimension_count, rope scaling */
    KEYS_GENERIC,  /* TextModel: Qwen2, Qwen3 */
    KEYS_GEMMA,    /* GemmaModel, Gemma2Model: no RoPE base, key/value length */
    KEYS_GEMMA3,   /* Gemma3Model: the generic keys + defaults, local RoPE base */
    KEYS_PHI3,     /* Phi3MiniModel: LongRoPE factors, sliding window */
    KEYS_STABLELM, /* StableLMModel: partial rotary, parallel residual, LayerNorm */
    KEYS_BERT,     /* BertModel: encoder, token types, pooling */
    KEYS_T5,       /* T5Model: encoder-decoder, relative attention buckets */
} hf_keys;

/* A row per Hugging Face class convert accepts. */
typedef struct hf_arch {
    const char *hf_class;  /* config.json "architectures"[0] */
    const char *gguf_arch; /* general.architecture */
    hf_keys keys;
    bool permute_qk;    /* llama: q/k rows from rotate-half to interleaved pairs */
    bool qkv_bias;      /* q/k/v biases required (qwen2) */
    bool qk_norm;       /* q/k norms required (qwen3, gemma3) */
    bool norm_plus_one; /* gemma: HF stores norm weights minus one */
    bool post_norms;    /* gemma2/3: post-attention and post-feed-forward norms */
    bool layer_norm;    /* stablelm: LayerNorm with bias */
    bool fused;         /* phi3: qkv_proj and gate_up_proj */
    bool no_lm_head;    /* gemma: lm_head.weight is dropped (tied) */
    bool encoder;       /* bert: BERT's names (encoder.layer.N...), WordPiece vocabulary */
    bool nomic;         /* nomic-bert: fused q/k/v, SwiGLU, rotary positions, nomic's names */
    bool classifier;    /* BertForSequenceClassification: pooler and classifier as the rank head (cls, cls.output) */
    bool t5;            /* t5: encoder-decoder, T5's names, Unigram vocabulary (convert_hf_t5.c) */
} hf_arch;

/* config.json, as far as the converter uses it. */
typedef struct hf_params {
    int64_t n_vocab, n_embd, n_ff, n_layer, n_head, n_head_kv, head_dim, n_ctx, n_rot, n_token_types;
    int64_t n_labels; /* classifier outputs (id2label, else num_labels) */
    double rope_theta, norm_eps;
    bool has_rope_theta, tied_embeddings;
    /* t5 */
    int64_t n_layer_dec, n_rel_buckets, decoder_start;
    bool gated_ffn;
} hf_params;

#define HF_MAX_SHARDS 256

/* One conversion's state. */
typedef struct hf_converter {
    const tl_convert_params *params;
    const hf_arch *arch;
    hf_params hp;
    cJSON *config;
    tl_safetensors *shards[HF_MAX_SHARDS];
    int n_shards;
    gguf_writer *w;
    uint32_t weight_type, file_type;
    tl_error *err;
    char key[160];
} hf_converter;

/* "<arch>.<suffix>", in c->key (convert_hf_keys.c). */
const char *hf_arch_key(hf_converter *c, const char *suffix);
/* A positive config.json integer; `fallback` when absent (-1: required),
 * a one-line error naming the key otherwise (convert_hf_keys.c). */
tl_status hf_config_int(hf_converter *c, const char *name, int64_t fallback, int64_t *out);

/* config.json into c->arch and c->hp (convert_hf_keys.c). */
tl_status hf_read_config(hf_converter *c);
/* The general.* and <arch>.* keys, and the tensors the converter computes
 * from config.json (rope_freqs, LongRoPE factors) (convert_hf_keys.c). */
tl_status hf_write_keys(hf_converter *c);

/* The row for a config's class, or NULL. */
const hf_arch *hf_arch_find(const char *hf_class);
/* "LlamaForCausalLM (llama), ..." */
const char *hf_arch_list(void);

/* How a tensor's data changes on the way. */
typedef enum hf_role { ROLE_OTHER, ROLE_Q, ROLE_K, ROLE_NORM } hf_role;

/* Maps a Hugging Face tensor name to its GGUF name (in out, of out_size);
 * false when the name is not one of the architecture's. *skip is set for
 * tensors the converter drops (rotary inv_freq buffers, gemma's lm_head).
 * *part is the head index of a per-head norm that is stacked into one
 * tensor (stablelm's q/k LayerNorms), else -1. */
bool hf_map_name(const hf_arch *arch, const char *hf_name, char *out, size_t out_size, bool *skip, hf_role *role,
                 int *part);

/* The PyTorch shape (rows, cols; cols 0 for 1-D) a GGUF tensor must have;
 * false when the name has no fixed shape. */
bool hf_expected_shape(const hf_arch *arch, const char *gguf_name, const hf_params *p, int64_t *rows, int64_t *cols);

/* The GGUF tensor names every layer needs ("attn_q.weight", ...), in
 * `names`; returns how many. */
int hf_required_layer_tensors(const hf_arch *arch, bool has_ffn_norm, const char **names, int max);

/* Sets tokenizer.ggml.pre of the byte-level BPE (or WordPiece) vocabulary in w (whose
 * metadata is only the vocabulary so far) by llama.cpp's hash rule
 * (convert_hf_pre.c); writes and removes scratch_path on the way. `where`
 * names the folder in messages. */
tl_status hf_detect_pre(gguf_writer *w, const char *scratch_path, const char *where, bool word_piece, tl_error *err);

/* T5 (convert_hf_t5.c): config.json into c->hp; the t5.* keys; T5's
 * tensor names (the shared embedding under any of its three names maps to
 * token_embd; the caller keeps the first); their shapes; the name of the
 * k-th tensor the model needs (false past the last). */
tl_status hf_t5_read_config(hf_converter *c);
void hf_t5_write_keys(hf_converter *c);
bool hf_t5_map_name(const char *hf_name, char *out, size_t out_size, hf_role *role);
bool hf_t5_expected_shape(const char *gguf_name, const hf_params *p, int64_t *rows, int64_t *cols);
bool hf_t5_required_tensor(const hf_params *p, int64_t k, char *out, size_t out_size);

#endif /* TL_AUTHORING_CONVERT_HF_INTERNAL_H */
