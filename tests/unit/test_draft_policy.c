/*
 * test_draft_policy.c — the speculative draft budget (src/generate/
 * draft_policy.c) on made-up timings: two plain steps first (the first,
 * slow with cold caches, not taken as the plain cost), then a short draft; long drafts while they pay (cheap drafts,
 * high acceptance), none but rare probes while they do not (a slow draft, or low acceptance); no probes when a draft
 * model's catching up alone costs too much; probes that find drafts kept again turn drafting back on; non-adaptive
 * parameters always draft n_max.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "generate/draft_policy.h"

/* One step of a generator under the policy: the budget, a drafter taking
 * draft_ms per token, an evaluation taking plain_ms + row_ms per further
 * row, and kept drafts (at most `keep`). Returns the budget. The clock is
 * the test's own. */
typedef struct sim {
    draft_policy p;
    tl_draft_params params;
    double now, plain_ms, row_ms, draft_ms;
    double catch_up_ms; /* per token a draft model evaluates to catch up (0: lookup) */
    int32_t behind;     /* tokens the draft model has not seen */
    double stall_ms;    /* added to the next evaluation (a thread descheduled), then cleared */
} sim;

static int32_t sim_step(sim *s, int32_t keep) {
    const int32_t k = draft_policy_budget(&s->p, &s->params);
    if (k > 0) {
        const int32_t caught_up = s->catch_up_ms > 0 ? s->behind : 0;
        const double ms = k * s->draft_ms + caught_up * s->catch_up_ms;
        draft_policy_drafted(&s->p, k, ms, caught_up, caught_up * s->catch_up_ms);
        s->now += ms;
        s->behind = 0;
    }
    s->behind += 1 + (k < keep ? k : keep);
    draft_policy_fed(&s->p, 1 + k, s->now);
    s->now += s->plain_ms + k * s->row_ms + s->stall_ms;
    s->stall_ms = 0;
    draft_policy_evaluated(&s->p, s->now);
    draft_policy_kept(&s->p, k, k < keep ? k : keep);
    return k;
}

static sim new_sim(double plain_ms, double row_ms, double draft_ms) {
    sim s = {.params = tl_draft_default_params(),
             .now = 1000.0,
             .plain_ms = plain_ms,
             .row_ms = row_ms,
             .draft_ms = draft_ms,
             .behind = 8 /* the prompt */};
    draft_policy_begin(&s.p);
    return s;
}

static void first_two_plain_steps_then_a_short_draft(void **state) {
    (void)state;
    sim s = new_sim(30.0, 3.0, 1.0);
    assert_int_equal(sim_step(&s, 99), 0);
    assert_int_equal(sim_step(&s, 99), 0);
    assert_int_equal(sim_step(&s, 99), 2);
}

/* The first step of a reply is slow (cold caches, first touches of the
 * weights): taken as the plain cost, it made a slow draft that is never
 * kept look worth trying again and again. */
static void a_slow_first_step_is_not_the_plain_cost(void **state) {
    (void)state;
    sim s = new_sim(10.0, 1.0, 4.5);
    s.catch_up_ms = 3.5;
    const double warm = s.plain_ms;
    s.plain_ms = 3 * warm;
    int32_t drafted = sim_step(&s, 0);
    s.plain_ms = warm;
    for (int i = 0; i < 127; i++) drafted += sim_step(&s, 0);
    assert_true(drafted <= 3);
}

/* One verification stalled for a hundred plain steps (a worker that lost a
 * scheduler tick at a barrier) must not turn drafting off for the reply. */
static void one_stalled_evaluation_does_not_stop_drafting(void **state) {
    (void)state;
    sim s = new_sim(0.03, 0.01, 0.0002);
    for (int i = 0; i < 6; i++) sim_step(&s, 99);
    s.stall_ms = 3.3;
    assert_true(sim_step(&s, 99) > 0);
    int32_t drafted = 0;
    for (int i = 0; i < 10; i++) drafted += sim_step(&s, 99) > 0;
    assert_int_equal(drafted, 10);
}

static void cheap_drafts_that_are_kept_draft_long(void **state) {
    (void)state;
    sim s = new_sim(30.0, 3.0, 0.5);
    int32_t k = 0;
    for (int i = 0; i < 10; i++) k = sim_step(&s, 99);
    assert_int_equal(k, 16);
}

static void drafts_that_do_not_pay_stop_but_for_rare_probes(void **state) {
    (void)state;
    /* A draft costing half the target per token, kept one time in six: never worth it. */
    sim s = new_sim(30.0, 3.0, 15.0);
    int32_t drafted_steps = 0, keep_cycle = 0;
    for (int i = 0; i < 400; i++)
        if (sim_step(&s, ++keep_cycle % 6 == 0 ? 1 : 0) > 0) drafted_steps++;
    /* each probe costs (15 + 3) ms = 0.6 plain steps: one in 30 steps at most (2%) */
    assert_true(drafted_steps >= 2);
    assert_true(drafted_steps <= 2 + 400 / 30);
    /* A cheap lookup-like drafter whose drafts are never kept stops too. */
    sim t = new_sim(30.0, 20.0, 0.01);
    drafted_steps = 0;
    for (int i = 0; i < 400; i++)
        if (sim_step(&t, 0) > 0) drafted_steps++;
    assert_true(drafted_steps <= 2 + 400 / 8);
}

/* A draft model left behind must catch up before each probe: when that
 * alone costs more than 2% of the steps it covers (here 10%), no probes. */
static void no_probes_when_catching_up_costs_too_much(void **state) {
    (void)state;
    sim s = new_sim(30.0, 3.0, 12.0);
    s.catch_up_ms = 3.0;
    int32_t drafted_steps = 0, late = 0;
    for (int i = 0; i < 300; i++)
        if (sim_step(&s, 0) > 0) drafted_steps++, late += i >= 20;
    assert_true(drafted_steps >= 1 && drafted_steps <= 3); /* the first drafts, until acceptance is known */
    assert_int_equal(late, 0);
    /* Cheap catching up (0.3% of a step): probes go on. */
    sim t = new_sim(30.0, 3.0, 3.0);
    t.catch_up_ms = 0.1;
    drafted_steps = 0;
    for (int i = 0; i < 300; i++)
        if (sim_step(&t, 0) > 0) drafted_steps++;
    assert_true(drafted_steps > 3);
}

static void probes_that_are_kept_turn_drafting_back_on(void **state) {
    (void)state;
    sim s = new_sim(30.0, 3.0, 0.5);
    for (int i = 0; i < 100; i++) sim_step(&s, 0); /* nothing kept: off */
    assert_int_equal(sim_step(&s, 0), 0);
    int32_t k = 0;
    for (int i = 0; i < 60 && k < 8; i++) k = sim_step(&s, 99); /* a text that turned predictable */
    assert_true(k >= 8);
}

static void fixed_parameters_always_draft_n_max(void **state) {
    (void)state;
    sim s = new_sim(30.0, 30.0, 30.0);
    s.params.adaptive = false;
    s.params.n_max = 5;
    for (int i = 0; i < 20; i++) assert_int_equal(sim_step(&s, 0), 5);
    s.params.n_max = 0;
    assert_int_equal(sim_step(&s, 0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_two_plain_steps_then_a_short_draft),
        cmocka_unit_test(a_slow_first_step_is_not_the_plain_cost),
        cmocka_unit_test(one_stalled_evaluation_does_not_stop_drafting),
        cmocka_unit_test(cheap_drafts_that_are_kept_draft_long),
        cmocka_unit_test(drafts_that_do_not_pay_stop_but_for_rare_probes),
        cmocka_unit_test(no_probes_when_catching_up_costs_too_much),
        cmocka_unit_test(probes_that_are_kept_turn_drafting_back_on),
        cmocka_unit_test(fixed_parameters_always_draft_n_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
