/*
 * draft_policy.h — how many tokens a generator drafts at each step
 * (speculative decoding, generator.c), chosen from what drafting has been
 * worth so far: the chance a draft is kept, and the measured costs of a
 * plain one-token evaluation, of each extra row an evaluation carries, of
 * each drafted token and of each token a draft model must catch up on.
 * Speculation goes on only while it is expected to be faster than plain
 * generation; off, a single draft is tried now and then (rarely enough to
 * cost about 2%, catching up included, or never when catching up alone
 * costs more) so a text that turns predictable is noticed. The output never depends on it (drafts only decide how many
 * tokens an evaluation checks).
 */
#ifndef TL_GENERATE_DRAFT_POLICY_H
#define TL_GENERATE_DRAFT_POLICY_H

#include <stdint.h>

#include "tinyllm.h"

typedef struct draft_policy {
    double kept_avg, rejected_avg; /* recent drafts kept per drafting step, and steps ending in a rejection */
    double plain_ms;               /* one-token evaluation (0: not measured yet) */
    int32_t plain_steps;           /* one-token evaluations seen (the first is not measured) */
    double row_ms;                 /* what each further row adds to an evaluation (< 0: not measured yet) */
    double draft_ms;               /* per drafted token, the drafter's overhead included (< 0: not yet) */
    double catch_up_ms;            /* per token a draft model evaluates to catch up after steps without
                                      drafts (< 0: not measured; lookup: none) */
    int32_t idle_steps;            /* steps since the last draft while drafting does not pay */
    double fed_at;                 /* when the last feed was handed to the caller (0: none pending) */
    int32_t fed_rows;              /* rows of that feed */
} draft_policy;

/* Forgets everything: a new reply measures again. */
void draft_policy_begin(draft_policy *p);

/* Tokens to draft for the next feed (0..params->n_max), before the
 * context's and the reply's limits. */
int32_t draft_policy_budget(draft_policy *p, const tl_draft_params *params);

/* The drafter proposed n tokens in ms milliseconds, of which caught_up_ms
 * went to evaluating caught_up tokens of the history first. */
void draft_policy_drafted(draft_policy *p, int32_t n, double ms, int32_t caught_up, double caught_up_ms);

/* A draft model evaluated n tokens of the history in ms milliseconds to
 * catch up (tl_drafter_begin's prompt, or a propose after idle steps). */
void draft_policy_caught_up(draft_policy *p, int32_t n, double ms);

/* A feed of n_rows tokens goes to the caller now; its logits come back at
 * the next draft_policy_evaluated. */
void draft_policy_fed(draft_policy *p, int32_t n_rows, double now_ms);
void draft_policy_evaluated(draft_policy *p, double now_ms);

/* Of the step's drafted tokens, kept were kept. */
void draft_policy_kept(draft_policy *p, int32_t drafted, int32_t kept);

#endif /* TL_GENERATE_DRAFT_POLICY_H */
