/*
 * mirostat.h — Mirostat (Basu et al. 2021) and Mirostat 2.0, as llama.cpp's
 * llama_sampler_mirostat and llama_sampler_mirostat_v2 do them (mirostat.c).
 *
 * Both keep a running target `mu` for the surprise (-log2 p) of the drawn
 * token, starting at 2 * tau. Before a draw they cut the candidates (sorted
 * best first, with normalized probabilities in .weight):
 *   v1: estimate the Zipf exponent s from the m = 100 most likely tokens and
 *       keep the top k = ((s - 1) 2^mu / (1 - N^(1 - s)))^(1/s) tokens;
 *   v2: keep the tokens whose surprise is at most mu (at least one).
 * After the draw, mu -= eta * (surprise of the drawn token - tau), with the
 * token's probability renormalized over the kept ones.
 */
#ifndef TL_SAMPLING_MIROSTAT_H
#define TL_SAMPLING_MIROSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "sampling/candidates.h"

#define TL_MIROSTAT_M 100 /* tokens v1 estimates the exponent from (llama.cpp's m) */

typedef struct tl_mirostat {
    int version; /* 1 or 2 */
    float tau, eta;
    float mu;
    int32_t n_vocab; /* N in v1's formula */
} tl_mirostat;

void tl_mirostat_init(tl_mirostat *m, int version, float tau, float eta, int32_t n_vocab);
/* mu back to 2 * tau (a new reply). */
void tl_mirostat_reset(tl_mirostat *m);
/* How many of the n candidates (sorted best first, .weight = probability
 * summing to 1) the draw is made from: at least 1. */
size_t tl_mirostat_keep(const tl_mirostat *m, const tl_candidate *c, size_t n);
/* Learns from a draw: `p` is the drawn token's probability among the kept. */
void tl_mirostat_update(tl_mirostat *m, float p);

#endif /* TL_SAMPLING_MIROSTAT_H */
