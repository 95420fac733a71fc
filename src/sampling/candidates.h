/*
 * candidates.h — the array of (token, logit) pairs the sampler narrows down.
 *
 * Candidates are ordered by logit, highest first, with ties broken by the
 * lower token id. That is a total order, so every selection and sort below
 * gives the same result on every platform whatever the input arrangement —
 * which keeps seeded sampling reproducible.
 */
#ifndef TL_SAMPLING_CANDIDATES_H
#define TL_SAMPLING_CANDIDATES_H

#include <stddef.h>

#include "tinyllm.h"

typedef struct tl_candidate {
    tl_token id;
    float logit;  /* never NaN: NaN logits are dropped before they get here */
    float weight; /* scratch for (unnormalised) probabilities: top-p, typical-p, Mirostat */
    float score;  /* scratch for typical-p: how far the token's surprise is from the entropy */
} tl_candidate;

/* Rearrange c[0..n) so that c[0..k) hold the k best candidates (in no
 * particular order) in O(n) expected time. Requires k <= n. */
void tl_candidates_select_best(tl_candidate *c, size_t n, size_t k);

/* Sort c[0..n) best first. */
void tl_candidates_sort(tl_candidate *c, size_t n);

/* Rearrange c[0..n) so that c[0..k) hold the fewest best candidates whose
 * weights add up to at least `target_mass` (in no particular order), and
 * return k: at least 1, and n if the whole array falls short. O(n) expected;
 * this is top-p without sorting the nucleus. */
size_t tl_candidates_select_best_by_mass(tl_candidate *c, size_t n, double target_mass);

/* Move every candidate whose logit is >= threshold to the front; returns how
 * many there are. */
size_t tl_candidates_partition_at_least(tl_candidate *c, size_t n, float threshold);

#endif /* TL_SAMPLING_CANDIDATES_H */
