/*
 * test_sampler.c — the token sampler on hand-made logit vectors: greedy,
 * logit bias, each penalty formula, top-k / top-p / min-p, temperature, the
 * empirical distribution, seeding, reset, parameter checks, edge cases and
 * a 150k-token vocabulary; typical-p and Mirostat 1/2 against hand-worked
 * values of llama.cpp's algorithms.
 */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sampling/candidates.h"
#include "sampling/mirostat.h"
#include "sampling/rng.h"
#include "sampling/sampler.h"
#include "sampling/typical.h"

/* Every filter and penalty off, temperature 1, a fixed seed. */
static tl_sampler_params plain_params(void) {
    tl_sampler_params p = tl_sampler_default_params();
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 1234;
    return p;
}

static tl_sampler_params greedy_params(void) {
    tl_sampler_params p = plain_params();
    p.temperature = 0.0f;
    return p;
}

static tl_sampler *make_sampler(int32_t n_vocab, const tl_sampler_params *p) {
    tl_sampler *s = NULL;
    tl_error err = {0};
    tl_status status = tl_sampler_create(n_vocab, p, &s, &err);
    if (status != TL_OK) {
        print_error("tl_sampler_create: %s\n", err.message);
    }
    assert_int_equal(status, TL_OK);
    assert_non_null(s);
    return s;
}

/* Draw n tokens and count how often each comes up. */
static void histogram(tl_sampler *s, const float *logits, int32_t n_vocab, int draws, int *counts) {
    memset(counts, 0, (size_t)n_vocab * sizeof *counts);
    for (int i = 0; i < draws; i++) {
        tl_token t = tl_sampler_sample(s, logits);
        assert_true(t >= 0 && t < n_vocab);
        counts[t]++;
    }
}

static void softmax(const float *logits, int n, float temperature, double *probs) {
    double max = -INFINITY, sum = 0.0;
    for (int i = 0; i < n; i++) {
        max = fmax(max, logits[i]);
    }
    for (int i = 0; i < n; i++) {
        probs[i] = exp((logits[i] - max) / temperature);
        sum += probs[i];
    }
    for (int i = 0; i < n; i++) {
        probs[i] /= sum;
    }
}

/* A reproducible pseudo-random float in [0, 1) for building test vectors. */
static float test_uniform(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 16777216.0f;
}

static void test_default_params_match_llama_cpp(void **state) {
    (void)state;
    tl_sampler_params p = tl_sampler_default_params();
    assert_float_equal(p.temperature, 0.8f, 1e-6);
    assert_int_equal(p.top_k, 40);
    assert_float_equal(p.top_p, 0.95f, 1e-6);
    assert_float_equal(p.min_p, 0.05f, 1e-6);
    assert_float_equal(p.repeat_penalty, 1.0f, 0);
    assert_int_equal(p.repeat_last_n, 64);
    assert_float_equal(p.presence_penalty, 0.0f, 0);
    assert_float_equal(p.frequency_penalty, 0.0f, 0);
    assert_true(p.seed == TL_SEED_RANDOM);
    assert_float_equal(p.typical_p, 1.0f, 0);
    assert_int_equal(p.mirostat, 0);
    assert_float_equal(p.mirostat_tau, 5.0f, 0);
    assert_float_equal(p.mirostat_eta, 0.1f, 0);
    assert_null(p.logit_bias);
    assert_int_equal(p.n_logit_bias, 0);
}

static void test_null_params_mean_defaults_and_random_seed(void **state) {
    (void)state;
    tl_sampler *a = make_sampler(10, NULL);
    tl_sampler *b = make_sampler(10, NULL);
    assert_true(tl_sampler_seed(a) != tl_sampler_seed(b)); /* 2^-64 chance of a false alarm */
    float logits[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    tl_token t = tl_sampler_sample(a, logits);
    assert_true(t >= 0 && t < 10);
    tl_sampler_free(a);
    tl_sampler_free(b);
}

static void test_greedy_picks_argmax(void **state) {
    (void)state;
    tl_sampler_params p = greedy_params();
    tl_sampler *s = make_sampler(6, &p);
    float logits[6] = {0.5f, -1.0f, 3.25f, 3.0f, -INFINITY, 2.0f};
    assert_int_equal(tl_sampler_sample(s, logits), 2);
    float ties[6] = {1.0f, 4.0f, 2.0f, 4.0f, 0.0f, 4.0f};
    assert_int_equal(tl_sampler_sample(s, ties), 1); /* lowest id wins ties */
    float with_nan[6] = {NAN, 1.0f, NAN, 2.0f, 0.0f, NAN};
    assert_int_equal(tl_sampler_sample(s, with_nan), 3);
    /* negative temperature is greedy too */
    tl_sampler_free(s);
    p.temperature = -1.0f;
    s = make_sampler(6, &p);
    assert_int_equal(tl_sampler_sample(s, logits), 2);
    tl_sampler_free(s);
}

static void test_logits_are_not_modified(void **state) {
    (void)state;
    tl_sampler_params p = plain_params();
    p.repeat_penalty = 2.0f;
    tl_logit_bias bias = {1, 5.0f};
    p.logit_bias = &bias;
    p.n_logit_bias = 1;
    tl_sampler *s = make_sampler(4, &p);
    tl_sampler_accept(s, 0);
    float logits[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    const float copy[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    (void)tl_sampler_sample(s, logits);
    assert_memory_equal(logits, copy, sizeof copy);
    tl_sampler_free(s);
}

static void test_logit_bias_minus_inf_forbids_argmax(void **state) {
    (void)state;
    tl_logit_bias bias[2] = {{2, -INFINITY}, {0, 0.25f}};
    tl_sampler_params p = greedy_params();
    p.logit_bias = bias;
    p.n_logit_bias = 2;
    tl_sampler *s = make_sampler(4, &p);
    bias[0].bias = 0.0f; /* the sampler keeps its own copy */
    float logits[4] = {1.0f, 1.1f, 9.0f, -2.0f};
    /* 2 is forbidden; 0 gets +0.25 and overtakes 1 */
    assert_int_equal(tl_sampler_sample(s, logits), 0);
    tl_sampler_free(s);

    bias[0].bias = -INFINITY;
    p = plain_params();
    p.temperature = 2.0f;
    p.logit_bias = bias;
    p.n_logit_bias = 1;
    s = make_sampler(4, &p);
    int counts[4];
    histogram(s, logits, 4, 2000, counts);
    assert_int_equal(counts[2], 0);
    assert_true(counts[0] > 0 && counts[1] > 0 && counts[3] > 0);
    tl_sampler_free(s);
}

/* Greedy pick from `logits` after accepting `history`. */
static tl_token greedy_after(const tl_sampler_params *p, const float *logits, int n, const tl_token *history,
                             int n_history) {
    tl_sampler *s = make_sampler(n, p);
    for (int i = 0; i < n_history; i++) {
        tl_sampler_accept(s, history[i]);
    }
    tl_token t = tl_sampler_sample(s, logits);
    tl_sampler_free(s);
    return t;
}

static void test_repeat_penalty_divides_positive_and_multiplies_negative(void **state) {
    (void)state;
    tl_sampler_params p = greedy_params();
    p.repeat_penalty = 1.3f;
    const tl_token seen[1] = {0};
    /* positive: 2.0 / 1.3 = 1.538 */
    const float pos_a[2] = {2.0f, 1.55f};
    const float pos_b[2] = {2.0f, 1.53f};
    assert_int_equal(greedy_after(&p, pos_a, 2, seen, 1), 1);
    assert_int_equal(greedy_after(&p, pos_b, 2, seen, 1), 0);
    /* negative: -1.0 * 1.3 = -1.3 */
    const float neg_a[2] = {-1.0f, -1.29f};
    const float neg_b[2] = {-1.0f, -1.31f};
    assert_int_equal(greedy_after(&p, neg_a, 2, seen, 1), 1);
    assert_int_equal(greedy_after(&p, neg_b, 2, seen, 1), 0);
    /* repeated occurrences do not compound the repeat penalty */
    const tl_token seen_thrice[3] = {0, 0, 0};
    assert_int_equal(greedy_after(&p, pos_b, 2, seen_thrice, 3), 0);
    /* the untouched token keeps its logit: no history, no change */
    assert_int_equal(greedy_after(&p, pos_a, 2, NULL, 0), 0);
}

static void test_frequency_penalty_subtracts_count_times_penalty(void **state) {
    (void)state;
    tl_sampler_params p = greedy_params();
    p.frequency_penalty = 0.5f;
    const tl_token seen[4] = {0, 0, 2, 0}; /* token 0 three times: 3.0 - 1.5 = 1.5 */
    const float a[3] = {3.0f, 1.6f, 1.0f};
    const float b[3] = {3.0f, 1.4f, 1.0f};
    assert_int_equal(greedy_after(&p, a, 3, seen, 4), 1);
    assert_int_equal(greedy_after(&p, b, 3, seen, 4), 0);
}

static void test_presence_penalty_subtracts_once(void **state) {
    (void)state;
    tl_sampler_params p = greedy_params();
    p.presence_penalty = 0.5f;
    const tl_token seen[3] = {0, 0, 0}; /* 3.0 - 0.5 = 2.5, however many times */
    const float a[2] = {3.0f, 2.6f};
    const float b[2] = {3.0f, 2.4f};
    assert_int_equal(greedy_after(&p, a, 2, seen, 3), 1);
    assert_int_equal(greedy_after(&p, b, 2, seen, 3), 0);
}

static void test_penalties_combine_in_llama_cpp_order(void **state) {
    (void)state;
    tl_sampler_params p = greedy_params();
    p.repeat_penalty = 2.0f;
    p.frequency_penalty = 0.25f;
    p.presence_penalty = 0.5f;
    /* token 0 seen twice: 4.0 / 2 - 2 * 0.25 - 0.5 = 1.0 */
    const tl_token seen[2] = {0, 0};
    const float a[2] = {4.0f, 1.01f};
    const float b[2] = {4.0f, 0.99f};
    assert_int_equal(greedy_after(&p, a, 2, seen, 2), 1);
    assert_int_equal(greedy_after(&p, b, 2, seen, 2), 0);
}

static void test_repeat_last_n_limits_the_window(void **state) {
    (void)state;
    tl_sampler_params p = greedy_params();
    p.presence_penalty = 10.0f;
    p.repeat_last_n = 2;
    const tl_token seen[3] = {0, 1, 2}; /* token 0 has left the window */
    const float logits[4] = {3.0f, 2.9f, 2.8f, 0.0f};
    assert_int_equal(greedy_after(&p, logits, 4, seen, 3), 0);
    p.repeat_last_n = 3;
    assert_int_equal(greedy_after(&p, logits, 4, seen, 3), 3);
    p.repeat_last_n = -1; /* whole history */
    assert_int_equal(greedy_after(&p, logits, 4, seen, 3), 3);
    p.repeat_last_n = 0; /* off */
    assert_int_equal(greedy_after(&p, logits, 4, seen, 3), 0);
    /* a long history wraps the ring correctly */
    p.repeat_last_n = 3;
    const tl_token long_history[8] = {0, 0, 0, 0, 0, 3, 3, 3};
    assert_int_equal(greedy_after(&p, logits, 4, long_history, 8), 0);
}

static void test_accept_ignores_out_of_range_tokens(void **state) {
    (void)state;
    tl_sampler_params p = greedy_params();
    p.presence_penalty = 10.0f;
    const tl_token seen[3] = {-1, 4, 1000};
    const float logits[4] = {3.0f, 2.9f, 2.8f, 0.0f};
    assert_int_equal(greedy_after(&p, logits, 4, seen, 3), 0);
}

static void test_reset_clears_penalty_history(void **state) {
    (void)state;
    tl_sampler_params p = greedy_params();
    p.presence_penalty = 10.0f;
    tl_sampler *s = make_sampler(3, &p);
    const float logits[3] = {3.0f, 2.0f, 1.0f};
    tl_sampler_accept(s, 0);
    assert_int_equal(tl_sampler_sample(s, logits), 1);
    tl_sampler_reset(s);
    assert_int_equal(tl_sampler_sample(s, logits), 0);
    tl_sampler_accept(s, 0);
    tl_sampler_accept(s, 1);
    assert_int_equal(tl_sampler_sample(s, logits), 2);
    tl_sampler_free(s);
}

static void test_top_k_1_equals_greedy_even_when_hot(void **state) {
    (void)state;
    enum { N = 50 };
    float logits[N];
    uint32_t rng = 7;
    tl_sampler_params p = plain_params();
    p.top_k = 1;
    p.temperature = 100.0f;
    tl_sampler *s = make_sampler(N, &p);
    tl_sampler_params gp = greedy_params();
    tl_sampler *g = make_sampler(N, &gp);
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < N; i++) {
            logits[i] = test_uniform(&rng) * 4.0f - 2.0f;
        }
        assert_int_equal(tl_sampler_sample(s, logits), tl_sampler_sample(g, logits));
    }
    tl_sampler_free(s);
    tl_sampler_free(g);
}

static void test_top_k_keeps_only_the_k_best(void **state) {
    (void)state;
    enum { N = 100 };
    float logits[N];
    for (int i = 0; i < N; i++) {
        logits[i] = (float)((i * 37) % N) * 0.01f; /* a permutation of 0..0.99 */
    }
    tl_sampler_params p = plain_params();
    p.top_k = 5;
    p.temperature = 50.0f;
    tl_sampler *s = make_sampler(N, &p);
    int counts[N];
    histogram(s, logits, N, 5000, counts);
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        if (counts[i] > 0) {
            distinct++;
            assert_true(logits[i] >= 0.95f - 1e-6f);
        }
    }
    assert_int_equal(distinct, 5);
    tl_sampler_free(s);
}

static void test_top_p_small_keeps_only_top_token(void **state) {
    (void)state;
    const float logits[5] = {1.0f, 1.2f, 0.9f, 1.1f, 0.0f};
    tl_sampler_params p = plain_params();
    p.top_p = 0.01f;
    p.temperature = 5.0f;
    tl_sampler *s = make_sampler(5, &p);
    for (int i = 0; i < 500; i++) {
        assert_int_equal(tl_sampler_sample(s, logits), 1);
    }
    tl_sampler_free(s);
}

static void test_top_p_keeps_smallest_prefix_reaching_p(void **state) {
    (void)state;
    /* probabilities 0.5, 0.3, 0.15, 0.05 (shuffled): p = 0.75 needs two */
    const float logits[4] = {logf(0.15f), logf(0.5f), logf(0.05f), logf(0.3f)};
    tl_sampler_params p = plain_params();
    p.top_p = 0.75f;
    tl_sampler *s = make_sampler(4, &p);
    int counts[4];
    histogram(s, logits, 4, 4000, counts);
    assert_int_equal(counts[0], 0);
    assert_int_equal(counts[2], 0);
    /* renormalised over the two kept: 0.5/0.8 and 0.3/0.8 */
    assert_true(fabs(counts[1] / 4000.0 - 0.625) < 0.03);
    tl_sampler_free(s);
    /* p = 0.85 needs three */
    p.top_p = 0.85f;
    s = make_sampler(4, &p);
    histogram(s, logits, 4, 4000, counts);
    assert_int_equal(counts[2], 0);
    assert_true(counts[0] > 0 && counts[1] > 0 && counts[3] > 0);
    tl_sampler_free(s);
}

static void test_min_p_keeps_tokens_within_ratio(void **state) {
    (void)state;
    /* p_max = 0.4; min_p 0.25 keeps p >= 0.1: tokens 0, 2, 3 (0.4, 0.1, 0.3) */
    const float logits[6] = {logf(0.4f), logf(0.09f), logf(0.1f), logf(0.3f), logf(0.06f), logf(0.05f)};
    tl_sampler_params p = plain_params();
    p.min_p = 0.25f;
    tl_sampler *s = make_sampler(6, &p);
    int counts[6];
    histogram(s, logits, 6, 4000, counts);
    assert_true(counts[0] > 0 && counts[2] > 0 && counts[3] > 0);
    assert_int_equal(counts[1] + counts[4] + counts[5], 0);
    tl_sampler_free(s);
    /* min_p = 1 keeps only the top token */
    p.min_p = 1.0f;
    s = make_sampler(6, &p);
    histogram(s, logits, 6, 500, counts);
    assert_int_equal(counts[0], 500);
    tl_sampler_free(s);
}

static void test_filters_are_applied_before_temperature(void **state) {
    (void)state;
    /* min-p is judged on the untempered logits: at temperature 100 the
     * tempered distribution is flat, yet only tokens 0 and 1 may come up */
    const float logits[4] = {0.0f, -0.5f, -5.0f, -6.0f};
    tl_sampler_params p = plain_params();
    p.min_p = 0.5f;
    p.temperature = 100.0f;
    tl_sampler *s = make_sampler(4, &p);
    int counts[4];
    histogram(s, logits, 4, 2000, counts);
    assert_int_equal(counts[2] + counts[3], 0);
    assert_true(fabs(counts[0] / 2000.0 - 0.5) < 0.05);
    tl_sampler_free(s);
}

static void test_distribution_matches_softmax(void **state) {
    (void)state;
    enum { N = 8, DRAWS = 20000 };
    const float logits[N] = {1.0f, 0.5f, -0.3f, 2.0f, 0.0f, 1.5f, -1.0f, 0.7f};
    double probs[N];
    softmax(logits, N, 1.0f, probs);
    tl_sampler_params p = plain_params();
    tl_sampler *s = make_sampler(N, &p);
    int counts[N];
    histogram(s, logits, N, DRAWS, counts);
    for (int i = 0; i < N; i++) {
        double seen = (double)counts[i] / DRAWS;
        assert_true(fabs(seen - probs[i]) < 0.01 + 0.03 * probs[i]);
    }
    tl_sampler_free(s);
}

static void test_low_temperature_sharpens(void **state) {
    (void)state;
    enum { N = 4, DRAWS = 20000 };
    const float logits[N] = {1.0f, 0.0f, 0.5f, -0.5f};
    double hot[N], cold[N];
    softmax(logits, N, 1.0f, hot);
    softmax(logits, N, 0.5f, cold);
    tl_sampler_params p = plain_params();
    p.temperature = 0.5f;
    tl_sampler *s = make_sampler(N, &p);
    int counts[N];
    histogram(s, logits, N, DRAWS, counts);
    double top = (double)counts[0] / DRAWS;
    assert_true(top > hot[0] + 0.1);
    for (int i = 0; i < N; i++) {
        assert_true(fabs((double)counts[i] / DRAWS - cold[i]) < 0.01 + 0.03 * cold[i]);
    }
    tl_sampler_free(s);
}

static void draw_sequence(uint64_t seed, tl_token *out, int n) {
    enum { V = 32 };
    float logits[V];
    for (int i = 0; i < V; i++) {
        logits[i] = (float)(i % 7) * 0.3f;
    }
    tl_sampler_params p = plain_params();
    p.seed = seed;
    tl_sampler *s = make_sampler(V, &p);
    for (int i = 0; i < n; i++) {
        out[i] = tl_sampler_sample(s, logits);
    }
    tl_sampler_free(s);
}

static void test_same_seed_same_sequence(void **state) {
    (void)state;
    enum { N = 200 };
    tl_token a[N], b[N], c[N];
    draw_sequence(42, a, N);
    draw_sequence(42, b, N);
    draw_sequence(43, c, N);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
}

static void test_reset_restarts_a_seeded_stream(void **state) {
    (void)state;
    const float logits[5] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
    tl_sampler_params p = plain_params();
    tl_sampler *s = make_sampler(5, &p);
    tl_token first[50], again[50];
    for (int i = 0; i < 50; i++) {
        first[i] = tl_sampler_sample(s, logits);
    }
    tl_sampler_reset(s);
    for (int i = 0; i < 50; i++) {
        again[i] = tl_sampler_sample(s, logits);
    }
    assert_memory_equal(first, again, sizeof first);
    assert_true(tl_sampler_seed(s) == 1234);
    tl_sampler_free(s);
}

static void test_seeded_stream_is_pinned(void **state) {
    (void)state;
    /* The generator is platform-independent: pin the first tokens so a
     * change to the RNG or to the chain's ordering is noticed. Recorded from
     * this implementation. */
    tl_token got[12];
    draw_sequence(2024, got, 12);
    const tl_token expected[12] = {3, 25, 3, 5, 25, 8, 13, 8, 18, 3, 22, 28};
    assert_memory_equal(got, expected, sizeof got);
}

static void test_rng_matches_reference_vectors(void **state) {
    (void)state;
    /* xoshiro256** from the state {1, 2, 3, 4}: the published first outputs */
    tl_rng rng = {{1, 2, 3, 4}};
    assert_true(tl_rng_next_u64(&rng) == UINT64_C(11520));
    assert_true(tl_rng_next_u64(&rng) == UINT64_C(0));
    assert_true(tl_rng_next_u64(&rng) == UINT64_C(1509978240));
    assert_true(tl_rng_next_u64(&rng) == UINT64_C(1215971899390074240));
    /* splitmix64 seeding: seed 0 gives 0xE220A8397B1DCDAF as the first word */
    tl_rng_seed(&rng, 0);
    assert_true(rng.state[0] == UINT64_C(0xE220A8397B1DCDAF));
    /* uniforms stay in [0, 1) */
    for (int i = 0; i < 10000; i++) {
        double u = tl_rng_uniform(&rng);
        assert_true(u >= 0.0 && u < 1.0);
    }
}

/* Create with `p` and expect TL_ERR_ARGUMENT naming `name`. */
static void expect_rejected(int32_t n_vocab, const tl_sampler_params *p, const char *name) {
    tl_sampler *s = (tl_sampler *)(uintptr_t)1;
    tl_error err = {0};
    assert_int_equal(tl_sampler_create(n_vocab, p, &s, &err), TL_ERR_ARGUMENT);
    assert_null(s);
    assert_int_equal(err.status, TL_ERR_ARGUMENT);
    if (!strstr(err.message, name)) {
        print_error("message \"%s\" does not name %s\n", err.message, name);
        fail();
    }
}

static void test_invalid_params_are_rejected_by_name(void **state) {
    (void)state;
    tl_sampler_params p;
    expect_rejected(0, NULL, "n_vocab");
    expect_rejected(-5, NULL, "n_vocab");
    p = plain_params();
    p.temperature = NAN;
    expect_rejected(10, &p, "temperature");
    p = plain_params();
    p.temperature = INFINITY;
    expect_rejected(10, &p, "temperature");
    p = plain_params();
    p.top_p = 0.0f;
    expect_rejected(10, &p, "top_p");
    p = plain_params();
    p.top_p = -0.5f;
    expect_rejected(10, &p, "top_p");
    p = plain_params();
    p.top_p = NAN;
    expect_rejected(10, &p, "top_p");
    p = plain_params();
    p.min_p = -0.1f;
    expect_rejected(10, &p, "min_p");
    p = plain_params();
    p.min_p = 1.5f;
    expect_rejected(10, &p, "min_p");
    p = plain_params();
    p.min_p = NAN;
    expect_rejected(10, &p, "min_p");
    p = plain_params();
    p.repeat_penalty = NAN;
    expect_rejected(10, &p, "repeat_penalty");
    p = plain_params();
    p.repeat_penalty = 0.0f;
    expect_rejected(10, &p, "repeat_penalty");
    p = plain_params();
    p.repeat_last_n = -2;
    expect_rejected(10, &p, "repeat_last_n");
    p = plain_params();
    p.presence_penalty = NAN;
    expect_rejected(10, &p, "presence_penalty");
    p = plain_params();
    p.frequency_penalty = NAN;
    expect_rejected(10, &p, "frequency_penalty");
    p = plain_params();
    p.typical_p = NAN;
    expect_rejected(10, &p, "typical_p");
    p = plain_params();
    p.typical_p = -0.1f;
    expect_rejected(10, &p, "typical_p");
    p = plain_params();
    p.mirostat = 3;
    expect_rejected(10, &p, "mirostat");
    p = plain_params();
    p.mirostat = -1;
    expect_rejected(10, &p, "mirostat");
    p = plain_params();
    p.mirostat_tau = -1.0f;
    expect_rejected(10, &p, "mirostat_tau");
    p = plain_params();
    p.mirostat_eta = NAN;
    expect_rejected(10, &p, "mirostat_eta");
    p = plain_params();
    p.n_logit_bias = -1;
    expect_rejected(10, &p, "n_logit_bias");
    p = plain_params();
    p.n_logit_bias = 2;
    expect_rejected(10, &p, "logit_bias");
    tl_logit_bias bias[2] = {{3, 1.0f}, {10, 1.0f}};
    p = plain_params();
    p.logit_bias = bias;
    p.n_logit_bias = 2;
    expect_rejected(10, &p, "logit_bias[1].token");
    bias[1].token = -1;
    expect_rejected(10, &p, "logit_bias[1].token");
    bias[1].token = 4;
    bias[1].bias = NAN;
    expect_rejected(10, &p, "logit_bias[1].bias");

    tl_error err = {0};
    assert_int_equal(tl_sampler_create(10, NULL, NULL, &err), TL_ERR_ARGUMENT);
    /* accepted edge values */
    tl_sampler *s = NULL;
    p = plain_params();
    p.top_p = 1.5f;
    p.min_p = 1.0f;
    p.repeat_last_n = -1;
    p.top_k = -3;
    assert_int_equal(tl_sampler_create(10, &p, &s, &err), TL_OK);
    tl_sampler_free(s);
    tl_sampler_free(NULL);
}

static void test_unsampleable_logits_fall_back_safely(void **state) {
    (void)state;
    tl_sampler_params p = plain_params();
    p.top_k = 2;
    p.top_p = 0.5f;
    p.min_p = 0.1f;
    tl_sampler *s = make_sampler(4, &p);
    const float all_nan[4] = {NAN, NAN, NAN, NAN};
    assert_int_equal(tl_sampler_sample(s, all_nan), 0);
    const float all_ninf[4] = {NAN, -INFINITY, -INFINITY, NAN};
    assert_int_equal(tl_sampler_sample(s, all_ninf), 1);
    const float one_left[4] = {NAN, -INFINITY, 0.0f, -INFINITY};
    assert_int_equal(tl_sampler_sample(s, one_left), 2);
    const float pos_inf[4] = {1.0f, INFINITY, 2.0f, INFINITY};
    assert_int_equal(tl_sampler_sample(s, pos_inf), 1);
    /* NaN candidates are skipped, never drawn */
    const float some_nan[4] = {NAN, 0.0f, NAN, 0.1f};
    int counts[4];
    histogram(s, some_nan, 4, 1000, counts);
    assert_int_equal(counts[0] + counts[2], 0);
    tl_sampler_free(s);
}

static int compare_desc_index(const void *pa, const void *pb, const float *logits) {
    int a = *(const int *)pa, b = *(const int *)pb;
    if (logits[a] != logits[b]) {
        return logits[a] > logits[b] ? -1 : 1;
    }
    return a < b ? -1 : (a > b);
}

static const float *g_sort_logits;
static int compare_desc_index_global(const void *pa, const void *pb) {
    return compare_desc_index(pa, pb, g_sort_logits);
}

static void test_candidate_selection_matches_full_sort(void **state) {
    (void)state;
    enum { N = 3000 };
    static tl_candidate c[N];
    static float logits[N];
    static int order[N];
    uint32_t rng = 99;
    for (int trial = 0; trial < 24; trial++) {
        /* every third trial is small enough to skip the histogram stage */
        const int n = trial % 3 == 2 ? 700 : N;
        double total = 0.0;
        for (int i = 0; i < n; i++) {
            /* coarse values so that ties are common */
            logits[i] = (float)(int)(test_uniform(&rng) * (trial % 2 ? 20.0f : 1000.0f));
            if (trial == 4) {
                logits[i] = (float)i; /* already ordered worst first */
            }
            if (trial == 6) {
                logits[i] = 1.0f; /* all equal */
            }
            c[i].id = i;
            c[i].logit = logits[i];
            c[i].weight = test_uniform(&rng);
            total += c[i].weight;
            order[i] = i;
        }
        g_sort_logits = logits;
        qsort(order, (size_t)n, sizeof *order, compare_desc_index_global);
        /* small k goes through the heap, large k through quickselect */
        size_t k = trial < 12 ? (size_t)(1 + trial * 29) : (size_t)(1 + trial * 97 % (n - 1));
        tl_candidates_select_best(c, (size_t)n, k);
        tl_candidates_sort(c, k);
        for (size_t i = 0; i < k; i++) {
            assert_int_equal(c[i].id, order[i]);
        }
        /* mass selection: reference by walking the sorted order */
        static float weight_of[N];
        for (int i = 0; i < n; i++) {
            weight_of[c[i].id] = c[i].weight;
        }
        const double target = total * (0.05 + 0.04 * trial);
        double cumulative = 0.0;
        size_t expected = 0;
        while (expected < (size_t)n) {
            cumulative += weight_of[order[expected++]];
            if (cumulative >= target) {
                break;
            }
        }
        size_t got = tl_candidates_select_best_by_mass(c, (size_t)n, target);
        assert_int_equal(got, expected);
        tl_candidates_sort(c, got);
        for (size_t i = 0; i < got; i++) {
            assert_int_equal(c[i].id, order[i]);
        }
    }
}

/* Ranks of every token by logit (0 = best), computed by a full sort. */
static void rank_tokens(const float *logits, int n, int *rank_of) {
    int *order = malloc((size_t)n * sizeof *order);
    assert_non_null(order);
    for (int i = 0; i < n; i++) {
        order[i] = i;
    }
    g_sort_logits = logits;
    qsort(order, (size_t)n, sizeof *order, compare_desc_index_global);
    for (int i = 0; i < n; i++) {
        rank_of[order[i]] = i;
    }
    free(order);
}

/* How many best tokens top-p keeps, by brute force. */
static int top_p_prefix(const float *logits, int n, const int *rank_of, double top_p) {
    double *by_rank = malloc((size_t)n * sizeof *by_rank);
    assert_non_null(by_rank);
    double max = -INFINITY, total = 0.0;
    for (int i = 0; i < n; i++) {
        max = fmax(max, logits[i]);
    }
    for (int i = 0; i < n; i++) {
        by_rank[rank_of[i]] = exp(logits[i] - max);
        total += by_rank[rank_of[i]];
    }
    double cumulative = 0.0;
    int kept = 0;
    while (kept < n) {
        cumulative += by_rank[kept++];
        if (cumulative >= top_p * total) {
            break;
        }
    }
    free(by_rank);
    return kept;
}

/* ---- typical-p and Mirostat ------------------------------------------------ */

/* p = 1/2, 1/4, 1/8, 1/8: entropy H = 1.75 ln 2; surprises -ln p are 1, 2, 3, 3 ln 2, so
 * |surprise - H| is 0.75, 0.25, 1.25, 1.25 ln 2: token 1 is the most typical, then 0. */
static const float HALVES[4] = {-0.69314718f, -1.38629436f, -2.07944154f, -2.07944154f};

static void test_typical_keeps_what_llama_cpp_keeps(void **state) {
    (void)state;
    tl_candidate c[4];
    for (int i = 0; i < 4; i++) c[i] = (tl_candidate){.id = i, .logit = HALVES[i]};
    /* cumulative mass in typicality order: 0.25 (token 1), 0.75 (token 0), 0.875, 1 */
    assert_int_equal(tl_typical_filter(c, 4, 0.5f, 1), 2);
    assert_int_equal(c[0].id, 1);
    assert_int_equal(c[1].id, 0);
    for (int i = 0; i < 4; i++) c[i] = (tl_candidate){.id = i, .logit = HALVES[i]};
    assert_int_equal(tl_typical_filter(c, 4, 0.2f, 1), 1); /* 0.25 > 0.2 already */
    assert_int_equal(c[0].id, 1);
    for (int i = 0; i < 4; i++) c[i] = (tl_candidate){.id = i, .logit = HALVES[i]};
    assert_int_equal(tl_typical_filter(c, 4, 0.2f, 3), 3); /* min_keep */
    for (int i = 0; i < 4; i++) c[i] = (tl_candidate){.id = i, .logit = HALVES[i]};
    assert_int_equal(tl_typical_filter(c, 4, 1.0f, 1), 4); /* off */
    assert_int_equal(c[0].id, 0);                          /* and untouched */

    /* Through the sampler: typical_p 0.2 always draws token 1, never the likelier 0;
     * 0.5 draws both 0 and 1 and never 2 or 3. */
    tl_sampler_params p = plain_params();
    p.typical_p = 0.2f;
    tl_sampler *s = make_sampler(4, &p);
    int counts[4];
    histogram(s, HALVES, 4, 500, counts);
    assert_int_equal(counts[1], 500);
    tl_sampler_free(s);
    p.typical_p = 0.5f;
    s = make_sampler(4, &p);
    histogram(s, HALVES, 4, 2000, counts);
    assert_int_equal(counts[2] + counts[3], 0);
    assert_true(counts[0] > counts[1] && counts[1] > 300); /* 2/3 and 1/3 of the draws */
    tl_sampler_free(s);
}

static void test_mirostat_v2_mu_update_and_cut(void **state) {
    (void)state;
    /* tau 5: mu starts at 10, every token (surprise 1, 2, 3, 3 bits) is kept, and a draw
     * moves mu by -eta * (surprise - tau). */
    tl_sampler_params p = plain_params();
    p.mirostat = 2;
    p.mirostat_tau = 5.0f;
    p.mirostat_eta = 0.1f;
    tl_sampler *s = make_sampler(4, &p);
    assert_float_equal(tl_sampler_mirostat_mu(s), 10.0f, 1e-6);
    const float bits[4] = {1, 2, 3, 3};
    float mu = 10.0f;
    for (int i = 0; i < 20; i++) {
        const tl_token t = tl_sampler_sample(s, HALVES);
        mu -= 0.1f * (bits[t] - 5.0f);
        assert_float_equal(tl_sampler_mirostat_mu(s), mu, 1e-4);
    }
    tl_sampler_reset(s);
    assert_float_equal(tl_sampler_mirostat_mu(s), 10.0f, 1e-6);
    tl_sampler_free(s);

    /* tau 0.75: mu = 1.5 keeps only token 0 (surprise 1 bit), drawn with probability 1
     * (surprise 0), so mu grows by 0.075 a draw; past 2 bits token 1 joins. */
    p.mirostat_tau = 0.75f;
    s = make_sampler(4, &p);
    for (int i = 1; i <= 6; i++) {
        assert_int_equal(tl_sampler_sample(s, HALVES), 0);
        assert_float_equal(tl_sampler_mirostat_mu(s), 1.5f + 0.075f * (float)i, 1e-4);
    }
    int seen[4] = {0};
    for (int i = 0; i < 200; i++) seen[tl_sampler_sample(s, HALVES)]++;
    assert_true(seen[1] > 0);
    assert_int_equal(seen[2] + seen[3], 0);
    tl_sampler_free(s);
}

static void test_mirostat_v1_estimates_zipf_and_cuts_at_k(void **state) {
    (void)state;
    /* An exact Zipf distribution p_i ~ 1/i^2 over N = 1000 tokens: s_hat = 2, and
     * k = (1 * 2^mu / (1 - 1000^-1))^(1/2): 32.02 for mu = 10, 22.64 for mu = 9. */
    enum { N = 1000 };
    static float logits[N];
    static tl_candidate c[N];
    float total = 0.0f;
    for (int i = 0; i < N; i++) {
        logits[i] = -2.0f * logf((float)(i + 1));
        total += expf(logits[i]);
    }
    for (int i = 0; i < N; i++) c[i] = (tl_candidate){.id = i, .logit = logits[i], .weight = expf(logits[i]) / total};
    tl_mirostat m;
    tl_mirostat_init(&m, 1, 5.0f, 0.1f, N);
    assert_float_equal(m.mu, 10.0f, 0);
    assert_int_equal(tl_mirostat_keep(&m, c, N), 32);
    m.mu = 9.0f;
    assert_int_equal(tl_mirostat_keep(&m, c, N), 22);
    tl_mirostat_update(&m, 0.5f); /* surprise 1 bit: mu += 0.1 * 4 */
    assert_float_equal(m.mu, 9.4f, 1e-5);

    /* Through the sampler: only the first 32 tokens are ever drawn, and mu learns from
     * the drawn token's probability renormalized over them. */
    double kept_mass = 0.0;
    for (int i = 0; i < 32; i++) kept_mass += 1.0 / ((i + 1.0) * (i + 1.0));
    tl_sampler_params p = plain_params();
    p.mirostat = 1;
    p.top_k = 1; /* skipped under Mirostat */
    int beyond_top = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        p.seed = seed;
        tl_sampler *s = make_sampler(N, &p);
        const tl_token t = tl_sampler_sample(s, logits);
        assert_true(t >= 0 && t < 32);
        beyond_top += t > 0;
        const double prob = 1.0 / ((t + 1.0) * (t + 1.0)) / kept_mass;
        assert_float_equal(tl_sampler_mirostat_mu(s), 10.0 - 0.1 * (-log2(prob) - 5.0), 1e-3);
        tl_sampler_free(s);
    }
    assert_true(beyond_top > 40); /* token 0 has 62% of the kept mass */
}

static void test_mirostat_and_typical_are_reproducible_with_a_seed(void **state) {
    (void)state;
    float logits[64];
    uint32_t rs = 99;
    for (int i = 0; i < 64; i++) logits[i] = 4.0f * test_uniform(&rs);
    for (int mode = 0; mode < 3; mode++) {
        tl_sampler_params p = plain_params();
        p.seed = 77;
        if (mode == 0)
            p.typical_p = 0.7f;
        else
            p.mirostat = mode;
        tl_sampler *a = make_sampler(64, &p), *b = make_sampler(64, &p);
        tl_token first[40];
        for (int i = 0; i < 40; i++) {
            first[i] = tl_sampler_sample(a, logits);
            assert_int_equal(first[i], tl_sampler_sample(b, logits));
        }
        tl_sampler_reset(a);
        for (int i = 0; i < 40; i++) assert_int_equal(tl_sampler_sample(a, logits), first[i]);
        tl_sampler_free(a);
        tl_sampler_free(b);
    }
}

static void test_large_vocab_top_p_and_min_p(void **state) {
    (void)state;
    enum { N = 150000, DRAWS = 300 };
    float *logits = malloc(N * sizeof *logits);
    int *rank_of = malloc(N * sizeof *rank_of);
    assert_non_null(logits);
    assert_non_null(rank_of);
    uint32_t rng = 5;
    for (int i = 0; i < N; i++) {
        logits[i] = test_uniform(&rng) * 12.0f;
    }
    rank_tokens(logits, N, rank_of);
    const int nucleus = top_p_prefix(logits, N, rank_of, 0.5);
    assert_true(nucleus > 200); /* wide enough for the histogram stage to matter */

    /* top-p alone */
    tl_sampler_params p = plain_params();
    p.top_p = 0.5f;
    tl_sampler *s = make_sampler(N, &p);
    int max_rank = 0;
    for (int i = 0; i < DRAWS; i++) {
        int r = rank_of[tl_sampler_sample(s, logits)];
        assert_true(r < nucleus);
        max_rank = r > max_rank ? r : max_rank;
    }
    assert_true(max_rank > nucleus / 2);
    tl_sampler_free(s);

    /* top-p with min-p: the tighter of the two wins */
    float max_logit = -INFINITY;
    for (int i = 0; i < N; i++) {
        max_logit = fmaxf(max_logit, logits[i]);
    }
    const float min_p_gaps[2] = {0.3f, 2.0f}; /* tighter, then looser than top-p */
    for (int g = 0; g < 2; g++) {
        p.min_p = expf(-min_p_gaps[g]); /* keeps logits within the gap of the max */
        int min_p_kept = 0;
        for (int i = 0; i < N; i++) {
            min_p_kept += logits[i] >= max_logit + logf(p.min_p);
        }
        assert_true(g == 0 ? min_p_kept < nucleus : min_p_kept > nucleus);
        const int kept = min_p_kept < nucleus ? min_p_kept : nucleus;
        s = make_sampler(N, &p);
        max_rank = 0;
        for (int i = 0; i < DRAWS; i++) {
            int r = rank_of[tl_sampler_sample(s, logits)];
            assert_true(r < kept);
            max_rank = r > max_rank ? r : max_rank;
        }
        assert_true(max_rank > kept / 2);
        tl_sampler_free(s);
    }

    /* the default chain with penalties, a few dozen calls */
    p = tl_sampler_default_params();
    p.seed = 9;
    p.repeat_penalty = 1.1f;
    p.repeat_last_n = -1;
    s = make_sampler(N, &p);
    for (int i = 0; i < 50; i++) {
        tl_token t = tl_sampler_sample(s, logits);
        /* each penalized token can push one more into the top 40 */
        assert_true(rank_of[t] < 40 + i);
        tl_sampler_accept(s, t);
    }
    tl_sampler_free(s);
    free(logits);
    free(rank_of);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_params_match_llama_cpp),
        cmocka_unit_test(test_null_params_mean_defaults_and_random_seed),
        cmocka_unit_test(test_greedy_picks_argmax),
        cmocka_unit_test(test_logits_are_not_modified),
        cmocka_unit_test(test_logit_bias_minus_inf_forbids_argmax),
        cmocka_unit_test(test_repeat_penalty_divides_positive_and_multiplies_negative),
        cmocka_unit_test(test_frequency_penalty_subtracts_count_times_penalty),
        cmocka_unit_test(test_presence_penalty_subtracts_once),
        cmocka_unit_test(test_penalties_combine_in_llama_cpp_order),
        cmocka_unit_test(test_repeat_last_n_limits_the_window),
        cmocka_unit_test(test_accept_ignores_out_of_range_tokens),
        cmocka_unit_test(test_reset_clears_penalty_history),
        cmocka_unit_test(test_top_k_1_equals_greedy_even_when_hot),
        cmocka_unit_test(test_top_k_keeps_only_the_k_best),
        cmocka_unit_test(test_top_p_small_keeps_only_top_token),
        cmocka_unit_test(test_top_p_keeps_smallest_prefix_reaching_p),
        cmocka_unit_test(test_min_p_keeps_tokens_within_ratio),
        cmocka_unit_test(test_filters_are_applied_before_temperature),
        cmocka_unit_test(test_distribution_matches_softmax),
        cmocka_unit_test(test_low_temperature_sharpens),
        cmocka_unit_test(test_same_seed_same_sequence),
        cmocka_unit_test(test_reset_restarts_a_seeded_stream),
        cmocka_unit_test(test_seeded_stream_is_pinned),
        cmocka_unit_test(test_rng_matches_reference_vectors),
        cmocka_unit_test(test_invalid_params_are_rejected_by_name),
        cmocka_unit_test(test_unsampleable_logits_fall_back_safely),
        cmocka_unit_test(test_candidate_selection_matches_full_sort),
        cmocka_unit_test(test_large_vocab_top_p_and_min_p),
        cmocka_unit_test(test_typical_keeps_what_llama_cpp_keeps),
        cmocka_unit_test(test_mirostat_v2_mu_update_and_cut),
        cmocka_unit_test(test_mirostat_v1_estimates_zipf_and_cuts_at_k),
        cmocka_unit_test(test_mirostat_and_typical_are_reproducible_with_a_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
