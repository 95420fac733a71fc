/*
 * typical.h — locally typical sampling (Meister et al. 2022), as llama.cpp's
 * llama_sampler_typical does it (typical.c).
 *
 * Over the softmax of the candidates, each token's surprise -ln p is
 * compared with the distribution's entropy H; tokens are taken in order of
 * |-ln p - H| (closest to the entropy first) until their probabilities add
 * up to more than p, keeping at least min_keep.
 */
#ifndef TL_SAMPLING_TYPICAL_H
#define TL_SAMPLING_TYPICAL_H

#include <stddef.h>

#include "sampling/candidates.h"

/* Rearranges c[0..n) so that the kept candidates come first, most typical
 * first, and returns how many are kept (n when p >= 1). Uses the weight
 * and score fields as scratch. */
size_t tl_typical_filter(tl_candidate *c, size_t n, float p, size_t min_keep);

#endif /* TL_SAMPLING_TYPICAL_H */
