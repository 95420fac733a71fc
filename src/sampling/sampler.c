/*
 * sampler.c — the sampler's life cycle, parameter checks and the sampling
 * chain itself (see sampler.h for the order and the edge-case choices).
 *
 * Everything sample() needs is allocated at creation: a copy of the logits
 * (reused for the final probabilities) and one candidate per vocabulary
 * entry. Nothing sorts the whole vocabulary: top-k is a heap / quickselect
 * pass followed by a sort of the k survivors, min-p is one partition pass,
 * and top-p finds its nucleus with a mass-steered quickselect.
 */
#include "sampling/sampler.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sampling/candidates.h"
#include "sampling/mirostat.h"
#include "sampling/penalties.h"
#include "sampling/rng.h"
#include "sampling/typical.h"
#include "util/error.h"

struct tl_sampler {
    int32_t n_vocab;
    tl_sampler_params params; /* params.logit_bias points at logit_bias */
    tl_logit_bias *logit_bias;
    tl_penalty_params penalties;
    tl_penalty_history history;
    uint64_t seed; /* the seed in use */
    tl_rng rng;
    float *scratch;                 /* [n_vocab] working logits, then draw weights */
    tl_candidate *candidates;       /* [n_vocab] */
    tl_mirostat mirostat;           /* its mu, when params.mirostat is 1 or 2 */
    tl_token_constraint constraint; /* allows == NULL: none */
    bool replying;                  /* sampled since the last reset: accepted tokens are the reply's */
};

tl_sampler_params tl_sampler_default_params(void) {
    tl_sampler_params p = {
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .repeat_last_n = 64,
        .presence_penalty = 0.0f,
        .frequency_penalty = 0.0f,
        .seed = TL_SEED_RANDOM,
        .logit_bias = NULL,
        .n_logit_bias = 0,
        .json_output = false,
        .typical_p = 1.0f,
        .mirostat = 0,
        .mirostat_tau = 5.0f,
        .mirostat_eta = 0.1f,
    };
    return p;
}

/* Every way a caller's parameters can be unusable, each named. */
static tl_status validate_params(int32_t n_vocab, const tl_sampler_params *p, tl_error *err) {
    if (n_vocab <= 0) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: n_vocab must be > 0 (got %d)", (int)n_vocab);
    }
    if (!isfinite(p->temperature)) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: temperature must be a finite number (got %g)",
                       (double)p->temperature);
    }
    if (isnan(p->top_p) || p->top_p <= 0.0f) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: top_p must be in (0, 1] (got %g; values >= 1 turn it off)",
                       (double)p->top_p);
    }
    if (isnan(p->min_p) || p->min_p < 0.0f || p->min_p > 1.0f) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: min_p must be in [0, 1] (got %g; 0 turns it off)",
                       (double)p->min_p);
    }
    if (!isfinite(p->repeat_penalty) || p->repeat_penalty <= 0.0f) {
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "sampler: repeat_penalty must be a finite number > 0 (got %g; 1 turns it off)",
                       (double)p->repeat_penalty);
    }
    if (p->repeat_last_n < -1) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: repeat_last_n must be >= -1 (got %d; -1 = whole history)",
                       (int)p->repeat_last_n);
    }
    if (!isfinite(p->presence_penalty)) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: presence_penalty must be finite (got %g)",
                       (double)p->presence_penalty);
    }
    if (!isfinite(p->frequency_penalty)) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: frequency_penalty must be finite (got %g)",
                       (double)p->frequency_penalty);
    }
    if (isnan(p->typical_p) || p->typical_p < 0.0f) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: typical_p must be in [0, 1] (got %g; 1 turns it off)",
                       (double)p->typical_p);
    }
    if (p->mirostat < 0 || p->mirostat > 2) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: mirostat must be 0 (off), 1 or 2 (got %d)", (int)p->mirostat);
    }
    if (!isfinite(p->mirostat_tau) || p->mirostat_tau < 0.0f) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: mirostat_tau must be a finite number >= 0 (got %g)",
                       (double)p->mirostat_tau);
    }
    if (!isfinite(p->mirostat_eta) || p->mirostat_eta < 0.0f) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: mirostat_eta must be a finite number >= 0 (got %g)",
                       (double)p->mirostat_eta);
    }
    if (p->n_logit_bias < 0) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: n_logit_bias must be >= 0 (got %d)", (int)p->n_logit_bias);
    }
    if (p->n_logit_bias > 0 && !p->logit_bias) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: logit_bias is NULL but n_logit_bias is %d",
                       (int)p->n_logit_bias);
    }
    for (int32_t i = 0; i < p->n_logit_bias; i++) {
        const tl_logit_bias *b = &p->logit_bias[i];
        if (b->token < 0 || b->token >= n_vocab) {
            return tl_fail(err, TL_ERR_ARGUMENT, "sampler: logit_bias[%d].token %d is outside the vocabulary [0, %d)",
                           (int)i, (int)b->token, (int)n_vocab);
        }
        if (isnan(b->bias)) {
            return tl_fail(err, TL_ERR_ARGUMENT, "sampler: logit_bias[%d].bias (token %d) is NaN", (int)i,
                           (int)b->token);
        }
    }
    return TL_OK;
}

/* How many accepted tokens the penalties look back over (see sampler.h). */
static int32_t history_window(const tl_sampler_params *p) {
    const bool penalties_on = p->repeat_penalty != 1.0f || p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f;
    if (!penalties_on || p->repeat_last_n == 0) {
        return 0;
    }
    if (p->repeat_last_n < 0 || p->repeat_last_n > TL_SAMPLER_MAX_HISTORY) {
        return TL_SAMPLER_MAX_HISTORY;
    }
    return p->repeat_last_n;
}

static void start_random_stream(tl_sampler *s) {
    s->seed = s->params.seed == TL_SEED_RANDOM ? tl_rng_entropy_seed() : s->params.seed;
    tl_rng_seed(&s->rng, s->seed);
}

tl_status tl_sampler_create(int32_t n_vocab, const tl_sampler_params *params, tl_sampler **out, tl_error *err) {
    if (!out) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: out is NULL");
    }
    *out = NULL;
    const tl_sampler_params defaults = tl_sampler_default_params();
    if (!params) {
        params = &defaults;
    }
    tl_status status = validate_params(n_vocab, params, err);
    if (status != TL_OK) {
        return status;
    }

    tl_sampler *s = calloc(1, sizeof *s);
    if (!s) {
        return tl_fail(err, TL_ERR_NOMEM, "sampler: out of memory");
    }
    s->n_vocab = n_vocab;
    s->params = *params;
    s->penalties = (tl_penalty_params){
        .repeat = params->repeat_penalty,
        .frequency = params->frequency_penalty,
        .presence = params->presence_penalty,
    };
    s->scratch = malloc((size_t)n_vocab * sizeof *s->scratch);
    s->candidates = malloc((size_t)n_vocab * sizeof *s->candidates);
    if (params->n_logit_bias > 0) {
        s->logit_bias = malloc((size_t)params->n_logit_bias * sizeof *s->logit_bias);
        if (s->logit_bias) {
            memcpy(s->logit_bias, params->logit_bias, (size_t)params->n_logit_bias * sizeof *s->logit_bias);
        }
    }
    s->params.logit_bias = s->logit_bias;
    if (!s->scratch || !s->candidates || (params->n_logit_bias > 0 && !s->logit_bias)) {
        tl_sampler_free(s);
        return tl_fail(err, TL_ERR_NOMEM, "sampler: cannot allocate buffers for %d tokens", (int)n_vocab);
    }
    status = tl_penalty_history_init(&s->history, n_vocab, history_window(params), err);
    if (status != TL_OK) {
        tl_sampler_free(s);
        return status;
    }
    tl_mirostat_init(&s->mirostat, params->mirostat, params->mirostat_tau, params->mirostat_eta, n_vocab);
    start_random_stream(s);
    *out = s;
    return TL_OK;
}

void tl_sampler_free(tl_sampler *s) {
    if (!s) {
        return;
    }
    tl_penalty_history_free(&s->history);
    if (s->constraint.free) s->constraint.free(s->constraint.self);
    free(s->logit_bias);
    free(s->scratch);
    free(s->candidates);
    free(s);
}

uint64_t tl_sampler_seed(const tl_sampler *s) {
    return s->seed;
}

float tl_sampler_mirostat_mu(const tl_sampler *s) {
    return s->mirostat.mu;
}

void tl_sampler_accept(tl_sampler *s, tl_token token) {
    if (!s) {
        return;
    }
    tl_penalty_history_push(&s->history, token);
    if (s->constraint.accept && s->replying) s->constraint.accept(s->constraint.self, token);
}

void tl_sampler_set_constraint(tl_sampler *s, tl_token_constraint constraint) {
    if (s->constraint.free) s->constraint.free(s->constraint.self);
    s->constraint = constraint;
    s->replying = false;
}

void tl_sampler_reset(tl_sampler *s) {
    if (!s) {
        return;
    }
    tl_penalty_history_clear(&s->history);
    tl_mirostat_reset(&s->mirostat);
    start_random_stream(s);
    s->replying = false;
    if (s->constraint.reset) s->constraint.reset(s->constraint.self);
}

/* The lowest-id token with the highest logit, NaN skipped; 0 if all NaN. */
static tl_token argmax_token(const float *logits, int32_t n) {
    tl_token best = -1;
    for (int32_t i = 0; i < n; i++) {
        if (isnan(logits[i])) {
            continue;
        }
        if (best < 0 || logits[i] > logits[best]) {
            best = i;
        }
    }
    return best < 0 ? 0 : best;
}

/* Fill the candidates with every token that can be drawn (not NaN, not
 * -inf); returns how many and their highest logit in *max_logit. */
static size_t collect_candidates(tl_sampler *s, float *max_logit) {
    size_t n = 0;
    float best = -INFINITY;
    for (int32_t i = 0; i < s->n_vocab; i++) {
        const float logit = s->scratch[i];
        if (logit > -INFINITY) { /* false for NaN and -inf */
            s->candidates[n].id = i;
            s->candidates[n].logit = logit;
            n++;
            if (logit > best) {
                best = logit;
            }
        }
    }
    *max_logit = best;
    return n;
}

/* Nucleus filter: keep the fewest best candidates whose probability
 * (softmax over the current n) reaches top_p; at least one. When min-p is on
 * it is applied here too: both keep a best-first prefix and min-p's cut
 * depends only on the top logit, so the result is the shorter prefix, and
 * taking the min-p cut first shrinks the nucleus search. */
static size_t apply_top_p(tl_sampler *s, size_t n, bool sorted, float max_logit, bool *min_p_done) {
    tl_candidate *c = s->candidates;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        c[i].weight = expf(c[i].logit - max_logit);
        total += c[i].weight;
    }
    size_t limit = n;
    if (s->params.min_p > 0.0f) {
        /* On a sorted array the kept tokens already form the prefix, so
         * the partition leaves the order intact. */
        limit = tl_candidates_partition_at_least(c, n, max_logit + logf(s->params.min_p));
        *min_p_done = true;
    }
    const double target = (double)s->params.top_p * total;
    if (!sorted) {
        return tl_candidates_select_best_by_mass(c, limit, target);
    }
    double cumulative = 0.0;
    for (size_t i = 0; i < limit; i++) {
        cumulative += c[i].weight;
        if (cumulative >= target) {
            return i + 1;
        }
    }
    return limit;
}

/* Temperature and the random draw: token i is picked with probability
 * softmax(logit / temperature)_i over the n remaining candidates. */
static tl_token draw_token(tl_sampler *s, size_t n, float max_logit) {
    const tl_candidate *c = s->candidates;
    if (n == 1) {
        return c[0].id;
    }
    float *weights = s->scratch; /* the working logits are no longer needed */
    const float temperature = s->params.temperature;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        weights[i] = expf((c[i].logit - max_logit) / temperature);
        total += weights[i];
    }
    const double target = tl_rng_uniform(&s->rng) * total;
    double cumulative = 0.0;
    size_t last_possible = 0;
    for (size_t i = 0; i < n; i++) {
        if (weights[i] > 0.0f) {
            cumulative += weights[i];
            last_possible = i;
            if (cumulative > target) {
                return c[i].id;
            }
        }
    }
    return c[last_possible].id; /* only reachable through rounding */
}

/* Mirostat's draw (llama.cpp's chain when mirostat is on: temperature, then
 * mirostat): the softmax of logit / temperature over every candidate, sorted
 * best first, cut as mirostat.h says, renormalized, drawn from; mu learns
 * from the drawn token's probability. */
static tl_token draw_mirostat(tl_sampler *s, size_t n) {
    tl_candidate *c = s->candidates;
    const float temperature = s->params.temperature;
    for (size_t i = 0; i < n; i++) {
        c[i].logit /= temperature;
    }
    tl_candidates_sort(c, n);
    float total = 0.0f;
    for (size_t i = 0; i < n; i++) {
        c[i].weight = expf(c[i].logit - c[0].logit);
        total += c[i].weight;
    }
    for (size_t i = 0; i < n; i++) {
        c[i].weight /= total;
    }
    const size_t kept = tl_mirostat_keep(&s->mirostat, c, n);
    total = 0.0f;
    for (size_t i = 0; i < kept; i++) {
        c[i].weight = expf(c[i].logit - c[0].logit);
        total += c[i].weight;
    }
    const double target = tl_rng_uniform(&s->rng) * (double)total;
    double cumulative = 0.0;
    size_t chosen = kept - 1; /* only kept through rounding */
    for (size_t i = 0; i < kept; i++) {
        cumulative += c[i].weight;
        if (c[i].weight > 0.0f && cumulative > target) {
            chosen = i;
            break;
        }
    }
    tl_mirostat_update(&s->mirostat, c[chosen].weight / total);
    return c[chosen].id;
}

/* The working logits: the model's, with the logit bias and the penalties. */
static void prepare_logits(tl_sampler *s, const float *logits) {
    const tl_sampler_params *p = &s->params;
    float *work = s->scratch;
    memcpy(work, logits, (size_t)s->n_vocab * sizeof *work);
    for (int32_t i = 0; i < p->n_logit_bias; i++) {
        work[p->logit_bias[i].token] += p->logit_bias[i].bias;
    }
    if (s->history.window > 0) {
        tl_penalties_apply(&s->history, &s->penalties, work);
    }
}

/* The chain from top-k to the draw, over the working logits. */
static tl_token choose(tl_sampler *s) {
    const tl_sampler_params *p = &s->params;
    float *work = s->scratch;
    if (p->temperature <= 0.0f) {
        return argmax_token(work, s->n_vocab);
    }

    float max_logit;
    size_t n = collect_candidates(s, &max_logit);
    if (n == 0 || max_logit == INFINITY) {
        return argmax_token(work, s->n_vocab);
    }

    if (p->mirostat != 0) {
        return draw_mirostat(s, n);
    }

    bool sorted = false; /* candidates in rank order (only after top-k) */
    bool min_p_done = false;
    if (p->top_k > 0 && (size_t)p->top_k < n) {
        tl_candidates_select_best(s->candidates, n, (size_t)p->top_k);
        n = (size_t)p->top_k;
        tl_candidates_sort(s->candidates, n);
        sorted = true;
    }
    if (p->typical_p < 1.0f) {
        /* Leaves the candidates in typicality order, and may drop the best. */
        n = tl_typical_filter(s->candidates, n, p->typical_p, 1);
        sorted = false;
        max_logit = s->candidates[0].logit;
        for (size_t i = 1; i < n; i++) {
            if (s->candidates[i].logit > max_logit) {
                max_logit = s->candidates[i].logit;
            }
        }
    }
    if (p->top_p < 1.0f) {
        n = apply_top_p(s, n, sorted, max_logit, &min_p_done);
    }
    if (p->min_p > 0.0f && !min_p_done) {
        n = tl_candidates_partition_at_least(s->candidates, n, max_logit + logf(p->min_p));
    }
    return draw_token(s, n, max_logit);
}

tl_token tl_sampler_sample(tl_sampler *s, const float *logits) {
    assert(s && logits);
    s->replying = true;
    prepare_logits(s, logits);
    const float mu = s->mirostat.mu;
    tl_token token = choose(s);
    const tl_token_constraint *c = &s->constraint;
    if (c->allows && !c->allows(c->self, token)) {
        /* Most draws are allowed; when one is not, draw again among the tokens that are
         * (Mirostat learns from the second draw only). */
        s->mirostat.mu = mu;
        prepare_logits(s, logits);
        for (tl_token t = 0; t < s->n_vocab; t++)
            if (!c->allows(c->self, t)) s->scratch[t] = -INFINITY;
        token = choose(s);
    }
    return token;
}
