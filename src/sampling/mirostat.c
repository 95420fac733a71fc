/*
 * mirostat.c — Mirostat 1 and 2 (see mirostat.h), with llama.cpp's float
 * arithmetic so a given distribution is cut at the same place.
 */
#include "sampling/mirostat.h"

#include <math.h>

void tl_mirostat_init(tl_mirostat *m, int version, float tau, float eta, int32_t n_vocab) {
    m->version = version;
    m->tau = tau;
    m->eta = eta;
    m->n_vocab = n_vocab;
    tl_mirostat_reset(m);
}

void tl_mirostat_reset(tl_mirostat *m) {
    m->mu = 2.0f * m->tau;
}

/* v1: the Zipf exponent estimated from the top tokens gives k. */
static size_t keep_v1(const tl_mirostat *m, const tl_candidate *c, size_t n) {
    float sum_ti_bi = 0.0f, sum_ti_sq = 0.0f;
    for (size_t i = 0; i < (size_t)(TL_MIROSTAT_M - 1) && i + 1 < n; i++) {
        const float t_i = logf((float)(i + 2) / (float)(i + 1));
        const float b_i = logf(c[i].weight / c[i + 1].weight);
        sum_ti_bi += t_i * b_i;
        sum_ti_sq += t_i * t_i;
    }
    const float s_hat = sum_ti_bi / sum_ti_sq;
    const float epsilon_hat = s_hat - 1.0f;
    const float k =
        powf((epsilon_hat * powf(2.0f, m->mu)) / (1.0f - powf((float)m->n_vocab, -epsilon_hat)), 1.0f / s_hat);
    /* int(k) as llama.cpp takes it, at least 1; NaN (one candidate, flat
     * distributions) and huge values keep everything. */
    if (!(k < (float)n)) return isnan(k) ? (n > 0 ? 1 : 0) : n;
    const size_t kept = k >= 1.0f ? (size_t)k : 1;
    return kept < n ? kept : n;
}

/* v2: the tokens no more surprising than mu. */
static size_t keep_v2(const tl_mirostat *m, const tl_candidate *c, size_t n) {
    size_t kept = 0;
    while (kept < n && !(-log2f(c[kept].weight) > m->mu)) kept++;
    return kept ? kept : 1;
}

size_t tl_mirostat_keep(const tl_mirostat *m, const tl_candidate *c, size_t n) {
    if (n <= 1) return n;
    return m->version == 1 ? keep_v1(m, c, n) : keep_v2(m, c, n);
}

void tl_mirostat_update(tl_mirostat *m, float p) {
    const float observed_surprise = -log2f(p);
    const float error = observed_surprise - m->tau;
    m->mu = m->mu - m->eta * error;
}
