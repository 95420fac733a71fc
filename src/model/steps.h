/*
 * steps.h — the threaded building blocks of a forward pass, shared by the
 * generic decoder (forward.c) and the families with their own structure
 * (bert.c, t5.c).
 *
 * A pass runs as one task on a thread pool: every thread calls the same
 * steps with its index `ith` of `nth`, each step does that thread's share
 * (a band of matrix rows, a range of tokens) and the caller puts a barrier
 * between steps that read what an earlier one wrote.
 *
 * Matrices read their input converted to their vec_dot type (Q8_0, Q8_K...);
 * the conversion is done once per input into activation slots, one per
 * distinct type among the matrices that read the same input.
 */
#ifndef TL_STEPS_H
#define TL_STEPS_H

#include "tensor/kernels.h"
#include "tensor/ops.h"

#define TL_ACT_SLOTS 3

typedef struct tl_act_slots {
    void *buf[TL_ACT_SLOTS]; /* each holds rows of the widest input, 2 bytes per element */
    uint32_t type[TL_ACT_SLOTS];
} tl_act_slots;

/* Bytes one slot needs for n_rows rows of at most `widest` elements. */
size_t tl_act_slot_bytes(size_t n_rows, size_t widest);

/* Matrix rows are handed out in multiples of this, so SIMD kernels see whole tiles. */
#define TL_ROW_ALIGN 16

/* Convert rows [t0, t1) of x (n_cols wide) for every matrix in mats. Every
 * thread derives the same slot assignment; thread 0 records it (read after
 * the next barrier by tl_step_matmul). */
void tl_step_convert(const tl_kernel_set *k, tl_act_slots *slots, int ith, const tl_matrix *const *mats, int n_mats,
                     const float *x, int64_t n_cols, int64_t t0, int64_t t1);

/* This thread's rows of y = W·x (+ bias) for `count` tokens; x was converted
 * by tl_step_convert (or is read as floats by f32-dot matrices). */
void tl_step_matmul(const tl_kernel_set *k, const tl_act_slots *slots, int ith, int nth, const tl_matrix *w,
                    const float *bias, const float *x, int32_t count, float *y);

/* Runs of at most this many tokens of one sequence that ask logits for every
 * token (a decode step, a speculative verification: 16 drafts plus the token
 * they follow) are evaluated exactly as one-token evaluations would be
 * (attention.c, tl_token_span). Prompts (logits for the last token only)
 * keep the batched kernels, so their results do not depend on where a
 * prompt is cut into passes either. */
#define TL_EXACT_RUN 17

/*
 * Tokens [t0, t1) of a product. An exact span's tokens each get the result
 * they would get evaluated alone (tl_kernels_gemm_exact: a batch-invariant
 * matrix kernel where the set has one, else its vec_dot per row and token), so
 * that a short run — a decode step, a speculative verification, a reply in a
 * server's batch — does not depend on what else the batch holds; other
 * spans go through the batched (tiled) kernels.
 */
typedef struct tl_token_span {
    int32_t t0, t1;
    bool exact;
} tl_token_span;

/* tl_step_matmul over tokens cut into spans (covering [0, count) in order). */
void tl_step_matmul_spans(const tl_kernel_set *k, const tl_act_slots *slots, int ith, int nth, const tl_matrix *w,
                          const float *bias, const float *x, const tl_token_span *spans, int32_t n_spans, float *y);

/* This thread's share of the row range [0, n_rows) under tl_step_matmul's
 * split, for steps that post-process the rows it wrote. */
void tl_step_rows(int64_t n_rows, int ith, int nth, int64_t *r0, int64_t *r1);

#endif /* TL_STEPS_H */
