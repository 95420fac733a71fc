/*
 * test_kv_cache.c — every KV cache type gives the logits of the f32 cache,
 * within its precision, in prompt processing and in token-by-token
 * generation; a full cache is refused; truncating it and evaluating again
 * reproduces the same logits. Run on a llama model and on a Gemma 2 shape
 * (sliding window of 16, soft-capping), whose local layers read only part of
 * the cache.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/authoring.h"
#include "test_support.h"
#include "tinyllm.h"

static tl_model *model;

/* Writes and loads a q8_0 model of `preset` (tiny or not) with 32-wide heads. */
static int load_preset(const char *preset, bool tiny, const char *vocab) {
    if (!tl_test_have_shared(vocab)) return 0;
    const char *path = tl_test_tmp_path("kv-model.gguf");
    tl_error err = {0};
    const tl_synth_params sp = {
        .preset = preset, .weight_type = "q8_0", .seed = 7, .vocab_path = tl_test_shared_path(vocab), .tiny = tiny};
    if (tl_synth(&sp, path, &err) != TL_OK || tl_model_load(path, NULL, &model, &err) != TL_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    remove(path);
    return 0;
}

static int setup(void **state) {
    (void)state;
    return load_preset("llama-test-hd32", false, "tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf");
}

static int setup_windowed(void **state) {
    (void)state;
    return load_preset("gemma2-2b", true, "tokenizers/gemma3/tokenizer.json");
}

static int teardown(void **state) {
    (void)state;
    tl_model_free(model);
    model = NULL;
    return 0;
}

/* Logits of `n` prompt tokens then `steps` single tokens, all rows kept. */
static float *run(uint32_t type_k, uint32_t type_v, const tl_token *tokens, int32_t n, int32_t steps) {
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 256;
    p.n_threads = 2;
    p.type_k = type_k;
    p.type_v = type_v;
    tl_context *ctx = NULL;
    tl_error err = {0};
    if (tl_context_new(model, &p, &ctx, &err) != TL_OK) fail_msg("%s", err.message);
    const int32_t n_vocab = tl_vocab_size(model);
    float *out = malloc((size_t)(1 + steps) * n_vocab * sizeof *out);
    assert_int_equal(tl_decode(ctx, tokens, n, 0, false, &err), TL_OK);
    memcpy(out, tl_get_logits(ctx, -1), (size_t)n_vocab * sizeof *out);
    for (int32_t s = 0; s < steps; s++) {
        assert_int_equal(tl_decode(ctx, &tokens[n + s], 1, tl_context_used(ctx), false, &err), TL_OK);
        memcpy(out + (size_t)(1 + s) * n_vocab, tl_get_logits(ctx, -1), (size_t)n_vocab * sizeof *out);
    }
    tl_context_free(ctx);
    return out;
}

static void cache_types_agree_with_f32(void **state) {
    (void)state;
    if (!model) skip();
    tl_token tokens[80];
    for (int i = 0; i < 80; i++) tokens[i] = (tl_token)(1 + (i * 7919) % 31999);
    const int32_t n_vocab = tl_vocab_size(model);
    float *ref = run(0, 0, tokens, 70, 8);
    const struct {
        uint32_t k, v;
        double tol;
    } cases[] = {{1, 1, 0.02}, {8, 1, 0.08}, {1, 8, 0.08}, {8, 8, 0.1}, {8, 0, 0.08}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float *got = run(cases[c].k, cases[c].v, tokens, 70, 8);
        double worst = 0, scale = 0;
        for (size_t i = 0; i < (size_t)9 * n_vocab; i++) {
            worst = fmax(worst, fabs(got[i] - ref[i]));
            scale = fmax(scale, fabs(ref[i]));
        }
        if (worst > cases[c].tol * scale)
            fail_msg("cache k=%u v=%u: logits differ by %g (max |logit| %g)", cases[c].k, cases[c].v, worst, scale);
        free(got);
    }
    free(ref);
}

/* Truncating the cache and evaluating the same tokens again gives the same
 * logits (up to float summation order: batches of a different size may be
 * tiled differently by the SIMD kernels). */
static void truncate_and_replay_gives_the_same_logits(void **state) {
    (void)state;
    if (!model) skip();
    tl_context *ctx = NULL;
    tl_error err = {0};
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 64;
    assert_int_equal(tl_context_new(model, &p, &ctx, &err), TL_OK);
    tl_token tokens[40];
    for (int i = 0; i < 40; i++) tokens[i] = (tl_token)(100 + i * 31);
    const int32_t n_vocab = tl_vocab_size(model);
    assert_int_equal(tl_decode(ctx, tokens, 40, 0, false, &err), TL_OK);
    float *first = malloc((size_t)n_vocab * sizeof *first);
    memcpy(first, tl_get_logits(ctx, -1), (size_t)n_vocab * sizeof *first);
    tl_context_truncate(ctx, 25);
    assert_int_equal(tl_context_used(ctx), 25);
    assert_int_equal(tl_decode(ctx, tokens + 25, 15, 25, false, &err), TL_OK);
    const float *again = tl_get_logits(ctx, -1);
    for (int32_t i = 0; i < n_vocab; i++)
        if (fabsf(again[i] - first[i]) > 1e-4f * (1.0f + fabsf(first[i])))
            fail_msg("logit %d: %g after replay, %g before", i, again[i], first[i]);
    /* The cache holds 64: 40 + 25 do not fit. */
    assert_int_equal(tl_decode(ctx, tokens, 25, 40, false, &err), TL_ERR_CONTEXT_FULL);
    free(first);
    tl_context_free(ctx);
}

/* Three sequences in one context, evaluated together (prompts cut into runs
 * and chunks of n_batch, then one token each per step), give the logits each
 * has when evaluated alone. */
static void sequences_in_one_batch_match_separate_runs(void **state) {
    (void)state;
    if (!model) skip();
    enum { N_SEQ = 3, STEPS = 6, MAX_TOKENS = 64 };
    static const int32_t prompt_len[N_SEQ] = {30, 17, 45};
    tl_token tokens[N_SEQ][MAX_TOKENS];
    for (int s = 0; s < N_SEQ; s++)
        for (int i = 0; i < MAX_TOKENS; i++) tokens[s][i] = (tl_token)(1 + (i * 7919 + s * 104729) % 31999);
    const int32_t n_vocab = tl_vocab_size(model);
    float *ref[N_SEQ];
    for (int s = 0; s < N_SEQ; s++) ref[s] = run(1, 1, tokens[s], prompt_len[s], STEPS);

    tl_context_params p = tl_context_default_params();
    p.n_ctx = 128;
    p.n_batch = 32;
    p.n_threads = 2;
    p.n_seq = N_SEQ;
    tl_context *ctx = NULL;
    tl_error err = {0};
    assert_int_equal(tl_context_new(model, &p, &ctx, &err), TL_OK);
    assert_int_equal(tl_context_n_seq(ctx), N_SEQ);

    /* The prompts interleaved: 10 of A, all of B, the rest of A, all of C. */
    tl_token batch[MAX_TOKENS * N_SEQ];
    int32_t seq[MAX_TOKENS * N_SEQ];
    bool want[MAX_TOKENS * N_SEQ];
    int32_t n = 0;
    const struct { int s, from, to; } pieces[] = {{0, 0, 10}, {1, 0, 17}, {0, 10, 30}, {2, 0, 45}};
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++)
        for (int i = pieces[k].from; i < pieces[k].to; i++, n++) {
            batch[n] = tokens[pieces[k].s][i];
            seq[n] = pieces[k].s;
            want[n] = i == prompt_len[pieces[k].s] - 1;
        }
    assert_int_equal(tl_decode_batch(ctx, batch, seq, want, n, &err), TL_OK);
    for (int step = 0; step <= STEPS; step++) {
        /* Logit rows come in batch order: the prompts ended in order B, A, C. */
        static const int prompt_order[N_SEQ] = {1, 0, 2};
        for (int k = 0; k < N_SEQ; k++) {
            const int s = step == 0 ? prompt_order[k] : k;
            const float *got = tl_get_logits(ctx, k), *want_row = ref[s] + (size_t)step * n_vocab;
            assert_non_null(got);
            for (int32_t i = 0; i < n_vocab; i++)
                if (fabsf(got[i] - want_row[i]) > 1e-4f * (1.0f + fabsf(want_row[i])))
                    fail_msg("step %d, sequence %d, logit %d: %g batched, %g alone", step, s, i, got[i], want_row[i]);
        }
        assert_null(tl_get_logits(ctx, N_SEQ));
        if (step == STEPS) break;
        for (int s = 0; s < N_SEQ; s++) {
            batch[s] = tokens[s][prompt_len[s] + step];
            seq[s] = s;
            want[s] = true;
        }
        assert_int_equal(tl_decode_batch(ctx, batch, seq, want, N_SEQ, &err), TL_OK);
    }
    for (int s = 0; s < N_SEQ; s++) assert_int_equal(tl_context_seq_used(ctx, s), prompt_len[s] + STEPS);

    /* Bad input: a sequence out of range; a sequence that would overflow (nothing is evaluated). */
    seq[0] = N_SEQ;
    assert_int_equal(tl_decode_batch(ctx, batch, seq, NULL, 1, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "sequence 3"));
    for (int i = 0; i < 80; i++) {
        seq[i] = 2;
        batch[i] = 5;
    }
    assert_int_equal(tl_decode_batch(ctx, batch, seq, NULL, 80, &err), TL_ERR_CONTEXT_FULL);
    assert_int_equal(tl_context_seq_used(ctx, 2), prompt_len[2] + STEPS);
    tl_context_seq_truncate(ctx, 1, 5);
    assert_int_equal(tl_context_seq_used(ctx, 1), 5);
    assert_int_equal(tl_context_seq_used(ctx, 0), prompt_len[0] + STEPS);
    assert_true(tl_context_memory(ctx) > 0);
    tl_context_free(ctx);
    for (int s = 0; s < N_SEQ; s++) free(ref[s]);
}

static void bad_cache_types_are_refused(void **state) {
    (void)state;
    if (!model) skip();
    tl_context *ctx = NULL;
    tl_error err = {0};
    tl_context_params p = tl_context_default_params();
    p.type_k = 2; /* q4_0 */
    assert_int_equal(tl_context_new(model, &p, &ctx, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "q4_0"));
    p.type_k = 1;
    p.type_v = 77;
    assert_int_equal(tl_context_new(model, &p, &ctx, &err), TL_ERR_ARGUMENT);
    assert_null(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_types_agree_with_f32),
        cmocka_unit_test(truncate_and_replay_gives_the_same_logits),
        cmocka_unit_test(sequences_in_one_batch_match_separate_runs),
        cmocka_unit_test(bad_cache_types_are_refused),
    };
    const int failed = cmocka_run_group_tests_name("llama", tests, setup, teardown);
    return failed + cmocka_run_group_tests_name("gemma2 (sliding window)", tests, setup_windowed, teardown);
}
