/*
 * typical.c — locally typical sampling (see typical.h). The steps and the
 * float arithmetic follow llama.cpp's llama_sampler_typical_apply, so the
 * same candidates give the same kept set.
 */
#include "sampling/typical.h"

#include <math.h>
#include <stdlib.h>

/* Closest to the entropy first; ties keep llama.cpp's rank order (higher
 * logit, then lower id) so the result does not depend on qsort. */
static int by_score(const void *pa, const void *pb) {
    const tl_candidate *a = pa, *b = pb;
    if (a->score != b->score) return a->score < b->score ? -1 : 1;
    if (a->logit != b->logit) return a->logit > b->logit ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

size_t tl_typical_filter(tl_candidate *c, size_t n, float p, size_t min_keep) {
    if (p >= 1.0f || n == 0) return n;
    /* The softmax, in float as llama.cpp computes it. */
    float max_logit = c[0].logit;
    for (size_t i = 1; i < n; i++)
        if (c[i].logit > max_logit) max_logit = c[i].logit;
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) {
        c[i].weight = expf(c[i].logit - max_logit);
        sum += c[i].weight;
    }
    float entropy = 0.0f;
    for (size_t i = 0; i < n; i++) {
        c[i].weight /= sum;
        if (c[i].weight > 0.0f) entropy += -c[i].weight * logf(c[i].weight);
    }
    for (size_t i = 0; i < n; i++) c[i].score = fabsf(-logf(c[i].weight) - entropy);
    qsort(c, n, sizeof *c, by_score);
    float cumulative = 0.0f;
    for (size_t i = 0; i < n; i++) {
        cumulative += c[i].weight;
        if (cumulative > p && (min_keep == 0 || i >= min_keep - 1)) return i + 1;
    }
    return n;
}
