/*
 * test_jinja_limits.c — the Jinja engine against hostile templates
 * (src/chat/jinja_*.c): every template here is parsed and rendered on a
 * thread with a 256 KiB stack (1 MiB under ASan, whose frames are several
 * times bigger), so a recursion that is not bounded far below what a stack
 * holds crashes the test instead of passing.
 *
 *  - long chains of every binary operator, comparison, and/or, test, filter,
 *    attribute, index and call, and long elif runs render correctly (they
 *    are loops, not recursion);
 *  - deep nesting of brackets, literals, unary operators, not, blocks,
 *    macro calls, caller() and values fails with an error naming the line
 *    and the limit;
 *  - loops, doubling strings and lists, huge ranges, output bombs and
 *    repeated scans of big strings stop at the render's budget (steps,
 *    memory, output) with an error naming it, under the defaults and under
 *    custom limits;
 *  - chains of ~ and < use memory linear in their length.
 */
#include "test_support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

/* 256 KiB; sanitizers make stack frames several times bigger (ASan's
 * redzones, no inlining at -O0), so their builds get 1 MiB. */
#if defined(__SANITIZE_ADDRESS__)
#define SMALL_STACK (1024 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMALL_STACK (1024 * 1024)
#endif
#endif
#ifndef SMALL_STACK
#define SMALL_STACK (256 * 1024)
#endif

typedef struct job {
    const char *source;
    const tl_chat_limits *limits;
    char *out;
    tl_status status;
    tl_error err;
} job;

static void *run_job(void *arg) {
    job *j = arg;
    tl_jinja *t = NULL;
    j->status = tl_jinja_parse(j->source, strlen(j->source), &t, &j->err);
    if (j->status != TL_OK) return NULL;
    cJSON *context = cJSON_Parse("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
    j->status = tl_jinja_render_limited(t, context, j->limits, &j->out, NULL, &j->err);
    cJSON_Delete(context);
    tl_jinja_free(t);
    return NULL;
}

/* Parses and renders `source` on a thread with a 256 KiB stack. */
static job run_small_stack(const char *source, const tl_chat_limits *limits) {
    job j = {.source = source, .limits = limits};
    pthread_attr_t attr;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, SMALL_STACK), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, &attr, run_job, &j), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    pthread_attr_destroy(&attr);
    return j;
}

static void expect_output(const char *source, const tl_chat_limits *limits, const char *expected) {
    job j = run_small_stack(source, limits);
    if (j.status != TL_OK) fail_msg("template %.80s...: %s", source, j.err.message);
    if (strcmp(j.out, expected) != 0)
        fail_msg("template %.80s...: expected [%.80s] got [%.80s]", source, expected, j.out);
    free(j.out);
}

/* Fails cleanly with a one-line "line <line>: ...<contains>..." error. */
static void expect_failure(const char *source, const tl_chat_limits *limits, int line, const char *contains) {
    job j = run_small_stack(source, limits);
    if (j.status == TL_OK) fail_msg("template %.80s...: expected '%s', rendered [%.80s]", source, contains, j.out);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "line %d: ", line);
    if (strncmp(j.err.message, prefix, strlen(prefix)) != 0 || !strstr(j.err.message, contains))
        fail_msg("template %.80s...: expected '%s...%s', got '%s'", source, prefix, contains, j.err.message);
    assert_null(strchr(j.err.message, '\n'));
}

/* head + unit * n + tail, malloc'd. */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail) {
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1), *p = s;
    assert_non_null(s);
    memcpy(p, head, hl);
    p += hl;
    for (size_t i = 0; i < n; i++, p += ul) memcpy(p, unit, ul);
    memcpy(p, tail, tl + 1);
    return s;
}

/* head + open * n + middle + close * n + tail, malloc'd. */
static char *nest(const char *head, const char *open, size_t n, const char *middle, const char *close,
                  const char *tail) {
    char *left = repeat(head, open, n, middle);
    char *all = repeat(left, close, n, tail);
    free(left);
    return all;
}

#define LONG_CHAIN 15000 /* about 60 KB of "1 + " */

/* Chains of every operator render their value: they are loops. */
static void test_long_operator_chains_render(void **state) {
    (void)state;
    static const struct {
        const char *first, *unit, *expected;
    } chains[] = {
        {"{{ 1", " + 1", "15001"},
        {"{{ 1", " - 1", "-14999"},
        {"{{ 1", " * 1", "1"},
        {"{{ 1", " / 1", "1.0"},
        {"{{ 1", " // 1", "1"},
        {"{{ 7", " % 5", "2"},
        {"{{ 1", " ** 1", "1"},
        {"{{ 'a'", " ~ ''", "a"},
        {"{{ 1", " == 1", "True"},
        {"{{ 1", " != 2", "False"},
        {"{{ 1", " < 2", "False"},
        {"{{ 1", " > 0", "False"},
        {"{{ 1", " <= 1", "True"},
        {"{{ 1", " >= 1", "True"},
        {"{{ 'a'", " in 'a'", "True"},
        {"{{ 'a'", " not in 'b'", "False"},
        {"{{ 1", " and 1", "1"},
        {"{{ 0", " or 0", "0"},
        {"{{ 1", " is defined and 1", "1"},
        {"{{ 1", " is not none or 1", "True"},
        {"{{ 'A'", "|lower", "a"},
        {"{{ 'a'", "|upper|lower", "a"},
        {"{{ [].copy()", ".copy()", "[]"},
        {"{{ x", ".a", ""},
        {"{{ 1 if 1 else 2", " if 1 else 2", "1"},
    };
    for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
        char *source = repeat(chains[i].first, chains[i].unit, LONG_CHAIN, " }}");
        if (strstr(chains[i].unit, " if ")) { /* a ternary's else part nests: refused */
            expect_failure(source, NULL, 1, "expression nested deeper than 100 levels");
        } else if (!strcmp(chains[i].unit, ".a")) { /* undefined at its first step */
            expect_failure(source, NULL, 1, "'x' is undefined");
        } else {
            expect_output(source, NULL, chains[i].expected);
        }
        free(source);
    }
    /* index and attribute chains through a list and a dict that contain themselves */
    char *index = repeat("{% set l = [] %}{% do l.append(l) %}{{ l", "[0]", 30000, " is sequence }}");
    expect_output(index, NULL, "True");
    free(index);
    char *attr = repeat("{% set d = {} %}{% do d.update({'a': d}) %}{{ d", ".a", 30000, " is mapping }}");
    expect_output(attr, NULL, "True");
    free(attr);
    /* 30,000 terms, as the CLI probe: the answer, not a crash */
    char *plus = repeat("{{ 0", " + 1", 30000, " }}");
    expect_output(plus, NULL, "30000");
    free(plus);
}

/* if/elif runs are a loop when parsed and when rendered. */
static void test_long_elif_chain_renders(void **state) {
    (void)state;
    char *source = repeat("{% if false %}a", "{% elif false %}b", 20000, "{% else %}end{% endif %}");
    expect_output(source, NULL, "end");
    free(source);
    char *hit = repeat("{% set n = 3 %}{% if n == 0 %}a", "{% elif n == 3 %}three", 5000, "{% endif %}");
    expect_output(hit, NULL, "three");
    free(hit);
}

/* Nesting fails with an error that names the line and the limit. */
static void test_deep_nesting_fails_cleanly(void **state) {
    (void)state;
    static const struct {
        const char *open, *middle, *close, *error;
    } shapes[] = {
        {"(", "1", ")", "expression nested deeper than 100 levels"},
        {"[", "1", "]", "expression nested deeper than 100 levels"},
        {"{'a': ", "1", "}", "expression nested deeper than 100 levels"},
        {"f(", "1", ")", "expression nested deeper than 100 levels"},
        {"x[", "1", "]", "expression nested deeper than 100 levels"},
        {"not ", "1", "", "expression nested deeper than 100 levels"},
        {"- ", "1", "", "expression nested deeper than 100 levels"},
        {"+ ", "1", "", "expression nested deeper than 100 levels"},
        {"1 + (", "1", ")", "expression nested deeper than 100 levels"},
        {"'a' ~ (", "'b'", ")", "expression nested deeper than 100 levels"},
        {"x|default(", "1", ")", "expression nested deeper than 100 levels"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char *source = nest("{{ ", shapes[i].open, 30000, shapes[i].middle, shapes[i].close, " }}");
        expect_failure(source, NULL, 1, shapes[i].error);
        free(source);
    }
    static const struct {
        const char *open, *close;
    } blocks[] = {
        {"{% if 1 %}", "{% endif %}"},         {"{% for i in range(1) %}", "{% endfor %}"},
        {"{% set x %}", "{% endset %}"},       {"{% filter lower %}", "{% endfilter %}"},
        {"{% macro m() %}", "{% endmacro %}"}, {"{% call m() %}", "{% endcall %}"},
    };
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        char *source = nest("\n", blocks[i].open, 5000, "x", blocks[i].close, "");
        expect_failure(source, NULL, 2, "nested deeper than 100 levels");
        free(source);
    }
}

/* Nesting within the limits renders. */
static void test_nesting_within_limits_renders(void **state) {
    (void)state;
    char *parens = nest("{{ ", "(", 90, "1", ")", " }}");
    expect_output(parens, NULL, "1");
    free(parens);
    char *lists = nest("{{ ", "[", 90, "1", "]", " | length }}");
    expect_output(lists, NULL, "1");
    free(lists);
    char *ifs = nest("", "{% if 1 %}", 95, "x", "{% endif %}", "");
    expect_output(ifs, NULL, "x");
    free(ifs);
    char *fors = nest("", "{% for i in range(1) %}", 95, "y", "{% endfor %}", "");
    expect_output(fors, NULL, "y");
    free(fors);
    char *sets = nest("", "{% set v %}", 95, "z", "{% endset %}{{ v }}", "");
    expect_output(sets, NULL, "z");
    free(sets);
    /* arithmetic nested 30 deep: several evaluation levels per bracket */
    char *mixed = nest("{{ ", "(1 + 2 * -(", 30, "1", "))", " }}");
    expect_output(mixed, NULL, "715827883");
    free(mixed);
}

/* Recursion through macros and caller() stops at the call depth. */
static void test_recursive_macros_fail_cleanly(void **state) {
    (void)state;
    expect_failure("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", NULL, 1,
                   "maximum recursion depth exceeded (50 macro calls)");
    expect_failure("{% macro m() %}{% call m() %}x{% endcall %}{% endmacro %}{{ m() }}", NULL, 1,
                   "maximum recursion depth exceeded");
    expect_failure("{% macro m() %}{{ caller() }}{% endmacro %}{% macro r() %}{% call m() %}{{ r() }}{% endcall %}"
                   "{% endmacro %}{{ r() }}",
                   NULL, 1, "maximum recursion depth exceeded");
    /* 1,000 macros, each calling the next */
    size_t cap = 1000 * 64 + 64, len = 0;
    char *chain = malloc(cap);
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(chain + len, cap - len, "{%% macro m%d() %%}{{ m%d() }}{%% endmacro %%}", i, i + 1);
    snprintf(chain + len, cap - len, "{%% macro m1000() %%}end{%% endmacro %%}{{ m0() }}");
    expect_failure(chain, NULL, 1, "maximum recursion depth exceeded");
    free(chain);
    /* within the limit: a macro recursing 40 times */
    expect_output("{% macro m(n) %}{% if n > 0 %}{{ n }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40)|length }}",
                  NULL, "71");
    /* map's filter arguments recurse too, once per argument */
    char *maps = repeat("{{ ['a']|map('map'", ", 'map'", 90, ")|list }}");
    expect_failure(maps, NULL, 1, "map requires a filter name");
    free(maps);
}

/* Values nested (or cyclic) past the value limit fail when walked. */
static void test_deep_values_fail_cleanly(void **state) {
    (void)state;
    static const char *const walks[] = {"{{ ns.l }}",          "{{ ns.l == ns.l }}",        "{{ ns.l < ns.l }}",
                                        "{{ ns.l | tojson }}", "{{ [ns.l, ns.l] | sort }}", "{{ ns.l | string }}"};
    for (size_t i = 0; i < sizeof walks / sizeof walks[0]; i++) {
        char source[256];
        snprintf(source, sizeof source,
                 "{%% set ns = namespace(l=[]) %%}{%% for i in range(1000) %%}{%% set ns.l = [ns.l] %%}"
                 "{%% endfor %%}%s",
                 walks[i]);
        expect_failure(source, NULL, 1, "value nested deeper than 100 levels");
    }
    expect_failure("{% set l = [] %}{% do l.append(l) %}{{ l }}", NULL, 1, "value nested deeper than 100 levels");
    expect_failure("{% set l = [] %}{% do l.append(l) %}{{ l == l }}", NULL, 1, "value nested deeper than");
    expect_failure("{% set d = {} %}{% do d.update({'k': d}) %}{{ d | tojson }}", NULL, 1, "value nested deeper");
}

/* A context (messages, tools) nested past the value limit is refused. */
static void test_deep_context_fails_cleanly(void **state) {
    (void)state;
    char *json = nest("{\"tools\": ", "[", 500, "1", "]", "}");
    char *out = NULL;
    tl_error err = {0};
    assert_int_not_equal(tl_chat_render("{{ tools | length }}", json, &out, NULL, &err), TL_OK);
    assert_null(out);
    assert_string_equal(err.message, "the template's context is nested deeper than 100 levels");
    free(json);
    json = nest("{\"tools\": ", "[", 50, "1", "]", "}");
    assert_int_equal(tl_chat_render("{{ tools | length }}", json, &out, NULL, &err), TL_OK);
    assert_string_equal(out, "1");
    free(out);
    free(json);
}

/* Loops, doubling and output bombs stop at the memory, step or output
 * budget, naming it. */
static void test_budgets_stop_memory_bombs(void **state) {
    (void)state;
    static const struct {
        const char *source, *error;
    } bombs[] = {
        {"{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "budget"},
        {"{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}"
         "{% endfor %}{% endfor %}",
         "budget"},
        {"{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
         "template exceeded its memory budget of 64 MiB"},
        {"{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
         "template exceeded its memory budget of 64 MiB"},
        {"{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
         "template exceeded its memory budget of 64 MiB"},
        {"{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% do ns.l.extend(ns.l) %}{% endfor %}",
         "template exceeded its memory budget of 64 MiB"},
        {"{% set s = 'x' * 10000 %}{% for i in range(100000) %}{{ s }}{% endfor %}",
         "template output exceeded its budget of 16 MiB"},
        {"{{ range(1000000000) | length }}", "range too big"},
        {"{{ 'x' * 100000000 }}", "string too large"},
        {"{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}", "budget"},
    };
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++)
        expect_failure(bombs[i].source, NULL, 1, bombs[i].error);
    /* ranges that reach the ends of the integers stop there */
    expect_output("{{ range(-9223372036854775807, 9223372036854775807, 4611686018427387904) | list }}"
                  "{{ range(9223372036854775807, -9223372036854775807, -4611686018427387904) | list }}",
                  NULL,
                  "[-9223372036854775807, -4611686018427387903, 1, 4611686018427387905]"
                  "[9223372036854775807, 4611686018427387903, -1, -4611686018427387905]");
    /* integers wrap (no undefined behaviour), floats saturate when made ints */
    expect_output("{{ (-9223372036854775807 - 1) | abs }} {{ [9223372036854775807, 1] | sum }} {{ 1e300 | int }} "
                  "{{ '-1e300' | int }}",
                  NULL, "-9223372036854775808 -9223372036854775808 9223372036854775807 -9223372036854775808");
    /* repeating nothing a huge number of times is nothing, at once */
    expect_output("{{ ('' * 4611686018427387904) ~ ([] * 4611686018427387904) | string }}", NULL, "[]");
}

/* Work without memory (scans, lookups, moves) stops at the step budget. */
static void test_budgets_stop_cpu_bombs(void **state) {
    (void)state;
    static const struct {
        const char *source, *error;
    } bombs[] = {
        {"{% set s = 'a' * 1000000 %}{% for i in range(100000) %}{% if s == s ~ '' %}{% endif %}{% endfor %}",
         "budget"},
        {"{% set s = 'a' * 1000000 %}{% set t = 'a' * 10000 ~ 'b' %}{% for i in range(1000) %}{% if t in s %}"
         "{% endif %}{% endfor %}",
         "template exceeded its budget of 10000000 steps"},
        {"{% set l = range(100000) | list %}{% for i in range(100000) %}{% do l.pop(0) %}{% endfor %}", "steps"},
    };
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++)
        expect_failure(bombs[i].source, NULL, 1, bombs[i].error);
    /* scans and lookups, again and again (a smaller budget keeps the test fast under ASan) */
    const tl_chat_limits million = {.max_steps = 1000000};
    expect_failure(
        "{% set l = range(100000) | list %}{% for i in range(1000) %}{% if -1 in l %}{% endif %}{% endfor %}", &million,
        1, "template exceeded its budget of 1000000 steps");
    expect_failure("{% set d = {} %}{% for i in range(100000) %}{% do d.update({i: i}) %}{% endfor %}", &million, 1,
                   "template exceeded its budget of 1000000 steps");
    expect_failure("{% set s = 'a' * 1000000 %}{% for i in range(100000) %}{% if s|length %}{% endif %}{% endfor %}",
                   &million, 1, "template exceeded its budget of 1000000 steps");
    expect_failure("{% set s = 'a' * 1000000 %}{% for i in range(100000) %}{% if s.isdigit() %}{% endif %}"
                   "{% endfor %}",
                   &million, 1, "template exceeded its budget of 1000000 steps");
}

/* Custom limits apply, and are named in the error. */
static void test_custom_limits(void **state) {
    (void)state;
    const tl_chat_limits small = {.max_steps = 1000, .max_memory = 1 << 20, .max_output = 100};
    expect_failure("\n{% for i in range(200) %}{{ i }}{% endfor %}", &small, 2,
                   "template output exceeded its budget of 100 bytes");
    expect_failure("{% for i in range(2000) %}{% endfor %}", &small, 1, "template exceeded its budget of 1000 steps");
    const tl_chat_limits mib = {.max_memory = 1 << 20};
    expect_failure("{% set s = 'x' * 2000000 %}", &mib, 1, "template exceeded its memory budget of 1 MiB");
    expect_output("{% for i in range(10) %}{{ i }}{% endfor %}", &small, "0123456789");
    const tl_chat_limits kib = {.max_memory = 300 * 1024};
    expect_failure("{% set s = 'x' * 2000000 %}", &kib, 1, "memory budget of 300 KiB");
    /* zero fields are the defaults */
    const tl_chat_limits zero = {0};
    expect_output("{{ 'ok' }}", &zero, "ok");
}

/* Long ~ and < chains and long parameter lists cost linear memory: they
 * parse within the parser's 64 MiB and render within 8 MiB, which quadratic
 * growth (gigabytes for 30,000 terms) would blow. */
static void test_chains_use_linear_memory(void **state) {
    (void)state;
    const tl_chat_limits limits = {.max_memory = 8 << 20};
    char *concat = repeat("{{ (''", " ~ 'a'", 30000, ") | length }}");
    expect_output(concat, &limits, "30000");
    free(concat);
    char *less = repeat("{{ 0", " < 1", 30000, " }}");
    expect_output(less, &limits, "False");
    free(less);
    char *params = repeat("{% macro m(a", ", a", 10000, ") %}{{ a }}{% endmacro %}{{ m(7) ~ 'ok' }}");
    expect_output(params, &limits, "ok");
    free(params);
    char *kwargs = repeat("{{ dict(a=1", ", a=2", 10000, ") }}");
    expect_output(kwargs, &limits, "{'a': 2}");
    free(kwargs);
    /* sorting is n log n: 50,000 items fit the default step budget */
    expect_output("{{ (range(50000) | reverse | sort | first) }}", NULL, "0");
    /* slicing a long multi-byte string is linear */
    expect_output("{% set s = '\303\251' * 200000 %}{{ s[::-1] | length }}{{ s[1::3] | length }}", NULL, "20000066667");
}

/* Every shipped template renders a long conversation (1,000 messages,
 * 100 KB of text) within the server's budget for a request's template. */
static void test_real_templates_fit_the_request_budget(void **state) {
    (void)state;
    static const char *const names[] = {"CohereForAI-c4ai-command-r-plus-tool_use.jinja",
                                        "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
                                        "Qwen-Qwen2.5-7B-Instruct.jinja",
                                        "Qwen-Qwen3.jinja",
                                        "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
                                        "google-gemma-2-2b-it.jinja",
                                        "google-gemma-3.jinja",
                                        "meetkai-functionary-medium-v3.2.jinja",
                                        "meta-llama-Llama-3.1-8B-Instruct.jinja",
                                        "meta-llama-Llama-3.2-3B-Instruct.jinja",
                                        "meta-llama-Llama-3.jinja",
                                        "microsoft-Phi-3.5-mini-instruct.jinja",
                                        "mistralai-Mistral-Nemo-Instruct-2407.jinja"};
    if (!tl_test_have_shared("templates/Qwen-Qwen3.jinja")) skip();
    cJSON *context = cJSON_CreateObject();
    cJSON *messages = cJSON_AddArrayToObject(context, "messages");
    char text[128];
    for (int i = 0; i < 1000; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", i % 2 ? "assistant" : "user");
        snprintf(text, sizeof text, "message %04d: %s", i, "the quick brown fox jumps over the lazy dog, twice over.");
        cJSON_AddStringToObject(m, "content", text);
        cJSON_AddItemToArray(messages, m);
    }
    cJSON_AddStringToObject(context, "bos_token", "<s>");
    cJSON_AddStringToObject(context, "eos_token", "</s>");
    cJSON_AddBoolToObject(context, "add_generation_prompt", true);
    const tl_chat_limits request = {.max_steps = 1000000, .max_memory = 8 << 20, .max_output = 1 << 20};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char relative[256];
        snprintf(relative, sizeof relative, "templates/%s", names[i]);
        size_t len = 0;
        char *source = tl_test_read_file(tl_test_shared_path(relative), &len);
        assert_non_null(source);
        tl_jinja *t = NULL;
        tl_error err = {0};
        assert_int_equal(tl_jinja_parse(source, len, &t, &err), TL_OK);
        char *out = NULL;
        if (tl_jinja_render_limited(t, context, &request, &out, NULL, &err) != TL_OK)
            fail_msg("%s: %s", names[i], err.message);
        if (!strstr(out, "message 0999")) fail_msg("%s: the last message is missing", names[i]);
        free(out);
        tl_jinja_free(t);
        free(source);
    }
    cJSON_Delete(context);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_operator_chains_render),
        cmocka_unit_test(test_long_elif_chain_renders),
        cmocka_unit_test(test_deep_nesting_fails_cleanly),
        cmocka_unit_test(test_nesting_within_limits_renders),
        cmocka_unit_test(test_recursive_macros_fail_cleanly),
        cmocka_unit_test(test_deep_values_fail_cleanly),
        cmocka_unit_test(test_deep_context_fails_cleanly),
        cmocka_unit_test(test_budgets_stop_memory_bombs),
        cmocka_unit_test(test_budgets_stop_cpu_bombs),
        cmocka_unit_test(test_custom_limits),
        cmocka_unit_test(test_chains_use_linear_memory),
        cmocka_unit_test(test_real_templates_fit_the_request_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
