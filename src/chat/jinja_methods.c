/*
 * jinja_methods.c — what a chat template can call besides filters: methods
 * of str, dict and list values (strip, split, startswith, get, items,
 * append, ...) with Python's behaviour, and the globals range(),
 * namespace(), dict(), raise_exception() and strftime_now(). Each is a small
 * function registered by name in the table of its kind (STR_METHODS,
 * DICT_METHODS, LIST_METHODS, GLOBALS): the one list of what exists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat/jinja_internal.h"

typedef struct jmethod {
    const char *name;
    jcall_fn *fn;
    bool mutates; /* a list method a tuple does not have */
} jmethod;

/* ---- str methods -------------------------------------------------------------------------- */
static jv str_lstrip(jctx *c, int line, jv s, const jargs *a) {
    return jstr_strip(c, line, s, jarg(a, 0, "chars", jv_none()), true, false);
}

static jv str_rstrip(jctx *c, int line, jv s, const jargs *a) {
    return jstr_strip(c, line, s, jarg(a, 0, "chars", jv_none()), false, true);
}

static jv str_split(jctx *c, int line, jv s, const jargs *a) {
    jv maxsplit = jarg(a, 1, "maxsplit", jv_int(-1));
    return jstr_split(c, line, s, jarg(a, 0, "sep", jv_none()), maxsplit.kind == JV_INT ? maxsplit.u.i : -1);
}

static jv str_startswith(jctx *c, int line, jv s, const jargs *a) {
    return jv_bool(jstr_affix(c, line, s, jarg(a, 0, NULL, jv_cstr("")), true));
}

static jv str_endswith(jctx *c, int line, jv s, const jargs *a) {
    return jv_bool(jstr_affix(c, line, s, jarg(a, 0, NULL, jv_cstr("")), false));
}

static jv str_replace(jctx *c, int line, jv s, const jargs *a) {
    jv old = jarg_str(c, line, jarg(a, 0, NULL, jv_undef(NULL)), "replace");
    jv new_text = jarg_str(c, line, jarg(a, 1, NULL, jv_undef(NULL)), "replace");
    jv count = jarg(a, 2, "count", jv_int(-1));
    return jstr_replace(c, s, old, new_text, count.kind == JV_INT ? count.u.i : -1);
}

/* The code point index of `hit` in s, or -1. */
static jv index_of(jfail *f, jv s, const char *hit) {
    if (!hit) return jv_int(-1);
    jf_scan(f, s.u.str.n);
    return jv_int((int64_t)utf8_length(s.u.str.s, (size_t)(hit - s.u.str.s)));
}

static jv str_find(jctx *c, int line, jv s, const jargs *a) {
    jv sub = jarg_str(c, line, jarg(a, 0, NULL, jv_undef(NULL)), "find");
    return index_of(c->fail, s, jstr_find(c->fail, s.u.str.s, s.u.str.n, sub.u.str.s, sub.u.str.n));
}

static jv str_rfind(jctx *c, int line, jv s, const jargs *a) {
    jv sub = jarg_str(c, line, jarg(a, 0, NULL, jv_undef(NULL)), "rfind");
    const char *hit = NULL;
    for (size_t i = s.u.str.n + 1; i-- > 0 && !hit;) {
        jf_scan(c->fail, sub.u.str.n);
        if (i + sub.u.str.n <= s.u.str.n && memcmp(s.u.str.s + i, sub.u.str.s, sub.u.str.n) == 0) hit = s.u.str.s + i;
    }
    return index_of(c->fail, s, hit);
}

static int64_t count_sub(jfail *f, jv s, jv sub) {
    jf_scan(f, s.u.str.n);
    if (sub.u.str.n == 0) return (int64_t)utf8_length(s.u.str.s, s.u.str.n) + 1;
    int64_t count = 0;
    const char *p = s.u.str.s, *end = p + s.u.str.n;
    for (;;) {
        const char *hit = jstr_find(f, p, (size_t)(end - p), sub.u.str.s, sub.u.str.n);
        if (!hit) return count;
        count++;
        p = hit + sub.u.str.n;
    }
}

/* str.format with {} / {0} / {name} fields (no format specs). */
static jv str_format(jctx *c, int line, jv s, const jargs *a) {
    jbuf b = {0};
    size_t auto_index = 0;
    const char *p = s.u.str.s;
    size_t n = s.u.str.n;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '{' && i + 1 < n && p[i + 1] == '{') {
            jbuf_addc(c->fail, &b, '{');
            i++;
            continue;
        }
        if (p[i] == '}' && i + 1 < n && p[i + 1] == '}') {
            jbuf_addc(c->fail, &b, '}');
            i++;
            continue;
        }
        if (p[i] != '{') {
            jbuf_addc(c->fail, &b, p[i]);
            continue;
        }
        const char *close = memchr(p + i, '}', n - i);
        if (!close) jfail_at(c->fail, line, "Single '{' encountered in format string");
        size_t field_len = (size_t)(close - (p + i + 1));
        const char *field = p + i + 1;
        jv value = jv_undef(NULL);
        if (field_len == 0)
            value = jarg(a, auto_index++, NULL, jv_undef(NULL));
        else if (field[0] >= '0' && field[0] <= '9')
            value = jarg(a, (size_t)atoi(field), NULL, jv_undef(NULL));
        else {
            char *key = jf_strndup(c->fail, field, field_len);
            value = jarg(a, (size_t)-1, key, jv_undef(NULL));
        }
        if (value.kind == JV_UNDEF) jfail_at(c->fail, line, "format: missing argument for field");
        jv_str(c->fail, &b, value);
        i = (size_t)(close - p);
    }
    return jbuf_value(&b);
}

static jv str_count(jctx *c, int line, jv s, const jargs *a) {
    return jv_int(count_sub(c->fail, s, jarg_str(c, line, jarg(a, 0, NULL, jv_undef(NULL)), "count")));
}

static jv str_join(jctx *c, int line, jv s, const jargs *a) {
    return jstr_join(c, line, s, jarg(a, 0, NULL, jv_new_list(c->fail)));
}

static jv str_splitlines(jctx *c, int line, jv s, const jargs *a) {
    (void)a;
    jv out = jv_new_list(c->fail);
    jv text = jstr_indent(c, s, jv_cstr(""), false, false); /* normalizes line breaks to \n */
    if (text.u.str.n == 0) return out;
    jv parts = jstr_split(c, line, text, jv_cstr("\n"), -1);
    size_t keep = parts.u.list->n;
    if (s.u.str.n && (s.u.str.s[s.u.str.n - 1] == '\n' || s.u.str.s[s.u.str.n - 1] == '\r')) keep--;
    for (size_t i = 0; i < keep; i++) jlist_push(c->fail, out.u.list, parts.u.list->items[i]);
    return out;
}

/* isdigit/isalpha/isspace: a non-empty string of ASCII bytes `ok` accepts. */
static jv str_all(jv s, bool (*ok)(unsigned char ch)) {
    if (s.u.str.n == 0) return jv_bool(false);
    for (size_t i = 0; i < s.u.str.n; i++)
        if (!ok((unsigned char)s.u.str.s[i])) return jv_bool(false);
    return jv_bool(true);
}

static bool digit(unsigned char ch) {
    return ch >= '0' && ch <= '9';
}
static bool alpha(unsigned char ch) {
    return (ch | 32) >= 'a' && (ch | 32) <= 'z';
}
static bool space(unsigned char ch) {
    return ch == ' ' || (ch >= 9 && ch <= 13);
}

static jv str_isdigit(jctx *c, int line, jv s, const jargs *a) {
    (void)c, (void)line, (void)a;
    return str_all(s, digit);
}

static jv str_isalpha(jctx *c, int line, jv s, const jargs *a) {
    (void)c, (void)line, (void)a;
    return str_all(s, alpha);
}

static jv str_isspace(jctx *c, int line, jv s, const jargs *a) {
    (void)c, (void)line, (void)a;
    return str_all(s, space);
}

static const jmethod STR_METHODS[] = {
    {"capitalize", jstr_call_capitalize, false},
    {"count", str_count, false},
    {"endswith", str_endswith, false},
    {"find", str_find, false},
    {"format", str_format, false},
    {"isalpha", str_isalpha, false},
    {"isdigit", str_isdigit, false},
    {"isspace", str_isspace, false},
    {"join", str_join, false},
    {"lower", jstr_call_lower, false},
    {"lstrip", str_lstrip, false},
    {"replace", str_replace, false},
    {"rfind", str_rfind, false},
    {"rstrip", str_rstrip, false},
    {"split", str_split, false},
    {"splitlines", str_splitlines, false},
    {"startswith", str_startswith, false},
    {"strip", jstr_call_strip, false},
    {"title", jstr_call_title, false},
    {"upper", jstr_call_upper, false},
};

/* ---- dict methods ------------------------------------------------------------------------- */
static jv dict_get(jctx *c, int line, jv self, const jargs *a) {
    (void)line;
    jv *v = jdict_get(c->fail, self.u.dict, jarg(a, 0, NULL, jv_none()));
    return v ? *v : jarg(a, 1, NULL, jv_none());
}

typedef enum { ENTRY_KEYS, ENTRY_VALUES, ENTRY_ITEMS } dict_entry;

/* keys(), values() or items() (as (key, value) tuples), as a list. */
static jv dict_entries(jctx *c, jv self, dict_entry what) {
    jfail *f = c->fail;
    jdict *d = self.u.dict;
    jv out = jv_new_list(f);
    for (size_t i = 0; i < d->n; i++) {
        if (what == ENTRY_KEYS)
            jlist_push(f, out.u.list, d->keys[i]);
        else if (what == ENTRY_VALUES)
            jlist_push(f, out.u.list, d->vals[i]);
        else {
            jv pair = jv_new_list(f);
            pair.u.list->is_tuple = true;
            jlist_push(f, pair.u.list, d->keys[i]);
            jlist_push(f, pair.u.list, d->vals[i]);
            jlist_push(f, out.u.list, pair);
        }
    }
    return out;
}

static jv dict_keys(jctx *c, int line, jv self, const jargs *a) {
    (void)line, (void)a;
    return dict_entries(c, self, ENTRY_KEYS);
}

static jv dict_values(jctx *c, int line, jv self, const jargs *a) {
    (void)line, (void)a;
    return dict_entries(c, self, ENTRY_VALUES);
}

static jv dict_items(jctx *c, int line, jv self, const jargs *a) {
    (void)line, (void)a;
    return dict_entries(c, self, ENTRY_ITEMS);
}

static jv dict_copy(jctx *c, int line, jv self, const jargs *a) {
    (void)line, (void)a;
    jdict *d = self.u.dict;
    jv out = jv_new_dict(c->fail);
    for (size_t i = 0; i < d->n; i++) jdict_set(c->fail, out.u.dict, d->keys[i], d->vals[i]);
    return out;
}

static jv dict_setdefault(jctx *c, int line, jv self, const jargs *a) {
    (void)line;
    jv key = jarg(a, 0, NULL, jv_none());
    jv *v = jdict_get(c->fail, self.u.dict, key);
    if (v) return *v;
    jdict_set(c->fail, self.u.dict, key, jarg(a, 1, NULL, jv_none()));
    return jarg(a, 1, NULL, jv_none());
}

static jv dict_pop(jctx *c, int line, jv self, const jargs *a) {
    jfail *f = c->fail;
    jdict *d = self.u.dict;
    jv *v = jdict_get(f, d, jarg(a, 0, NULL, jv_none()));
    if (!v) {
        if (a->n_pos > 1) return a->pos[1];
        jfail_at(f, line, "KeyError in dict.pop");
    }
    jv result = *v;
    size_t index = (size_t)(v - d->vals);
    jf_scan(f, 2 * (d->n - index - 1) * sizeof(jv));
    memmove(d->keys + index, d->keys + index + 1, (d->n - index - 1) * sizeof(jv));
    memmove(d->vals + index, d->vals + index + 1, (d->n - index - 1) * sizeof(jv));
    d->n--;
    return result;
}

static jv dict_update(jctx *c, int line, jv self, const jargs *a) {
    (void)line;
    jfail *f = c->fail;
    jdict *d = self.u.dict;
    jv other = jarg(a, 0, NULL, jv_undef(NULL));
    if (other.kind == JV_DICT)
        for (size_t i = 0; i < other.u.dict->n; i++) jdict_set(f, d, other.u.dict->keys[i], other.u.dict->vals[i]);
    for (size_t k = 0; k < a->n_kw; k++) jdict_set(f, d, jv_cstr(a->kw_names[k]), a->kw[k]);
    return jv_none();
}

static const jmethod DICT_METHODS[] = {
    {"copy", dict_copy, false},     {"get", dict_get, false},       {"items", dict_items, false},
    {"keys", dict_keys, false},     {"pop", dict_pop, false},       {"setdefault", dict_setdefault, false},
    {"update", dict_update, false}, {"values", dict_values, false},
};

/* ---- list methods ------------------------------------------------------------------------- */
static jv list_append(jctx *c, int line, jv self, const jargs *a) {
    (void)line;
    jlist_push(c->fail, self.u.list, jarg(a, 0, NULL, jv_none()));
    return jv_none();
}

static jv list_extend(jctx *c, int line, jv self, const jargs *a) {
    jlist *other = jinja_iterate(c, line, jarg(a, 0, NULL, jv_new_list(c->fail)));
    size_t n = other->n;
    for (size_t i = 0; i < n; i++) jlist_push(c->fail, self.u.list, other->items[i]);
    return jv_none();
}

static jv list_pop(jctx *c, int line, jv self, const jargs *a) {
    jfail *f = c->fail;
    jlist *l = self.u.list;
    if (l->n == 0) jfail_at(f, line, "pop from empty list");
    jv index = jarg(a, 0, NULL, jv_int(-1));
    int64_t i = index.kind == JV_INT ? index.u.i : -1;
    if (i < 0) i += (int64_t)l->n;
    if (i < 0 || i >= (int64_t)l->n) jfail_at(f, line, "pop index out of range");
    jv result = l->items[i];
    jf_scan(f, (l->n - (size_t)i - 1) * sizeof(jv));
    memmove(l->items + i, l->items + i + 1, (l->n - (size_t)i - 1) * sizeof(jv));
    l->n--;
    return result;
}

static jv list_insert(jctx *c, int line, jv self, const jargs *a) {
    (void)line;
    jlist *l = self.u.list;
    jv index = jarg(a, 0, NULL, jv_int(0));
    int64_t i = index.kind == JV_INT ? index.u.i : 0;
    if (i < 0) i += (int64_t)l->n;
    if (i < 0) i = 0;
    if (i > (int64_t)l->n) i = (int64_t)l->n;
    jlist_push(c->fail, l, jv_none());
    jf_scan(c->fail, (l->n - 1 - (size_t)i) * sizeof(jv));
    memmove(l->items + i + 1, l->items + i, (l->n - 1 - (size_t)i) * sizeof(jv));
    l->items[i] = jarg(a, 1, NULL, jv_none());
    return jv_none();
}

static jv list_index(jctx *c, int line, jv self, const jargs *a) {
    jv needle = jarg(a, 0, NULL, jv_none());
    for (size_t i = 0; i < self.u.list->n; i++)
        if (jv_equal(c->fail, self.u.list->items[i], needle)) return jv_int((int64_t)i);
    jfail_at(c->fail, line, "value is not in list");
}

static jv list_count(jctx *c, int line, jv self, const jargs *a) {
    (void)line;
    jv needle = jarg(a, 0, NULL, jv_none());
    int64_t count = 0;
    for (size_t i = 0; i < self.u.list->n; i++)
        if (jv_equal(c->fail, self.u.list->items[i], needle)) count++;
    return jv_int(count);
}

static jv list_copy(jctx *c, int line, jv self, const jargs *a) {
    (void)line, (void)a;
    jv out = jv_new_list(c->fail);
    for (size_t i = 0; i < self.u.list->n; i++) jlist_push(c->fail, out.u.list, self.u.list->items[i]);
    return out;
}

static const jmethod LIST_METHODS[] = {
    {"append", list_append, true}, {"copy", list_copy, false},   {"count", list_count, false},
    {"extend", list_extend, true}, {"index", list_index, false}, {"insert", list_insert, true},
    {"pop", list_pop, true},
};

/* ---- lookup and calls --------------------------------------------------------------------- */
/* The method `name` of self's type (a namespace has none), or NULL. */
static const jmethod *find_method(jv self, const char *name) {
    if (self.kind == JV_STR) return JNAME_FIND(STR_METHODS, name);
    if (self.kind == JV_DICT && !self.u.dict->is_namespace) return JNAME_FIND(DICT_METHODS, name);
    if (self.kind == JV_LIST) return JNAME_FIND(LIST_METHODS, name);
    return NULL;
}

jv jinja_get_method(jctx *c, jv self, const char *name) {
    if (!find_method(self, name)) return jv_undef(name);
    return jv_method(c, JF_METHOD, name, self);
}

jv jinja_call_method(jctx *c, int line, const jfunc *fn, const jargs *a) {
    jfail *f = c->fail;
    jv self = fn->self;
    /* A str method's work is at most a few passes over the string; list and
     * dict methods charge what they move (lookups charge themselves). */
    if (self.kind == JV_STR)
        jf_scan(f, self.u.str.n);
    else
        jf_work(f, 1);
    const jmethod *method = find_method(self, fn->name);
    if (method && method->mutates && self.u.list->is_tuple)
        jfail_at(f, line, "'tuple' object has no attribute '%s'", fn->name);
    if (!method) jfail_at(f, line, "'%s' object has no method '%s'", jv_type_name(self), fn->name);
    return method->fn(c, line, self, a);
}

/* ---- globals ------------------------------------------------------------------------------ */
static jv global_range(jctx *c, int line, const jargs *a) {
    jfail *f = c->fail;
    int64_t start = 0, stop, step = 1;
    for (size_t i = 0; i < a->n_pos; i++)
        if (a->pos[i].kind != JV_INT) jfail_at(f, line, "range() expects integers");
    if (a->n_pos == 1)
        stop = a->pos[0].u.i;
    else if (a->n_pos == 2 || a->n_pos == 3) {
        start = a->pos[0].u.i;
        stop = a->pos[1].u.i;
        if (a->n_pos == 3) step = a->pos[2].u.i;
    } else
        jfail_at(f, line, "range expected 1 to 3 arguments");
    if (step == 0) jfail_at(f, line, "range() arg 3 must not be zero");
    jv out = jv_new_list(f);
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (out.u.list->n >= 100000) jfail_at(f, line, "range too big");
        jlist_push(f, out.u.list, jv_int(i));
        if (step > 0 ? i > INT64_MAX - step : i < INT64_MIN - step) break; /* the next would overflow */
    }
    return out;
}

/* dict(...) or namespace(...): the entries of dict arguments, then the keywords. */
static jv new_dict(jctx *c, const jargs *a, bool is_namespace) {
    jfail *f = c->fail;
    jv out = jv_new_dict(f);
    out.u.dict->is_namespace = is_namespace;
    for (size_t i = 0; i < a->n_pos; i++)
        if (a->pos[i].kind == JV_DICT)
            for (size_t k = 0; k < a->pos[i].u.dict->n; k++)
                jdict_set(f, out.u.dict, a->pos[i].u.dict->keys[k], a->pos[i].u.dict->vals[k]);
    for (size_t k = 0; k < a->n_kw; k++) jdict_set(f, out.u.dict, jv_cstr(a->kw_names[k]), a->kw[k]);
    return out;
}

static jv global_dict(jctx *c, int line, const jargs *a) {
    (void)line;
    return new_dict(c, a, false);
}

static jv global_namespace(jctx *c, int line, const jargs *a) {
    (void)line;
    return new_dict(c, a, true);
}

static jv global_raise_exception(jctx *c, int line, const jargs *a) {
    jv msg = jv_to_string(c->fail, jarg(a, 0, NULL, jv_cstr("")));
    jfail_at(c->fail, line, "%.*s", (int)(msg.u.str.n > 380 ? 380 : msg.u.str.n), msg.u.str.s);
}

static jv strftime_now(jctx *c, int line, jv fmt) {
    jarg_str(c, line, fmt, "strftime_now");
    time_t now;
    if (c->now_epoch >= 0)
        now = (time_t)c->now_epoch;
    else {
        const char *env = getenv("SOURCE_DATE_EPOCH");
        now = env && *env ? (time_t)strtoll(env, NULL, 10) : time(NULL);
    }
    struct tm tm;
    if (!gmtime_r(&now, &tm)) jfail_at(c->fail, line, "strftime_now: bad time");
    char *format = jf_strndup(c->fail, fmt.u.str.s, fmt.u.str.n);
    char out[512];
    size_t n = fmt.u.str.n ? strftime(out, sizeof out, format, &tm) : 0;
    return jv_strn(jf_strndup(c->fail, out, n), n);
}

static jv global_strftime_now(jctx *c, int line, const jargs *a) {
    return strftime_now(c, line, jarg(a, 0, NULL, jv_cstr("")));
}

typedef struct jglobal {
    const char *name;
    jv (*fn)(jctx *c, int line, const jargs *args);
} jglobal;

static const jglobal GLOBALS[] = {
    {"dict", global_dict},   {"namespace", global_namespace},       {"raise_exception", global_raise_exception},
    {"range", global_range}, {"strftime_now", global_strftime_now},
};

bool jinja_is_global(const char *name) {
    return JNAME_FIND(GLOBALS, name) != NULL;
}

jv jinja_call_builtin(jctx *c, int line, const char *name, const jargs *a) {
    const jglobal *global = JNAME_FIND(GLOBALS, name);
    if (!global) jfail_at(c->fail, line, "'%s' is not callable", name);
    return global->fn(c, line, a);
}
