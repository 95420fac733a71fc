/*
 * t5_attention.c — T5 attention: relative position buckets, the bias tables
 * built from them, and softmax(Q·Kᵀ + bias)·V as matrix products.
 *
 * T5 has no positional embeddings. Each (head, bucket) has a learned bias
 * added to the attention score; the bucket of a key depends only on its
 * distance to the query (exact for short distances, logarithmic up to 128,
 * and, in the bidirectional encoder, separate buckets for keys before and
 * after the query). Since only the distance matters, every score bias of a
 * context is read from one table per head, indexed by key - query, filled
 * when the context is created.
 *
 * The products follow attention.c: work is cut into units of (head, block of
 * query tokens); a unit gathers its queries and runs S = Q·Kᵀ and O = P·V
 * through the same tiled gemm kernels the weight matrices use. Keys and
 * values are f32 rows for the encoder and cross-attention, and the cache's
 * types (f32, f16, q8_0) for the decoder's self-attention.
 */
#include "model/t5.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/ops.h"

/* Query tokens per unit. */
#define UNIT_TOKENS 64

/* Same arithmetic as llama.cpp's llama_relative_position_bucket, including
 * where it rounds to float, so the buckets at the log-spaced boundaries agree. */
int32_t t5_relative_bucket(int32_t key_pos, int32_t query_pos, int64_t n_buckets, bool bidirectional) {
    const int64_t max_distance = 128;
    if (bidirectional) n_buckets >>= 1;
    const int64_t max_exact = n_buckets >> 1;
    int32_t distance = key_pos - query_pos;
    int32_t bucket = 0;
    if (bidirectional) {
        bucket += distance > 0 ? (int32_t)n_buckets : 0;
        distance = distance < 0 ? -distance : distance;
    } else {
        distance = distance < 0 ? -distance : 0;
    }
    if (distance < max_exact) return bucket + distance;
    const float log_ratio = logf((float)(1.0 * distance / (double)max_exact));
    const double scaled = (double)max_exact + (double)(log_ratio * (float)(n_buckets - max_exact)) /
                                                  log(1.0 * (double)max_distance / (double)max_exact);
    int32_t large = (int32_t)floorf((float)scaled);
    if (large > n_buckets - 1) large = (int32_t)(n_buckets - 1);
    return bucket + large;
}

void t5_bias_table_fill(t5_bias_table *t, const float *rel_bias, int n_head, int64_t n_buckets, bool bidirectional) {
    for (int64_t i = 0; i < t->len; i++) {
        const int32_t bucket = t5_relative_bucket((int32_t)(i - t->center), 0, n_buckets, bidirectional);
        for (int h = 0; h < n_head; h++) t->values[(size_t)h * t->len + i] = rel_bias[(size_t)bucket * n_head + h];
    }
}

static size_t align64(size_t n) {
    return (n + 63) & ~(size_t)63;
}

/* One thread's unit scratch. */
typedef struct unit_scratch {
    float *q; /* [UNIT_TOKENS][head_dim] */
    void *qq; /* q in K's vec_dot type */
    float *s; /* [UNIT_TOKENS][n_kv] scores, then probabilities */
    void *pq; /* probabilities in V's vec_dot type */
    float *o; /* [UNIT_TOKENS][head_dim] */
} unit_scratch;

/* Byte sizes of the five parts, in order. Converted rows take at most 4
 * bytes per element plus a block's slack. */
static void scratch_parts(int head_dim, int64_t n_kv, size_t parts[5]) {
    const size_t nq = UNIT_TOKENS, hd = (size_t)head_dim, nk = (size_t)n_kv;
    parts[0] = align64(nq * hd * sizeof(float));
    parts[1] = align64(nq * (hd * 4 + 64));
    parts[2] = align64(nq * nk * sizeof(float));
    parts[3] = align64(nq * (nk * 4 + 64));
    parts[4] = align64(nq * hd * sizeof(float));
}

size_t t5_attention_scratch_bytes(int head_dim, int64_t n_kv) {
    size_t parts[5], total = 0;
    scratch_parts(head_dim, n_kv, parts);
    for (int i = 0; i < 5; i++) total += parts[i];
    return total;
}

static unit_scratch carve(void *base, int head_dim, int64_t n_kv) {
    size_t parts[5];
    scratch_parts(head_dim, n_kv, parts);
    uint8_t *p = base;
    unit_scratch u;
    u.q = (float *)p;
    p += parts[0];
    u.qq = p;
    p += parts[1];
    u.s = (float *)p;
    p += parts[2];
    u.pq = p;
    p += parts[3];
    u.o = (float *)p;
    return u;
}

/* One unit: head h, query tokens [t0, t1). */
static void attend_unit(const t5_attention *a, const tl_kernel_set *k, const unit_scratch *u, int n_head, int hd, int h,
                        int32_t t0, int32_t t1) {
    const size_t width = (size_t)n_head * hd;
    const int32_t nq = t1 - t0;
    const int64_t n_pos = a->causal ? (int64_t)a->q_pos0 + t1 : a->n_kv;
    const t5_kv *kv = &a->kv;

    for (int32_t t = t0; t < t1; t++)
        memcpy(u->q + (size_t)(t - t0) * hd, a->q + (size_t)t * width + (size_t)h * hd, (size_t)hd * sizeof(float));

    /* S = Q · Kᵀ */
    const uint8_t *k_head = kv->k + tl_type_row_bytes(kv->k_type, (int64_t)h * hd);
    tl_matmul_floats(k, kv->k_type, hd, k_head, kv->k_row_bytes, 0, n_pos, u->q, nq, u->qq, u->s, n_pos, false);

    /* + position bias, causal mask, softmax. */
    for (int32_t r = 0; r < nq; r++) {
        const int64_t q_pos = (int64_t)a->q_pos0 + t0 + r;
        const int64_t seen = a->causal ? q_pos + 1 : n_pos;
        float *row = u->s + (size_t)r * n_pos;
        if (a->bias) {
            const float *b = a->bias->values + (size_t)h * a->bias->len + a->bias->center - q_pos;
            for (int64_t p = 0; p < seen; p++) row[p] += b[p];
        }
        k->softmax(row, seen);
        for (int64_t p = seen; p < n_pos; p++) row[p] = 0.0f;
    }

    /* O = P · V */
    if (kv->v_transposed) {
        const uint8_t *v_head = kv->v + (size_t)h * hd * kv->v_row_bytes;
        tl_matmul_floats(k, kv->v_type, n_pos, v_head, kv->v_row_bytes, 0, hd, u->s, nq, u->pq, u->o, hd, false);
    } else {
        const size_t v_off = tl_type_row_bytes(kv->v_type, (int64_t)h * hd);
        const tl_kv_axpy_fn axpy = k->kv_axpy[kv->v_type];
        memset(u->o, 0, (size_t)nq * hd * sizeof(float));
        for (int32_t r = 0; r < nq; r++) {
            const int64_t seen = a->causal ? (int64_t)a->q_pos0 + t0 + r + 1 : n_pos;
            for (int64_t p = 0; p < seen; p++)
                axpy(hd, u->s[(size_t)r * n_pos + p], kv->v + p * kv->v_row_bytes + v_off, u->o + (size_t)r * hd);
        }
    }

    for (int32_t t = t0; t < t1; t++)
        memcpy(a->out + (size_t)t * width + (size_t)h * hd, u->o + (size_t)(t - t0) * hd, (size_t)hd * sizeof(float));
}

void t5_attention_share(const t5_attention *a, const tl_kernel_set *k, int n_head, int head_dim, void *scratch, int ith,
                        int nth) {
    const int32_t n_blocks = (a->n_q + UNIT_TOKENS - 1) / UNIT_TOKENS;
    const int32_t n_units = n_blocks * n_head;
    const int64_t n_kv_max = a->causal ? (int64_t)a->q_pos0 + a->n_q : a->n_kv;
    const unit_scratch u = carve(scratch, head_dim, n_kv_max);
    /* Under a causal mask later blocks cost more: deal units from the most
     * expensive down, so threads get similar totals. */
    for (int32_t i = ith; i < n_units; i += nth) {
        const int32_t unit = n_units - 1 - i;
        const int32_t b = unit / n_head;
        const int h = unit % n_head;
        const int32_t t0 = b * UNIT_TOKENS;
        const int32_t t1 = t0 + UNIT_TOKENS < a->n_q ? t0 + UNIT_TOKENS : a->n_q;
        attend_unit(a, k, &u, n_head, head_dim, h, t0, t1);
    }
}
