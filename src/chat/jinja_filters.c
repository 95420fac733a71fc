/*
 * jinja_filters.c — Jinja2 3.1's filters (x|name(args)) for chat templates:
 * one small function each, registered by name in FILTERS, the one list the
 * parser checks names against and jinja_filter dispatches on. tojson follows
 * Hugging Face (json.dumps with ensure_ascii=False). Tests (x is name) are in
 * jinja_tests.c, methods and globals in jinja_methods.c, the str operations
 * in jinja_strings.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"

static bool str_eq(jv v, const char *s) {
    return v.kind == JV_STR && v.u.str.n == strlen(s) && memcmp(v.u.str.s, s, v.u.str.n) == 0;
}

/* An attribute path "a.b.0" looked up item-first, as environment.getitem. */
static jv get_path(jctx *c, int line, jv obj, jv path) {
    if (path.kind != JV_STR) return jinja_getattr(c, line, obj, path, false);
    jf_scan(c->fail, path.u.str.n);
    const char *p = path.u.str.s, *end = p + path.u.str.n;
    while (p <= end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        if (!dot) dot = end;
        jv key = jv_strn(p, (size_t)(dot - p));
        char *endp = NULL;
        char tmp[32];
        if (key.u.str.n && key.u.str.n < sizeof tmp) {
            memcpy(tmp, key.u.str.s, key.u.str.n);
            tmp[key.u.str.n] = 0;
            long long v = strtoll(tmp, &endp, 10);
            if (*endp == 0 && (tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9'))) key = jv_int(v);
        }
        if (obj.kind == JV_UNDEF) return obj;
        obj = jinja_getattr(c, line, obj, key, false);
        p = dot + 1;
    }
    return obj;
}

static jv sort_key(jctx *c, int line, jv v, jv attribute, bool case_sensitive) {
    if (attribute.kind != JV_UNDEF && attribute.kind != JV_NONE) v = get_path(c, line, v, attribute);
    if (!case_sensitive && v.kind == JV_STR) return jstr_case(c, v, CASE_LOWER);
    return v;
}

static jv sorted(jctx *c, int line, jv value, bool reverse, bool case_sensitive, jv attribute) {
    jlist *src = jinja_iterate(c, line, value);
    size_t n = src->n;
    jv out = jv_new_list(c->fail);
    jv *keys = jf_alloc(c->fail, (n + 1) * sizeof(jv));
    size_t *order = jf_alloc(c->fail, (n + 1) * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        keys[i] = sort_key(c, line, src->items[i], attribute, case_sensitive);
        order[i] = i;
    }
    jv_sort_order(c->fail, line, keys, order, n, reverse);
    for (size_t i = 0; i < n; i++) jlist_push(c->fail, out.u.list, src->items[order[i]]);
    return out;
}

/* select/reject/selectattr/rejectattr */
static jv select_items(jctx *c, int line, jv value, const jargs *a, bool by_attr, bool keep) {
    jlist *src = jinja_iterate(c, line, value);
    jv out = jv_new_list(c->fail);
    size_t first_test_arg = by_attr ? 1 : 0;
    jv attribute = by_attr ? jarg(a, 0, NULL, jv_undef(NULL)) : jv_undef(NULL);
    jv test = jarg(a, first_test_arg, NULL, jv_undef(NULL));
    jargs test_args = {0};
    if (a->n_pos > first_test_arg + 1) {
        test_args.pos = a->pos + first_test_arg + 1;
        test_args.n_pos = a->n_pos - first_test_arg - 1;
    }
    for (size_t i = 0; i < src->n; i++) {
        jv item = by_attr ? get_path(c, line, src->items[i], attribute) : src->items[i];
        bool ok;
        if (test.kind == JV_STR) {
            char *name = jf_strndup(c->fail, test.u.str.s, test.u.str.n);
            ok = jinja_test(c, line, name, item, &test_args);
        } else {
            ok = jv_truthy(item);
        }
        if (ok == keep) jlist_push(c->fail, out.u.list, src->items[i]);
    }
    return out;
}

/* A finite double truncated to an int, saturating (Python's ints are unbounded). */
static jv int_of_double(double d) {
    if (d >= 9223372036854775807.0) return jv_int(INT64_MAX);
    if (d <= -9223372036854775808.0) return jv_int(INT64_MIN);
    return jv_int((int64_t)d);
}

static jv to_int(jctx *c, jv v, jv fallback) {
    switch (v.kind) {
    case JV_INT: return v;
    case JV_BOOL: return jv_int(v.u.b);
    case JV_FLOAT: return isfinite(v.u.f) ? int_of_double(v.u.f) : fallback;
    case JV_STR: {
        char *s = jf_strndup(c->fail, v.u.str.s, v.u.str.n), *end;
        while (*s == ' ' || *s == '\t' || *s == '\n') s++;
        long long i = strtoll(s, &end, 10);
        while (*end == ' ' || *end == '\t' || *end == '\n') end++;
        if (end != s && *end == 0) return jv_int(i);
        double d = strtod(s, &end);
        while (*end == ' ' || *end == '\t' || *end == '\n') end++;
        if (end != s && *end == 0 && isfinite(d)) return int_of_double(d);
        return fallback;
    }
    default: return fallback;
    }
}

static jv to_float(jctx *c, jv v, jv fallback) {
    switch (v.kind) {
    case JV_INT: return jv_float((double)v.u.i);
    case JV_BOOL: return jv_float(v.u.b);
    case JV_FLOAT: return v;
    case JV_STR: {
        char *s = jf_strndup(c->fail, v.u.str.s, v.u.str.n), *end;
        double d = strtod(s, &end);
        while (*end == ' ' || *end == '\t' || *end == '\n') end++;
        if (end != s && *end == 0) return jv_float(d);
        return fallback;
    }
    default: return fallback;
    }
}

static jv min_max(jctx *c, int line, jv value, const jargs *a, bool want_max) {
    bool case_sensitive = jv_truthy(jarg(a, 0, "case_sensitive", jv_bool(false)));
    jv attribute = jarg(a, 1, "attribute", jv_none());
    jlist *l = jinja_iterate(c, line, value);
    if (l->n == 0) return jv_undef("min/max of an empty sequence");
    size_t best = 0;
    jv best_key = sort_key(c, line, l->items[0], attribute, case_sensitive);
    for (size_t i = 1; i < l->n; i++) {
        jv k = sort_key(c, line, l->items[i], attribute, case_sensitive);
        int cmp = jv_compare(c->fail, line, k, best_key);
        if (want_max ? cmp > 0 : cmp < 0) {
            best = i;
            best_key = k;
        }
    }
    return l->items[best];
}

/* ---- filters of any value ------------------------------------------------------------ */
static jv filter_default(jctx *c, int line, jv v, const jargs *a) {
    (void)c, (void)line;
    jv fallback = jarg(a, 0, "default_value", jv_cstr(""));
    bool boolean = jv_truthy(jarg(a, 1, "boolean", jv_bool(false)));
    if (v.kind == JV_UNDEF || (boolean && !jv_truthy(v))) return fallback;
    return v;
}

static jv filter_length(jctx *c, int line, jv v, const jargs *a) {
    (void)a;
    switch (v.kind) {
    case JV_UNDEF: return jv_int(0);
    case JV_STR: jf_scan(c->fail, v.u.str.n); return jv_int((int64_t)utf8_length(v.u.str.s, v.u.str.n));
    case JV_LIST: return jv_int((int64_t)v.u.list->n);
    case JV_DICT: return jv_int((int64_t)v.u.dict->n);
    default: jfail_at(c->fail, line, "object of type '%s' has no len()", jv_type_name(v));
    }
}

static jv filter_tojson(jctx *c, int line, jv v, const jargs *a) {
    jv ind = jarg(a, 0, "indent", jv_none());
    int indent = -1;
    if (ind.kind == JV_INT) indent = ind.u.i < 0 ? 0 : ind.u.i > 64 ? 64 : (int)ind.u.i;
    bool sort_keys = jv_truthy(jarg(a, 99, "sort_keys", jv_bool(false)));
    jbuf b = {0};
    jv_tojson(c->fail, line, &b, v, indent, sort_keys, 0);
    return jbuf_value(&b);
}

static jv filter_safe(jctx *c, int line, jv v, const jargs *a) {
    (void)c, (void)line, (void)a;
    return v;
}

static jv filter_string(jctx *c, int line, jv v, const jargs *a) {
    (void)line, (void)a;
    return jv_to_string(c->fail, v);
}

/* ---- sequence filters ----------------------------------------------------------------- */
static jv filter_list(jctx *c, int line, jv v, const jargs *a) {
    (void)a;
    jlist *l = jinja_iterate(c, line, v);
    jv out = jv_new_list(c->fail);
    for (size_t i = 0; i < l->n; i++) jlist_push(c->fail, out.u.list, l->items[i]);
    return out;
}

static jv filter_items(jctx *c, int line, jv v, const jargs *a) {
    (void)a;
    jfail *f = c->fail;
    jv out = jv_new_list(f);
    if (v.kind == JV_UNDEF) return out;
    if (v.kind != JV_DICT) jfail_at(f, line, "can only get item pairs from a mapping");
    for (size_t i = 0; i < v.u.dict->n; i++) {
        jv pair = jv_new_list(f);
        pair.u.list->is_tuple = true;
        jlist_push(f, pair.u.list, v.u.dict->keys[i]);
        jlist_push(f, pair.u.list, v.u.dict->vals[i]);
        jlist_push(f, out.u.list, pair);
    }
    return out;
}

static jv filter_join(jctx *c, int line, jv v, const jargs *a) {
    jfail *f = c->fail;
    jv sep = jarg(a, 0, "d", jv_cstr(""));
    jv attribute = jarg(a, 1, "attribute", jv_none());
    if (attribute.kind != JV_NONE) {
        jlist *l = jinja_iterate(c, line, v);
        jv mapped = jv_new_list(f);
        for (size_t i = 0; i < l->n; i++) jlist_push(f, mapped.u.list, get_path(c, line, l->items[i], attribute));
        v = mapped;
    }
    return jstr_join(c, line, jv_to_string(f, sep), v);
}

static jv filter_first(jctx *c, int line, jv v, const jargs *a) {
    (void)a;
    jlist *l = jinja_iterate(c, line, v);
    return l->n ? l->items[0] : jv_undef("first");
}

static jv filter_last(jctx *c, int line, jv v, const jargs *a) {
    (void)a;
    jlist *l = jinja_iterate(c, line, v);
    return l->n ? l->items[l->n - 1] : jv_undef("last");
}

static jv filter_select(jctx *c, int line, jv v, const jargs *a) {
    return select_items(c, line, v, a, false, true);
}
static jv filter_reject(jctx *c, int line, jv v, const jargs *a) {
    return select_items(c, line, v, a, false, false);
}
static jv filter_selectattr(jctx *c, int line, jv v, const jargs *a) {
    return select_items(c, line, v, a, true, true);
}
static jv filter_rejectattr(jctx *c, int line, jv v, const jargs *a) {
    return select_items(c, line, v, a, true, false);
}

/* map(attribute=...) or map('filter', args...), which calls jinja_filter
 * again: once per argument at most, each a level of nesting. */
static jv filter_map(jctx *c, int line, jv v, const jargs *a) {
    jfail *f = c->fail;
    jlist *l = jinja_iterate(c, line, v);
    jv out = jv_new_list(f);
    jv attribute = jarg(a, 99, "attribute", jv_undef(NULL));
    if (attribute.kind != JV_UNDEF) {
        jv fallback = jarg(a, 99, "default", jv_undef(NULL));
        for (size_t i = 0; i < l->n; i++) {
            jv item = get_path(c, line, l->items[i], attribute);
            jlist_push(f, out.u.list, item.kind == JV_UNDEF && fallback.kind != JV_UNDEF ? fallback : item);
        }
        return out;
    }
    jv filter = jarg(a, 0, NULL, jv_undef(NULL));
    if (filter.kind != JV_STR) jfail_at(f, line, "map requires a filter name or attribute=");
    char *fname = jf_strndup(f, filter.u.str.s, filter.u.str.n);
    jargs rest = {0};
    if (a->n_pos > 1) {
        rest.pos = a->pos + 1;
        rest.n_pos = a->n_pos - 1;
    }
    rest.kw_names = a->kw_names;
    rest.kw = a->kw;
    rest.n_kw = a->n_kw;
    jinja_enter(c, line); /* map('map', 'map', ...) recurses once per argument */
    for (size_t i = 0; i < l->n; i++) jlist_push(f, out.u.list, jinja_filter(c, line, fname, l->items[i], &rest));
    jinja_leave(c);
    return out;
}

static jv filter_sort(jctx *c, int line, jv v, const jargs *a) {
    return sorted(c, line, v, jv_truthy(jarg(a, 0, "reverse", jv_bool(false))),
                  jv_truthy(jarg(a, 1, "case_sensitive", jv_bool(false))), jarg(a, 2, "attribute", jv_none()));
}

static jv filter_unique(jctx *c, int line, jv v, const jargs *a) {
    jfail *f = c->fail;
    bool case_sensitive = jv_truthy(jarg(a, 0, "case_sensitive", jv_bool(false)));
    jv attribute = jarg(a, 1, "attribute", jv_none());
    jlist *l = jinja_iterate(c, line, v);
    jv out = jv_new_list(f), seen = jv_new_list(f);
    for (size_t i = 0; i < l->n; i++) {
        jv key = sort_key(c, line, l->items[i], attribute, case_sensitive);
        bool dup = false;
        for (size_t k = 0; k < seen.u.list->n && !dup; k++) dup = jv_equal(f, seen.u.list->items[k], key);
        if (dup) continue;
        jlist_push(f, seen.u.list, key);
        jlist_push(f, out.u.list, l->items[i]);
    }
    return out;
}

/* A string's code points backwards, or a sequence's items. */
static jv filter_reverse(jctx *c, int line, jv v, const jargs *a) {
    (void)a;
    jfail *f = c->fail;
    if (v.kind == JV_STR) {
        jbuf b = {0};
        for (size_t i = v.u.str.n; i > 0;) {
            size_t k = i - 1;
            while (k > 0 && ((unsigned char)v.u.str.s[k] & 0xC0) == 0x80) k--;
            jbuf_add(f, &b, v.u.str.s + k, i - k);
            i = k;
        }
        return jbuf_value(&b);
    }
    jlist *l = jinja_iterate(c, line, v);
    jv out = jv_new_list(f);
    for (size_t i = l->n; i > 0; i--) jlist_push(f, out.u.list, l->items[i - 1]);
    return out;
}

static jv filter_sum(jctx *c, int line, jv v, const jargs *a) {
    jv attribute = jarg(a, 0, "attribute", jv_none());
    jv total = jarg(a, 1, "start", jv_int(0));
    jlist *l = jinja_iterate(c, line, v);
    for (size_t i = 0; i < l->n; i++) {
        jv item = attribute.kind != JV_NONE ? get_path(c, line, l->items[i], attribute) : l->items[i];
        if (item.kind == JV_INT && total.kind == JV_INT)
            total = jv_int((int64_t)((uint64_t)total.u.i + (uint64_t)item.u.i));
        else if ((item.kind == JV_INT || item.kind == JV_FLOAT || item.kind == JV_BOOL) &&
                 (total.kind == JV_INT || total.kind == JV_FLOAT))
            total = jv_float((total.kind == JV_INT ? (double)total.u.i : total.u.f) + (item.kind == JV_FLOAT ? item.u.f
                                                                                       : item.kind == JV_INT
                                                                                           ? (double)item.u.i
                                                                                           : item.u.b));
        else
            jfail_at(c->fail, line, "unsupported operand type(s) for +: '%s' and '%s'", jv_type_name(total),
                     jv_type_name(item));
    }
    return total;
}

static jv filter_min(jctx *c, int line, jv v, const jargs *a) {
    return min_max(c, line, v, a, false);
}
static jv filter_max(jctx *c, int line, jv v, const jargs *a) {
    return min_max(c, line, v, a, true);
}

static jv filter_batch(jctx *c, int line, jv v, const jargs *a) {
    jfail *f = c->fail;
    jv size = jarg(a, 0, "linecount", jv_int(1));
    jv fill = jarg(a, 1, "fill_with", jv_none());
    if (size.kind != JV_INT || size.u.i <= 0) jfail_at(f, line, "batch size must be a positive integer");
    jlist *l = jinja_iterate(c, line, v);
    jv out = jv_new_list(f), cur = {0};
    for (size_t i = 0; i < l->n; i++) {
        if (i % (size_t)size.u.i == 0) {
            cur = jv_new_list(f);
            jlist_push(f, out.u.list, cur);
        }
        jlist_push(f, cur.u.list, l->items[i]);
    }
    if (fill.kind != JV_NONE && cur.kind == JV_LIST)
        while (cur.u.list->n < (size_t)size.u.i) jlist_push(f, cur.u.list, fill);
    return out;
}

/* ---- number filters ------------------------------------------------------------------- */
static jv filter_int(jctx *c, int line, jv v, const jargs *a) {
    (void)line;
    return to_int(c, v, jarg(a, 0, "default", jv_int(0)));
}

static jv filter_float(jctx *c, int line, jv v, const jargs *a) {
    (void)line;
    return to_float(c, v, jarg(a, 0, "default", jv_float(0.0)));
}

static jv filter_abs(jctx *c, int line, jv v, const jargs *a) {
    (void)a;
    if (v.kind == JV_INT) return jv_int(v.u.i < 0 ? (int64_t)(0 - (uint64_t)v.u.i) : v.u.i);
    if (v.kind == JV_FLOAT) return jv_float(fabs(v.u.f));
    if (v.kind == JV_BOOL) return jv_int(v.u.b);
    jfail_at(c->fail, line, "bad operand type for abs(): '%s'", jv_type_name(v));
}

static jv filter_round(jctx *c, int line, jv v, const jargs *a) {
    jv precision = jarg(a, 0, "precision", jv_int(0));
    jv method = jarg(a, 1, "method", jv_cstr("common"));
    if (v.kind != JV_INT && v.kind != JV_FLOAT && v.kind != JV_BOOL)
        jfail_at(c->fail, line, "round expects a number, got '%s'", jv_type_name(v));
    double x = v.kind == JV_FLOAT ? v.u.f : v.kind == JV_INT ? (double)v.u.i : v.u.b;
    double scale = pow(10.0, (double)(precision.kind == JV_INT ? precision.u.i : 0));
    double r;
    if (str_eq(method, "ceil"))
        r = ceil(x * scale) / scale;
    else if (str_eq(method, "floor"))
        r = floor(x * scale) / scale;
    else if (str_eq(method, "common"))
        r = nearbyint(x * scale) / scale; /* Python rounds half to even */
    else
        jfail_at(c->fail, line, "method must be 'common', 'ceil' or 'floor'");
    return jv_float(r);
}

/* ---- string filters: their value has been through str() (str_value in FILTERS) -------- */
static jv filter_escape(jctx *c, int line, jv s, const jargs *a) {
    (void)line, (void)a;
    jbuf b = {0};
    for (size_t i = 0; i < s.u.str.n; i++) {
        char ch = s.u.str.s[i];
        switch (ch) {
        case '&': jbuf_adds(c->fail, &b, "&amp;"); break;
        case '<': jbuf_adds(c->fail, &b, "&lt;"); break;
        case '>': jbuf_adds(c->fail, &b, "&gt;"); break;
        case '"': jbuf_adds(c->fail, &b, "&#34;"); break;
        case '\'': jbuf_adds(c->fail, &b, "&#39;"); break;
        default: jbuf_addc(c->fail, &b, ch);
        }
    }
    return jbuf_value(&b);
}

static jv filter_replace(jctx *c, int line, jv s, const jargs *a) {
    (void)line;
    jv old = jv_to_string(c->fail, jarg(a, 0, "old", jv_cstr("")));
    jv new_text = jv_to_string(c->fail, jarg(a, 1, "new", jv_cstr("")));
    jv count = jarg(a, 2, "count", jv_none());
    return jstr_replace(c, s, old, new_text, count.kind == JV_INT ? count.u.i : -1);
}

static jv filter_indent(jctx *c, int line, jv s, const jargs *a) {
    (void)line;
    return jstr_indent(c, s, jarg(a, 0, "width", jv_int(4)), jv_truthy(jarg(a, 1, "first", jv_bool(false))),
                       jv_truthy(jarg(a, 2, "blank", jv_bool(false))));
}

static jv filter_wordcount(jctx *c, int line, jv s, const jargs *a) {
    (void)a;
    jv words = jstr_split(c, line, s, jv_none(), -1);
    return jv_int((int64_t)words.u.list->n);
}

static jv filter_center(jctx *c, int line, jv s, const jargs *a) {
    (void)line;
    jv width = jarg(a, 0, "width", jv_int(80));
    int64_t len = (int64_t)utf8_length(s.u.str.s, s.u.str.n);
    int64_t w = width.kind == JV_INT ? width.u.i : 80;
    if (w > 100000) w = 100000;
    if (w <= len) return s;
    int64_t total = w - len, left = total / 2 + (total & w & 1);
    jbuf b = {0};
    for (int64_t i = 0; i < left; i++) jbuf_addc(c->fail, &b, ' ');
    jbuf_add(c->fail, &b, s.u.str.s, s.u.str.n);
    for (int64_t i = 0; i < total - left; i++) jbuf_addc(c->fail, &b, ' ');
    return jbuf_value(&b);
}

/* ---- the table ------------------------------------------------------------------------ */
typedef struct jfilter {
    const char *name;
    jcall_fn *fn;
    bool str_value; /* Jinja2 converts the value with str() first */
} jfilter;

/* Every filter a template may name, in alphabetical order. */
static const jfilter FILTERS[] = {
    {"abs", filter_abs, false},
    {"batch", filter_batch, false},
    {"capitalize", jstr_call_capitalize, true},
    {"center", filter_center, true},
    {"count", filter_length, false},
    {"d", filter_default, false},
    {"default", filter_default, false},
    {"e", filter_escape, true},
    {"escape", filter_escape, true},
    {"first", filter_first, false},
    {"float", filter_float, false},
    {"forceescape", filter_escape, true},
    {"indent", filter_indent, true},
    {"int", filter_int, false},
    {"items", filter_items, false},
    {"join", filter_join, false},
    {"last", filter_last, false},
    {"length", filter_length, false},
    {"list", filter_list, false},
    {"lower", jstr_call_lower, true},
    {"map", filter_map, false},
    {"max", filter_max, false},
    {"min", filter_min, false},
    {"reject", filter_reject, false},
    {"rejectattr", filter_rejectattr, false},
    {"replace", filter_replace, true},
    {"reverse", filter_reverse, false},
    {"round", filter_round, false},
    {"safe", filter_safe, false},
    {"select", filter_select, false},
    {"selectattr", filter_selectattr, false},
    {"sort", filter_sort, false},
    {"string", filter_string, false},
    {"sum", filter_sum, false},
    {"title", jstr_call_title, true},
    {"tojson", filter_tojson, false},
    {"trim", jstr_call_strip, true},
    {"unique", filter_unique, false},
    {"upper", jstr_call_upper, true},
    {"wordcount", filter_wordcount, true},
};

bool jinja_filter_known(const char *name) {
    return JNAME_FIND(FILTERS, name) != NULL;
}

jv jinja_filter(jctx *c, int line, const char *name, jv v, const jargs *a) {
    const jfilter *filter = JNAME_FIND(FILTERS, name);
    /* An unknown name (only map('name') gets one past the parser) is charged
     * like a string filter before it fails. */
    if (!filter || filter->str_value) {
        v = jv_to_string(c->fail, v);
        jf_scan(c->fail, v.u.str.n);
    }
    if (!filter) jfail_at(c->fail, line, "unknown filter '%s'", name);
    return filter->fn(c, line, v, a);
}
