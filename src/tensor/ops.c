/*
 * ops.c — scalar reference kernels for norms, activations, RoPE, softmax and
 * the quantized matrix product (see ops.h).
 */
#include "tensor/ops.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "tensor/types.h"

void tl_rms_norm(float *out, const float *x, const float *weight, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * (weight ? weight[i] : 1.0f);
}

void tl_layer_norm(float *out, const float *x, const float *weight, const float *bias, int64_t n,
                   float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += x[i];
    const float mean = (float)(sum / (double)n);
    double var = 0.0;
    for (int64_t i = 0; i < n; i++) var += (double)(x[i] - mean) * (x[i] - mean);
    const float scale = 1.0f / sqrtf((float)(var / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) {
        float v = (x[i] - mean) * scale;
        if (weight) v *= weight[i];
        if (bias) v += bias[i];
        out[i] = v;
    }
}

void tl_softmax(float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void tl_swiglu(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i])) * y[i];
}

void tl_geglu(float *x, const float *y, int64_t n) {
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(sqrt_2_over_pi * v * (1.0f + 0.044715f * v * v))) * y[i];
    }
}

/* theta_i = pos * base^(-2i/n_rot) * freq_scale / freq_factor_i. The angle
 * is advanced by repeated multiplication, as ggml does, so the rounding (and
 * hence the logits) matches llama.cpp closely. */
void tl_rope_cache(const tl_rope_params *p, float pos, float *cos_out, float *sin_out) {
    const float theta_scale = powf(p->theta_base, -2.0f / (float)p->n_rot);
    float theta = pos;
    for (int i = 0; i < p->n_rot / 2; i++) {
        const float ff = p->freq_factors ? p->freq_factors[i] : 1.0f;
        const float angle = p->freq_scale * (theta / ff);
        cos_out[i] = cosf(angle);
        sin_out[i] = sinf(angle);
        theta *= theta_scale;
    }
}

void tl_rope_apply(const tl_rope_params *p, const float *cos_t, const float *sin_t, float *x,
                   int n_heads, int head_dim) {
    const int half = p->n_rot / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            const int a = p->neox ? i : 2 * i;
            const int b = p->neox ? i + half : 2 * i + 1;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * cos_t[i] - x1 * sin_t[i];
            v[b] = x0 * sin_t[i] + x1 * cos_t[i];
        }
    }
}

size_t tl_matmul_scratch_bytes(const tl_matrix *w, int64_t n_tokens) {
    const tl_type_traits *t = tl_type_traits_of(w->type);
    if (t->vec_dot_type == TL_TYPE_F32) return 0;
    return tl_type_row_bytes(t->vec_dot_type, w->n_cols) * (size_t)n_tokens;
}

typedef struct matmul_task {
    const tl_matrix *w;
    const void *x;       /* activations in vec_dot_type */
    size_t x_row_bytes;
    int64_t n_tokens;
    float *y;
    tl_vec_dot_fn dot;
} matmul_task;

/* Each thread takes a band of weight rows; every row is read once and used
 * for all tokens of the batch while it is hot in cache. */
static void matmul_rows(void *arg, int ith, int nth) {
    const matmul_task *t = arg;
    long r0, r1;
    tl_split_range((long)t->w->n_rows, ith, nth, &r0, &r1);
    const uint8_t *wdata = t->w->data;
    for (long r = r0; r < r1; r++) {
        const void *wrow = wdata + (size_t)r * t->w->row_bytes;
        for (int64_t tok = 0; tok < t->n_tokens; tok++) {
            const void *xrow = (const uint8_t *)t->x + (size_t)tok * t->x_row_bytes;
            t->dot(t->w->n_cols, &t->y[tok * t->w->n_rows + r], wrow, xrow);
        }
    }
}

void tl_matmul(tl_threadpool *pool, const tl_matrix *w, const float *x, int64_t n_tokens,
               float *y, void *scratch) {
    const tl_type_traits *t = tl_type_traits_of(w->type);
    const tl_type_traits *vt = tl_type_traits_of(t->vec_dot_type);
    matmul_task task = {.w = w, .n_tokens = n_tokens, .y = y, .dot = t->vec_dot};
    if (t->vec_dot_type == TL_TYPE_F32) {
        task.x = x;
        task.x_row_bytes = (size_t)w->n_cols * sizeof(float);
    } else {
        task.x_row_bytes = tl_type_row_bytes(t->vec_dot_type, w->n_cols);
        for (int64_t tok = 0; tok < n_tokens; tok++)
            vt->from_float(x + tok * w->n_cols, (uint8_t *)scratch + tok * task.x_row_bytes,
                           w->n_cols);
        task.x = scratch;
    }
    tl_threadpool_run(pool, matmul_rows, &task);
}

void tl_add_bias(float *y, const float *b, int64_t n, int64_t n_tokens) {
    for (int64_t t = 0; t < n_tokens; t++)
        for (int64_t i = 0; i < n; i++) y[t * n + i] += b[i];
}

void tl_matrix_get_row(const tl_matrix *w, int64_t row, float *out) {
    assert(row >= 0 && row < w->n_rows);
    tl_type_traits_of(w->type)->to_float((const uint8_t *)w->data + (size_t)row * w->row_bytes, out,
                                         w->n_cols);
}
