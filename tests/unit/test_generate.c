/*
 * test_generate.c — the generation stage (src/generate, tl_generator and
 * tl_generate in tinyllm.h) on stories260K: greedy text through the API
 * equals llama.cpp's golden text; stop strings are held back and cut
 * exactly (across tokens, and where a character is still incomplete);
 * n_predict, ignore_eos, a full context and cancellation end the reply with
 * their reason; byte tokens (id 3 + byte) left incomplete come out as U+FFFD.
 * Tests that need chosen tokens hand the generator made-up logits whose
 * largest entry is that token, with a greedy sampler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "tinyllm.h"

#define EOS_TOKEN 2       /* stories260K's </s> */
#define BYTE(b) (3 + (b)) /* its byte tokens <0xNN> */

static tl_model *model;
static char *golden; /* the 200 greedy tokens after "Once upon a time", without the final "\n\n" */

static int setup(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K.gguf") || !tl_test_have_shared("golden/stories260K-greedy-200.txt"))
        return 0;
    tl_error err = {0};
    if (tl_model_load(tl_test_shared_path("models/stories260K.gguf"), NULL, &model, &err) != TL_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    size_t len;
    golden = tl_test_read_file(tl_test_shared_path("golden/stories260K-greedy-200.txt"), &len);
    if (!golden || len < 2 || strcmp(golden + len - 2, "\n\n") != 0) return -1; /* `run` ends its output with "\n\n" */
    golden[len - 2] = 0;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tl_model_free(model);
    free(golden);
    return 0;
}

static tl_sampler *greedy(void) {
    tl_sampler_params sp = tl_sampler_default_params();
    sp.temperature = 0;
    tl_sampler *s = NULL;
    tl_error err = {0};
    assert_int_equal(tl_sampler_new(model, &sp, &s, &err), TL_OK);
    return s;
}

/* What tl_generate streamed. */
typedef struct streamed {
    char text[8192];
    size_t len;
    int chunks, cancel_after; /* stop after this many chunks (0: never) */
} streamed;

static bool collect(void *user, const char *text, size_t len) {
    streamed *s = user;
    assert_true(s->len + len < sizeof s->text);
    assert_true(len > 0); /* only text is passed on */
    memcpy(s->text + s->len, text, len);
    s->len += len;
    s->text[s->len] = 0;
    return !(s->cancel_after && ++s->chunks >= s->cancel_after);
}

/* tl_generate after "Once upon a time" with a greedy sampler and a context
 * of n_ctx positions. Returns the reason; the text is in *out. */
static tl_stop_reason generate_story(const tl_generator_params *gp, uint32_t n_ctx, streamed *out, uint32_t *used) {
    tl_token prompt[16];
    const int32_t n_prompt = tl_tokenize(model, "Once upon a time", 16, true, false, prompt, 16);
    assert_int_equal(n_prompt, 5);
    tl_context_params cp = tl_context_default_params();
    cp.n_ctx = n_ctx;
    tl_context *ctx = NULL;
    tl_error err = {0};
    assert_int_equal(tl_context_new(model, &cp, &ctx, &err), TL_OK);
    tl_sampler *sampler = greedy();
    tl_stop_reason reason = TL_STOP_NONE;
    assert_int_equal(tl_generate(ctx, sampler, prompt, n_prompt, gp, collect, out, &reason, &err), TL_OK);
    if (used) *used = tl_context_used(ctx);
    tl_sampler_free(sampler);
    tl_context_free(ctx);
    return reason;
}

static void greedy_text_equals_the_golden(void **state) {
    (void)state;
    if (!model) skip();
    tl_generator_params gp = tl_generator_default_params();
    gp.n_predict = 200;
    streamed out = {0};
    assert_int_equal(generate_story(&gp, 0, &out, NULL), TL_STOP_LENGTH);
    assert_string_equal(out.text, golden);
}

/* The text of a reply cut by `stop`: the golden text up to it, nothing more
 * ever streamed (what is released cannot be taken back). */
static void stop_strings_are_held_back_and_cut(void **state) {
    (void)state;
    if (!model) skip();
    static const char *const cuts[] = {
        "little girl", /* across tokens */
        "ttle gi",     /* starting and ending inside tokens */
        "\nLily",      /* after a newline */
        "I\n",         /* never in the text: the held-back "I" comes out at the end */
    };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        tl_token tokens[8];
        if (i == 0) assert_true(tl_tokenize(model, cuts[i], strlen(cuts[i]), false, false, tokens, 8) > 1);
        const char *stops[] = {"", cuts[i], "never appears"};
        tl_generator_params gp = tl_generator_default_params();
        gp.n_predict = 200;
        gp.stops = stops;
        gp.n_stops = 3;
        streamed out = {0};
        const tl_stop_reason reason = generate_story(&gp, 0, &out, NULL);
        const char *at = strstr(golden, cuts[i]);
        if (at) {
            assert_int_equal(reason, TL_STOP_STOP_STRING);
            assert_int_equal(out.len, (size_t)(at - golden));
            assert_memory_equal(out.text, golden, out.len);
        } else {
            assert_int_equal(reason, TL_STOP_LENGTH);
            assert_string_equal(out.text, golden);
        }
    }
    /* A stop string whose start appears ("Lily's mom" vs "Lily's dog") is released once it cannot match. */
    const char *stops[] = {"Lily's dog"};
    tl_generator_params gp = tl_generator_default_params();
    gp.n_predict = 200;
    gp.stops = stops;
    gp.n_stops = 1;
    streamed out = {0};
    assert_non_null(strstr(golden, "Lily's mom"));
    assert_int_equal(generate_story(&gp, 0, &out, NULL), TL_STOP_LENGTH);
    assert_string_equal(out.text, golden);
}

/* The context holds the prompt and the fed tokens: the reply stops when the
 * next token has no room, with that token's text included. */
static void a_full_context_ends_the_reply(void **state) {
    (void)state;
    if (!model) skip();
    tl_generator_params gp = tl_generator_default_params();
    streamed out = {0};
    uint32_t used = 0;
    assert_int_equal(generate_story(&gp, 32, &out, &used), TL_STOP_CONTEXT);
    assert_int_equal(used, 32);
    assert_true(out.len > 20);
    assert_memory_equal(out.text, golden, out.len);
}

static void the_callback_cancels(void **state) {
    (void)state;
    if (!model) skip();
    tl_generator_params gp = tl_generator_default_params();
    gp.n_predict = 100;
    streamed out = {.cancel_after = 3};
    assert_int_equal(generate_story(&gp, 0, &out, NULL), TL_STOP_CANCELLED);
    assert_int_equal(out.chunks, 3);
    assert_true(out.len > 0 && out.len < 40);
    assert_memory_equal(out.text, golden, out.len);
}

/* ---- chosen tokens through tl_generator_next ------------------------------- */

typedef struct scripted {
    tl_sampler *sampler;
    tl_generator *gen;
    float *logits;
    char text[256]; /* everything released */
    size_t len;
} scripted;

static void script_start(scripted *s, const tl_generator_params *gp, uint32_t n_past, uint32_t n_ctx) {
    *s = (scripted){.sampler = greedy()};
    tl_error err = {0};
    assert_int_equal(tl_generator_new(model, s->sampler, gp, &s->gen, &err), TL_OK);
    tl_generator_begin(s->gen, n_past, n_ctx);
    s->logits = calloc((size_t)tl_vocab_size(model), sizeof *s->logits);
    assert_non_null(s->logits);
}

/* One step whose logits make `token` the greedy choice; returns the text it released (NUL-terminated copy). */
static const char *script_step(scripted *s, tl_token token, tl_generation_event *ev) {
    memset(s->logits, 0, (size_t)tl_vocab_size(model) * sizeof *s->logits);
    s->logits[token] = 10.0f;
    tl_error err = {0};
    assert_int_equal(tl_generator_next(s->gen, s->logits, 1, ev, &err), TL_OK);
    static char piece[64];
    assert_true(ev->text_len < sizeof piece && s->len + ev->text_len < sizeof s->text);
    memcpy(piece, ev->text, ev->text_len);
    piece[ev->text_len] = 0;
    memcpy(s->text + s->len, ev->text, ev->text_len);
    s->len += ev->text_len;
    s->text[s->len] = 0;
    return piece;
}

static void script_end(scripted *s) {
    size_t len;
    const char *all = tl_generator_text(s->gen, &len);
    assert_int_equal(len, s->len); /* the whole text is what was streamed */
    assert_memory_equal(all, s->text, len);
    tl_generator_free(s->gen);
    tl_sampler_free(s->sampler);
    free(s->logits);
}

static void one_step_feeds_one_token_at_the_next_position(void **state) {
    (void)state;
    if (!model) skip();
    tl_generator_params gp = tl_generator_default_params();
    scripted s;
    script_start(&s, &gp, 7, 100);
    tl_generation_event ev;
    assert_string_equal(script_step(&s, BYTE('h'), &ev), "h");
    assert_true(ev.sampled);
    assert_int_equal(ev.n_accepted, 1);
    assert_int_equal(ev.accepted[0], BYTE('h'));
    assert_int_equal(ev.n_feed, 1);
    assert_int_equal(ev.feed[0], BYTE('h'));
    assert_int_equal(ev.feed_pos, 7);
    assert_int_equal(ev.stop, TL_STOP_NONE);
    assert_string_equal(script_step(&s, BYTE('i'), &ev), "i");
    assert_int_equal(ev.feed_pos, 8);
    assert_int_equal(ev.n_generated, 2);
    /* The rows must be the ones asked for. */
    tl_error err = {0};
    assert_int_equal(tl_generator_next(s.gen, s.logits, 2, &ev, &err), TL_ERR_ARGUMENT);
    assert_int_equal(ev.stop, TL_STOP_ERROR);
    assert_non_null(strstr(err.message, "rows of logits"));
    script_end(&s);
}

static void byte_tokens_form_characters_and_cut_ones_become_u_fffd(void **state) {
    (void)state;
    if (!model) skip();
    tl_generator_params gp = tl_generator_default_params();
    gp.n_predict = 4;
    scripted s;
    script_start(&s, &gp, 0, 100);
    tl_generation_event ev;
    assert_string_equal(script_step(&s, BYTE('A'), &ev), "A");
    assert_string_equal(script_step(&s, BYTE(0xE2), &ev), ""); /* € is E2 82 AC: held */
    assert_string_equal(script_step(&s, BYTE(0x82), &ev), "");
    /* E2 82 broken off by another E2 (U+FFFD), which n_predict then cuts (U+FFFD). */
    assert_string_equal(script_step(&s, BYTE(0xE2), &ev), "\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_int_equal(ev.stop, TL_STOP_LENGTH);
    assert_string_equal(s.text, "A\xEF\xBF\xBD\xEF\xBF\xBD");
    script_end(&s);

    /* Cancelled while a character is incomplete: the text so far is kept, its end as U+FFFD. */
    gp.n_predict = -1;
    script_start(&s, &gp, 0, 100);
    assert_string_equal(script_step(&s, BYTE('x'), &ev), "x");
    tl_generator_cancel(s.gen); /* the reply ends after the token the next step draws */
    assert_string_equal(script_step(&s, BYTE(0xC3), &ev), "\xEF\xBF\xBD");
    assert_int_equal(ev.stop, TL_STOP_CANCELLED);
    assert_int_equal(ev.n_generated, 2);
    assert_int_equal(ev.n_feed, 0);
    script_end(&s);
}

static void stop_strings_wait_for_whole_characters(void **state) {
    (void)state;
    if (!model) skip();
    const char *stops[] = {"A\xE2\x82\xAC"}; /* "A€" */
    tl_generator_params gp = tl_generator_default_params();
    gp.stops = stops;
    gp.n_stops = 1;
    scripted s;
    tl_generation_event ev;
    /* A € B: "A" could start the stop string, and so could each byte of €. */
    script_start(&s, &gp, 0, 100);
    assert_string_equal(script_step(&s, BYTE('x'), &ev), "x");
    assert_string_equal(script_step(&s, BYTE('A'), &ev), "");
    assert_string_equal(script_step(&s, BYTE(0xE2), &ev), "");
    assert_string_equal(script_step(&s, BYTE(0x82), &ev), "");
    assert_string_equal(script_step(&s, BYTE(0xAC), &ev), "");
    assert_int_equal(ev.stop, TL_STOP_STOP_STRING);
    assert_string_equal(s.text, "x");
    script_end(&s);
    /* A ₭ (E2 82 AD): the same first bytes, another character: all of it comes out. */
    script_start(&s, &gp, 0, 100);
    assert_string_equal(script_step(&s, BYTE('A'), &ev), "");
    assert_string_equal(script_step(&s, BYTE(0xE2), &ev), "");
    assert_string_equal(script_step(&s, BYTE(0x82), &ev), "");
    assert_string_equal(script_step(&s, BYTE(0xAD), &ev), "A\xE2\x82\xAD");
    assert_int_equal(ev.stop, TL_STOP_NONE);
    script_end(&s);
    /* A broken character where the stop string goes on: U+FFFD, then the rest. */
    script_start(&s, &gp, 0, 100);
    assert_string_equal(script_step(&s, BYTE('A'), &ev), "");
    assert_string_equal(script_step(&s, BYTE(0xE2), &ev), "");
    assert_string_equal(script_step(&s, BYTE('B'), &ev), "A\xEF\xBF\xBD"
                                                         "B");
    script_end(&s);
}

static void eog_ends_the_reply_unless_ignored(void **state) {
    (void)state;
    if (!model) skip();
    assert_true(tl_token_is_eog(model, EOS_TOKEN));
    tl_generator_params gp = tl_generator_default_params();
    scripted s;
    tl_generation_event ev;
    script_start(&s, &gp, 0, 100);
    assert_string_equal(script_step(&s, BYTE('o'), &ev), "o");
    assert_string_equal(script_step(&s, BYTE(0xC3), &ev), "");
    assert_string_equal(script_step(&s, EOS_TOKEN, &ev), "\xEF\xBF\xBD"); /* the held byte, flushed */
    assert_int_equal(ev.stop, TL_STOP_EOG);
    assert_true(ev.sampled);
    assert_int_equal(ev.n_accepted, 0);
    assert_int_equal(ev.n_generated, 2); /* the EOG token is not part of the reply */
    assert_int_equal(ev.n_feed, 0);
    /* Over: further steps do nothing. */
    assert_string_equal(script_step(&s, BYTE('o'), &ev), "");
    assert_int_equal(ev.stop, TL_STOP_EOG);
    assert_int_equal(ev.n_generated, 2);
    script_end(&s);

    gp.ignore_eos = true;
    script_start(&s, &gp, 0, 100);
    script_step(&s, EOS_TOKEN, &ev);
    assert_int_equal(ev.stop, TL_STOP_NONE);
    assert_int_equal(ev.n_feed, 1);
    assert_int_equal(ev.feed[0], EOS_TOKEN);
    assert_string_equal(script_step(&s, BYTE('o'), &ev), "o");
    assert_int_equal(ev.n_generated, 2);
    script_end(&s);
}

static void n_predict_and_the_context_limit_the_reply(void **state) {
    (void)state;
    if (!model) skip();
    tl_generator_params gp = tl_generator_default_params();
    gp.n_predict = 0;
    scripted s;
    tl_generation_event ev;
    script_start(&s, &gp, 0, 100);
    script_step(&s, BYTE('o'), &ev);
    assert_int_equal(ev.stop, TL_STOP_LENGTH);
    assert_false(ev.sampled); /* nothing drawn */
    assert_int_equal(ev.n_generated, 0);
    script_end(&s);

    gp.n_predict = 3;
    script_start(&s, &gp, 0, 100);
    for (int i = 0; i < 3; i++) script_step(&s, BYTE('a' + i), &ev);
    assert_int_equal(ev.stop, TL_STOP_LENGTH);
    assert_int_equal(ev.n_generated, 3);
    assert_string_equal(s.text, "abc");
    script_end(&s);

    /* 8 positions held, room for 10: two tokens are fed; the third has no room. */
    gp.n_predict = -1;
    script_start(&s, &gp, 8, 10);
    script_step(&s, BYTE('a'), &ev);
    assert_int_equal(ev.feed_pos, 8);
    script_step(&s, BYTE('b'), &ev);
    assert_int_equal(ev.feed_pos, 9);
    script_step(&s, BYTE('c'), &ev);
    assert_int_equal(ev.stop, TL_STOP_CONTEXT);
    assert_int_equal(ev.n_feed, 0);
    assert_string_equal(s.text, "abc");
    /* n_predict is looked at before the context: both reached at once is "length". */
    script_end(&s);
    gp.n_predict = 3;
    script_start(&s, &gp, 8, 10);
    for (int i = 0; i < 3; i++) script_step(&s, BYTE('a' + i), &ev);
    assert_int_equal(ev.stop, TL_STOP_LENGTH);
    script_end(&s);
}

static void stop_reasons_have_one_name_each(void **state) {
    (void)state;
    assert_string_equal(tl_stop_reason_name(TL_STOP_NONE), "none");
    assert_string_equal(tl_stop_reason_name(TL_STOP_EOG), "eog");
    assert_string_equal(tl_stop_reason_name(TL_STOP_STOP_STRING), "stop");
    assert_string_equal(tl_stop_reason_name(TL_STOP_LENGTH), "length");
    assert_string_equal(tl_stop_reason_name(TL_STOP_CONTEXT), "context");
    assert_string_equal(tl_stop_reason_name(TL_STOP_CANCELLED), "cancelled");
    assert_string_equal(tl_stop_reason_name(TL_STOP_ERROR), "error");
    assert_string_equal(tl_stop_reason_name((tl_stop_reason)99), "unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stop_reasons_have_one_name_each),
        cmocka_unit_test(greedy_text_equals_the_golden),
        cmocka_unit_test(stop_strings_are_held_back_and_cut),
        cmocka_unit_test(a_full_context_ends_the_reply),
        cmocka_unit_test(the_callback_cancels),
        cmocka_unit_test(one_step_feeds_one_token_at_the_next_position),
        cmocka_unit_test(byte_tokens_form_characters_and_cut_ones_become_u_fffd),
        cmocka_unit_test(stop_strings_wait_for_whole_characters),
        cmocka_unit_test(eog_ends_the_reply_unless_ignored),
        cmocka_unit_test(n_predict_and_the_context_limit_the_reply),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
