/*
 * draft_policy.c — the speculative draft budget (draft_policy.h).
 *
 * Model: each draft in turn is kept with probability a (estimated from
 * recent steps: kept drafts over kept plus rejections), so a step drafting k
 * tokens yields E(k) = 1 + a + ... + a^k tokens and costs
 * T(k) = plain + k * (draft + row) milliseconds. The budget is the k with the
 * best E(k) / T(k), used when that beats plain generation (1 / plain) by at
 * least 5%; otherwise nothing is drafted but one token every so many steps
 * (what a probe costs over 2% of a plain step, at least 8). A draft model
 * left behind by steps without drafts must evaluate them before its next
 * draft; when that catching up alone costs more than 2% of the steps it
 * covers, there are no probes at all. Costs are running averages of the
 * reply's own evaluations: the first two steps are plain (the second's time
 * is the first plain cost: the first pays for cold caches), the first draft
 * is short (2 tokens) and measures the drafter (its catching up with the
 * prompt apart) and the rows.
 */
#include <math.h>

#include "generate/draft_policy.h"

#define COST_WEIGHT 0.25  /* weight of the newest measurement in the cost averages */
#define ACCEPT_WEIGHT 0.3 /* ... and in the acceptance averages */
#define FIRST_DRAFT 2     /* tokens of the first draft, before the costs are known */
#define MIN_GAIN 1.05     /* speculation must promise this speed-up over plain */
#define PROBE_SHARE 0.02  /* a probe every (its cost / this) plain steps while off */
#define PROBE_MIN_STEPS 8
#define PROBE_MAX_STEPS 256

void draft_policy_begin(draft_policy *p) {
    *p = (draft_policy){.kept_avg = 1.0, .rejected_avg = 0.0, .row_ms = -1.0, .draft_ms = -1.0, .catch_up_ms = -1.0};
}

/* The running average with a new sample. A sample above `bound` counts as
 * `bound`: one evaluation stalled by the machine (a sleeping thread woken,
 * a descheduled vCPU: milliseconds on a busy VM) must not turn drafting off
 * for the rest of the reply. */
static double update(double avg, double sample, double bound) {
    if (avg < 0) return sample;
    if (sample > bound) sample = bound;
    return (1 - COST_WEIGHT) * avg + COST_WEIGHT * sample;
}

/* Expected tokens of a step drafting k tokens each kept with chance a. */
static double expected_tokens(double a, int32_t k) {
    return a >= 1.0 ? k + 1.0 : (1.0 - pow(a, k + 1)) / (1.0 - a);
}

int32_t draft_policy_budget(draft_policy *p, const tl_draft_params *params) {
    const int32_t n_max = params->n_max;
    if (!params->adaptive || n_max <= 0) return n_max > 0 ? n_max : 0;
    if (p->plain_ms <= 0) return 0;                                        /* measure a plain step first */
    if (p->draft_ms < 0) return n_max < FIRST_DRAFT ? n_max : FIRST_DRAFT; /* then a short draft */
    const double a = p->kept_avg / (p->kept_avg + p->rejected_avg + 1e-9);
    const double per_draft = p->draft_ms + (p->row_ms > 0 ? p->row_ms : 0.0);
    int32_t best_k = 0;
    double best_rate = 1.0 / p->plain_ms;
    for (int32_t k = 1; k <= n_max; k++) {
        const double rate = expected_tokens(a, k) / (p->plain_ms + k * per_draft);
        if (rate > best_rate) best_rate = rate, best_k = k;
    }
    if (best_k > 0 && best_rate * p->plain_ms >= MIN_GAIN) {
        p->idle_steps = 0;
        return best_k;
    }
    /* A probe after n idle steps costs a draft, a row and n tokens of catching
     * up: its share of those n plain steps must stay under PROBE_SHARE. */
    const double catch_up_share = p->catch_up_ms > 0 ? p->catch_up_ms / p->plain_ms : 0.0;
    if (catch_up_share >= PROBE_SHARE) return 0;
    double every = ceil(per_draft / ((PROBE_SHARE - catch_up_share) * p->plain_ms));
    if (every < PROBE_MIN_STEPS) every = PROBE_MIN_STEPS;
    if (every > PROBE_MAX_STEPS) every = PROBE_MAX_STEPS;
    if (++p->idle_steps < every) return 0;
    p->idle_steps = 0;
    return 1;
}

void draft_policy_drafted(draft_policy *p, int32_t n, double ms, int32_t caught_up, double caught_up_ms) {
    /* One token of catching up is every step's (the target's own token);
     * more is the batch after steps without drafts, measured apart. */
    if (caught_up > 1) {
        draft_policy_caught_up(p, caught_up, caught_up_ms);
        ms -= caught_up_ms;
    }
    p->draft_ms = update(p->draft_ms, (ms > 0 ? ms : 0) / (n > 0 ? n : 1), 2 * p->draft_ms + 0.1 * p->plain_ms);
}

void draft_policy_caught_up(draft_policy *p, int32_t n, double ms) {
    if (n > 1) p->catch_up_ms = update(p->catch_up_ms, ms / n, 2 * p->catch_up_ms + 0.1 * p->plain_ms);
}

void draft_policy_fed(draft_policy *p, int32_t n_rows, double now_ms) {
    p->fed_at = now_ms;
    p->fed_rows = n_rows;
}

void draft_policy_evaluated(draft_policy *p, double now_ms) {
    if (p->fed_at <= 0) return;
    const double ms = now_ms - p->fed_at;
    p->fed_at = 0;
    if (ms < 0) return;
    if (p->fed_rows == 1) {
        /* the reply's first step pays for cold caches and first touches of
         * the weights: it is not what a plain step costs */
        if (p->plain_steps++ > 0) p->plain_ms = p->plain_ms > 0 ? update(p->plain_ms, ms, 2 * p->plain_ms) : ms;
    } else if (p->plain_ms > 0) {
        const double extra = (ms - p->plain_ms) / (p->fed_rows - 1);
        p->row_ms = update(p->row_ms, extra > 0 ? extra : 0, p->row_ms + p->plain_ms);
    }
}

void draft_policy_kept(draft_policy *p, int32_t drafted, int32_t kept) {
    if (drafted <= 0) return;
    p->kept_avg = (1 - ACCEPT_WEIGHT) * p->kept_avg + ACCEPT_WEIGHT * kept;
    p->rejected_avg = (1 - ACCEPT_WEIGHT) * p->rejected_avg + ACCEPT_WEIGHT * (kept < drafted ? 1.0 : 0.0);
}
