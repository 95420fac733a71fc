/*
 * jinja_tests.c — Jinja2 3.1's tests (x is name(arg)) for chat templates:
 * one small function each, registered by name in TESTS, the one list the
 * parser checks names against and jinja_test dispatches on. Filters are in
 * jinja_filters.c.
 */
#include <string.h>

#include "chat/jinja_internal.h"

/* What a test sees: the value before `is` and its one argument (undefined
 * when there is none). */
typedef struct jtest_call {
    jctx *c;
    int line;
    jv v, other;
} jtest_call;

/* ---- types ------------------------------------------------------------------------------ */
static bool is_defined(const jtest_call *t) {
    return t->v.kind != JV_UNDEF;
}
static bool is_undefined(const jtest_call *t) {
    return t->v.kind == JV_UNDEF;
}
static bool is_none(const jtest_call *t) {
    return t->v.kind == JV_NONE;
}
static bool is_string(const jtest_call *t) {
    return t->v.kind == JV_STR;
}
static bool is_number(const jtest_call *t) {
    return t->v.kind == JV_INT || t->v.kind == JV_FLOAT || t->v.kind == JV_BOOL;
}
static bool is_integer(const jtest_call *t) {
    return t->v.kind == JV_INT;
}
static bool is_float(const jtest_call *t) {
    return t->v.kind == JV_FLOAT;
}
static bool is_boolean(const jtest_call *t) {
    return t->v.kind == JV_BOOL;
}
static bool is_mapping(const jtest_call *t) {
    return t->v.kind == JV_DICT && !t->v.u.dict->is_namespace;
}
/* iterable and sequence */
static bool is_iterable(const jtest_call *t) {
    return t->v.kind == JV_STR || t->v.kind == JV_LIST || t->v.kind == JV_UNDEF || is_mapping(t);
}
static bool is_callable(const jtest_call *t) {
    return t->v.kind == JV_FUNC;
}
static bool is_true(const jtest_call *t) {
    return t->v.kind == JV_BOOL && t->v.u.b;
}
static bool is_false(const jtest_call *t) {
    return t->v.kind == JV_BOOL && !t->v.u.b;
}

/* ---- comparisons ------------------------------------------------------------------------ */
static bool is_eq(const jtest_call *t) {
    return jv_equal(t->c->fail, t->v, t->other);
}
static bool is_ne(const jtest_call *t) {
    return !jv_equal(t->c->fail, t->v, t->other);
}
static bool is_lt(const jtest_call *t) {
    return jv_compare(t->c->fail, t->line, t->v, t->other) < 0;
}
static bool is_le(const jtest_call *t) {
    return jv_compare(t->c->fail, t->line, t->v, t->other) <= 0;
}
static bool is_gt(const jtest_call *t) {
    return jv_compare(t->c->fail, t->line, t->v, t->other) > 0;
}
static bool is_ge(const jtest_call *t) {
    return jv_compare(t->c->fail, t->line, t->v, t->other) >= 0;
}

/* The same object for lists and dicts, an equal value otherwise. */
static bool is_sameas(const jtest_call *t) {
    jv v = t->v, other = t->other;
    if (v.kind != other.kind) return false;
    if (v.kind == JV_LIST) return v.u.list == other.u.list;
    if (v.kind == JV_DICT) return v.u.dict == other.u.dict;
    return jv_equal(t->c->fail, v, other);
}

static bool is_in(const jtest_call *t) {
    jfail *f = t->c->fail;
    jv v = t->v, other = t->other;
    if (other.kind == JV_STR) {
        if (v.kind != JV_STR) jfail_at(f, t->line, "'in <string>' requires string as left operand");
        return jstr_find(f, other.u.str.s, other.u.str.n, v.u.str.s, v.u.str.n) != NULL;
    }
    if (other.kind == JV_DICT) return jdict_get(f, other.u.dict, v) != NULL;
    jlist *l = jinja_iterate(t->c, t->line, other);
    for (size_t i = 0; i < l->n; i++)
        if (jv_equal(f, l->items[i], v)) return true;
    return false;
}

/* ---- integers --------------------------------------------------------------------------- */
static int64_t integer_value(const jtest_call *t, const char *test) {
    if (t->v.kind != JV_INT) jfail_at(t->c->fail, t->line, "test '%s' expects an integer", test);
    return t->v.u.i;
}

static bool is_odd(const jtest_call *t) {
    return integer_value(t, "odd") % 2 != 0;
}
static bool is_even(const jtest_call *t) {
    return integer_value(t, "even") % 2 == 0;
}

static bool is_divisibleby(const jtest_call *t) {
    int64_t i = integer_value(t, "divisibleby");
    if (t->other.kind != JV_INT || t->other.u.i == 0)
        jfail_at(t->c->fail, t->line, "divisibleby needs a non-zero integer");
    return t->other.u.i == -1 || i % t->other.u.i == 0;
}

/* ---- case ------------------------------------------------------------------------------- */
/* A string with cased characters, all of them in `kind` (str.islower/isupper). */
static bool is_cased(const jtest_call *t, case_kind kind) {
    if (t->v.kind != JV_STR) return false;
    jv same = jstr_case(t->c, t->v, kind);
    jv other_case = jstr_case(t->c, t->v, kind == CASE_UPPER ? CASE_LOWER : CASE_UPPER);
    bool cased = !jv_equal(t->c->fail, other_case, t->v);
    return cased && jv_equal(t->c->fail, same, t->v);
}

static bool is_lower(const jtest_call *t) {
    return is_cased(t, CASE_LOWER);
}
static bool is_upper(const jtest_call *t) {
    return is_cased(t, CASE_UPPER);
}

/* ---- the table -------------------------------------------------------------------------- */
typedef struct jtest {
    const char *name;
    bool (*fn)(const jtest_call *t);
} jtest;

/* Every test a template may name, in alphabetical order. */
static const jtest TESTS[] = {
    {"!=", is_ne},
    {"==", is_eq},
    {"boolean", is_boolean},
    {"callable", is_callable},
    {"defined", is_defined},
    {"divisibleby", is_divisibleby},
    {"eq", is_eq},
    {"equalto", is_eq},
    {"even", is_even},
    {"false", is_false},
    {"float", is_float},
    {"ge", is_ge},
    {"greaterthan", is_gt},
    {"gt", is_gt},
    {"in", is_in},
    {"integer", is_integer},
    {"iterable", is_iterable},
    {"le", is_le},
    {"lessthan", is_lt},
    {"lower", is_lower},
    {"lt", is_lt},
    {"mapping", is_mapping},
    {"ne", is_ne},
    {"none", is_none},
    {"number", is_number},
    {"odd", is_odd},
    {"sameas", is_sameas},
    {"sequence", is_iterable},
    {"string", is_string},
    {"true", is_true},
    {"undefined", is_undefined},
    {"upper", is_upper},
};

bool jinja_test_known(const char *name) {
    return JNAME_FIND(TESTS, name) != NULL;
}

bool jinja_test(jctx *c, int line, const char *name, jv v, const jargs *a) {
    const jtest *test = JNAME_FIND(TESTS, name);
    if (!test) jfail_at(c->fail, line, "unknown test '%s'", name);
    jtest_call call = {c, line, v, jarg(a, 0, NULL, jv_undef(NULL))};
    return test->fn(&call);
}
