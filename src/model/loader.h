/*
 * loader.h — reading hyper-parameters and tensors of one architecture family.
 *
 * model_load.c opens the file, finds the architecture and the vocabulary,
 * then hands a tl_loader to the family's loader (the generic decoder's in
 * model_load.c, BERT's in bert.c, T5's in t5.c). These helpers check every
 * key and tensor and report problems as one line naming the file and the key
 * or tensor at fault.
 */
#ifndef TL_LOADER_H
#define TL_LOADER_H

#include "model/model.h"
#include "util/error.h"

typedef struct tl_loader {
    tl_model *m;
    const char *path;
    char prefix[96]; /* "<arch>." */
    tl_error *err;
    bool *tensor_used; /* one flag per tensor of the file: found by the loader, so prefetched */
} tl_loader;

/* Remember a heap block the model owns (freed with it). False when out of memory. */
bool tl_loader_own(tl_model *m, void *p);

/* `<arch>.<suffix>` as u32 / f32 / bool. A missing optional key leaves *out
 * alone; a missing required key, or a value of the wrong kind, is an error. */
tl_status tl_loader_u32(tl_loader *ld, const char *suffix, bool required, uint32_t *out);
tl_status tl_loader_f32(tl_loader *ld, const char *suffix, bool required, float *out);
tl_status tl_loader_bool(tl_loader *ld, const char *suffix, bool required, bool *out);
/* `<arch>.<suffix>` as a string, or NULL when absent or not a string. */
const char *tl_loader_str(tl_loader *ld, const char *suffix);

/* The transformer shape every family has, into m->hp: context_length,
 * embedding_length, block_count, feed_forward_length, attention.head_count,
 * head_count_kv (default head_count), head size from attention.key_length
 * (default embedding_length / head_count; value_length must agree), n_vocab;
 * all checked (positive, plausible, heads a multiple of KV heads). */
tl_status tl_loader_shape_hparams(tl_loader *ld);

/* Rotary positions into m->hp: rope.freq_base (default: the architecture's
 * default_rope_theta), rope.dimension_count (default: the head size; even,
 * at most the head size), no scaling (freq_scale and attn_factor 1). */
tl_status tl_loader_rope_hparams(tl_loader *ld);

/* `<arch>.pooling_type` into m->pooling (absent: TL_POOLING_NONE); unknown
 * values are errors. */
tl_status tl_loader_pooling(tl_loader *ld);

/* A 1-D tensor of n floats (converted to owned floats when not f32). *out is
 * NULL when an optional tensor is absent. */
tl_status tl_loader_vector(tl_loader *ld, const char *name, int64_t n, tl_presence presence, const float **out);
/* The same for a small 2-D tensor of n_rows rows of n floats (per-head norms). */
tl_status tl_loader_rows(tl_loader *ld, const char *name, int64_t n, int64_t n_rows, tl_presence presence,
                         const float **out);
/* A 2-D tensor of n_rows rows of n_cols, used in place. out->data is NULL
 * when an optional tensor is absent. */
tl_status tl_loader_matrix(tl_loader *ld, const char *name, int64_t n_cols, int64_t n_rows, tl_presence presence,
                           tl_matrix *out);
/* The shape of a tensor if present (n_dims 0 when absent), for tensors whose
 * shape selects a variant (fused or split projections). */
void tl_loader_shape(tl_loader *ld, const char *name, uint32_t *n_dims, int64_t ne[4]);

#endif /* TL_LOADER_H */
