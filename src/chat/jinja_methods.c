/*
 * jinja_methods.c — what a chat template can call besides filters: methods
 * of str, dict and list values (strip, split, startswith, get, items,
 * append, ...) with Python's behaviour, and the globals range(),
 * namespace(), dict(), raise_exception() and strftime_now().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat/jinja_internal.h"

/* ---- methods ---------------------------------------------------------------------------- */
static const char *const STR_METHODS[] = {"strip", "lstrip", "rstrip", "split", "startswith", "endswith",
                                          "upper", "lower", "title", "capitalize", "replace", "find",
                                          "count", "join", "format", "rfind", "splitlines", "isdigit",
                                          "isalpha", "isspace", NULL};
static const char *const DICT_METHODS[] = {"get", "items", "keys", "values", "pop", "update", "setdefault", "copy", NULL};
static const char *const LIST_METHODS[] = {"append", "pop", "extend", "insert", "index", "count", "copy", NULL};

jv jinja_get_method(jctx *c, jv self, const char *name) {
    const char *const *set = self.kind == JV_STR ? STR_METHODS
                             : self.kind == JV_DICT && !self.u.dict->is_namespace ? DICT_METHODS
                             : self.kind == JV_LIST ? LIST_METHODS : NULL;
    if (!set || !jname_in(name, set)) return jv_undef(name);
    return jv_method(c, JF_METHOD, name, self);
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
static jv format(jctx *c, int line, jv s, const jargs *a) {
    jbuf b = {0};
    size_t auto_index = 0;
    const char *p = s.u.str.s;
    size_t n = s.u.str.n;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '{' && i + 1 < n && p[i + 1] == '{') { jbuf_addc(c->fail, &b, '{'); i++; continue; }
        if (p[i] == '}' && i + 1 < n && p[i + 1] == '}') { jbuf_addc(c->fail, &b, '}'); i++; continue; }
        if (p[i] != '{') { jbuf_addc(c->fail, &b, p[i]); continue; }
        const char *close = memchr(p + i, '}', n - i);
        if (!close) jfail_at(c->fail, line, "Single '{' encountered in format string");
        size_t field_len = (size_t)(close - (p + i + 1));
        const char *field = p + i + 1;
        jv value = jv_undef(NULL);
        if (field_len == 0) value = jarg(a, auto_index++, NULL, jv_undef(NULL));
        else if (field[0] >= '0' && field[0] <= '9') value = jarg(a, (size_t)atoi(field), NULL, jv_undef(NULL));
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

jv jinja_call_method(jctx *c, int line, const jfunc *fn, const jargs *a) {
    jfail *f = c->fail;
    const char *name = fn->name;
    jv self = fn->self;
    /* A str method's work is at most a few passes over the string; list and
     * dict methods charge what they move (lookups charge themselves). */
    if (self.kind == JV_STR) jf_scan(f, self.u.str.n);
    else jf_work(f, 1);
    if (self.kind == JV_STR) {
        if (!strcmp(name, "strip")) return jstr_strip(c, line, self, jarg(a, 0, "chars", jv_none()), true, true);
        if (!strcmp(name, "lstrip")) return jstr_strip(c, line, self, jarg(a, 0, "chars", jv_none()), true, false);
        if (!strcmp(name, "rstrip")) return jstr_strip(c, line, self, jarg(a, 0, "chars", jv_none()), false, true);
        if (!strcmp(name, "split")) {
            jv maxsplit = jarg(a, 1, "maxsplit", jv_int(-1));
            return jstr_split(c, line, self, jarg(a, 0, "sep", jv_none()), maxsplit.kind == JV_INT ? maxsplit.u.i : -1);
        }
        if (!strcmp(name, "startswith") || !strcmp(name, "endswith"))
            return jv_bool(jstr_affix(c, line, self, jarg(a, 0, NULL, jv_cstr("")), name[0] == 's'));
        if (!strcmp(name, "upper")) return jstr_case(c, self, CASE_UPPER);
        if (!strcmp(name, "lower")) return jstr_case(c, self, CASE_LOWER);
        if (!strcmp(name, "title")) return jstr_title(c, self);
        if (!strcmp(name, "capitalize")) return jstr_capitalize(c, self);
        if (!strcmp(name, "replace")) {
            jv old = jarg_str(c, line, jarg(a, 0, NULL, jv_undef(NULL)), "replace");
            jv new_text = jarg_str(c, line, jarg(a, 1, NULL, jv_undef(NULL)), "replace");
            jv count = jarg(a, 2, "count", jv_int(-1));
            return jstr_replace(c, self, old, new_text, count.kind == JV_INT ? count.u.i : -1);
        }
        if (!strcmp(name, "find") || !strcmp(name, "rfind")) {
            jv sub = jarg_str(c, line, jarg(a, 0, NULL, jv_undef(NULL)), name);
            const char *hit = NULL;
            if (name[0] == 'f') hit = jstr_find(f, self.u.str.s, self.u.str.n, sub.u.str.s, sub.u.str.n);
            else
                for (size_t i = self.u.str.n + 1; i-- > 0 && !hit;) {
                    jf_scan(f, sub.u.str.n);
                    if (i + sub.u.str.n <= self.u.str.n && memcmp(self.u.str.s + i, sub.u.str.s, sub.u.str.n) == 0)
                        hit = self.u.str.s + i;
                }
            if (!hit) return jv_int(-1);
            jf_scan(f, self.u.str.n);
            return jv_int((int64_t)utf8_length(self.u.str.s, (size_t)(hit - self.u.str.s)));
        }
        if (!strcmp(name, "count"))
            return jv_int(count_sub(f, self, jarg_str(c, line, jarg(a, 0, NULL, jv_undef(NULL)), "count")));
        if (!strcmp(name, "join")) return jstr_join(c, line, self, jarg(a, 0, NULL, jv_new_list(f)));
        if (!strcmp(name, "format")) return format(c, line, self, a);
        if (!strcmp(name, "splitlines")) {
            jv out = jv_new_list(f);
            jv text = jstr_indent(c, self, jv_cstr(""), false, false); /* normalizes line breaks to \n */
            if (text.u.str.n == 0) return out;
            jv parts = jstr_split(c, line, text, jv_cstr("\n"), -1);
            size_t keep = parts.u.list->n;
            if (self.u.str.n && (self.u.str.s[self.u.str.n - 1] == '\n' || self.u.str.s[self.u.str.n - 1] == '\r')) keep--;
            for (size_t i = 0; i < keep; i++) jlist_push(f, out.u.list, parts.u.list->items[i]);
            return out;
        }
        if (!strcmp(name, "isdigit") || !strcmp(name, "isalpha") || !strcmp(name, "isspace")) {
            if (self.u.str.n == 0) return jv_bool(false);
            for (size_t i = 0; i < self.u.str.n; i++) {
                unsigned char ch = (unsigned char)self.u.str.s[i];
                bool ok = name[2] == 'd' ? (ch >= '0' && ch <= '9')
                          : name[2] == 'a' ? ((ch | 32) >= 'a' && (ch | 32) <= 'z')
                                           : (ch == ' ' || (ch >= 9 && ch <= 13));
                if (!ok) return jv_bool(false);
            }
            return jv_bool(true);
        }
    } else if (self.kind == JV_DICT) {
        jdict *d = self.u.dict;
        if (!strcmp(name, "get")) {
            jv *v = jdict_get(f, d, jarg(a, 0, NULL, jv_none()));
            return v ? *v : jarg(a, 1, NULL, jv_none());
        }
        if (!strcmp(name, "items") || !strcmp(name, "keys") || !strcmp(name, "values")) {
            jv out = jv_new_list(f);
            for (size_t i = 0; i < d->n; i++) {
                if (name[0] == 'k') jlist_push(f, out.u.list, d->keys[i]);
                else if (name[0] == 'v') jlist_push(f, out.u.list, d->vals[i]);
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
        if (!strcmp(name, "copy")) {
            jv out = jv_new_dict(f);
            for (size_t i = 0; i < d->n; i++) jdict_set(f, out.u.dict, d->keys[i], d->vals[i]);
            return out;
        }
        if (!strcmp(name, "pop") || !strcmp(name, "setdefault")) {
            jv key = jarg(a, 0, NULL, jv_none());
            jv *v = jdict_get(f, d, key);
            if (name[0] == 's') {
                if (v) return *v;
                jdict_set(f, d, key, jarg(a, 1, NULL, jv_none()));
                return jarg(a, 1, NULL, jv_none());
            }
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
        if (!strcmp(name, "update")) {
            jv other = jarg(a, 0, NULL, jv_undef(NULL));
            if (other.kind == JV_DICT)
                for (size_t i = 0; i < other.u.dict->n; i++) jdict_set(f, d, other.u.dict->keys[i], other.u.dict->vals[i]);
            for (size_t k = 0; k < a->n_kw; k++) jdict_set(f, d, jv_cstr(a->kw_names[k]), a->kw[k]);
            return jv_none();
        }
    } else if (self.kind == JV_LIST) {
        jlist *l = self.u.list;
        if (l->is_tuple && (!strcmp(name, "append") || !strcmp(name, "pop") || !strcmp(name, "extend") ||
                            !strcmp(name, "insert")))
            jfail_at(f, line, "'tuple' object has no attribute '%s'", name);
        if (!strcmp(name, "append")) {
            jlist_push(f, l, jarg(a, 0, NULL, jv_none()));
            return jv_none();
        }
        if (!strcmp(name, "extend")) {
            jlist *other = jinja_iterate(c, line, jarg(a, 0, NULL, jv_new_list(f)));
            size_t n = other->n;
            for (size_t i = 0; i < n; i++) jlist_push(f, l, other->items[i]);
            return jv_none();
        }
        if (!strcmp(name, "pop")) {
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
        if (!strcmp(name, "insert")) {
            jv index = jarg(a, 0, NULL, jv_int(0));
            int64_t i = index.kind == JV_INT ? index.u.i : 0;
            if (i < 0) i += (int64_t)l->n;
            if (i < 0) i = 0;
            if (i > (int64_t)l->n) i = (int64_t)l->n;
            jlist_push(f, l, jv_none());
            jf_scan(f, (l->n - 1 - (size_t)i) * sizeof(jv));
            memmove(l->items + i + 1, l->items + i, (l->n - 1 - (size_t)i) * sizeof(jv));
            l->items[i] = jarg(a, 1, NULL, jv_none());
            return jv_none();
        }
        if (!strcmp(name, "index") || !strcmp(name, "count")) {
            jv needle = jarg(a, 0, NULL, jv_none());
            int64_t count = 0;
            for (size_t i = 0; i < l->n; i++)
                if (jv_equal(f, l->items[i], needle)) {
                    if (name[0] == 'i') return jv_int((int64_t)i);
                    count++;
                }
            if (name[0] == 'i') jfail_at(f, line, "value is not in list");
            return jv_int(count);
        }
        if (!strcmp(name, "copy")) {
            jv out = jv_new_list(f);
            for (size_t i = 0; i < l->n; i++) jlist_push(f, out.u.list, l->items[i]);
            return out;
        }
    }
    jfail_at(f, line, "'%s' object has no method '%s'", jv_type_name(self), name);
}

/* ---- globals ------------------------------------------------------------------------------ */
static const char *const GLOBALS[] = {"range", "namespace", "dict", "raise_exception", "strftime_now", NULL};

bool jinja_is_global(const char *name) { return jname_in(name, GLOBALS); }

static jv strftime_now(jctx *c, int line, jv fmt) {
    jarg_str(c, line, fmt, "strftime_now");
    time_t now;
    if (c->now_epoch >= 0) now = (time_t)c->now_epoch;
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

jv jinja_call_builtin(jctx *c, int line, const char *name, const jargs *a) {
    jfail *f = c->fail;
    if (!strcmp(name, "range")) {
        int64_t start = 0, stop, step = 1;
        for (size_t i = 0; i < a->n_pos; i++)
            if (a->pos[i].kind != JV_INT) jfail_at(f, line, "range() expects integers");
        if (a->n_pos == 1) stop = a->pos[0].u.i;
        else if (a->n_pos == 2 || a->n_pos == 3) {
            start = a->pos[0].u.i;
            stop = a->pos[1].u.i;
            if (a->n_pos == 3) step = a->pos[2].u.i;
        } else jfail_at(f, line, "range expected 1 to 3 arguments");
        if (step == 0) jfail_at(f, line, "range() arg 3 must not be zero");
        jv out = jv_new_list(f);
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
            if (out.u.list->n >= 100000) jfail_at(f, line, "range too big");
            jlist_push(f, out.u.list, jv_int(i));
            if (step > 0 ? i > INT64_MAX - step : i < INT64_MIN - step) break; /* the next would overflow */
        }
        return out;
    }
    if (!strcmp(name, "namespace") || !strcmp(name, "dict")) {
        jv out = jv_new_dict(f);
        out.u.dict->is_namespace = name[0] == 'n';
        for (size_t i = 0; i < a->n_pos; i++)
            if (a->pos[i].kind == JV_DICT)
                for (size_t k = 0; k < a->pos[i].u.dict->n; k++)
                    jdict_set(f, out.u.dict, a->pos[i].u.dict->keys[k], a->pos[i].u.dict->vals[k]);
        for (size_t k = 0; k < a->n_kw; k++) jdict_set(f, out.u.dict, jv_cstr(a->kw_names[k]), a->kw[k]);
        return out;
    }
    if (!strcmp(name, "raise_exception")) {
        jv msg = jv_to_string(f, jarg(a, 0, NULL, jv_cstr("")));
        jfail_at(f, line, "%.*s", (int)(msg.u.str.n > 380 ? 380 : msg.u.str.n), msg.u.str.s);
    }
    if (!strcmp(name, "strftime_now")) return strftime_now(c, line, jarg(a, 0, NULL, jv_cstr("")));
    jfail_at(f, line, "'%s' is not callable", name);
}
