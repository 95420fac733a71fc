/*
 * ops.c — scalar reference kernels for norms, activations, RoPE, softmax and
 * the quantized matrix product (see ops.h).
 */
#include "tensor/ops.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "tensor/types.h"

void tl_rms_norm(float *out, const float *x, const float *weight, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * (weight ? weight[i] : 1.0f);
}

void tl_layer_norm(float *out, const float *x, const float *weight, const float *bias, int64_t n, float eps) {
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

void tl_swiglu_ref(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i])) * y[i];
}

void tl_swiglu(float *x, const float *y, int64_t n) {
    tl_kernels()->swiglu(x, y, n);
}

/* GELU as ggml computes it on CPUs: the tanh approximation looked up in a
 * table indexed by the input rounded to f16, result rounded to f16 (identity
 * beyond ±10). Matching its rounding keeps logits within llama.cpp's. */
static float gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void gelu_table_init(void) {
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
    for (uint32_t i = 0; i < (1u << 16); i++) {
        const float v = tl_fp16_to_fp32((uint16_t)i);
        const float g = 0.5f * v * (1.0f + tanhf(sqrt_2_over_pi * v * (1.0f + 0.044715f * v * v)));
        gelu_table[i] = tl_fp16_to_fp32(tl_fp32_to_fp16(g));
    }
}

static inline float gelu_ggml(float v) {
    if (v <= -10.0f) return 0.0f;
    if (v >= 10.0f) return v;
    return gelu_table[tl_fp32_to_fp16(v)];
}

const float *tl_gelu_table(void) {
    pthread_once(&gelu_once, gelu_table_init);
    return gelu_table;
}

void tl_geglu_ref(float *x, const float *y, int64_t n) {
    pthread_once(&gelu_once, gelu_table_init);
    for (int64_t i = 0; i < n; i++) x[i] = gelu_ggml(x[i]) * (y ? y[i] : 1.0f);
}

void tl_gelu(float *x, int64_t n) {
    tl_kernels()->geglu(x, NULL, n);
}
void tl_geglu(float *x, const float *y, int64_t n) {
    tl_kernels()->geglu(x, y, n);
}

/* theta_i = pos * base^(-2i/n_rot) * freq_scale / freq_factor_i. The angle
 * is advanced by repeated multiplication, as ggml does, so the rounding (and
 * hence the logits) matches llama.cpp closely. */
void tl_rope_cache(const tl_rope_params *p, float pos, float *cos_out, float *sin_out) {
    const float theta_scale = powf(p->theta_base, -2.0f / (float)p->n_rot);
    const float mscale = p->mscale != 0.0f ? p->mscale : 1.0f;
    float theta = pos;
    for (int i = 0; i < p->n_rot / 2; i++) {
        const float ff = p->freq_factors ? p->freq_factors[i] : 1.0f;
        const float angle = p->freq_scale * (theta / ff);
        cos_out[i] = cosf(angle) * mscale;
        sin_out[i] = sinf(angle) * mscale;
        theta *= theta_scale;
    }
}

void tl_rope_apply(const tl_rope_params *p, const float *cos_t, const float *sin_t, float *x, int n_heads,
                   int head_dim) {
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

void tl_matmul_rows(const tl_kernel_set *k, const tl_matrix *w, const void *xq, size_t xq_row_bytes, int64_t n_tokens,
                    float *y, int64_t ldy, int64_t r0, int64_t r1) {
    if (r0 >= r1 || n_tokens <= 0) return;
    tl_kernels_gemm(k, w->type, w->n_cols, w->data, w->row_bytes, r0, r1, xq, xq_row_bytes, n_tokens, y, ldy);
}

void tl_matmul_floats(const tl_kernel_set *k, uint32_t w_type, int64_t n_cols, const void *w, size_t w_row_bytes,
                      int64_t r0, int64_t r1, const float *x, int64_t n_tokens, void *scratch, float *y, int64_t ldy,
                      bool batch_invariant) {
    const uint32_t vdt = tl_type_traits_of(w_type)->vec_dot_type;
    const void *xq = x;
    size_t xq_row_bytes = (size_t)n_cols * sizeof(float);
    if (vdt != TL_TYPE_F32) {
        tl_quantize_rows(k, vdt, x, n_cols, 0, n_tokens, scratch);
        xq = scratch;
        xq_row_bytes = tl_type_row_bytes(vdt, n_cols);
    }
    const tl_gemm_fn exact = batch_invariant ? tl_kernels_exact_gemm(k, w_type) : NULL;
    if (exact)
        exact(n_cols, w, w_row_bytes, r0, r1, xq, xq_row_bytes, n_tokens, y, ldy);
    else
        tl_kernels_gemm(k, w_type, n_cols, w, w_row_bytes, r0, r1, xq, xq_row_bytes, n_tokens, y, ldy);
}

void tl_quantize_rows(const tl_kernel_set *k, uint32_t type, const float *x, int64_t n_cols, int64_t t0, int64_t t1,
                      void *out) {
    const size_t row_bytes = tl_type_row_bytes(type, n_cols);
    for (int64_t t = t0; t < t1; t++) k->quantize[type](x + t * n_cols, (uint8_t *)out + (size_t)t * row_bytes, n_cols);
}

void tl_split_rows(int64_t n, int64_t align, int ith, int nth, int64_t *begin, int64_t *end) {
    int64_t chunks = (n + align - 1) / align;
    int64_t per = (chunks + nth - 1) / nth;
    *begin = per * ith * align;
    *end = *begin + per * align;
    if (*begin > n) *begin = n;
    if (*end > n) *end = n;
}

void tl_add_bias(float *y, const float *b, int64_t n, int64_t n_tokens) {
    for (int64_t t = 0; t < n_tokens; t++)
        for (int64_t i = 0; i < n; i++) y[t * n + i] += b[i];
}

void tl_matrix_get_row(const tl_matrix *w, int64_t row, float *out) {
    assert(row >= 0 && row < w->n_rows);
    tl_type_traits_of(w->type)->to_float((const uint8_t *)w->data + (size_t)row * w->row_bytes, out, w->n_cols);
}
