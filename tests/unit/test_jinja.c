/*
 * test_jinja.c — the chat-template Jinja engine (src/chat/jinja*.c):
 *
 *  - one test per construct family (statements, whitespace control,
 *    expressions, tests, filters, methods, globals, undefined), each a table
 *    of small templates whose expected text was rendered by Python Jinja2
 *    3.1.6 configured as Hugging Face's apply_chat_template (sandboxed,
 *    trim_blocks, lstrip_blocks, loopcontrols, tojson = json.dumps with
 *    ensure_ascii=False, strftime_now at 1700000000);
 *  - the shared suite shared/templates/expected.json: 13 real chat templates
 *    x 5 conversations, rendered exactly (or failing with the same
 *    raise_exception message), within the server's budget for a request's
 *    template (1M steps, 8 MiB, 1 MiB of output). Fields that are null
 *    there (tools) are left out of the context, as the reference renderer
 *    received them;
 *  - bad templates fail with a one-line "line N: ..." error;
 *  - truncated and mutated real templates never crash (run under ASan).
 *
 * strftime_now() reads its time from the context key "__strftime_now_epoch".
 */
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"

#define NOW_EPOCH 1700000000

typedef struct render_case {
    const char *family;
    const char *template_text;
    const char *context_json;
    const char *expected;
} render_case;

static const render_case CASES[] = {
    {"if", "{% if x %}a{% elif y %}b{% else %}c{% endif %}", "{\"x\": false, \"y\": 1}", "b"},
    {"if", "{% if not x %}none{% endif %}{% if x is none %}!{% endif %}", "{\"x\": null}", "none!"},
    {"for",
     "{% for i in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ "
     "loop.last }}/{{ loop.length }};{% endfor %}",
     "{\"xs\": [\"a\", \"b\", \"c\"]}", "1/0/3/2/True/False/3;2/1/2/1/False/False/3;3/2/1/0/False/True/3;"},
    {"for", "{% for i in xs %}{{ loop.previtem is defined }}{{ loop.previtem }}-{{ loop.nextitem }}|{% endfor %}",
     "{\"xs\": [1, 2, 3]}", "False-2|True1-3|True2-|"},
    {"for", "{% for i in xs %}{{ i }}{% else %}empty{% endfor %}", "{\"xs\": []}", "empty"},
    {"for",
     "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 4 %}{% break %}{% endif %}{{ i }}{% "
     "endfor %}",
     "{}", "0134"},
    {"for", "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}{% for k in d %}{{ k }}{% endfor %}",
     "{\"d\": {\"b\": 1, \"a\": [1, 2]}}", "b=1,a=[1, 2],ba"},
    {"for", "{% for x in xs if x is odd %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% endfor %}",
     "{\"xs\": [1, 2, 3, 4, 5]}", "1:1/3 3:2/3 5:3/3 "},
    {"for", "{% set x = 1 %}{% for i in range(3) %}{{ x }}{% set x = i + 10 %}{{ x }},{% endfor %}{{ x }}", "{}",
     "110,111,112,1"},
    {"for",
     "{% for a, b in [(1, 2), [3, 4]] %}{{ a + b }}{% endfor %}{% for c in 'h\303\251llo' %}[{{ c }}]{% endfor %}",
     "{}", "37[h][\303\251][l][l][o]"},
    {"set",
     "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (1,) %}{{ t }}{% set l = [1, 'x', none, true, 1.5] %}{{ l }}", "{}",
     "12(1,)[1, 'x', None, True, 1.5]"},
    {"set", "{% set ns = namespace(n=0, s='') %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}",
     "{}", "6"},
    {"set",
     "{% set block %}  Hi {{ name }}!  {% endset %}[{{ block }}]{% set up | upper | trim %} x {% endset %}[{{ up }}]",
     "{\"name\": \"Bob\"}", "[  Hi Bob!  ][X]"},
    {"macro",
     "{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ "
     "greet('A') }} {{ greet('B', 'Hi') }} {{ greet('C', punct='\?') }}",
     "{}", "Hello, A! Hi, B! Hello, C\?"},
    {"macro",
     "{% macro box(title) %}<{{ title }}:{{ caller() }}>{% endmacro %}{% call box('t') %}inside {{ 1 + 1 }}{% endcall "
     "%}",
     "{}", "<t:inside 2>"},
    {"macro",
     "{% macro rows(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) rows([1, 2]) %}({{ "
     "item }}){% endcall %}",
     "{}", "(1)(2)"},
    {"filterblock",
     "{% filter upper %}abc {{ x }}{% endfilter %}|{% filter replace('a', 'b') | trim %}  aaa  {% endfilter %}|",
     "{\"x\": \"def\"}", "ABC DEF|bbb|"},
    {"raw", "{% raw %}{{ not evaluated }} {% if %}{% endraw %}x", "{}", "{{ not evaluated }} {% if %}x"},
    {"whitespace", "a  {%- if true -%}  b  {%- endif -%}  c\n{{- ' d ' -}}\n e", "{}", "abc d e"},
    {"whitespace", "<ul>\n  {% for i in [1, 2] %}\n    <li>{{ i }}</li>\n  {% endfor %}\n</ul>\n", "{}",
     "<ul>\n    <li>1</li>\n    <li>2</li>\n</ul>"},
    {"whitespace", "  {# comment #}\nx\n  {%+ if true %}y{% endif %}\n  {{ 'z' }}\n", "{}", "x\n  y  z"},
    {"whitespace", "{% if true %}\r\nwin\r\n{% endif %}\r\nend", "{}", "win\nend"},
    {"comment", "a{# a comment {{ x }} #}b{#- stripped -#}   c", "{}", "abc"},
    {"literals",
     "{{ 'a\\'b\\n\\t\\u00e9' }}|{{ \"dq\" }}|{{ 42 }}|{{ -3 }}|{{ 1.5 }}|{{ 1e3 }}|{{ 2.0 }}|{{ 0.1 + 0.2 }}|{{ 1e20 "
     "}}|{{ 1.5e-7 }}",
     "{}", "a'b\n\t\303\251|dq|42|-3|1.5|1000.0|2.0|0.30000000000000004|1e+20|1.5e-07"},
    {"literals",
     "{{ true }}{{ True }}{{ false }}{{ none }}{{ None }}|{{ [1, [2, 'x']] }}|{{ {'a': 1, 'b': 'c'} }}|{{ (1, 'two') "
     "}}|{{ \"it's\" }}|{{ ['it\\'s'] }}",
     "{}", "TrueTrueFalseNoneNone|[1, [2, 'x']]|{'a': 1, 'b': 'c'}|(1, 'two')|it's|[\"it's\"]"},
    {"operators",
     "{{ 7 + 3 }} {{ 7 - 10 }} {{ 2 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 "
     "}} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ 'a' ~ 1 ~ none }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 'x' + 'y' }}",
     "{}", "10 -3 6 3.5 3 -4 1 2 1024 0.5 3.0 a1None ababab [1, 2] xy"},
    {"operators",
     "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 2 >= 2 }} {{ 'ab' < 'b' }} {{ 'b' in 'abc' }} "
     "{{ 1 not in [1, 2] }} {{ 'k' in {'k': 1} }}",
     "{}", "True False True True True True True False True"},
    {"operators",
     "{{ 1 and 'x' }} {{ 0 or 'y' }} {{ not 0 }} {{ [] or 'empty' }} {{ 'yes' if x else 'no' }} {{ 'a' if false }}| {{ "
     "-x }} {{ x is not none and x > 1 }}",
     "{\"x\": 2}", "x y True empty yes | -2 True"},
    {"access",
     "{{ d.a }} {{ d['a'] }} {{ d.b.c }} {{ l[0] }} {{ l[-1] }} {{ l[1:] }} {{ l[:2] }} {{ l[::-1] }} {{ l[::2] }} {{ "
     "s[1:3] }} {{ s[-2:] }} {{ s[::-1] }} {{ d.missing is defined }} {{ l[9] is defined }}",
     "{\"d\": {\"a\": 1, \"b\": {\"c\": \"deep\"}}, \"l\": [1, 2, 3], \"s\": \"h\\u00e9llo\"}",
     "1 1 deep 1 3 [2, 3] [1, 2] [3, 2, 1] [1, 3] \303\251l lo oll\303\251h False False"},
    {"tests",
     "{{ x is defined }}{{ y is undefined }}{{ none is none }}{{ 's' is string }}{{ 1 is number }}{{ 1.0 is number "
     "}}{{ 1 is integer }}{{ 1.0 is float }}{{ {} is mapping }}{{ [] is iterable }}{{ 's' is sequence }}{{ true is "
     "boolean }}",
     "{\"x\": 1}", "TrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrue"},
    {"tests",
     "{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ 2 is equalto 2 }}{{ 2 is eq 3 "
     "}}{{ x is sameas none }}{{ true is true }}{{ 0 is false }}{{ 'a' is in 'cat' }}{{ 'abc' is lower }}{{ 'ABC' is "
     "upper }}{{ 1 is string }}",
     "{\"x\": null}", "TrueTrueTrueFalseTrueFalseTrueTrueFalseTrueTrueTrueFalse"},
    {"filters_str",
     "{{ '  pad  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'Hello' | upper }}{{ 'Hello' | lower }}|{{ 'hELLO wORLD' | "
     "capitalize }}|{{ 'hello big-world (yes)' | title }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'abc' | length }}|{{ "
     "'h\303\251llo' | count }}",
     "{}", "pad|hi|HELLOhello|Hello world|Hello Big-World (Yes)|bba|3|5"},
    {"filters_str",
     "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb\\n\\nc' | indent(2, true) }}|{{ 'a\\nb\\n\\nc' | indent(2, blank=true) "
     "}}|{{ 'x\\n' | indent(first=True) }}|{{ 'a\\nb' | indent('> ') }}",
     "{}", "a\n    b\n\n    c|  a\n  b\n\n  c|a\n  b\n  \n  c|    x\n|a\n> b"},
    {"filters_str",
     "{{ 3 | string }}{{ '42' | int }}{{ '4.7' | int }}{{ 'x' | int }}{{ 'x' | int(7) }}{{ '2.5' | float }}{{ 3 | "
     "float }}{{ -4 | abs }}{{ 2.567 | round(2) }}{{ 2.5 | round }}{{ 7 | round(method='floor') }}|{{ 'one two  three' "
     "| wordcount }}|{{ 'ab' | center(6) }}|",
     "{}", "3424072.53.042.572.07.0|3|  ab  |"},
    {"filters_seq",
     "{{ [3, 1, 2] | sort }}{{ ['b', 'A', 'c'] | sort }}{{ [3, 1, 2] | sort(reverse=true) }}{{ xs | "
     "sort(attribute='n') | map(attribute='n') | list }}{{ [1, 2] | reverse | list }}{{ 'abc' | reverse }}",
     "{\"xs\": [{\"n\": 2}, {\"n\": 1}]}", "[1, 2, 3]['A', 'b', 'c'][3, 2, 1][1, 2][2, 1]cba"},
    {"filters_seq",
     "{{ [1, 2, 3] | join(', ') }}|{{ xs | map(attribute='name') | join }}|{{ ['a', 'b'] | map('upper') | list }}|{{ "
     "[1, 2, 3] | first }}{{ [1, 2, 3] | last }}|{{ [1, 'a', 'A', 1] | unique | list }}|{{ [1, 2, 3] | sum }}{{ [1, 5, "
     "3] | max }}{{ [4, 2, 8] | min }}|{{ 'ab' | list }}",
     "{\"xs\": [{\"name\": \"x\"}, {\"name\": \"y\"}]}", "1, 2, 3|xy|['A', 'B']|13|[1, 'a']|652|['a', 'b']"},
    {"filters_seq",
     "{{ xs | selectattr('role', 'equalto', 'user') | map(attribute='c') | list }}{{ xs | rejectattr('role', "
     "'equalto', 'user') | list | length }}{{ xs | selectattr('flag') | list | length }}{{ [1, 2, 3, 4] | "
     "select('odd') | list }}{{ [1, 0, 2] | reject | list }}",
     "{\"xs\": [{\"role\": \"user\", \"c\": 1, \"flag\": true}, {\"role\": \"bot\", \"c\": 2}]}", "[1]11[1, 3][0]"},
    {"filters_seq",
     "{{ d | items | list }}{{ x | default('dflt') }}{{ '' | default('e', true) }}{{ '' | d('e') }}{{ none | "
     "default('n') }}{{ [1, 2, 3, 4, 5] | batch(2) | list }}{{ d | length }}{{ 'x' | safe }}",
     "{\"d\": {\"k\": \"v\", \"j\": 2}}", "[('k', 'v'), ('j', 2)]dflteNone[[1, 2], [3, 4], [5]]2x"},
    {"tojson",
     "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ d | tojson(sort_keys=true) }}|{{ '\303\251\"\\n<' | tojson }}|{{ "
     "[] | tojson }}{{ {} | tojson(indent=4) }}|{{ [1.0, 2.5, none, true] | tojson }}",
     "{\"d\": {\"b\": [1, {\"c\": null}], \"a\": \"x\"}}",
     "{\"b\": [1, {\"c\": null}], \"a\": \"x\"}|{\n  \"b\": [\n    1,\n    {\n      \"c\": null\n    }\n  ],\n  \"a\": "
     "\"x\"\n}|{\"a\": \"x\", \"b\": [1, {\"c\": null}]}|\"\303\251\\\"\\n<\"|[]{}|[1.0, 2.5, null, true]"},
    {"methods",
     "{{ '  x  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  x  '.lstrip() }}|{{ '  x  '.rstrip() }}|{{ "
     "'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'hello'.startswith('he') }}{{ "
     "'hello'.endswith(('x', 'lo')) }}",
     "{}", "x|hi|x  |  x|['a', 'b', '', 'c']|['a', 'b']|['a', 'b,c']|TrueTrue"},
    {"methods",
     "{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}{{ 'ab cd'.title() }}{{ 'aB'.capitalize() }}{{ 'aaa'.replace('a', 'c') }}{{ "
     "'hello'.find('l') }}{{ 'hello'.find('z') }}{{ 'hello'.count('l') }}{{ '-'.join(['a', 'b']) }}{{ '{} and "
     "{}'.format(1, 'two') }}",
     "{}", "ABabAb CdAbccc2-12a-b1 and two"},
    {"methods",
     "{{ d.get('a') }}{{ d.get('z') }}{{ d.get('z', 'dflt') }}{{ d.keys() | list }}{{ d.values() | list }}{% for k, v "
     "in d.items() %}{{ k }}{{ v }}{% endfor %}",
     "{\"d\": {\"a\": 1, \"b\": 2}}", "1Nonedflt['a', 'b'][1, 2]a1b2"},
    {"methods",
     "{% set l = [] %}{% for i in range(3) %}{% set _ = l.append(i * 2) %}{% endfor %}{{ l }}{{ l.pop() }}{{ l }}",
     "{}", "[0, 2, 4]4[0, 2]"},
    {"globals",
     "{{ range(3) | list }}{{ range(1, 7, 2) | list }}{{ range(3, 0, -1) | list }}{{ dict(a=1, b='x') }}{{ "
     "strftime_now('%Y-%m-%d %H:%M %d %b %Y') }}",
     "{}", "[0, 1, 2][1, 3, 5][3, 2, 1]{'a': 1, 'b': 'x'}2023-11-14 22:13 14 Nov 2023"},
    {"undefined",
     "[{{ missing }}]{{ missing is defined }}{{ missing | length }}{% for x in missing %}x{% endfor %}{{ missing | "
     "default('d') }}{{ missing == missing }}{% if missing %}t{% else %}f{% endif %}",
     "{}", "[]False0dTruef"},
    {"strings",
     "{{ 'ab' 'cd' }}{{ \"x\\\\y\" }}{{ 'tab\\there' }}{{ '\303\251' | length }}{{ 'Gr\303\274\303\237e' | upper }}",
     "{}", "abcdx\\ytab\there1GR\303\234SSE"},
};

/* Parses and renders under `limits` (NULL: the defaults); returns the
 * malloc'd output or NULL with err filled. */
static char *render_limited(const char *template_text, size_t len, cJSON *context, const tl_chat_limits *limits,
                            tl_error *err) {
    tl_jinja *t = NULL;
    if (tl_jinja_parse(template_text, len, &t, err) != TL_OK) return NULL;
    char *out = NULL;
    size_t out_len = 0;
    tl_status st = limits ? tl_jinja_render_limited(t, context, limits, &out, &out_len, err)
                          : tl_jinja_render(t, context, &out, &out_len, err);
    tl_jinja_free(t);
    if (st != TL_OK) return NULL;
    assert_int_equal(out_len, strlen(out));
    return out;
}

static char *render(const char *template_text, size_t len, cJSON *context, tl_error *err) {
    return render_limited(template_text, len, context, NULL, err);
}

static void run_family(const char *family) {
    int ran = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const render_case *rc = &CASES[i];
        if (strcmp(rc->family, family) != 0) continue;
        cJSON *context = cJSON_Parse(rc->context_json);
        assert_non_null(context);
        cJSON_AddNumberToObject(context, "__strftime_now_epoch", NOW_EPOCH);
        tl_error err = {0};
        char *out = render(rc->template_text, strlen(rc->template_text), context, &err);
        if (!out) fail_msg("%s: %s\n  template: %s", family, err.message, rc->template_text);
        if (strcmp(out, rc->expected) != 0)
            fail_msg("%s: template %s\n  expected [%s]\n  got      [%s]", family, rc->template_text, rc->expected, out);
        free(out);
        cJSON_Delete(context);
        ran++;
    }
    assert_true(ran > 0);
}

#define FAMILY_TEST(name)                                                                                              \
    static void test_##name(void **state) {                                                                            \
        (void)state;                                                                                                   \
        run_family(#name);                                                                                             \
    }
FAMILY_TEST(if)
FAMILY_TEST(for)
FAMILY_TEST(set)
FAMILY_TEST(macro)
FAMILY_TEST(filterblock)
FAMILY_TEST(raw)
FAMILY_TEST(whitespace)
FAMILY_TEST(comment)
FAMILY_TEST(literals)
FAMILY_TEST(strings)
FAMILY_TEST(operators)
FAMILY_TEST(access)
FAMILY_TEST(tests)
FAMILY_TEST(filters_str)
FAMILY_TEST(filters_seq)
FAMILY_TEST(tojson)
FAMILY_TEST(methods)
FAMILY_TEST(globals)
FAMILY_TEST(undefined)

/* The context of one expected.json result: its fields, null ones left out. */
static cJSON *shared_context(const cJSON *result) {
    static const char *const keys[] = {"messages", "tools", "bos_token", "eos_token", "add_generation_prompt"};
    cJSON *context = cJSON_CreateObject();
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(result, keys[k]);
        if (v && !cJSON_IsNull(v)) cJSON_AddItemToObject(context, keys[k], cJSON_Duplicate(v, 1));
    }
    cJSON_AddNumberToObject(context, "__strftime_now_epoch", NOW_EPOCH);
    return context;
}

/* tl_chat_turn_end finds where an assistant turn ends in built-in and shipped templates. */
static void test_turn_end(void **state) {
    (void)state;
    static const struct {
        const char *builtin, *eos, *expected;
    } builtins[] = {
        {"chatml", "</s>", "<|im_end|>"},    {"llama3", "", "<|eot_id|>"}, {"phi3", "", "<|end|>"},
        {"gemma", "<eos>", "<end_of_turn>"}, {"llama2", "</s>", "</s>"},   {"mistral", "</s>", "</s>"},
        {"zephyr", "</s>", "</s>"},          {"zephyr", NULL, ""},
    };
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        char *end = NULL;
        tl_error err = {0};
        assert_int_equal(tl_chat_turn_end(tl_chat_template_builtin(builtins[i].builtin), builtins[i].eos, &end, &err),
                         TL_OK);
        if (strcmp(end, builtins[i].expected) != 0)
            fail_msg("%s: turn end '%s', expected '%s'", builtins[i].builtin, end, builtins[i].expected);
        free(end);
    }
    static const struct {
        const char *file, *expected;
    } shipped[] = {
        {"Qwen-Qwen2.5-7B-Instruct.jinja", "<|im_end|>"},
        {"meta-llama-Llama-3.2-3B-Instruct.jinja", "<|eot_id|>"},
        {"microsoft-Phi-3.5-mini-instruct.jinja", "<|end|>"},
        {"google-gemma-3.jinja", "<end_of_turn>"},
    };
    for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
        char relative[256];
        snprintf(relative, sizeof relative, "templates/%s", shipped[i].file);
        if (!tl_test_have_shared(relative)) continue;
        char *source = tl_test_read_file(tl_test_shared_path(relative), NULL), *end = NULL;
        tl_error err = {0};
        assert_int_equal(tl_chat_turn_end(source, "<eos>", &end, &err), TL_OK);
        if (strcmp(end, shipped[i].expected) != 0)
            fail_msg("%s: turn end '%s', expected '%s'", shipped[i].file, end, shipped[i].expected);
        free(end);
        free(source);
    }
    /* A template that refuses the exchange fails with its own error. */
    char *end = NULL;
    tl_error err = {0};
    assert_int_not_equal(tl_chat_turn_end("{{ raise_exception('no assistants here') }}", NULL, &end, &err), TL_OK);
    assert_null(end);
    assert_non_null(strstr(err.message, "no assistants here"));
}

static void test_shared_templates_render_like_jinja2(void **state) {
    (void)state;
    if (!tl_test_have_shared("templates/expected.json")) skip();
    char *json = tl_test_read_file(tl_test_shared_path("templates/expected.json"), NULL);
    assert_non_null(json);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    int total = 0, passed = 0;
    const cJSON *result;
    cJSON_ArrayForEach(result, results) {
        total++;
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "template"));
        const char *case_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "case"));
        const char *expected = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "expected"));
        const char *expected_error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "error"));
        assert_non_null(name);
        char relative[512];
        snprintf(relative, sizeof relative, "templates/%s", name);
        size_t len = 0;
        char *source = tl_test_read_file(tl_test_shared_path(relative), &len);
        assert_non_null(source);
        cJSON *context = shared_context(result);
        tl_error err = {0};
        /* within the budget the server gives a request's own template */
        static const tl_chat_limits request_limits = {
            .max_steps = 1000000, .max_memory = 8 << 20, .max_output = 1 << 20};
        char *out = render_limited(source, len, context, &request_limits, &err);
        bool ok;
        if (expected) {
            ok = out && strcmp(out, expected) == 0;
            if (!ok) print_message("FAIL %s / %s: %s\n", name, case_name, out ? "text differs" : err.message);
        } else {
            /* expected.json records "TemplateError: <message>"; ours is "line N: <message>". */
            assert_non_null(expected_error);
            const char *message = strstr(expected_error, ": ");
            message = message ? message + 2 : expected_error;
            ok = !out && strstr(err.message, message) != NULL && strncmp(err.message, "line ", 5) == 0;
            if (!ok)
                print_message("FAIL %s / %s: expected error '%s', got '%s'\n", name, case_name, expected_error,
                              out ? "(rendered)" : err.message);
        }
        passed += ok;
        free(out);
        free(source);
        cJSON_Delete(context);
    }
    print_message("shared chat templates: %d/%d render exactly as Jinja2\n", passed, total);
    cJSON_Delete(root);
    free(json);
    assert_int_equal(total, 65);
    assert_int_equal(passed, total);
}

/* Each bad template fails (at parse or render) with "line <line>: <contains>". */
static void expect_error(const char *template_text, int line, const char *contains) {
    cJSON *context = cJSON_CreateObject();
    tl_error err = {0};
    char *out = render(template_text, strlen(template_text), context, &err);
    cJSON_Delete(context);
    if (out) fail_msg("expected an error for %s, rendered [%s]", template_text, out);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "line %d: ", line);
    if (strncmp(err.message, prefix, strlen(prefix)) != 0 || !strstr(err.message, contains))
        fail_msg("template %s: expected '%s...%s', got '%s'", template_text, prefix, contains, err.message);
    assert_null(strchr(err.message, '\n'));
}

static void test_bad_templates_fail_with_line_numbers(void **state) {
    (void)state;
    expect_error("a\n{% if x %}\nabc", 2, "unclosed 'if'");
    expect_error("{% for x in y %}\n{% if x %}{% endfor %}", 2, "unexpected 'endfor'");
    expect_error("{% endif %}", 1, "unexpected 'endif'");
    expect_error("x\n\n{{ y | nosuchfilter }}", 3, "unknown filter 'nosuchfilter'");
    expect_error("{{ y is nosuchtest }}", 1, "unknown test 'nosuchtest'");
    expect_error("a\n{{ 1 + }}", 2, "expected an expression");
    expect_error("{{ 'abc }}", 1, "unterminated string");
    expect_error("{# never closed", 1, "unclosed comment");
    expect_error("\n{{ x", 2, "unclosed '{{'");
    expect_error("{% nosuchtag %}", 1, "unknown tag 'nosuchtag'");
    expect_error("{% set %}", 1, "expected a name");
    expect_error("{% raw %}abc", 1, "unclosed 'raw'");
    expect_error("{% macro m() %}{{ m() }}{% endmacro %}\n{{ m() }}", 1, "recursion");
    expect_error("\n\n{{ raise_exception('custom failure') }}", 3, "custom failure");
    expect_error("{{ undefined_thing.attr }}", 1, "'undefined_thing' is undefined");
    expect_error("{{ 1 // 0 }}", 1, "division by zero");
    expect_error("{{ 1 + 'a' }}", 1, "unsupported operand");
    /* deeply nested expressions and blocks are refused, not a stack overflow */
    char deep[4096] = "{{ ";
    for (int i = 0; i < 1000; i++) strcat(deep, "(");
    strcat(deep, "1");
    for (int i = 0; i < 1000; i++) strcat(deep, ")");
    strcat(deep, " }}");
    expect_error(deep, 1, "nested deeper than");
    char *blocks = malloc(20 * 2000 + 1);
    blocks[0] = 0;
    for (int i = 0; i < 2000; i++) strcat(blocks, "{% if 1 %}");
    expect_error(blocks, 1, "nested deeper than");
    free(blocks);
}

/* Truncations and byte mutations of every real template: any result is fine
 * except a crash or a leak (ASan builds check those). */
static void test_mutated_templates_never_crash(void **state) {
    (void)state;
    if (!tl_test_have_shared("templates/google-gemma-3.jinja")) skip();
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
    cJSON *context = cJSON_Parse(
        "{\"messages\": [{\"role\": \"system\", \"content\": \"sys\"}, {\"role\": \"user\", \"content\": \"hi\"},"
        " {\"role\": \"assistant\", \"content\": \"yo\"}], \"bos_token\": \"<s>\", \"eos_token\": \"</s>\","
        " \"add_generation_prompt\": true}");
    static const char noise[] = "{}%#-+|()[]'\".,: \nxif";
    tl_test_rng_seed(1234);
    int attempts = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char relative[256];
        snprintf(relative, sizeof relative, "templates/%s", names[k]);
        size_t len = 0;
        char *source = tl_test_read_file(tl_test_shared_path(relative), &len);
        assert_non_null(source);
        char *copy = malloc(len + 1);
        for (int trial = 0; trial < 60; trial++) {
            memcpy(copy, source, len + 1);
            size_t use = len;
            if (trial % 3 == 0) use = tl_test_rng_next() % (len + 1); /* truncate */
            int mutations = 1 + (int)(tl_test_rng_next() % 4);
            for (int m = 0; m < mutations && use > 0; m++)
                copy[tl_test_rng_next() % use] = noise[tl_test_rng_next() % (sizeof noise - 1)];
            tl_error err = {0};
            char *out = render(copy, use, context, &err);
            if (!out) assert_true(strncmp(err.message, "line ", 5) == 0 || err.status == TL_ERR_NOMEM);
            free(out);
            attempts++;
        }
        free(copy);
        free(source);
    }
    cJSON_Delete(context);
    assert_int_equal(attempts, 60 * 13);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_if),
        cmocka_unit_test(test_for),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_macro),
        cmocka_unit_test(test_filterblock),
        cmocka_unit_test(test_raw),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_comment),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_tests),
        cmocka_unit_test(test_filters_str),
        cmocka_unit_test(test_filters_seq),
        cmocka_unit_test(test_tojson),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_globals),
        cmocka_unit_test(test_undefined),
        cmocka_unit_test(test_turn_end),
        cmocka_unit_test(test_shared_templates_render_like_jinja2),
        cmocka_unit_test(test_bad_templates_fail_with_line_numbers),
        cmocka_unit_test(test_mutated_templates_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
