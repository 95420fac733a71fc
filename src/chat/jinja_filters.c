/*
 * jinja_filters.c — Jinja2 3.1's filters (x|name(args)) and tests
 * (x is name) for chat templates; tojson follows Hugging Face (json.dumps
 * with ensure_ascii=False). Methods and globals are in jinja_methods.c,
 * the str operations in jinja_strings.c.
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

static jv tojson(jctx *c, int line, jv value, const jargs *a) {
    jv ind = jarg(a, 0, "indent", jv_none());
    int indent = -1;
    if (ind.kind == JV_INT) indent = ind.u.i < 0 ? 0 : ind.u.i > 64 ? 64 : (int)ind.u.i;
    bool sort_keys = jv_truthy(jarg(a, 99, "sort_keys", jv_bool(false)));
    jbuf b = {0};
    jv_tojson(c->fail, line, &b, value, indent, sort_keys, 0);
    return jbuf_value(&b);
}

static jv escape_html(jctx *c, jv s) {
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

static int64_t length_of(jctx *c, int line, jv v) {
    switch (v.kind) {
    case JV_UNDEF: return 0;
    case JV_STR: jf_scan(c->fail, v.u.str.n); return (int64_t)utf8_length(v.u.str.s, v.u.str.n);
    case JV_LIST: return (int64_t)v.u.list->n;
    case JV_DICT: return (int64_t)v.u.dict->n;
    default: jfail_at(c->fail, line, "object of type '%s' has no len()", jv_type_name(v));
    }
}

static const char *const FILTERS[] = {
    "default", "d", "length", "count", "tojson", "safe", "string", "list", "items", "join", "first", "last",
    "selectattr", "rejectattr", "select", "reject", "map", "sort", "unique", "reverse", "sum", "min", "max",
    "int", "float", "abs", "round", "batch", "trim", "upper", "lower", "capitalize", "title", "e", "escape",
    "forceescape", "replace", "indent", "wordcount", "center", NULL};
static const char *const TESTS[] = {
    "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "mapping", "iterable",
    "sequence", "callable", "true", "false", "equalto", "eq", "==", "ne", "!=", "lt", "lessthan", "le", "gt",
    "greaterthan", "ge", "sameas", "odd", "even", "divisibleby", "in", "lower", "upper", NULL};

bool jinja_filter_known(const char *name) { return jname_in(name, FILTERS); }
bool jinja_test_known(const char *name) { return jname_in(name, TESTS); }

/* Every filter but map; not inlined, so that map's recursion through
 * jinja_filter keeps small stack frames. */
static JINJA_NOINLINE jv apply_filter(jctx *c, int line, const char *name, jv v, const jargs *a) {
    jfail *f = c->fail;
    if (!strcmp(name, "default") || !strcmp(name, "d")) {
        jv fallback = jarg(a, 0, "default_value", jv_cstr(""));
        bool boolean = jv_truthy(jarg(a, 1, "boolean", jv_bool(false)));
        if (v.kind == JV_UNDEF || (boolean && !jv_truthy(v))) return fallback;
        return v;
    }
    if (!strcmp(name, "length") || !strcmp(name, "count")) return jv_int(length_of(c, line, v));
    if (!strcmp(name, "tojson")) return tojson(c, line, v, a);
    if (!strcmp(name, "safe")) return v;
    if (!strcmp(name, "string")) return jv_to_string(f, v);
    if (!strcmp(name, "list")) {
        jlist *l = jinja_iterate(c, line, v);
        jv out = jv_new_list(f);
        for (size_t i = 0; i < l->n; i++) jlist_push(f, out.u.list, l->items[i]);
        return out;
    }
    if (!strcmp(name, "items")) {
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
    if (!strcmp(name, "join")) {
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
    if (!strcmp(name, "first") || !strcmp(name, "last")) {
        jlist *l = jinja_iterate(c, line, v);
        if (l->n == 0) return jv_undef(name);
        return name[0] == 'f' ? l->items[0] : l->items[l->n - 1];
    }
    if (!strcmp(name, "selectattr") || !strcmp(name, "rejectattr"))
        return select_items(c, line, v, a, true, name[0] == 's');
    if (!strcmp(name, "select") || !strcmp(name, "reject"))
        return select_items(c, line, v, a, false, name[0] == 's');
    if (!strcmp(name, "sort")) {
        return sorted(c, line, v, jv_truthy(jarg(a, 0, "reverse", jv_bool(false))),
                      jv_truthy(jarg(a, 1, "case_sensitive", jv_bool(false))), jarg(a, 2, "attribute", jv_none()));
    }
    if (!strcmp(name, "unique")) {
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
    if (!strcmp(name, "reverse")) {
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
    if (!strcmp(name, "sum")) {
        jv attribute = jarg(a, 0, "attribute", jv_none());
        jv total = jarg(a, 1, "start", jv_int(0));
        jlist *l = jinja_iterate(c, line, v);
        for (size_t i = 0; i < l->n; i++) {
            jv item = attribute.kind != JV_NONE ? get_path(c, line, l->items[i], attribute) : l->items[i];
            if (item.kind == JV_INT && total.kind == JV_INT) total = jv_int((int64_t)((uint64_t)total.u.i + (uint64_t)item.u.i));
            else if ((item.kind == JV_INT || item.kind == JV_FLOAT || item.kind == JV_BOOL) &&
                     (total.kind == JV_INT || total.kind == JV_FLOAT))
                total = jv_float((total.kind == JV_INT ? (double)total.u.i : total.u.f) +
                                 (item.kind == JV_FLOAT ? item.u.f : item.kind == JV_INT ? (double)item.u.i : item.u.b));
            else jfail_at(f, line, "unsupported operand type(s) for +: '%s' and '%s'", jv_type_name(total), jv_type_name(item));
        }
        return total;
    }
    if (!strcmp(name, "min") || !strcmp(name, "max")) return min_max(c, line, v, a, name[1] == 'a');
    if (!strcmp(name, "int")) return to_int(c, v, jarg(a, 0, "default", jv_int(0)));
    if (!strcmp(name, "float")) return to_float(c, v, jarg(a, 0, "default", jv_float(0.0)));
    if (!strcmp(name, "abs")) {
        if (v.kind == JV_INT) return jv_int(v.u.i < 0 ? (int64_t)(0 - (uint64_t)v.u.i) : v.u.i);
        if (v.kind == JV_FLOAT) return jv_float(fabs(v.u.f));
        if (v.kind == JV_BOOL) return jv_int(v.u.b);
        jfail_at(f, line, "bad operand type for abs(): '%s'", jv_type_name(v));
    }
    if (!strcmp(name, "round")) {
        jv precision = jarg(a, 0, "precision", jv_int(0));
        jv method = jarg(a, 1, "method", jv_cstr("common"));
        if (v.kind != JV_INT && v.kind != JV_FLOAT && v.kind != JV_BOOL)
            jfail_at(f, line, "round expects a number, got '%s'", jv_type_name(v));
        double x = v.kind == JV_FLOAT ? v.u.f : v.kind == JV_INT ? (double)v.u.i : v.u.b;
        double scale = pow(10.0, (double)(precision.kind == JV_INT ? precision.u.i : 0));
        double r;
        if (str_eq(method, "ceil")) r = ceil(x * scale) / scale;
        else if (str_eq(method, "floor")) r = floor(x * scale) / scale;
        else if (str_eq(method, "common")) r = nearbyint(x * scale) / scale; /* Python rounds half to even */
        else jfail_at(f, line, "method must be 'common', 'ceil' or 'floor'");
        return jv_float(r);
    }
    if (!strcmp(name, "batch")) {
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
    /* string filters: Jinja2 converts the value with str() first */
    jv s = jv_to_string(f, v);
    jf_scan(f, s.u.str.n);
    if (!strcmp(name, "trim")) return jstr_strip(c, line, s, jarg(a, 0, "chars", jv_none()), true, true);
    if (!strcmp(name, "upper")) return jstr_case(c, s, CASE_UPPER);
    if (!strcmp(name, "lower")) return jstr_case(c, s, CASE_LOWER);
    if (!strcmp(name, "capitalize")) return jstr_capitalize(c, s);
    if (!strcmp(name, "title")) return jstr_title(c, s);
    if (!strcmp(name, "e") || !strcmp(name, "escape") || !strcmp(name, "forceescape")) return escape_html(c, s);
    if (!strcmp(name, "replace")) {
        jv old = jv_to_string(f, jarg(a, 0, "old", jv_cstr("")));
        jv new_text = jv_to_string(f, jarg(a, 1, "new", jv_cstr("")));
        jv count = jarg(a, 2, "count", jv_none());
        return jstr_replace(c, s, old, new_text, count.kind == JV_INT ? count.u.i : -1);
    }
    if (!strcmp(name, "indent")) {
        return jstr_indent(c, s, jarg(a, 0, "width", jv_int(4)), jv_truthy(jarg(a, 1, "first", jv_bool(false))),
                      jv_truthy(jarg(a, 2, "blank", jv_bool(false))));
    }
    if (!strcmp(name, "wordcount")) {
        jv words = jstr_split(c, line, s, jv_none(), -1);
        return jv_int((int64_t)words.u.list->n);
    }
    if (!strcmp(name, "center")) {
        jv width = jarg(a, 0, "width", jv_int(80));
        int64_t len = (int64_t)utf8_length(s.u.str.s, s.u.str.n);
        int64_t w = width.kind == JV_INT ? width.u.i : 80;
        if (w > 100000) w = 100000;
        if (w <= len) return s;
        int64_t total = w - len, left = total / 2 + (total & w & 1);
        jbuf b = {0};
        for (int64_t i = 0; i < left; i++) jbuf_addc(f, &b, ' ');
        jbuf_add(f, &b, s.u.str.s, s.u.str.n);
        for (int64_t i = 0; i < total - left; i++) jbuf_addc(f, &b, ' ');
        return jbuf_value(&b);
    }
    jfail_at(f, line, "unknown filter '%s'", name);
}

/* map(attribute=...) or map('filter', args...), which calls jinja_filter
 * again: once per argument at most, each a level of nesting. */
static jv map_filter(jctx *c, int line, jv v, const jargs *a) {
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

jv jinja_filter(jctx *c, int line, const char *name, jv v, const jargs *a) {
    if (!strcmp(name, "map")) return map_filter(c, line, v, a);
    return apply_filter(c, line, name, v, a);
}

/* ---- tests ---------------------------------------------------------------------------- */
bool jinja_test(jctx *c, int line, const char *name, jv v, const jargs *a) {
    jv other = jarg(a, 0, NULL, jv_undef(NULL));
    if (!strcmp(name, "defined")) return v.kind != JV_UNDEF;
    if (!strcmp(name, "undefined")) return v.kind == JV_UNDEF;
    if (!strcmp(name, "none")) return v.kind == JV_NONE;
    if (!strcmp(name, "string")) return v.kind == JV_STR;
    if (!strcmp(name, "number")) return v.kind == JV_INT || v.kind == JV_FLOAT || v.kind == JV_BOOL;
    if (!strcmp(name, "integer")) return v.kind == JV_INT;
    if (!strcmp(name, "float")) return v.kind == JV_FLOAT;
    if (!strcmp(name, "boolean")) return v.kind == JV_BOOL;
    if (!strcmp(name, "mapping")) return v.kind == JV_DICT && !v.u.dict->is_namespace;
    if (!strcmp(name, "iterable")) return v.kind == JV_STR || v.kind == JV_LIST || v.kind == JV_UNDEF ||
                                          (v.kind == JV_DICT && !v.u.dict->is_namespace);
    if (!strcmp(name, "sequence")) return v.kind == JV_STR || v.kind == JV_LIST || v.kind == JV_UNDEF ||
                                          (v.kind == JV_DICT && !v.u.dict->is_namespace);
    if (!strcmp(name, "callable")) return v.kind == JV_FUNC;
    if (!strcmp(name, "true")) return v.kind == JV_BOOL && v.u.b;
    if (!strcmp(name, "false")) return v.kind == JV_BOOL && !v.u.b;
    if (!strcmp(name, "equalto") || !strcmp(name, "eq") || !strcmp(name, "==")) return jv_equal(c->fail, v, other);
    if (!strcmp(name, "ne") || !strcmp(name, "!=")) return !jv_equal(c->fail, v, other);
    if (!strcmp(name, "lt") || !strcmp(name, "lessthan")) return jv_compare(c->fail, line, v, other) < 0;
    if (!strcmp(name, "le")) return jv_compare(c->fail, line, v, other) <= 0;
    if (!strcmp(name, "gt") || !strcmp(name, "greaterthan")) return jv_compare(c->fail, line, v, other) > 0;
    if (!strcmp(name, "ge")) return jv_compare(c->fail, line, v, other) >= 0;
    if (!strcmp(name, "sameas")) {
        if (v.kind != other.kind) return false;
        if (v.kind == JV_LIST) return v.u.list == other.u.list;
        if (v.kind == JV_DICT) return v.u.dict == other.u.dict;
        return jv_equal(c->fail, v, other);
    }
    if (!strcmp(name, "odd") || !strcmp(name, "even") || !strcmp(name, "divisibleby")) {
        if (v.kind != JV_INT) jfail_at(c->fail, line, "test '%s' expects an integer", name);
        if (name[0] == 'o') return (v.u.i % 2) != 0;
        if (name[0] == 'e') return (v.u.i % 2) == 0;
        if (other.kind != JV_INT || other.u.i == 0) jfail_at(c->fail, line, "divisibleby needs a non-zero integer");
        return other.u.i == -1 || v.u.i % other.u.i == 0;
    }
    if (!strcmp(name, "in")) {
        if (other.kind == JV_STR) {
            if (v.kind != JV_STR) jfail_at(c->fail, line, "'in <string>' requires string as left operand");
            return jstr_find(c->fail, other.u.str.s, other.u.str.n, v.u.str.s, v.u.str.n) != NULL;
        }
        if (other.kind == JV_DICT) return jdict_get(c->fail, other.u.dict, v) != NULL;
        jlist *l = jinja_iterate(c, line, other);
        for (size_t i = 0; i < l->n; i++)
            if (jv_equal(c->fail, l->items[i], v)) return true;
        return false;
    }
    if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        if (v.kind != JV_STR) return false;
        bool upper = name[0] == 'u', cased = false;
        jv lowered = jstr_case(c, v, upper ? CASE_UPPER : CASE_LOWER);
        jv other_case = jstr_case(c, v, upper ? CASE_LOWER : CASE_UPPER);
        cased = !jv_equal(c->fail, other_case, v);
        return cased && jv_equal(c->fail, lowered, v);
    }
    jfail_at(c->fail, line, "unknown test '%s'", name);
}

