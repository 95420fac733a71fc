/*
 * test_speculative.c — speculative decoding (tl_drafter, src/generate):
 * the reply with a drafter is the reply without one, token for token,
 * greedy and sampled (per seed), with prompt lookup and with draft models,
 * at several draft settings; a rejection at every point of a draft rolls
 * the target's cache back (the feed position) and a changed history rolls
 * the draft model's cache back; an evaluation of k tokens gives the
 * logits of k one-token evaluations bit for bit; adaptation stops drafting
 * when nothing is accepted; vocabularies and parameters are checked.
 * Models: stories260K (target), its q8_0 and f32 siblings (drafts),
 * llama2-tiny-random (another vocabulary).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate/drafter.h"
#include "test_support.h"
#include "tinyllm.h"

#define N_GEN 160

static tl_model *target, *draft_q8, *other_vocab;
/* Under an emulator (TL_EMULATED, set for qemu runs) shorter replies and
 * fewer settings: the same checks, a fraction of the time. */
static int32_t n_gen = N_GEN;
static bool emulated;

static tl_model *load(const char *rel) {
    if (!tl_test_have_shared(rel)) return NULL;
    tl_error err = {0};
    tl_model *m = NULL;
    if (tl_model_load(tl_test_shared_path(rel), NULL, &m, &err) != TL_OK) fprintf(stderr, "%s\n", err.message);
    return m;
}

static int setup(void **state) {
    (void)state;
    emulated = getenv("TL_EMULATED") != NULL;
    if (emulated) n_gen = 48;
    target = load("models/stories260K.gguf");
    draft_q8 = load("models/stories260K-v2-q8_0.gguf");
    other_vocab = load("models/llama2-tiny-random.gguf");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tl_model_free(target);
    tl_model_free(draft_q8);
    tl_model_free(other_vocab);
    return 0;
}

static tl_context *new_context(const tl_model *m, uint32_t n_ctx) {
    tl_context_params cp = tl_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_threads = 1;
    tl_context *ctx = NULL;
    tl_error err = {0};
    assert_int_equal(tl_context_new(m, &cp, &ctx, &err), TL_OK);
    return ctx;
}

static tl_sampler *new_sampler(float temperature, uint64_t seed) {
    tl_sampler_params sp = tl_sampler_default_params();
    sp.temperature = temperature;
    sp.seed = seed;
    tl_sampler *s = NULL;
    tl_error err = {0};
    assert_int_equal(tl_sampler_new(target, &sp, &s, &err), TL_OK);
    return s;
}

typedef struct reply {
    tl_token tokens[N_GEN];
    int32_t n;
    tl_draft_stats stats;
} reply;

/* A reply of N_GEN tokens (ignore_eos) to the prompt, with the drafter (may
 * be NULL); checks after every step that the cache holds exactly what the
 * generator's feed says it holds. */
static void generate(const char *prompt_text, tl_sampler *sampler, tl_drafter *drafter, reply *out) {
    tl_error err = {0};
    tl_context *ctx = new_context(target, 512);
    tl_token prompt[128];
    const int32_t n_prompt = tl_tokenize(target, prompt_text, strlen(prompt_text), true, false, prompt, 128);
    assert_true(n_prompt > 0);
    assert_int_equal(tl_decode(ctx, prompt, n_prompt, 0, false, &err), TL_OK);
    for (int32_t i = 0; i < n_prompt; i++) tl_sampler_accept(sampler, prompt[i]);
    tl_generator_params gp = tl_generator_default_params();
    gp.n_predict = n_gen;
    gp.ignore_eos = true;
    tl_generator *g = NULL;
    assert_int_equal(tl_generator_new(target, sampler, &gp, &g, &err), TL_OK);
    if (drafter) assert_int_equal(tl_drafter_begin(drafter, prompt, n_prompt, &err), TL_OK);
    tl_generator_set_drafter(g, drafter);
    tl_generator_begin(g, (uint32_t)n_prompt, tl_context_size(ctx));
    tl_generation_event ev = {0};
    out->n = 0;
    do {
        assert_int_equal(tl_generator_step(g, ctx, &ev, &err), TL_OK);
        for (int32_t i = 0; i < ev.n_accepted; i++) out->tokens[out->n++] = ev.accepted[i];
        if (ev.stop == TL_STOP_NONE) {
            assert_int_equal(tl_context_used(ctx), ev.feed_pos + (uint32_t)ev.n_feed);
            assert_int_equal(ev.feed_pos, (uint32_t)(n_prompt + out->n - 1)); /* the cache holds every kept token */
        }
    } while (ev.stop == TL_STOP_NONE);
    assert_int_equal(ev.stop, TL_STOP_LENGTH);
    assert_int_equal(out->n, n_gen);
    out->stats = tl_generator_draft_stats(g);
    tl_generator_free(g);
    tl_context_free(ctx);
}

static void assert_same_tokens(const reply *a, const reply *b) {
    assert_int_equal(a->n, b->n);
    for (int32_t i = 0; i < a->n; i++) {
        if (a->tokens[i] != b->tokens[i]) fail_msg("token %d differs: %d vs %d", i, a->tokens[i], b->tokens[i]);
    }
}

static const char *const PROMPT = "Once upon a time, there was a little girl named Lily. Lily liked to play. Once upon";

static void lookup_drafts_what_followed_the_latest_match(void **state) {
    (void)state;
    tl_error err = {0};
    tl_drafter *d = NULL;
    assert_int_equal(tl_drafter_new_lookup(3, NULL, &d, &err), TL_OK);
    const tl_token h[] = {1, 2, 3, 4, 1, 2, 3, 5, 1, 2};
    assert_int_equal(tl_drafter_begin(d, h, 10, &err), TL_OK);
    tl_token out[16];
    /* [5 1 2] never came before; [1 2] last came at 4, followed by 3 5 1 2. */
    assert_int_equal(d->propose(d, out, 3), 3);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 5);
    assert_int_equal(out[2], 1);
    assert_int_equal(d->propose(d, out, 16), 4);
    assert_true(drafter_accept(d, 9)); /* [.. 2 9]: 9 never came before, nor anything ending in it */
    assert_int_equal(d->propose(d, out, 16), 0);
    tl_drafter_free(d);
}

static void greedy_replies_are_identical_with_lookup(void **state) {
    (void)state;
    if (!target) skip();
    reply plain, spec;
    tl_sampler *s = new_sampler(0, 1);
    generate(PROMPT, s, NULL, &plain);
    tl_sampler_free(s);
    const int32_t n_grams[] = {1, 2, 4}, maxes[] = {1, 3, 16};
    const int n_settings = emulated ? 2 : 3;
    int64_t accepted = 0;
    for (int i = 0; i < n_settings; i++)
        for (int j = 0; j < n_settings; j++) {
            tl_draft_params dp = tl_draft_default_params();
            dp.n_max = maxes[j];
            dp.adaptive = j != 2;
            tl_drafter *d = NULL;
            tl_error err = {0};
            assert_int_equal(tl_drafter_new_lookup(n_grams[i], &dp, &d, &err), TL_OK);
            s = new_sampler(0, 1);
            generate(PROMPT, s, d, &spec);
            assert_same_tokens(&plain, &spec);
            assert_true(spec.stats.drafted > 0);
            accepted += spec.stats.accepted;
            tl_sampler_free(s);
            tl_drafter_free(d);
        }
    assert_true(accepted > 0);
}

/* A drafter with a draft model in its own context, drafting as asked (not
 * adaptive: the policy would stop drafting with a draft as slow as this
 * target, draft_policy.c, test_draft_policy). */
static tl_drafter *model_drafter(tl_context **ctx, const tl_model *m, int32_t n_max, float p_min) {
    tl_draft_params dp = tl_draft_default_params();
    dp.adaptive = false;
    dp.n_max = n_max;
    dp.p_min = p_min;
    *ctx = new_context(m, 512);
    tl_drafter *d = NULL;
    tl_error err = {0};
    assert_int_equal(tl_drafter_new_model(*ctx, target, &dp, &d, &err), TL_OK);
    return d;
}

static void greedy_replies_are_identical_with_a_draft_model(void **state) {
    (void)state;
    if (!target || !draft_q8) skip();
    reply plain, spec;
    tl_sampler *s = new_sampler(0, 1);
    generate(PROMPT, s, NULL, &plain);
    tl_sampler_free(s);
    const int32_t maxes[] = {1, 4, 16};
    const float p_mins[] = {0.0f, 0.75f};
    for (int i = emulated ? 1 : 0; i < 3; i++)
        for (int j = 0; j < 2; j++) {
            tl_context *dctx;
            tl_drafter *d = model_drafter(&dctx, draft_q8, maxes[i], p_mins[j]);
            s = new_sampler(0, 1);
            generate(PROMPT, s, d, &spec);
            assert_same_tokens(&plain, &spec);
            /* The q8_0 sibling mostly agrees with the f32 target. */
            assert_true(spec.stats.drafted > 0);
            assert_true(spec.stats.accepted * 10 >= spec.stats.drafted * 6);
            tl_sampler_free(s);
            tl_drafter_free(d);
            tl_context_free(dctx);
        }
}

/* Sampled replies: every token is drawn as plain generation draws it, so a
 * seed gives the same reply with or without drafts. Over many seeds this is
 * the distribution test, at its strictest. */
static void sampled_replies_are_identical_per_seed(void **state) {
    (void)state;
    if (!target || !draft_q8) skip();
    int64_t drafted = 0, accepted = 0;
    for (uint64_t seed = 1; seed <= (emulated ? 4u : 12u); seed++) {
        reply plain, spec;
        tl_sampler *s = new_sampler(0.9f, seed);
        generate(PROMPT, s, NULL, &plain);
        tl_sampler_free(s);
        tl_drafter *d = NULL;
        tl_context *dctx = NULL;
        tl_error err = {0};
        if (seed % 2)
            assert_int_equal(tl_drafter_new_lookup(2, NULL, &d, &err), TL_OK);
        else
            d = model_drafter(&dctx, draft_q8, 6, 0.0f);
        s = new_sampler(0.9f, seed);
        generate(PROMPT, s, d, &spec);
        assert_same_tokens(&plain, &spec);
        drafted += spec.stats.drafted;
        accepted += spec.stats.accepted;
        tl_sampler_free(s);
        tl_drafter_free(d);
        tl_context_free(dctx);
    }
    assert_true(accepted > 0);
    assert_true(accepted < drafted); /* sampling rejects drafts: the rollback paths ran */
}

/* A drafter that proposes the plain reply's next tokens with the one at
 * `wrong` changed: rejected exactly there, at every point of the draft. */
typedef struct scripted_drafter {
    tl_drafter base;
    const reply *truth;
    int32_t n_prompt, wrong;
} scripted_drafter;

static int32_t scripted_propose(tl_drafter *d, tl_token *out, int32_t max) {
    const scripted_drafter *s = (const scripted_drafter *)d;
    const int32_t next = (int32_t)d->history.n - s->n_prompt; /* index in the reply of the token after history */
    int32_t k = 0;
    for (; k < max && next + k < s->truth->n; k++) {
        out[k] = s->truth->tokens[next + k];
        if (k == s->wrong) out[k] = (out[k] + 1) % tl_vocab_size(target);
    }
    return k;
}

static void scripted_free(tl_drafter *d) {
    (void)d;
}

static void a_rejection_anywhere_rolls_the_cache_back(void **state) {
    (void)state;
    if (!target) skip();
    reply plain, spec;
    tl_sampler *s = new_sampler(0, 1);
    generate(PROMPT, s, NULL, &plain);
    tl_sampler_free(s);
    tl_token prompt[128];
    const int32_t n_prompt = tl_tokenize(target, PROMPT, strlen(PROMPT), true, false, prompt, 128);
    for (int32_t wrong = 0; wrong <= 8; wrong += emulated ? 4 : 1) {
        scripted_drafter sd = {.truth = &plain, .n_prompt = n_prompt, .wrong = wrong};
        tl_draft_params dp = tl_draft_default_params();
        dp.n_max = 8;
        dp.adaptive = false;
        tl_error err = {0};
        assert_int_equal(drafter_init(&sd.base, &dp, &err), TL_OK);
        sd.base.propose = scripted_propose;
        sd.base.free = scripted_free;
        s = new_sampler(0, 1);
        generate(PROMPT, s, &sd.base, &spec);
        assert_same_tokens(&plain, &spec);
        /* Each step keeps the drafts before the wrong one (all of them when wrong = 8). */
        assert_true(spec.stats.steps > 0);
        if (wrong < 8) assert_true(spec.stats.accepted <= spec.stats.steps * wrong);
        if (wrong == 8) assert_int_equal(spec.stats.accepted, spec.stats.drafted);
        tl_sampler_free(s);
        free(sd.base.history.v);
    }
}

/* The draft model's cache follows the history back: after a different
 * history its drafts are a fresh drafter's. */
static void the_draft_cache_follows_a_changed_history(void **state) {
    (void)state;
    if (!target || !draft_q8) skip();
    tl_token a[64], b[64];
    const char *ta = "Once upon a time, there was a big dog.", *tb = "Once upon a time, there was a little cat who";
    const int32_t na = tl_tokenize(target, ta, strlen(ta), true, false, a, 64);
    const int32_t nb = tl_tokenize(target, tb, strlen(tb), true, false, b, 64);
    tl_context *c1, *c2;
    tl_drafter *reused = model_drafter(&c1, draft_q8, 8, 0.0f), *fresh = model_drafter(&c2, draft_q8, 8, 0.0f);
    tl_error err = {0};
    tl_token out1[16], out2[16];
    assert_int_equal(tl_drafter_begin(reused, a, na, &err), TL_OK);
    assert_int_equal(reused->propose(reused, out1, 8), 8);
    assert_int_equal(tl_drafter_begin(reused, b, nb, &err), TL_OK);
    assert_int_equal(tl_drafter_begin(fresh, b, nb, &err), TL_OK);
    assert_int_equal(reused->propose(reused, out1, 8), 8);
    assert_int_equal(fresh->propose(fresh, out2, 8), 8);
    assert_memory_equal(out1, out2, 8 * sizeof *out1);
    /* ... and after the drafts it made were rejected but for the first two. */
    assert_true(drafter_accept(reused, out1[0]) && drafter_accept(reused, out1[1]) && drafter_accept(reused, 7));
    assert_true(drafter_accept(fresh, out1[0]) && drafter_accept(fresh, out1[1]) && drafter_accept(fresh, 7));
    tl_drafter_free(fresh);
    tl_context_free(c2);
    fresh = model_drafter(&c2, draft_q8, 8, 0.0f);
    assert_int_equal(tl_drafter_begin(fresh, reused->history.v, (int32_t)reused->history.n, &err), TL_OK);
    assert_int_equal(reused->propose(reused, out1, 8), 8);
    assert_int_equal(fresh->propose(fresh, out2, 8), 8);
    assert_memory_equal(out1, out2, 8 * sizeof *out1);
    tl_drafter_free(reused);
    tl_drafter_free(fresh);
    tl_context_free(c1);
    tl_context_free(c2);
}

/* Evaluating k tokens gives each the logits of k one-token evaluations,
 * bit for bit: what makes the greedy equality hold for any model. For f16
 * and f32 caches (the tokens of an exact run share attention units where
 * the kernels are batch-invariant) and one or two threads. */
static void a_short_batch_has_the_logits_of_single_tokens(void **state) {
    (void)state;
    if (!target) skip();
    static const struct { uint32_t type_kv, threads; } configs[] = {{1, 1}, {0, 1}, {1, 2}};
    const int32_t n_vocab = tl_vocab_size(target);
    tl_token t[40];
    for (int i = 0; i < 40; i++) t[i] = (tl_token)((i * 37 + 11) % n_vocab);
    float *single = malloc(sizeof(float) * (size_t)n_vocab * 17);
    assert_non_null(single);
    for (size_t c = 0; c < sizeof configs / sizeof *configs; c++) {
        tl_error err = {0};
        tl_context_params cp = tl_context_default_params();
        cp.n_ctx = 256;
        cp.n_threads = configs[c].threads;
        cp.type_k = cp.type_v = configs[c].type_kv;
        tl_context *ctx = NULL;
        assert_int_equal(tl_context_new(target, &cp, &ctx, &err), TL_OK);
        for (int32_t k = 2; k <= 17; k += 5) {
            tl_context_truncate(ctx, 0);
            assert_int_equal(tl_decode(ctx, t, 20, 0, false, &err), TL_OK);
            for (int32_t i = 0; i < k; i++) {
                assert_int_equal(tl_decode(ctx, t + 20 + i, 1, (uint32_t)(20 + i), false, &err), TL_OK);
                memcpy(single + (size_t)i * n_vocab, tl_get_logits(ctx, -1), sizeof(float) * (size_t)n_vocab);
            }
            tl_context_truncate(ctx, 20);
            assert_int_equal(tl_decode(ctx, t + 20, k, 20, true, &err), TL_OK);
            for (int32_t i = 0; i < k; i++)
                assert_memory_equal(single + (size_t)i * n_vocab, tl_get_logits(ctx, i),
                                    sizeof(float) * (size_t)n_vocab);
        }
        tl_context_free(ctx);
    }
    free(single);
}

static int32_t never_right(tl_drafter *d, tl_token *out, int32_t max) {
    (void)d;
    for (int32_t k = 0; k < max; k++) out[k] = 0; /* <unk>: never drawn */
    return max;
}

static void nothing_accepted_means_almost_nothing_drafted(void **state) {
    (void)state;
    if (!target) skip();
    tl_drafter d = {0};
    tl_error err = {0};
    assert_int_equal(drafter_init(&d, NULL, &err), TL_OK);
    d.propose = never_right;
    d.free = scripted_free;
    reply spec;
    tl_sampler *s = new_sampler(0, 1);
    generate(PROMPT, s, &d, &spec);
    assert_int_equal(spec.stats.accepted, 0);
    /* A first full draft, then fewer, then one probe every 8th step. */
    assert_true(spec.stats.drafted < 16 + 8 + n_gen / 8 + 8);
    tl_sampler_free(s);
    free(d.history.v);
}

static void vocabularies_and_parameters_are_checked(void **state) {
    (void)state;
    tl_error err = {0};
    tl_drafter *d = NULL;
    tl_draft_params dp = tl_draft_default_params();
    dp.n_max = 17;
    assert_int_equal(tl_drafter_new_lookup(2, &dp, &d, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "draft-max"));
    dp = tl_draft_default_params();
    dp.n_min = 5;
    dp.n_max = 4;
    assert_int_equal(tl_drafter_new_lookup(2, &dp, &d, &err), TL_ERR_ARGUMENT);
    dp = tl_draft_default_params();
    dp.p_min = 1.5f;
    assert_int_equal(tl_drafter_new_lookup(2, &dp, &d, &err), TL_ERR_ARGUMENT);
    assert_int_equal(tl_drafter_new_lookup(0, NULL, &d, &err), TL_ERR_ARGUMENT);
    assert_null(d);
    if (!target || !other_vocab || !draft_q8) skip();
    char note[128];
    assert_int_equal(tl_draft_check_vocab(other_vocab, target, note, sizeof note, &err), TL_ERR_ARGUMENT);
    assert_true(strlen(err.message) > 0);
    tl_context *ctx = new_context(other_vocab, 64);
    assert_int_equal(tl_drafter_new_model(ctx, target, NULL, &d, &err), TL_ERR_ARGUMENT);
    assert_null(d);
    tl_context_free(ctx);
    assert_int_equal(tl_draft_check_vocab(draft_q8, target, note, sizeof note, &err), TL_OK);
    assert_string_equal(note, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_drafts_what_followed_the_latest_match),
        cmocka_unit_test(greedy_replies_are_identical_with_lookup),
        cmocka_unit_test(greedy_replies_are_identical_with_a_draft_model),
        cmocka_unit_test(sampled_replies_are_identical_per_seed),
        cmocka_unit_test(a_rejection_anywhere_rolls_the_cache_back),
        cmocka_unit_test(the_draft_cache_follows_a_changed_history),
        cmocka_unit_test(a_short_batch_has_the_logits_of_single_tokens),
        cmocka_unit_test(nothing_accepted_means_almost_nothing_drafted),
        cmocka_unit_test(vocabularies_and_parameters_are_checked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
