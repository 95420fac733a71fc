/*
 * steps.c — threaded forward-pass steps shared by every family (see steps.h).
 */
#include "model/steps.h"

#include <assert.h>

#include "tensor/types.h"

size_t tl_act_slot_bytes(size_t n_rows, size_t widest) {
    /* Converted activations take at most 2 bytes per element (f16/bf16; the
     * 8-bit types ~1.1). */
    return n_rows * widest * 2 + 64;
}

/* Where a matrix finds its input: the converted slot for its vec_dot type,
 * or the float rows themselves. */
static const void *input_for(const tl_act_slots *slots, const tl_matrix *w, const float *x, size_t *row_bytes) {
    const uint32_t vdt = tl_type_traits_of(w->type)->vec_dot_type;
    if (vdt == TL_TYPE_F32) {
        *row_bytes = (size_t)w->n_cols * sizeof(float);
        return x;
    }
    *row_bytes = tl_type_row_bytes(vdt, w->n_cols);
    for (int i = 0; i < TL_ACT_SLOTS; i++)
        if (slots->type[i] == vdt) return slots->buf[i];
    return NULL; /* unreachable: tl_step_convert assigned a slot */
}

void tl_step_convert(const tl_kernel_set *k, tl_act_slots *slots, int ith, const tl_matrix *const *mats, int n_mats,
                     const float *x, int64_t n_cols, int64_t t0, int64_t t1) {
    uint32_t types[TL_ACT_SLOTS];
    int used = 0;
    for (int i = 0; i < n_mats; i++) {
        const uint32_t vdt = tl_type_traits_of(mats[i]->type)->vec_dot_type;
        if (vdt == TL_TYPE_F32) continue;
        int slot = 0;
        while (slot < used && types[slot] != vdt) slot++;
        if (slot == used) {
            assert(used < TL_ACT_SLOTS && "more distinct activation types than slots");
            types[used++] = vdt;
            tl_quantize_rows(k, vdt, x, n_cols, t0, t1, slots->buf[slot]);
        }
    }
    if (ith == 0)
        for (int i = 0; i < TL_ACT_SLOTS; i++) slots->type[i] = i < used ? types[i] : TL_TYPE_COUNT;
}

void tl_step_rows(int64_t n_rows, int ith, int nth, int64_t *r0, int64_t *r1) {
    tl_split_rows(n_rows, TL_ROW_ALIGN, ith, nth, r0, r1);
}

void tl_step_matmul_spans(const tl_kernel_set *k, const tl_act_slots *slots, int ith, int nth, const tl_matrix *w,
                          const float *bias, const float *x, const tl_token_span *spans, int32_t n_spans, float *y) {
    size_t row_bytes;
    const uint8_t *xq = input_for(slots, w, x, &row_bytes);
    int64_t r0, r1;
    tl_step_rows(w->n_rows, ith, nth, &r0, &r1);
    if (r0 >= r1) return;
    for (int32_t i = 0; i < n_spans; i++) {
        const tl_token_span *s = &spans[i];
        const uint8_t *xs = xq + (size_t)s->t0 * row_bytes;
        float *ys = y + (size_t)s->t0 * (size_t)w->n_rows;
        if (s->exact)
            tl_kernels_gemm_exact(k, w->type, w->n_cols, w->data, w->row_bytes, r0, r1, xs, row_bytes, s->t1 - s->t0,
                                  ys, w->n_rows);
        else
            tl_matmul_rows(k, w, xs, row_bytes, s->t1 - s->t0, ys, w->n_rows, r0, r1);
        if (bias)
            for (int32_t t = s->t0; t < s->t1; t++)
                for (int64_t r = r0; r < r1; r++) y[t * w->n_rows + r] += bias[r];
    }
}

void tl_step_matmul(const tl_kernel_set *k, const tl_act_slots *slots, int ith, int nth, const tl_matrix *w,
                    const float *bias, const float *x, int32_t count, float *y) {
    size_t row_bytes;
    const void *xq = input_for(slots, w, x, &row_bytes);
    int64_t r0, r1;
    tl_step_rows(w->n_rows, ith, nth, &r0, &r1);
    tl_matmul_rows(k, w, xq, row_bytes, count, y, w->n_rows, r0, r1);
    if (bias)
        for (int32_t t = 0; t < count; t++)
            for (int64_t r = r0; r < r1; r++) y[t * w->n_rows + r] += bias[r];
}
