/*
 * attention.c — causal self-attention over the KV cache, as matrix products.
 *
 * Work is cut into units of (KV head, block of query tokens). A unit gathers
 * the queries of every attention head that shares the KV head (grouped-query
 * attention) for its tokens, then runs two products through the same tiled
 * gemm kernels the weight matrices use:
 *
 *     S = Q · Kᵀ        (queries × cached positions; K rows are positions)
 *     S → causal mask → softmax per query
 *     O = P · V         (V is cached transposed: one row per head dimension,
 *                        positions along the row, so V's rows are "weights")
 *
 * Each K and V row is therefore read once per unit instead of once per
 * query, and the arithmetic runs in the SIMD kernels. A quantized (q8_0) V
 * cache cannot be stored transposed; it is read row by row with kv_axpy.
 */
#include "model/attention.h"

#include <math.h>
#include <string.h>

#include "model/steps.h"
#include "tensor/ops.h"

/* Queries per unit (all heads of a group times the tokens of a block). */
#define UNIT_QUERIES 64

static int tokens_per_unit(const tl_hparams *hp) {
    const int group = (int)(hp->n_head / hp->n_head_kv);
    return group >= UNIT_QUERIES ? 1 : UNIT_QUERIES / group;
}

static size_t align64(size_t n) {
    return (n + 63) & ~(size_t)63;
}

size_t tl_attention_scratch_bytes(const tl_hparams *hp, uint32_t n_ctx) {
    const size_t nq = (size_t)tokens_per_unit(hp) * (hp->n_head / hp->n_head_kv);
    const size_t hd = hp->head_dim;
    return align64(nq * hd * sizeof(float))       /* gathered queries */
           + align64(nq * hd * 4 + 64)            /* queries converted for K's type */
           + align64(nq * n_ctx * sizeof(float))  /* scores */
           + align64(nq * (size_t)n_ctx * 4 + 64) /* probabilities converted for V */
           + align64(nq * hd * sizeof(float));    /* outputs */
}

bool tl_attention_v_transposed(uint32_t type_v) {
    return type_v == TL_TYPE_F32 || type_v == TL_TYPE_F16;
}

void tl_attention_store(tl_context *ctx, const tl_kernel_set *k, uint8_t *k_layer, uint8_t *v_layer, uint32_t pos,
                        const float *key, const float *value) {
    const tl_hparams *hp = &ctx->model->hp;
    const int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    k->quantize[ctx->type_k](key, k_layer + (size_t)pos * ctx->k_row_bytes, kv_dim);
    if (!tl_attention_v_transposed(ctx->type_v)) {
        k->quantize[ctx->type_v](value, v_layer + (size_t)pos * ctx->v_row_bytes, kv_dim);
    } else if (ctx->type_v == TL_TYPE_F32) {
        float *v = (float *)v_layer;
        for (int64_t d = 0; d < kv_dim; d++) v[(size_t)d * ctx->n_ctx + pos] = value[d];
    } else {
        uint16_t *v = (uint16_t *)v_layer;
        for (int64_t d = 0; d < kv_dim; d++) v[(size_t)d * ctx->n_ctx + pos] = tl_fp32_to_fp16(value[d]);
    }
}

typedef struct unit_scratch {
    float *q; /* [nq][hd] */
    void *qq; /* q in K's vec_dot type */
    float *s; /* [nq][n_pos] */
    void *pq; /* probabilities in V's vec_dot type */
    float *o; /* [nq][hd] */
} unit_scratch;

static unit_scratch carve(tl_context *ctx, int ith) {
    const tl_hparams *hp = &ctx->model->hp;
    const size_t nq = (size_t)tokens_per_unit(hp) * (hp->n_head / hp->n_head_kv);
    const size_t hd = hp->head_dim;
    uint8_t *p = (uint8_t *)ctx->attn_scratch + (size_t)ith * ctx->attn_scratch_bytes;
    unit_scratch u;
    u.q = (float *)p;
    p += align64(nq * hd * sizeof(float));
    u.qq = p;
    p += align64(nq * hd * 4 + 64);
    u.s = (float *)p;
    p += align64(nq * ctx->n_ctx * sizeof(float));
    u.pq = p;
    p += align64(nq * (size_t)ctx->n_ctx * 4 + 64);
    u.o = (float *)p;
    return u;
}

/* One unit: KV head g, query tokens [t0, t1) of the batch, token t at
 * position pos_base + t of the sequence whose layer caches are given. The
 * units of an exact run that share K and V take the batch-invariant
 * products (tl_kernels_exact_gemm), whatever the set's own gemm; others take
 * the set's (a unit of one exact token always has the same shape). */
static void attend_unit(tl_context *ctx, const tl_kernel_set *k, const tl_attention_params *ap, const unit_scratch *u,
                        const uint8_t *k_layer, const uint8_t *v_layer, int64_t pos_base, int g, int32_t t0, int32_t t1,
                        bool batch_invariant) {
    const tl_hparams *hp = &ctx->model->hp;
    const int hd = (int)hp->head_dim;
    const int group = (int)(hp->n_head / hp->n_head_kv);
    const size_t q_dim = (size_t)hp->n_head * hd;
    const int32_t nq = (t1 - t0) * group;
    const int64_t n_pos = pos_base + t1; /* positions any query of the unit sees */
    /* With a sliding window, positions before the earliest query's window are
     * seen by none: S and P·V cover [lo, n_pos) only (column c = position lo + c). */
    const int64_t earliest = pos_base + t0 + 1;
    const int64_t lo = ap->window && earliest > (int64_t)ap->window ? earliest - ap->window : 0;
    const int64_t width = n_pos - lo;
    const float scale = ap->scale;

    /* Gather the queries: row (t - t0) * group + j is head g * group + j. */
    for (int32_t t = t0; t < t1; t++)
        for (int j = 0; j < group; j++) {
            const float *src = ctx->q + (size_t)t * q_dim + (size_t)(g * group + j) * hd;
            float *dst = u->q + (size_t)((t - t0) * group + j) * hd;
            for (int i = 0; i < hd; i++) dst[i] = src[i] * scale;
        }

    /* S = Q · Kᵀ */
    const uint8_t *k_head = k_layer + (size_t)lo * ctx->k_row_bytes + tl_type_row_bytes(ctx->type_k, (int64_t)g * hd);
    tl_matmul_floats(k, ctx->type_k, hd, k_head, ctx->k_row_bytes, 0, width, u->q, nq, u->qq, u->s, width,
                     batch_invariant);

    /* Soft-capping, the causal (and sliding-window) mask and softmax: the
     * query row of token t sees positions [first, pos_base + t]. */
    for (int32_t r = 0; r < nq; r++) {
        const int64_t seen_pos = pos_base + t0 + r / group + 1;
        const int64_t first_pos = ap->window && seen_pos > (int64_t)ap->window ? seen_pos - ap->window : 0;
        const int64_t first = first_pos - lo, seen = seen_pos - lo; /* columns */
        float *row = u->s + (size_t)r * width;
        if (ap->softcap > 0)
            for (int64_t c = first; c < seen; c++) row[c] = ap->softcap * tanhf(row[c] / ap->softcap);
        k->softmax(row + first, seen - first);
        for (int64_t c = 0; c < first; c++) row[c] = 0.0f;
        for (int64_t c = seen; c < width; c++) row[c] = 0.0f;
    }

    /* O = P · V */
    if (tl_attention_v_transposed(ctx->type_v)) {
        const size_t v_row = tl_type_row_bytes(ctx->type_v, ctx->n_ctx); /* one head dimension */
        const uint8_t *v_head = v_layer + (size_t)g * hd * v_row + tl_type_row_bytes(ctx->type_v, lo);
        tl_matmul_floats(k, ctx->type_v, width, v_head, v_row, 0, hd, u->s, nq, u->pq, u->o, hd, batch_invariant);
    } else {
        const size_t v_off = tl_type_row_bytes(ctx->type_v, (int64_t)g * hd);
        const tl_kv_axpy_fn axpy = k->kv_axpy[ctx->type_v];
        memset(u->o, 0, (size_t)nq * hd * sizeof(float));
        for (int32_t r = 0; r < nq; r++) {
            const int64_t seen = pos_base + t0 + r / group + 1;
            const int64_t first = ap->window && seen > (int64_t)ap->window ? seen - ap->window : 0;
            for (int64_t p = first; p < seen; p++)
                axpy(hd, u->s[(size_t)r * width + (p - lo)], v_layer + p * ctx->v_row_bytes + v_off,
                     u->o + (size_t)r * hd);
        }
    }

    /* Scatter the outputs back to [token][head][dim]. */
    for (int32_t t = t0; t < t1; t++)
        for (int j = 0; j < group; j++)
            memcpy(ctx->attn + (size_t)t * q_dim + (size_t)(g * group + j) * hd,
                   u->o + (size_t)((t - t0) * group + j) * hd, (size_t)hd * sizeof(float));
}

/* Tokens per unit for a run. An exact run (a decode step, a speculative
 * verification, a server's replies: see tl_token_span) must give each token
 * the bits a one-token decode would: its logits may not depend on how many
 * tokens were evaluated with it, which is what keeps speculative decoding's
 * greedy output identical to plain decoding. Its tokens still share K and V
 * rows when `shared` (see exact_units_share): the products are then
 * batch-invariant, a query's scores and softmax span its own positions, and
 * the columns of P·V past them are zeros that leave its sums unchanged
 * (column c always falls in the same lane at the same step). Otherwise an
 * exact run takes one token per unit. A prompt's long run shares each K and
 * V row among up to UNIT_QUERIES queries. */
static int32_t run_block(const tl_hparams *hp, const tl_seq_run *run, bool shared) {
    return run->exact && !shared ? 1 : tokens_per_unit(hp);
}

/* Exact runs may share units when the kernel set has batch-invariant
 * products over the cache types (tl_kernels_exact_gemm: then the same kernel
 * serves a one-token decode and a unit of many tokens) and no sliding window
 * moves the first column of a unit with its earliest token. */
static bool exact_units_share(const tl_context *ctx, const tl_kernel_set *k, const tl_attention_params *ap) {
    return ap->window == 0 && tl_kernels_exact_gemm(k, ctx->type_k) &&
           (!tl_attention_v_transposed(ctx->type_v) || tl_kernels_exact_gemm(k, ctx->type_v));
}

static int32_t run_units(const tl_hparams *hp, const tl_seq_run *run, bool shared) {
    const int32_t block = run_block(hp, run, shared);
    return (run->n + block - 1) / block * (int32_t)hp->n_head_kv;
}

void tl_attention_share(tl_context *ctx, const tl_kernel_set *k, const tl_attention_params *ap, const tl_seq_run *runs,
                        int32_t n_runs, uint32_t il, int ith, int nth) {
    const tl_hparams *hp = &ctx->model->hp;
    const int32_t n_kv = (int32_t)hp->n_head_kv;
    const bool shared = exact_units_share(ctx, k, ap);
    int32_t n_units = 0;
    for (int32_t r = 0; r < n_runs; r++) n_units += run_units(hp, &runs[r], shared);
    const unit_scratch u = carve(ctx, ith);
    /* Later blocks of a run see more positions and cost more: deal units
     * round-robin from the last down, so threads get similar totals. */
    int32_t r = n_runs - 1, first_unit = n_units; /* units of runs[r] are [first_unit - its count, first_unit) */
    for (int32_t i = ith; i < n_units; i += nth) {
        const int32_t unit = n_units - 1 - i;
        while (r > 0 && unit < first_unit - run_units(hp, &runs[r], shared)) {
            first_unit -= run_units(hp, &runs[r], shared);
            r--;
        }
        const tl_seq_run *run = &runs[r];
        const int32_t block = run_block(hp, run, shared);
        const int32_t local = unit - (first_unit - run_units(hp, run, shared));
        const int32_t b = local / n_kv;
        const int g = local % n_kv;
        const int32_t t0 = run->t0 + b * block;
        const int32_t end = run->t0 + run->n;
        const int32_t t1 = t0 + block < end ? t0 + block : end;
        attend_unit(ctx, k, ap, &u, tl_kv_layer(ctx, ctx->k_cache, ctx->k_row_bytes, il, run->seq),
                    tl_kv_layer(ctx, ctx->v_cache, ctx->v_row_bytes, il, run->seq), (int64_t)run->pos0 - run->t0, g, t0,
                    t1, run->exact && shared);
    }
}
