/*
 * synth_internal.h — what the per-family tensor writers of `tinyllm synth`
 * share: the writer state, tensor types by role (llama-quantize's rules) and
 * the helpers that fill, quantize and add a tensor.
 *
 * synth.c writes the general.* keys and the vocabulary, then calls the
 * family's writer (synth_decoder.c, synth_bert.c, synth_t5.c), which writes
 * the `<arch>.*` keys and every tensor.
 */
#ifndef TL_AUTHORING_SYNTH_INTERNAL_H
#define TL_AUTHORING_SYNTH_INTERNAL_H

#include "authoring/gguf_writer.h"
#include "authoring/synth.h"
#include "model/arch.h"
#include "util/error.h"

/* How a tensor is used, for choosing its type in a llama-quantize mixture. */
typedef enum tensor_role {
    ROLE_TOKEN_EMBD,
    ROLE_OUTPUT,
    ROLE_ATTN_Q,
    ROLE_ATTN_K,
    ROLE_ATTN_V,
    ROLE_ATTN_QKV,
    ROLE_ATTN_OUTPUT,
    ROLE_FFN_GATE,
    ROLE_FFN_UP,
    ROLE_FFN_DOWN
} tensor_role;

typedef enum mix_kind { MIX_PLAIN, MIX_Q2_K, MIX_Q3_K_M, MIX_Q4_K_M, MIX_Q5_K_M, MIX_Q6_K, MIX_IQ4 } mix_kind;

typedef struct type_plan {
    mix_kind mix;
    uint32_t base;      /* ggml type of ordinary matrices */
    uint32_t file_type; /* general.file_type (llama_ftype) */
} type_plan;

/* The weight types `--type` accepts, ending with a NULL name. */
typedef struct synth_plan_entry {
    const char *name;
    type_plan plan;
} synth_plan_entry;
extern const synth_plan_entry synth_plans[];

typedef struct synth_writer {
    gguf_writer *w;
    const tl_synth_options *opts;
    const tl_synth_preset *preset; /* already shrunk when opts->tiny */
    const tl_arch *arch;           /* the preset's row of the architecture table */
    type_plan plan;
    uint64_t n_vocab;
    tl_error *err;
    char key[160]; /* scratch for synth_key */
} synth_writer;

/* "<arch>.<suffix>" in the writer's scratch buffer. */
const char *synth_key(synth_writer *s, const char *suffix);

/* A tensor of n_rows rows of n_cols values uniform in [center - spread,
 * center + spread), stored as `type` (1-D when n_rows is 1). */
tl_status synth_add_tensor(synth_writer *s, const char *name, uint32_t type, int64_t n_cols, int64_t n_rows,
                           float center, float spread);
/* A weight matrix with std gain/sqrt(n_cols), its type chosen from the
 * role and layer by the type plan. */
tl_status synth_add_matrix(synth_writer *s, const char *name, tensor_role role, uint32_t layer, int64_t n_cols,
                           int64_t n_rows, float gain);
/* A norm weight (values around 1) or bias (around 0) of n floats, f32. */
tl_status synth_add_norm(synth_writer *s, const char *name, int64_t n);
tl_status synth_add_bias(synth_writer *s, const char *name, int64_t n);
/* The type of the token embedding table under the plan. */
uint32_t synth_embedding_type(synth_writer *s, int64_t n_cols);

/* Family writers: `<arch>.*` keys and all tensors. */
tl_status synth_write_decoder(synth_writer *s);
tl_status synth_write_bert(synth_writer *s);
tl_status synth_write_t5(synth_writer *s);

#endif /* TL_AUTHORING_SYNTH_INTERNAL_H */
