/*
 * test_json_output.c — JSON output (src/sampling/json_prefix.c and
 * json_constraint.c): the automaton accepts exactly the prefixes of JSON
 * objects and knows when one is complete; a sampler with json_output draws
 * only tokens that keep the text such a prefix, never ends it early, and
 * ends it once complete — with random logits, greedy or not, on a real
 * vocabulary.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampling/json_prefix.h"
#include "test_support.h"
#include "tinyllm.h"

/* Feeds a whole text: -1 if every byte is accepted, else the failing offset. */
static int first_rejected(const char *text, bool *complete) {
    tl_json_prefix p;
    tl_json_prefix_init(&p);
    for (size_t i = 0; text[i]; i++)
        if (!tl_json_prefix_feed(&p, text + i, 1)) return (int)i;
    if (complete) *complete = p.complete;
    return -1;
}

static void objects_and_their_prefixes_are_accepted(void **state) {
    (void)state;
    static const char *const documents[] = {
        "{}",
        "{\"a\":1}",
        "{ \"name\" : \"Lily\", \"age\": 3, \"tags\": [\"x\", \"y\"], \"ok\": true, \"none\": null }",
        "{\"n\":[-0, 0.5, 12e3, -1.25E-7, 1e+2], \"deep\": {\"a\": {\"b\": [[], [{}]]}}}",
        "{\"esc\": \"quote \\\" backslash \\\\ slash \\/ \\b\\f\\n\\r\\t \\u00e9\\uD83D\\uDE00\", \"f\": false}",
        "{\"utf8\": \"caf\xc3\xa9 \xe6\x97\xa5\"}",
        "{\n  \"pretty\": [\n    1,\n    2\n  ]\n}",
    };
    for (size_t d = 0; d < sizeof documents / sizeof documents[0]; d++) {
        cJSON *parsed = cJSON_Parse(documents[d]);
        assert_non_null(parsed); /* the documents are valid JSON */
        cJSON_Delete(parsed);
        bool complete = false;
        const int at = first_rejected(documents[d], &complete);
        if (at >= 0) fail_msg("document %zu rejected at byte %d", d, at);
        assert_true(complete);
        /* Every proper prefix is accepted and not complete. */
        char prefix[512];
        for (size_t n = 1; n < strlen(documents[d]); n++) {
            memcpy(prefix, documents[d], n);
            prefix[n] = 0;
            complete = true;
            assert_int_equal(first_rejected(prefix, &complete), -1);
            assert_false(complete);
        }
    }
}

static void what_cannot_continue_an_object_is_rejected(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int at;
    } bad[] = {
        {"[1]", 0}, /* the root is an object */
        {" {}", 0}, /* no space before it */
        {"{}x", 2}, /* nothing after it */
        {"{} ", 2},
        {"{a:1}", 1},      /* keys are strings */
        {"{\"a\" 1}", 5},  /* a colon after a key */
        {"{\"a\":}", 5},   /* a value after the colon */
        {"{\"a\":1,}", 7}, /* no trailing comma */
        {"{\"a\":[1,]}", 8},
        {"{\"a\":01}", 6}, /* no leading zeros */
        {"{\"a\":1.}", 7}, /* digits after the point */
        {"{\"a\":1e}", 7},
        {"{\"a\":-}", 6},
        {"{\"a\":tru }", 8},
        {"{\"a\":nul}", 8},
        {"{\"a\":\"\\x\"}", 7}, /* unknown escape */
        {"{\"a\":\"\\u12g4\"}", 10},
        {"{\"a\":\"tab\there\"}", 9}, /* control characters must be escaped */
        {"{\"a\":[}", 6},             /* brackets must match */
        {"{\"a\":{]}", 6},
        {"{\"a\":12345678901234567890123456789}", 29}, /* numbers are limited */
        {"{                    }", 17},                /* so are whitespace runs */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const int at = first_rejected(bad[i].text, NULL);
        if (at != bad[i].at) fail_msg("'%s': rejected at %d, expected %d", bad[i].text, at, bad[i].at);
    }
    /* Nesting is limited too. */
    char deep[TL_JSON_MAX_DEPTH + 8] = "{\"a\":";
    size_t n = strlen(deep);
    while (n < 5 + TL_JSON_MAX_DEPTH + 1) deep[n++] = '['; /* the root and 32 more levels */
    deep[n] = 0;
    assert_int_equal(first_rejected(deep, NULL), 5 + TL_JSON_MAX_DEPTH - 1);
}

/* The text of a generated sequence (special tokens as nothing). */
static void append_piece(const tl_model *m, tl_token t, char *text, size_t *len, size_t capacity) {
    char piece[256];
    const int32_t n = tl_token_to_piece(m, t, false, piece, sizeof piece);
    if (n > 0 && *len + (size_t)n < capacity) {
        memcpy(text + *len, piece, (size_t)n);
        *len += (size_t)n;
        text[*len] = 0;
    }
}

static void sampler_keeps_random_logits_inside_json(void **state) {
    (void)state;
    if (!tl_test_have_shared("models/stories260K.gguf")) skip();
    tl_model *m = NULL;
    tl_error err = {0};
    assert_int_equal(tl_model_load(tl_test_shared_path("models/stories260K.gguf"), NULL, &m, &err), TL_OK);
    const int32_t n_vocab = tl_vocab_size(m);
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    const tl_token eos = tl_token_eos(m);
    int completed = 0;
    for (int run = 0; run < 12; run++) {
        tl_sampler_params p = tl_sampler_default_params();
        p.json_output = true;
        p.seed = (uint64_t)run;
        p.temperature = run % 3 == 0 ? 0.0f : 1.5f; /* greedy too */
        p.top_k = 0;
        p.top_p = 1.0f;
        p.min_p = 0.0f;
        tl_sampler *s = NULL;
        assert_int_equal(tl_sampler_new(m, &p, &s, &err), TL_OK);
        /* The prompt's tokens are accepted for the penalties but are not part of the reply. */
        tl_sampler_reset(s);
        tl_sampler_accept(s, tl_token_bos(m));
        tl_sampler_accept(s, 300);
        char text[8192] = "";
        size_t len = 0;
        tl_test_rng_seed((uint64_t)run + 1);
        bool ended = false;
        for (int step = 0; step < 400 && !ended; step++) {
            tl_test_fill_random(logits, n_vocab, 4.0f);
            logits[eos] = 20.0f; /* the model wants to stop at once: it may not until the object is done */
            if (step > 200)      /* late on, favour closing brackets so that objects get finished */
                for (tl_token t = 0; t < n_vocab; t++) {
                    char piece[16];
                    const int32_t n = tl_token_to_piece(m, t, false, piece, sizeof piece);
                    if (n == 1 && (piece[0] == '}' || piece[0] == ']' || piece[0] == '"')) logits[t] += 12.0f;
                }
            const tl_token t = tl_sampler_sample(s, logits);
            if (tl_token_is_eog(m, t)) {
                ended = true;
                break;
            }
            tl_sampler_accept(s, t);
            append_piece(m, t, text, &len, sizeof text);
            if (first_rejected(text, NULL) >= 0) fail_msg("run %d: '%s' is not the start of a JSON object", run, text);
        }
        if (ended) {
            cJSON *parsed = cJSON_Parse(text);
            if (!parsed) fail_msg("run %d ended with '%s', not a JSON object", run, text);
            assert_true(cJSON_IsObject(parsed));
            cJSON_Delete(parsed);
            completed++;
        }
        tl_sampler_free(s);
    }
    assert_true(completed >= 4);
    free(logits);
    tl_model_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(objects_and_their_prefixes_are_accepted),
        cmocka_unit_test(what_cannot_continue_an_object_is_rejected),
        cmocka_unit_test(sampler_keeps_random_logits_inside_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
