/*
 * jinja_value.c — the Jinja engine's memory (an arena freed once per template
 * or render), its error jump, and its runtime values with Python's meaning
 * of truth, equality, ordering, str(), repr() and json.dumps().
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"
#include "util/buffer.h"

/* ---- arena ------------------------------------------------------------------ */
typedef struct jblock {
    struct jblock *next;
    size_t used, size;
    max_align_t data[];
} jblock;

struct jarena {
    jblock *head;
    size_t total; /* bytes of all blocks */
};

jarena *ja_new(void) {
    return calloc(1, sizeof(jarena));
}

void ja_free(jarena *a) {
    if (!a) return;
    for (jblock *b = a->head; b;) {
        jblock *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

void *ja_alloc(jarena *a, size_t n, size_t limit, bool *over_limit) {
    size_t align = sizeof(max_align_t);
    *over_limit = false;
    if (n > SIZE_MAX / 2) {
        *over_limit = true;
        return NULL;
    }
    n = (n + align - 1) / align * align;
    if (n == 0) n = align;
    jblock *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > 65536 ? n : 65536;
        if (size + sizeof(jblock) > limit || a->total > limit - size - sizeof(jblock)) {
            *over_limit = true;
            return NULL;
        }
        b = malloc(sizeof(jblock) + size);
        if (!b) return NULL;
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        a->total += sizeof(jblock) + size;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

void jfail_at(jfail *f, int line, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tl_fail(f->err, TL_ERR_FORMAT, "line %d: %s", line, msg);
    longjmp(f->jump, 1);
}

/* "64 MiB", "300 KiB" or "1000 bytes". */
static void size_text(char *out, size_t cap, size_t bytes) {
    if (bytes && bytes % (1u << 20) == 0)
        snprintf(out, cap, "%zu MiB", bytes >> 20);
    else if (bytes && bytes % 1024 == 0)
        snprintf(out, cap, "%zu KiB", bytes >> 10);
    else
        snprintf(out, cap, "%zu bytes", bytes);
}

void jfail_steps(jfail *f) {
    jfail_at(f, f->line, "template exceeded its budget of %llu steps", (unsigned long long)f->max_steps);
}

void *jf_alloc(jfail *f, size_t n) {
    bool over = false;
    void *p = ja_alloc(f->arena, n, f->max_memory, &over);
    if (over) {
        char size[32];
        size_text(size, sizeof size, f->max_memory);
        jfail_at(f, f->line, "template exceeded its memory budget of %s", size);
    }
    if (!p) {
        tl_fail(f->err, TL_ERR_NOMEM, "out of memory rendering a template");
        longjmp(f->jump, 1);
    }
    return p;
}

char *jf_strndup(jfail *f, const char *s, size_t n) {
    char *p = jf_alloc(f, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* ---- buffers ------------------------------------------------------------------ */
void jbuf_add(jfail *f, jbuf *b, const char *s, size_t n) {
    if (b == f->output && n > f->max_output - b->len) {
        char size[32];
        size_text(size, sizeof size, f->max_output);
        jfail_at(f, f->line, "template output exceeded its budget of %s", size);
    }
    if (n > SIZE_MAX / 4 - b->len) jfail_at(f, f->line, "string too large");
    if (b->len + n + 1 > b->cap) {
        size_t cap;
        if (!tl_grow_capacity(b->cap, b->len + n + 1, 256, SIZE_MAX / 2, &cap))
            jfail_at(f, f->line, "string too large");
        char *data = jf_alloc(f, cap);
        if (b->len) memcpy(data, b->data, b->len);
        b->data = data;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}
void jbuf_adds(jfail *f, jbuf *b, const char *s) {
    jbuf_add(f, b, s, strlen(s));
}
void jbuf_addc(jfail *f, jbuf *b, char c) {
    jbuf_add(f, b, &c, 1);
}

/* ---- constructors ---------------------------------------------------------------- */
jv jv_undef(const char *name) {
    jv v = {.kind = JV_UNDEF};
    v.u.undef_name = name;
    return v;
}
jv jv_none(void) {
    jv v = {.kind = JV_NONE};
    return v;
}
jv jv_bool(bool b) {
    jv v = {.kind = JV_BOOL};
    v.u.b = b;
    return v;
}
jv jv_int(int64_t i) {
    jv v = {.kind = JV_INT};
    v.u.i = i;
    return v;
}
jv jv_float(double d) {
    jv v = {.kind = JV_FLOAT};
    v.u.f = d;
    return v;
}
jv jv_strn(const char *s, size_t n) {
    jv v = {.kind = JV_STR};
    v.u.str.s = s ? s : "";
    v.u.str.n = n;
    return v;
}
jv jv_cstr(const char *s) {
    return jv_strn(s, strlen(s));
}
jv jv_new_list(jfail *f) {
    jv v = {.kind = JV_LIST};
    v.u.list = jf_alloc(f, sizeof(jlist));
    return v;
}
jv jv_new_dict(jfail *f) {
    jv v = {.kind = JV_DICT};
    v.u.dict = jf_alloc(f, sizeof(jdict));
    return v;
}

void jlist_push(jfail *f, jlist *l, jv v) {
    if (l->n == l->cap) {
        size_t cap;
        if (!tl_grow_capacity(l->cap, l->n + 1, 8, SIZE_MAX / sizeof(jv), &cap)) jfail_at(f, f->line, "list too large");
        jv *items = jf_alloc(f, cap * sizeof(jv));
        if (l->n) memcpy(items, l->items, l->n * sizeof(jv));
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = v;
}

jv *jdict_get(jfail *f, const jdict *d, jv key) {
    for (size_t i = 0; i < d->n; i++)
        if (jv_equal(f, d->keys[i], key)) return &d->vals[i];
    return NULL;
}

jv *jdict_gets(jfail *f, const jdict *d, const char *key) {
    size_t n = strlen(key);
    jf_work(f, 1 + d->n / 4);
    for (size_t i = 0; i < d->n; i++)
        if (d->keys[i].kind == JV_STR && d->keys[i].u.str.n == n && memcmp(d->keys[i].u.str.s, key, n) == 0)
            return &d->vals[i];
    return NULL;
}

void jdict_set(jfail *f, jdict *d, jv key, jv val) {
    jv *slot = jdict_get(f, d, key);
    if (slot) {
        *slot = val;
        return;
    }
    if (d->n == d->cap) {
        size_t cap;
        if (!tl_grow_capacity(d->cap, d->n + 1, 4, SIZE_MAX / sizeof(jv), &cap)) jfail_at(f, f->line, "dict too large");
        jv *keys = jf_alloc(f, cap * sizeof(jv));
        jv *vals = jf_alloc(f, cap * sizeof(jv));
        if (d->n) {
            memcpy(keys, d->keys, d->n * sizeof(jv));
            memcpy(vals, d->vals, d->n * sizeof(jv));
        }
        d->keys = keys;
        d->vals = vals;
        d->cap = cap;
    }
    d->keys[d->n] = key;
    d->vals[d->n] = val;
    d->n++;
}

/* ---- Python semantics ---------------------------------------------------------------- */
bool jv_truthy(jv v) {
    switch (v.kind) {
    case JV_UNDEF:
    case JV_NONE: return false;
    case JV_BOOL: return v.u.b;
    case JV_INT: return v.u.i != 0;
    case JV_FLOAT: return v.u.f != 0.0;
    case JV_STR: return v.u.str.n != 0;
    case JV_LIST: return v.u.list->n != 0;
    case JV_DICT: return v.u.dict->n != 0 || v.u.dict->is_namespace;
    case JV_FUNC: return true;
    }
    return false;
}

static bool is_number(jv v) {
    return v.kind == JV_INT || v.kind == JV_FLOAT || v.kind == JV_BOOL;
}
static double as_double(jv v) {
    return v.kind == JV_FLOAT ? v.u.f : v.kind == JV_INT ? (double)v.u.i : (double)v.u.b;
}

static _Noreturn void fail_value_nesting(jfail *f, int line) {
    jfail_at(f, line, "value nested deeper than %d levels", JINJA_MAX_VALUE_NESTING);
}

static bool equal_at(jfail *f, jv a, jv b, int depth) {
    if (depth > JINJA_MAX_VALUE_NESTING) fail_value_nesting(f, f->line);
    jf_work(f, 1);
    if (is_number(a) && is_number(b)) {
        if (a.kind != JV_FLOAT && b.kind != JV_FLOAT) {
            int64_t x = a.kind == JV_INT ? a.u.i : a.u.b, y = b.kind == JV_INT ? b.u.i : b.u.b;
            return x == y;
        }
        return as_double(a) == as_double(b);
    }
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case JV_UNDEF:
    case JV_NONE: return true;
    case JV_STR:
        if (a.u.str.n != b.u.str.n) return false;
        jf_scan(f, a.u.str.n);
        return memcmp(a.u.str.s, b.u.str.s, a.u.str.n) == 0;
    case JV_LIST:
        if (a.u.list->n != b.u.list->n || a.u.list->is_tuple != b.u.list->is_tuple) return false;
        for (size_t i = 0; i < a.u.list->n; i++)
            if (!equal_at(f, a.u.list->items[i], b.u.list->items[i], depth + 1)) return false;
        return true;
    case JV_DICT:
        if (a.u.dict->is_namespace || b.u.dict->is_namespace) return a.u.dict == b.u.dict;
        if (a.u.dict->n != b.u.dict->n) return false;
        for (size_t i = 0; i < a.u.dict->n; i++) {
            jv *other = NULL;
            for (size_t k = 0; k < b.u.dict->n && !other; k++)
                if (equal_at(f, a.u.dict->keys[i], b.u.dict->keys[k], depth + 1)) other = &b.u.dict->vals[k];
            if (!other || !equal_at(f, a.u.dict->vals[i], *other, depth + 1)) return false;
        }
        return true;
    case JV_FUNC: return a.u.fn == b.u.fn;
    default: return false;
    }
}

bool jv_equal(jfail *f, jv a, jv b) {
    return equal_at(f, a, b, 0);
}

static int compare_at(jfail *f, int line, jv a, jv b, int depth) {
    if (depth > JINJA_MAX_VALUE_NESTING) fail_value_nesting(f, line);
    jf_work(f, 1);
    if (is_number(a) && is_number(b)) {
        if (a.kind != JV_FLOAT && b.kind != JV_FLOAT) {
            int64_t x = a.kind == JV_INT ? a.u.i : a.u.b, y = b.kind == JV_INT ? b.u.i : b.u.b;
            return x < y ? -1 : x > y;
        }
        double x = as_double(a), y = as_double(b);
        return x < y ? -1 : x > y;
    }
    if (a.kind == JV_STR && b.kind == JV_STR) {
        size_t n = a.u.str.n < b.u.str.n ? a.u.str.n : b.u.str.n;
        jf_scan(f, n);
        int c = memcmp(a.u.str.s, b.u.str.s, n);
        if (c) return c < 0 ? -1 : 1;
        return a.u.str.n < b.u.str.n ? -1 : a.u.str.n > b.u.str.n;
    }
    if (a.kind == JV_LIST && b.kind == JV_LIST) {
        size_t n = a.u.list->n < b.u.list->n ? a.u.list->n : b.u.list->n;
        for (size_t i = 0; i < n; i++) {
            int c = compare_at(f, line, a.u.list->items[i], b.u.list->items[i], depth + 1);
            if (c) return c;
        }
        return a.u.list->n < b.u.list->n ? -1 : a.u.list->n > b.u.list->n;
    }
    jfail_at(f, line, "'<' not supported between instances of '%s' and '%s'", jv_type_name(a), jv_type_name(b));
}

int jv_compare(jfail *f, int line, jv a, jv b) {
    return compare_at(f, line, a, b, 0);
}

void jv_sort_order(jfail *f, int line, const jv *keys, size_t *order, size_t n, bool reverse) {
    if (n < 2) return;
    size_t *tmp = jf_alloc(f, n * sizeof(size_t));
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                int cmp = jv_compare(f, line, keys[order[i]], keys[order[j]]);
                tmp[k++] = (reverse ? cmp >= 0 : cmp <= 0) ? order[i++] : order[j++];
            }
            while (i < mid) tmp[k++] = order[i++];
            while (j < hi) tmp[k++] = order[j++];
        }
        memcpy(order, tmp, n * sizeof(size_t));
    }
}

const char *jv_type_name(jv v) {
    switch (v.kind) {
    case JV_UNDEF: return "Undefined";
    case JV_NONE: return "NoneType";
    case JV_BOOL: return "bool";
    case JV_INT: return "int";
    case JV_FLOAT: return "float";
    case JV_STR: return "str";
    case JV_LIST: return v.u.list->is_tuple ? "tuple" : "list";
    case JV_DICT: return v.u.dict->is_namespace ? "Namespace" : "dict";
    case JV_FUNC: return "function";
    }
    return "object";
}

size_t utf8_length(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) count++;
    return count;
}

size_t utf8_offset(const char *s, size_t n, size_t index) {
    size_t i = 0;
    while (i < n && index > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
        index--;
    }
    return i;
}

void jv_float_repr(jbuf *b, jfail *f, double d) {
    char tmp[64];
    if (isnan(d)) {
        jbuf_adds(f, b, "nan");
        return;
    }
    if (isinf(d)) {
        jbuf_adds(f, b, d < 0 ? "-inf" : "inf");
        return;
    }
    /* Shortest digits that read back to the same double. */
    int precision = 1;
    for (; precision <= 17; precision++) {
        snprintf(tmp, sizeof tmp, "%.*e", precision - 1, d);
        if (strtod(tmp, NULL) == d) break;
    }
    char digits[32];
    size_t nd = 0;
    const char *p = tmp;
    bool negative = *p == '-';
    if (negative) p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    int exponent = atoi(p + 1);
    if (negative) jbuf_addc(f, b, '-');
    if (exponent < -4 || exponent >= 16) {
        jbuf_addc(f, b, digits[0]);
        if (nd > 1) {
            jbuf_addc(f, b, '.');
            jbuf_add(f, b, digits + 1, nd - 1);
        }
        snprintf(tmp, sizeof tmp, "e%c%02d", exponent < 0 ? '-' : '+', abs(exponent));
        jbuf_adds(f, b, tmp);
    } else if (exponent < 0) {
        jbuf_adds(f, b, "0.");
        for (int i = -1; i > exponent; i--) jbuf_addc(f, b, '0');
        jbuf_add(f, b, digits, nd);
    } else {
        for (int i = 0; i <= exponent; i++) jbuf_addc(f, b, (size_t)i < nd ? digits[i] : '0');
        jbuf_addc(f, b, '.');
        if ((size_t)exponent + 1 < nd)
            jbuf_add(f, b, digits + exponent + 1, nd - exponent - 1);
        else
            jbuf_addc(f, b, '0');
    }
}

/* Python's repr of a str: single quotes unless the text has ' and no ". */
static void repr_string(jfail *f, jbuf *b, const char *s, size_t n) {
    bool has_single = memchr(s, '\'', n) != NULL, has_double = memchr(s, '"', n) != NULL;
    char quote = has_single && !has_double ? '"' : '\'';
    jbuf_addc(f, b, quote);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        if (c == (unsigned char)quote || c == '\\') {
            jbuf_addc(f, b, '\\');
            jbuf_addc(f, b, (char)c);
        } else if (c == '\n')
            jbuf_adds(f, b, "\\n");
        else if (c == '\r')
            jbuf_adds(f, b, "\\r");
        else if (c == '\t')
            jbuf_adds(f, b, "\\t");
        else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            jbuf_adds(f, b, tmp);
        } else
            jbuf_addc(f, b, (char)c);
    }
    jbuf_addc(f, b, quote);
}

static void repr_at(jfail *f, jbuf *b, jv v, int depth) {
    char tmp[32];
    if (depth > JINJA_MAX_VALUE_NESTING) fail_value_nesting(f, f->line);
    switch (v.kind) {
    case JV_UNDEF: break;
    case JV_NONE: jbuf_adds(f, b, "None"); break;
    case JV_BOOL: jbuf_adds(f, b, v.u.b ? "True" : "False"); break;
    case JV_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)v.u.i);
        jbuf_adds(f, b, tmp);
        break;
    case JV_FLOAT: jv_float_repr(b, f, v.u.f); break;
    case JV_STR: repr_string(f, b, v.u.str.s, v.u.str.n); break;
    case JV_LIST: {
        jlist *l = v.u.list;
        jbuf_addc(f, b, l->is_tuple ? '(' : '[');
        for (size_t i = 0; i < l->n; i++) {
            if (i) jbuf_adds(f, b, ", ");
            repr_at(f, b, l->items[i], depth + 1);
        }
        if (l->is_tuple && l->n == 1) jbuf_addc(f, b, ',');
        jbuf_addc(f, b, l->is_tuple ? ')' : ']');
        break;
    }
    case JV_DICT: {
        jdict *d = v.u.dict;
        if (d->is_namespace) jbuf_adds(f, b, "<Namespace ");
        jbuf_addc(f, b, '{');
        for (size_t i = 0; i < d->n; i++) {
            if (i) jbuf_adds(f, b, ", ");
            repr_at(f, b, d->keys[i], depth + 1);
            jbuf_adds(f, b, ": ");
            repr_at(f, b, d->vals[i], depth + 1);
        }
        jbuf_addc(f, b, '}');
        if (d->is_namespace) jbuf_addc(f, b, '>');
        break;
    }
    case JV_FUNC: jbuf_adds(f, b, "<function>"); break;
    }
}

void jv_repr(jfail *f, jbuf *b, jv v) {
    repr_at(f, b, v, 0);
}

void jv_str(jfail *f, jbuf *b, jv v) {
    if (v.kind == JV_STR)
        jbuf_add(f, b, v.u.str.s, v.u.str.n);
    else
        jv_repr(f, b, v);
}

jv jv_to_string(jfail *f, jv v) {
    if (v.kind == JV_STR) return v;
    jbuf b = {0};
    jv_str(f, &b, v);
    return jv_strn(b.data, b.len);
}

static void json_string(jfail *f, jbuf *b, const char *s, size_t n) {
    jbuf_addc(f, b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        switch (c) {
        case '"': jbuf_adds(f, b, "\\\""); break;
        case '\\': jbuf_adds(f, b, "\\\\"); break;
        case '\n': jbuf_adds(f, b, "\\n"); break;
        case '\r': jbuf_adds(f, b, "\\r"); break;
        case '\t': jbuf_adds(f, b, "\\t"); break;
        case '\b': jbuf_adds(f, b, "\\b"); break;
        case '\f': jbuf_adds(f, b, "\\f"); break;
        default:
            if (c < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                jbuf_adds(f, b, tmp);
            } else
                jbuf_addc(f, b, (char)c);
        }
    }
    jbuf_addc(f, b, '"');
}

static void json_newline(jfail *f, jbuf *b, int indent, int level) {
    jbuf_addc(f, b, '\n');
    for (int i = 0; i < indent * level; i++) jbuf_addc(f, b, ' ');
}

void jv_tojson(jfail *f, int line, jbuf *b, jv v, int indent, bool sort_keys, int depth) {
    char tmp[32];
    if (depth > JINJA_MAX_VALUE_NESTING) fail_value_nesting(f, line);
    switch (v.kind) {
    case JV_UNDEF: jfail_at(f, line, "Object of type Undefined is not JSON serializable");
    case JV_NONE: jbuf_adds(f, b, "null"); break;
    case JV_BOOL: jbuf_adds(f, b, v.u.b ? "true" : "false"); break;
    case JV_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)v.u.i);
        jbuf_adds(f, b, tmp);
        break;
    case JV_FLOAT:
        if (isnan(v.u.f))
            jbuf_adds(f, b, "NaN");
        else if (isinf(v.u.f))
            jbuf_adds(f, b, v.u.f < 0 ? "-Infinity" : "Infinity");
        else
            jv_float_repr(b, f, v.u.f);
        break;
    case JV_STR: json_string(f, b, v.u.str.s, v.u.str.n); break;
    case JV_LIST: {
        jlist *l = v.u.list;
        if (l->n == 0) {
            jbuf_adds(f, b, "[]");
            break;
        }
        jbuf_addc(f, b, '[');
        for (size_t i = 0; i < l->n; i++) {
            if (i) jbuf_adds(f, b, indent >= 0 ? "," : ", ");
            if (indent >= 0) json_newline(f, b, indent, depth + 1);
            jv_tojson(f, line, b, l->items[i], indent, sort_keys, depth + 1);
        }
        if (indent >= 0) json_newline(f, b, indent, depth);
        jbuf_addc(f, b, ']');
        break;
    }
    case JV_DICT: {
        jdict *d = v.u.dict;
        if (d->is_namespace) jfail_at(f, line, "Object of type Namespace is not JSON serializable");
        if (d->n == 0) {
            jbuf_adds(f, b, "{}");
            break;
        }
        size_t *order = jf_alloc(f, d->n * sizeof(size_t));
        for (size_t i = 0; i < d->n; i++) order[i] = i;
        if (sort_keys) jv_sort_order(f, line, d->keys, order, d->n, false);
        jbuf_addc(f, b, '{');
        for (size_t k = 0; k < d->n; k++) {
            size_t i = order[k];
            if (k) jbuf_adds(f, b, indent >= 0 ? "," : ", ");
            if (indent >= 0) json_newline(f, b, indent, depth + 1);
            jv key = d->keys[i];
            if (key.kind == JV_STR)
                json_string(f, b, key.u.str.s, key.u.str.n);
            else {
                jbuf kb = {0};
                if (key.kind == JV_BOOL)
                    jbuf_adds(f, &kb, key.u.b ? "true" : "false");
                else if (key.kind == JV_NONE)
                    jbuf_adds(f, &kb, "null");
                else
                    jv_str(f, &kb, key);
                json_string(f, b, kb.data, kb.len);
            }
            jbuf_adds(f, b, ": ");
            jv_tojson(f, line, b, d->vals[i], indent, sort_keys, depth + 1);
        }
        if (indent >= 0) json_newline(f, b, indent, depth);
        jbuf_addc(f, b, '}');
        break;
    }
    case JV_FUNC: jfail_at(f, line, "Object of type function is not JSON serializable");
    }
}

jv jv_from_cjson(jfail *f, const cJSON *j, int depth) {
    if (depth > JINJA_MAX_VALUE_NESTING) {
        tl_fail(f->err, TL_ERR_ARGUMENT, "the template's context is nested deeper than %d levels",
                JINJA_MAX_VALUE_NESTING);
        longjmp(f->jump, 1);
    }
    if (!j || cJSON_IsNull(j)) return jv_none();
    if (cJSON_IsBool(j)) return jv_bool(cJSON_IsTrue(j));
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        /* cJSON does not keep "1" apart from "1.0"; integral values become ints. */
        if (d == floor(d) && fabs(d) < 9.0e15) return jv_int((int64_t)d);
        return jv_float(d);
    }
    if (cJSON_IsString(j)) {
        const char *s = j->valuestring ? j->valuestring : "";
        return jv_strn(jf_strndup(f, s, strlen(s)), strlen(s));
    }
    if (cJSON_IsArray(j)) {
        jv l = jv_new_list(f);
        for (const cJSON *c = j->child; c; c = c->next) jlist_push(f, l.u.list, jv_from_cjson(f, c, depth + 1));
        return l;
    }
    if (cJSON_IsObject(j)) {
        jv d = jv_new_dict(f);
        for (const cJSON *c = j->child; c; c = c->next) {
            const char *k = c->string ? c->string : "";
            jdict_set(f, d.u.dict, jv_strn(jf_strndup(f, k, strlen(k)), strlen(k)), jv_from_cjson(f, c, depth + 1));
        }
        return d;
    }
    return jv_none();
}

/* ---- call arguments and method values -------------------------------------------------------------- */

/* Positional argument `index` or keyword `name`; `fallback` when absent. */
jv jarg(const jargs *a, size_t index, const char *name, jv fallback) {
    if (a && index < a->n_pos) return a->pos[index];
    if (a && name)
        for (size_t k = 0; k < a->n_kw; k++)
            if (!strcmp(a->kw_names[k], name)) return a->kw[k];
    return fallback;
}

jv jarg_str(jctx *c, int line, jv v, const char *what) {
    if (v.kind != JV_STR) jfail_at(c->fail, line, "%s expects a string, got '%s'", what, jv_type_name(v));
    return v;
}

jv jbuf_value(jbuf *b) {
    return jv_strn(b->data ? b->data : "", b->len);
}

jv jv_method(jctx *c, jfunc_kind kind, const char *name, jv self) {
    jfunc *fn = jf_alloc(c->fail, sizeof(jfunc));
    fn->kind = kind;
    fn->name = name;
    fn->self = self;
    jv v = {.kind = JV_FUNC};
    v.u.fn = fn;
    return v;
}

const void *jname_find(const void *table, size_t count, size_t stride, const char *name) {
    for (size_t i = 0; i < count; i++) {
        const char *row = (const char *)table + i * stride;
        if (!strcmp(name, *(const char *const *)row)) return row;
    }
    return NULL;
}
