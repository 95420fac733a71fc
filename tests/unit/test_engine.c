/*
 * test_engine.c — the server's generation engine (src/server/engine.c):
 * requests running together in one batch give, token for token, the replies
 * each gets alone; stop strings, max_tokens, cancellation by the client, a
 * full queue and a too-long prompt; a follow-up prompt reuses a slot's cache.
 * Also the stop-string holding of src/generate/stop_text.c (never inside a
 * character), and the streaming detokenizer's UTF-8 (src/generate/
 * detokenizer.c): crafted runs of stories260K's <0xNN> byte tokens come out
 * as valid UTF-8 in every piece, with U+FFFD for what can never complete;
 * and the server's JSON writer (src/server/wire.c), the last guard.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "generate/stop_text.h"
#include "server/engine.h"
#include "server/wire.h"
#include "tokenizer/utf8.h"
#include "test_support.h"
#include "tinyllm.h"

static tl_model *model;

static int setup(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K.gguf")) return 0;
    tl_error err = {0};
    if (tl_model_load(tl_test_shared_path("models/stories260K.gguf"), NULL, &model, &err) != TL_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tl_model_free(model);
    return 0;
}

/* A request and what came back. */
typedef struct outcome {
    gen_request req;
    tl_token prompt[128];
    char text[4096];
    size_t len;
    int calls, cancel_after; /* on_text calls; cancel at this many (0: never) */
    gen_result result;
    bool done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} outcome;

static bool on_text(void *user, const char *text, size_t len) {
    outcome *o = user;
    const bool go_on = !(o->cancel_after && ++o->calls >= o->cancel_after); /* probes count too */
    if (o->len + len < sizeof o->text) {
        memcpy(o->text + o->len, text, len);
        o->len += len;
        o->text[o->len] = 0;
    }
    return go_on;
}

static void on_done(void *user, const gen_result *result) {
    outcome *o = user;
    pthread_mutex_lock(&o->lock);
    o->result = *result;
    o->done = true;
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->lock);
}

static void outcome_init(outcome *o, const char *prompt, int32_t max_tokens) {
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
    o->req.n_prompt = tl_tokenize(model, prompt, strlen(prompt), true, false, o->prompt, 128);
    assert_true(o->req.n_prompt > 0);
    o->req.prompt = o->prompt;
    o->req.sampling = tl_sampler_default_params();
    o->req.sampling.temperature = 0;
    o->req.max_tokens = max_tokens;
    o->req.on_text = on_text;
    o->req.on_done = on_done;
    o->req.user = o;
}

static void outcome_wait(outcome *o) {
    pthread_mutex_lock(&o->lock);
    while (!o->done) pthread_cond_wait(&o->cond, &o->lock);
    pthread_mutex_unlock(&o->lock);
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->cond);
}

/* The greedy reply to `prompt` from a plain one-sequence context. */
static char *alone(const char *prompt, int32_t max_tokens) {
    tl_token tokens[512];
    int32_t n = tl_tokenize(model, prompt, strlen(prompt), true, false, tokens, 512);
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 256;
    tl_context *ctx = NULL;
    tl_error err = {0};
    assert_int_equal(tl_context_new(model, &p, &ctx, &err), TL_OK);
    assert_int_equal(tl_decode(ctx, tokens, n, 0, false, &err), TL_OK);
    char *text = calloc(1, 4096);
    tl_detokenizer *d = tl_detokenizer_new(model, false);
    size_t len = 0;
    for (int32_t i = 0; i < max_tokens; i++) {
        const float *logits = tl_get_logits(ctx, -1);
        tl_token best = 0;
        for (tl_token t = 1; t < tl_vocab_size(model); t++)
            if (logits[t] > logits[best]) best = t;
        if (tl_token_is_eog(model, best)) break;
        size_t k;
        const char *piece = tl_detokenizer_push(d, best, &k);
        memcpy(text + len, piece, k);
        len += k;
        assert_int_equal(tl_decode(ctx, &best, 1, tl_context_used(ctx), false, &err), TL_OK);
    }
    size_t k;
    const char *rest = tl_detokenizer_flush(d, &k);
    memcpy(text + len, rest, k);
    tl_detokenizer_free(d);
    tl_context_free(ctx);
    return text;
}

static engine *start(int n_slots, int queue_limit) {
    const engine_params p = {
        .n_slots = n_slots, .n_ctx = 256, .n_threads = 2, .n_batch = 64, .queue_limit = queue_limit};
    tl_error err = {0};
    engine *e = engine_new(model, &p, &err);
    if (!e) fail_msg("%s", err.message);
    return e;
}

static const char *prompts[] = {"Once upon a time", "The little dog", "Lily and Tom went to the park",
                                "One day, a big bird", "Sam had a red ball"};

static void batched_replies_match_separate_ones(void **state) {
    (void)state;
    if (!model) skip();
    engine *e = start(3, 16);
    enum { N = 5 };
    outcome *o = calloc(N, sizeof *o);
    tl_error err = {0};
    for (int i = 0; i < N; i++) {
        outcome_init(&o[i], prompts[i], 40);
        assert_int_equal(engine_submit(e, &o[i].req, &err), ENGINE_QUEUED);
    }
    for (int i = 0; i < N; i++) {
        outcome_wait(&o[i]);
        char *expected = alone(prompts[i], 40);
        if (strcmp(o[i].text, expected) != 0) fail_msg("prompt %d: batched '%s', alone '%s'", i, o[i].text, expected);
        free(expected);
        assert_string_equal(o[i].result.finish_reason, o[i].result.n_generated == 40 ? "length" : "stop");
        assert_int_equal(o[i].result.n_prompt, o[i].req.n_prompt);
        assert_true(o[i].result.total_ms >= o[i].result.generation_ms);
    }
    engine_stats stats;
    engine_get_stats(e, &stats);
    assert_int_equal(stats.requests, N);
    assert_int_equal(stats.n_slots, 3);
    assert_int_equal(stats.active + stats.queued, 0);
    engine_free(e);
    free(o);
}

static void stop_strings_and_limits(void **state) {
    (void)state;
    if (!model) skip();
    engine *e = start(2, 4);
    char *full = alone(prompts[0], 40);
    assert_true(strlen(full) > 12);
    /* A stop string from the middle of the reply: the text ends right before it. */
    char stop[8];
    memcpy(stop, full + 8, 4);
    stop[4] = 0;
    const char *stops[] = {stop};
    outcome o;
    outcome_init(&o, prompts[0], 40);
    o.req.stop = stops;
    o.req.n_stop = 1;
    char *text = NULL;
    size_t len = 0;
    gen_result r;
    tl_error err = {0};
    assert_int_equal(engine_generate(e, &o.req, &text, &len, &r, &err), ENGINE_QUEUED);
    const char *at = strstr(full, stop);
    assert_int_equal(len, (size_t)(at - full));
    assert_memory_equal(text, full, len);
    assert_string_equal(r.finish_reason, "stop");
    free(text);

    /* max_tokens */
    outcome_init(&o, prompts[0], 5);
    assert_int_equal(engine_generate(e, &o.req, &text, &len, &r, &err), ENGINE_QUEUED);
    assert_string_equal(r.finish_reason, "length");
    assert_int_equal(r.n_generated, 5);
    free(text);

    /* The follow-up prompt starts with the last one and its reply: its cache is reused. */
    char follow[512];
    snprintf(follow, sizeof follow, "%s%s and then", prompts[0], full);
    outcome_init(&o, prompts[0], 40);
    assert_int_equal(engine_generate(e, &o.req, &text, &len, &r, &err), ENGINE_QUEUED);
    free(text);
    outcome_init(&o, follow, 8);
    assert_int_equal(engine_generate(e, &o.req, &text, &len, &r, &err), ENGINE_QUEUED);
    if (r.n_prompt_cached < 20) fail_msg("only %d of %d prompt tokens reused", r.n_prompt_cached, r.n_prompt);
    free(text);

    /* A prompt longer than the context; an empty prompt; a bad sampling parameter. */
    outcome_init(&o, prompts[0], 5);
    tl_token long_prompt[300] = {0};
    for (int i = 0; i < 300; i++) long_prompt[i] = 100 + i % 50;
    o.req.prompt = long_prompt;
    o.req.n_prompt = 300;
    assert_int_equal(engine_submit(e, &o.req, &err), ENGINE_TOO_LONG);
    assert_non_null(strstr(err.message, "300 tokens"));
    o.req.n_prompt = 0;
    assert_int_equal(engine_submit(e, &o.req, &err), ENGINE_BAD_PARAMS);
    outcome_init(&o, prompts[0], 5);
    o.req.sampling.min_p = 2;
    assert_int_equal(engine_submit(e, &o.req, &err), ENGINE_BAD_PARAMS);
    free(full);
    engine_free(e);
}

static void cancelled_and_busy(void **state) {
    (void)state;
    if (!model) skip();
    engine *e = start(1, 1);
    outcome *o = calloc(4, sizeof *o);
    tl_error err = {0};
    /* The client goes away after three pieces of text. */
    outcome_init(&o[0], prompts[1], -1);
    o[0].cancel_after = 3;
    o[0].req.ignore_eos = true;
    assert_int_equal(engine_submit(e, &o[0].req, &err), ENGINE_QUEUED);
    outcome_wait(&o[0]);
    assert_string_equal(o[0].result.finish_reason, "cancelled");
    assert_true(o[0].result.n_generated <= 4);
    /* One slot, one place in the queue: a third request is refused while the first two are held. */
    for (int i = 1; i < 4; i++) {
        outcome_init(&o[i], prompts[i], 200);
        o[i].req.ignore_eos = true;
    }
    assert_int_equal(engine_submit(e, &o[1].req, &err), ENGINE_QUEUED);
    assert_int_equal(engine_submit(e, &o[2].req, &err), ENGINE_QUEUED);
    const engine_submit_status third = engine_submit(e, &o[3].req, &err);
    if (third == ENGINE_BUSY) assert_non_null(strstr(err.message, "busy"));
    /* A whole (non-streamed) answer whose client has gone: engine_generate asks on_text and stops. */
    outcome gone;
    outcome_init(&gone, prompts[4], -1);
    gone.req.ignore_eos = true;
    gone.cancel_after = 5;
    char *text = NULL;
    size_t len = 0;
    gen_result r;
    engine *solo = start(1, 1);
    assert_int_equal(engine_generate(solo, &gone.req, &text, &len, &r, &err), ENGINE_QUEUED);
    assert_string_equal(r.finish_reason, "cancelled");
    assert_true(r.n_generated < 10);
    assert_int_equal(gone.len, 0); /* the text went to engine_generate's buffer, not to on_text */
    free(text);
    engine_free(solo);
    /* Freeing the engine ends whatever is left as cancelled, each request told once. */
    engine_free(e);
    for (int i = 1; i < (third == ENGINE_QUEUED ? 4 : 3); i++) {
        outcome_wait(&o[i]);
        assert_true(strcmp(o[i].result.finish_reason, "cancelled") == 0 ||
                    strcmp(o[i].result.finish_reason, "length") == 0);
    }
    free(o);
}

/* Held-back text: a stop string split over pieces is never released. */
static void stop_text_holds_back_partial_matches(void **state) {
    (void)state;
    const char *stops[] = {"<|im_end|>", "STOP"};
    stop_text t;
    stop_text_init(&t, stops, 2);
    size_t n;
    assert_true(stop_text_append(&t, "Hello <|im", 10));
    const char *out = stop_text_release(&t, false, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "Hello ", 6);
    assert_true(stop_text_append(&t, "_e", 2));
    stop_text_release(&t, false, &n);
    assert_int_equal(n, 0);
    assert_true(stop_text_append(&t, "nd|> more", 9));
    assert_true(t.stopped);
    stop_text_release(&t, false, &n);
    assert_int_equal(n, 0);
    assert_string_equal(t.bytes, "Hello ");
    stop_text_free(&t);
    /* Not a stop string after all: released when it cannot match any more, or at the end. */
    stop_text_init(&t, stops, 2);
    assert_true(stop_text_append(&t, "ST", 2));
    stop_text_release(&t, false, &n);
    assert_int_equal(n, 0);
    assert_true(stop_text_append(&t, "ART", 3));
    out = stop_text_release(&t, false, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "START", 5);
    assert_true(stop_text_append(&t, " <", 2));
    out = stop_text_release(&t, true, &n);
    assert_int_equal(n, 2);
    assert_false(t.stopped);
    stop_text_free(&t);
}

/* A stop string never matches, nor is held back, from inside a character. */
static void stop_text_keeps_characters_whole(void **state) {
    (void)state;
    /* "\xA9x" is the end of "é" (C3 A9) and an x: it must not cut "éx" after C3. */
    const char *stops[] = {"\xA9x", "\xA9!"};
    stop_text t;
    stop_text_init(&t, stops, 2);
    size_t n;
    assert_true(stop_text_append(&t, "a\xC3\xA9", 3));
    const char *out = stop_text_release(&t, false, &n);
    assert_int_equal(n, 3); /* nothing held: no stop can start inside é */
    assert_memory_equal(out, "a\xC3\xA9", 3);
    assert_true(stop_text_append(&t, "x", 1));
    assert_false(t.stopped);
    stop_text_free(&t);
    /* A held-back prefix that starts a character ends the released text before it. */
    const char *euro[] = {"\xE2\x82\xAC!"};
    stop_text_init(&t, euro, 1);
    assert_true(stop_text_append(&t, "5\xE2\x82\xAC", 4));
    out = stop_text_release(&t, false, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(out, "5", 1);
    assert_true(stop_text_append(&t, "?", 1));
    out = stop_text_release(&t, false, &n);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\xE2\x82\xAC?", 4);
    stop_text_free(&t);
}

/* tl_utf8_strict / tl_utf8_sanitize: one U+FFFD per maximal ill-formed
 * subsequence (the Unicode / WHATWG practice), incomplete ends held. */
static void utf8_sanitize_replaces_maximal_subparts(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"abc", "abc"},
        {"\xE4\xBD\xA0", "\xE4\xBD\xA0"},                                         /* 你 */
        {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},                                 /* 😀 */
        {"\xAA", "\xEF\xBF\xBD"},                                                 /* a stray continuation byte */
        {"\xC3(", "\xEF\xBF\xBD("},                                               /* a lead without its continuation */
        {"\xE4\xBDx", "\xEF\xBF\xBDx"},                                           /* two bytes of three: one U+FFFD */
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},                                 /* overlong: two */
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* a surrogate: three */
        {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* past U+10FFFF */
        {"\xF0\x9F\x98", "\xEF\xBF\xBD"},                                         /* cut short at the end (final) */
        {"\xFF"
         "a\xFE",
         "\xEF\xBF\xBD"
         "a\xEF\xBF\xBD"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t used = 0;
        const size_t n = tl_utf8_sanitize(cases[i].in, strlen(cases[i].in), true, out, &used);
        out[n] = 0;
        assert_string_equal(out, cases[i].out);
        assert_int_equal(used, strlen(cases[i].in));
        assert_true(tl_utf8_valid(out, n));
    }
    /* Not final: an incomplete end is left for the next call. */
    size_t used = 0;
    const size_t n = tl_utf8_sanitize("ok\xF0\x9F", 4, false, out, &used);
    assert_int_equal(n, 2);
    assert_int_equal(used, 2);
    assert_false(tl_utf8_valid("\xF0\x9F", 2));
}

/* The detokenizer's pieces for byte tokens (id 3 + byte in stories260K). */
static void detokenize_bytes(const unsigned char *bytes, size_t n, bool flush, char *text, size_t *len) {
    tl_detokenizer *d = tl_detokenizer_new(model, false);
    assert_non_null(d);
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t piece_len;
        const char *piece = tl_detokenizer_push(d, (tl_token)(3 + bytes[i]), &piece_len);
        assert_true(tl_utf8_valid(piece, piece_len)); /* every piece on its own */
        memcpy(text + *len, piece, piece_len);
        *len += piece_len;
    }
    if (flush) {
        size_t rest_len;
        const char *rest = tl_detokenizer_flush(d, &rest_len);
        assert_true(tl_utf8_valid(rest, rest_len));
        memcpy(text + *len, rest, rest_len);
        *len += rest_len;
    }
    text[*len] = 0;
    tl_detokenizer_free(d);
}

static void detokenizer_pieces_are_valid_utf8(void **state) {
    (void)state;
    if (!model) skip();
    char piece[8];
    assert_int_equal(tl_token_to_piece(model, 3 + 0xE4, false, piece, sizeof piece), 1);
    assert_int_equal((unsigned char)piece[0], 0xE4); /* the layout the cases rely on */
    static const struct {
        unsigned char bytes[8];
        size_t n;
        const char *text; /* after the flush */
        const char *held; /* before it */
    } cases[] = {
        {{0xE4, 0xBD, 0xA0}, 3, "\xE4\xBD\xA0", "\xE4\xBD\xA0"}, /* 你 over three tokens */
        {{0xAA, 0x41},
         2,
         "\xEF\xBF\xBD"
         "A",
         "\xEF\xBF\xBD"
         "A"}, /* a byte that never starts one */
        {{0xE4, 0xBD, 0x41},
         3,
         "\xEF\xBF\xBD"
         "A",
         "\xEF\xBF\xBD"
         "A"},                                       /* broken off: one U+FFFD */
        {{0xF0, 0x9F, 0x98}, 3, "\xEF\xBF\xBD", ""}, /* cut by max_tokens: held, then U+FFFD */
        {{0x41, 0xC3}, 2, "A\xEF\xBF\xBD", "A"},
        {{0xC3, 0xA9, 0xFF, 0xC3, 0xA9}, 5, "\xC3\xA9\xEF\xBF\xBD\xC3\xA9", "\xC3\xA9\xEF\xBF\xBD\xC3\xA9"},
        {{0xED, 0xA0, 0x80}, 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
    };
    char text[3 * 64 + 1]; /* every byte may become a U+FFFD */
    size_t len;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        detokenize_bytes(cases[i].bytes, cases[i].n, false, text, &len);
        assert_string_equal(text, cases[i].held);
        detokenize_bytes(cases[i].bytes, cases[i].n, true, text, &len);
        assert_string_equal(text, cases[i].text);
    }
    /* Random byte runs: every piece valid (checked inside), and a valid
     * text is passed through unchanged. */
    tl_test_rng_seed(7);
    unsigned char bytes[64];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = (unsigned char)(0x80 + tl_test_rng_next() % 0x78);
        detokenize_bytes(bytes, sizeof bytes, true, text, &len);
    }
    const unsigned char valid[] = {0x48, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80};
    detokenize_bytes(valid, sizeof valid, true, text, &len);
    assert_int_equal(len, sizeof valid);
    assert_memory_equal(text, valid, sizeof valid);
}

/* Whatever bytes a string holds, the JSON text the server writes is UTF-8. */
static void json_text_is_always_utf8(void **state) {
    (void)state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "text", "ok \xC3( \xFF \xE4\xBD\xA0 \xF0\x9F");
    cJSON_AddStringToObject(o, "\xAAkey", "v");
    char *text = wire_json_text(o);
    assert_non_null(text);
    assert_true(tl_utf8_valid(text, strlen(text)));
    assert_string_equal(text, "{\"text\":\"ok \xEF\xBF\xBD( \xEF\xBF\xBD \xE4\xBD\xA0 \xEF\xBF\xBD\","
                              "\"\xEF\xBF\xBDkey\":\"v\"}");
    free(text);
    cJSON_Delete(o);
    /* Valid text is passed through as cJSON prints it. */
    o = cJSON_CreateString("caf\xC3\xA9 \xF0\x9F\x98\x80");
    text = wire_json_text(o);
    assert_string_equal(text, "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
    free(text);
    cJSON_Delete(o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stop_text_holds_back_partial_matches),
        cmocka_unit_test(stop_text_keeps_characters_whole),
        cmocka_unit_test(utf8_sanitize_replaces_maximal_subparts),
        cmocka_unit_test(detokenizer_pieces_are_valid_utf8),
        cmocka_unit_test(json_text_is_always_utf8),
        cmocka_unit_test(batched_replies_match_separate_ones),
        cmocka_unit_test(stop_strings_and_limits),
        cmocka_unit_test(cancelled_and_busy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
