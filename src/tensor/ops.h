/*
 * ops.h — the numeric building blocks of a forward pass, on float rows.
 *
 * These are the scalar reference kernels; they mirror what ggml computes
 * (including converting activations to the weight type's vec_dot_type before
 * a matrix product) so that results agree closely with llama.cpp.
 */
#ifndef TL_OPS_H
#define TL_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "tensor/kernels.h"
#include "util/threadpool.h"

/* A 2-D weight matrix as stored: n_rows rows of n_cols elements of `type`
 * (a ggml type id), rows row_bytes apart. */
typedef struct tl_matrix {
    const char *name;
    const void *data;
    uint32_t type;
    int64_t n_cols; /* ne[0]: the input dimension of a matmul */
    int64_t n_rows; /* ne[1]: the output dimension */
    size_t row_bytes;
} tl_matrix;

/* out = x / sqrt(mean(x^2) + eps) * weight (weight may be NULL). */
void tl_rms_norm(float *out, const float *x, const float *weight, int64_t n, float eps);

/* out = (x - mean) / sqrt(var + eps) * weight + bias (either may be NULL). */
void tl_layer_norm(float *out, const float *x, const float *weight, const float *bias, int64_t n, float eps);

/* In-place softmax over n values. */
void tl_softmax(float *x, int64_t n);

/* x[i] = silu(x[i]) * y[i], through the fastest kernel set; tl_swiglu_ref is
 * the scalar reference (libm's expf). */
void tl_swiglu(float *x, const float *y, int64_t n);
void tl_swiglu_ref(float *x, const float *y, int64_t n);
/* x[i] = gelu(x[i]) * y[i], and x[i] = gelu(x[i]): the tanh approximation
 * with ggml's f16 rounding of input and output, through the fastest kernel
 * set. tl_geglu_ref is the scalar reference (y may be NULL); the table it
 * reads (gelu of every f16 value, rounded to f16) is shared with the SIMD
 * versions. */
void tl_geglu(float *x, const float *y, int64_t n);
void tl_gelu(float *x, int64_t n);
void tl_geglu_ref(float *x, const float *y, int64_t n);
const float *tl_gelu_table(void);

/* RoPE parameters shared by every head of a model. */
typedef struct tl_rope_params {
    int n_rot;                 /* rotated dimensions per head (even, <= head_dim) */
    float theta_base;          /* rope.freq_base */
    float freq_scale;          /* 1 / linear scaling factor */
    const float *freq_factors; /* n_rot/2 divisors (Llama 3 scaling, LongRoPE) or NULL */
    float mscale;              /* cos/sin multiplier (LongRoPE attention factor; 0 means 1) */
    int neox;                  /* 0: adjacent pairs; 1: halves */
} tl_rope_params;

/* Fill cos/sin tables (n_rot/2 entries each) for position pos. */
void tl_rope_cache(const tl_rope_params *p, float pos, float *cos_out, float *sin_out);
/* Rotate n_heads heads of head_dim floats each, stored one after another. */
void tl_rope_apply(const tl_rope_params *p, const float *cos_t, const float *sin_t, float *x, int n_heads,
                   int head_dim);

/* Rows [r0, r1) of y = W·x for n_tokens tokens: y[t * ldy + r]. `xq` holds
 * the tokens' activations already converted to W's vec_dot_type (rows
 * xq_row_bytes apart), or plain floats when that type is F32. */
void tl_matmul_rows(const tl_kernel_set *k, const tl_matrix *w, const void *xq, size_t xq_row_bytes, int64_t n_tokens,
                    float *y, int64_t ldy, int64_t r0, int64_t r1);

/* y = W·x for n_tokens float rows x of n_cols (rows [r0, r1) of W, of
 * type w_type): x is converted once to W's vec_dot type in `scratch`
 * (room for n_tokens such rows; unused when that type is f32), then the kernel
 * set's gemm runs, or with `batch_invariant` its batch-invariant kernel when
 * it has one for w_type (tl_kernels_exact_gemm). For products whose
 * "weights" are cache rows (attention). */
void tl_matmul_floats(const tl_kernel_set *k, uint32_t w_type, int64_t n_cols, const void *w, size_t w_row_bytes,
                      int64_t r0, int64_t r1, const float *x, int64_t n_tokens, void *scratch, float *y, int64_t ldy,
                      bool batch_invariant);
/* Convert rows [t0, t1) of x (n_cols floats each) to `type` (a vec_dot
 * type) at out + t * tl_type_row_bytes(type, n_cols). */
void tl_quantize_rows(const tl_kernel_set *k, uint32_t type, const float *x, int64_t n_cols, int64_t t0, int64_t t1,
                      void *out);

/* The [begin, end) share of n matrix rows for thread ith of nth, in chunks
 * that are multiples of `align` rows (so SIMD kernels see whole tiles). */
void tl_split_rows(int64_t n, int64_t align, int ith, int nth, int64_t *begin, int64_t *end);

/* y[i] += b[i] for each of n_tokens rows of n. */
void tl_add_bias(float *y, const float *b, int64_t n, int64_t n_tokens);

/* Row `row` of a matrix as floats (embedding lookup). */
void tl_matrix_get_row(const tl_matrix *w, int64_t row, float *out);

#endif /* TL_OPS_H */
