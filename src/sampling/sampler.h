/*
 * sampler.h — internal interface of the token sampler (tl_sampler_* in
 * tinyllm.h).
 *
 * The work is done by tl_sampler_create, which needs only the vocabulary
 * size; tl_sampler_new (sampler_model.c) is a thin wrapper that asks the
 * model for it, so the sampler can be built and tested without a model.
 *
 * The chain is llama.cpp's default one, in llama.cpp's order:
 *   logit bias → penalties (repeat, frequency, presence) → top-k →
 *   typical-p → top-p → min-p → temperature → a random draw from the softmax.
 * With mirostat 1 or 2 it is llama.cpp's Mirostat chain instead:
 *   logit bias → penalties → temperature → Mirostat's draw (mirostat.h).
 * temperature <= 0 is greedy: the argmax after bias and penalties, with no
 * random draw (ties go to the lowest token id), Mirostat or not.
 *
 * Choices worth knowing:
 * - Penalty history: repeat_last_n > 0 keeps that many accepted tokens (at
 *   most TL_SAMPLER_MAX_HISTORY); -1 ("the context") keeps the last
 *   TL_SAMPLER_MAX_HISTORY; 0 keeps none. Nothing is kept when every penalty
 *   is neutral.
 * - NaN logits are skipped. Tokens at -inf can never be drawn. If no token
 *   is left (all NaN / -inf) the sampler returns the lowest-id non-NaN token
 *   (token 0 when all are NaN) rather than failing. If some logits are +inf
 *   the lowest-id one of them is returned.
 * - Seeds: TL_SEED_RANDOM draws a seed from /dev/urandom (or the clock);
 *   tl_sampler_seed tells which. tl_sampler_reset clears the penalty
 *   history and restarts the random stream from the seed (a fresh one when
 *   the seed was TL_SEED_RANDOM) and Mirostat's mu, as llama.cpp's reset does.
 * - Reproducibility: the generator and every ordering decision are
 *   platform-independent; probabilities use expf, so two C libraries whose
 *   expf differ in the last bit could in principle pick differently when a
 *   draw lands exactly on a boundary.
 */
#ifndef TL_SAMPLING_SAMPLER_H
#define TL_SAMPLING_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#include "tinyllm.h"

/* The most tokens of penalty history kept (repeat_last_n = -1 or larger). */
#define TL_SAMPLER_MAX_HISTORY 131072

/* Build a sampler for a vocabulary of n_vocab tokens. params may be NULL
 * (defaults). Invalid parameters give TL_ERR_ARGUMENT naming the parameter. */
tl_status tl_sampler_create(int32_t n_vocab, const tl_sampler_params *params, tl_sampler **out, tl_error *err);

/*
 * A rule on which tokens may be drawn (the JSON output constraint). When
 * the sampled token is not allowed, every token is checked and the draw is
 * made again among the allowed ones. accept() sees the reply's tokens only:
 * tokens accepted after a reset and before the first sample (the prompt, for
 * the penalties) are not passed on; reset() starts a new reply.
 */
typedef struct tl_token_constraint {
    bool (*allows)(void *self, tl_token token);
    void (*accept)(void *self, tl_token token);
    void (*reset)(void *self);
    void (*free)(void *self);
    void *self;
} tl_token_constraint;

/* Mirostat's current target surprise mu (2 * tau after a reset). */
float tl_sampler_mirostat_mu(const tl_sampler *s);

/* Attaches a constraint; the sampler frees it. */
void tl_sampler_set_constraint(tl_sampler *s, tl_token_constraint constraint);

#endif /* TL_SAMPLING_SAMPLER_H */
