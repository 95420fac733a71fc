/*
 * jinja_eval.c — runs a parsed template: the public parse/render/free entry
 * points, variable scopes (a fresh scope per loop iteration and per macro
 * call, as Jinja2 has), statements, and expressions with Python's operator
 * semantics. Filters are in jinja_filters.c, tests in jinja_tests.c, methods
 * and globals in jinja_methods.c.
 *
 * Chains (JN_CHAIN) run in a loop and elif runs in a loop; every other
 * recursion (eval, exec_body, macro calls) counts its depth, and each node,
 * statement and loop iteration costs a step of the render's budget.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja.h"
#include "chat/jinja_internal.h"

struct tl_jinja {
    jarena *arena;
    jnodes body;
};

typedef enum flow { FLOW_NORMAL, FLOW_BREAK, FLOW_CONTINUE } flow;

static jv eval(jctx *c, jframe *fr, const jnode *n);
static flow exec_body(jctx *c, jframe *fr, const jnodes *body, jbuf *out);

static jframe *new_frame(jctx *c, jframe *parent) {
    jframe *fr = jf_alloc(c->fail, sizeof(jframe));
    fr->parent = parent;
    fr->vars = jv_new_dict(c->fail).u.dict;
    return fr;
}

void jinja_enter(jctx *c, int line) {
    if (++c->nesting > JINJA_MAX_EVAL_NESTING)
        jfail_at(c->fail, line, "template nested deeper than %d levels of expressions, blocks and calls",
                 JINJA_MAX_EVAL_NESTING);
}

static jv lookup(jctx *c, jframe *fr, const char *name) {
    for (; fr; fr = fr->parent) {
        jv *v = jdict_gets(c->fail, fr->vars, name);
        if (v) return *v;
    }
    if (jinja_is_global(name)) {
        jfunc *fn = jf_alloc(c->fail, sizeof(jfunc));
        fn->kind = JF_BUILTIN;
        fn->name = name;
        jv v = {.kind = JV_FUNC};
        v.u.fn = fn;
        return v;
    }
    return jv_undef(name);
}

static void assign(jctx *c, jframe *fr, const char *name, jv value) {
    jdict_set(c->fail, fr->vars, jv_cstr(name), value);
}

static _Noreturn void fail_undefined(jctx *c, int line, jv v) {
    if (v.u.undef_name) jfail_at(c->fail, line, "'%s' is undefined", v.u.undef_name);
    jfail_at(c->fail, line, "value is undefined");
}

jlist *jinja_iterate(jctx *c, int line, jv v) {
    jfail *f = c->fail;
    switch (v.kind) {
    case JV_UNDEF: return jv_new_list(f).u.list;
    case JV_LIST: jf_work(f, 1 + v.u.list->n); return v.u.list;
    case JV_DICT: {
        if (v.u.dict->is_namespace) break;
        jf_work(f, 1 + v.u.dict->n);
        jlist *keys = jv_new_list(f).u.list;
        for (size_t i = 0; i < v.u.dict->n; i++) jlist_push(f, keys, v.u.dict->keys[i]);
        return keys;
    }
    case JV_STR: {
        jlist *chars = jv_new_list(f).u.list;
        const char *s = v.u.str.s;
        size_t n = v.u.str.n;
        for (size_t i = 0; i < n;) {
            size_t len = utf8_offset(s + i, n - i, 1);
            jlist_push(f, chars, jv_strn(s + i, len));
            i += len;
        }
        return chars;
    }
    default: break;
    }
    jfail_at(f, line, "'%s' object is not iterable", jv_type_name(v));
}

/* Python's floor division and modulo on ints. */
static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static bool is_num(jv v) {
    return v.kind == JV_INT || v.kind == JV_FLOAT || v.kind == JV_BOOL;
}
static double num(jv v) {
    return v.kind == JV_FLOAT ? v.u.f : v.kind == JV_INT ? (double)v.u.i : v.u.b;
}
static int64_t inum(jv v) {
    return v.kind == JV_INT ? v.u.i : v.u.b;
}

static JINJA_NOINLINE jv arith(jctx *c, int line, const char *op, jv a, jv b) {
    jfail *f = c->fail;
    if (a.kind == JV_UNDEF) fail_undefined(c, line, a);
    if (b.kind == JV_UNDEF) fail_undefined(c, line, b);
    if (is_num(a) && is_num(b)) {
        bool ints = a.kind != JV_FLOAT && b.kind != JV_FLOAT;
        double x = num(a), y = num(b);
        switch (op[0]) {
        case '+': return ints ? jv_int((int64_t)((uint64_t)inum(a) + (uint64_t)inum(b))) : jv_float(x + y);
        case '-': return ints ? jv_int((int64_t)((uint64_t)inum(a) - (uint64_t)inum(b))) : jv_float(x - y);
        case '*':
            if (op[1] == '*') {
                if (ints && inum(b) >= 0) {
                    int64_t r = 1, base = inum(a);
                    for (int64_t e = inum(b); e > 0 && e < 4096; e--) r = (int64_t)((uint64_t)r * (uint64_t)base);
                    return jv_int(r);
                }
                return jv_float(pow(x, y));
            }
            return ints ? jv_int((int64_t)((uint64_t)inum(a) * (uint64_t)inum(b))) : jv_float(x * y);
        case '/':
            if (y == 0) jfail_at(f, line, "division by zero");
            if (op[1] == '/') {
                if (ints) {
                    if (inum(a) == INT64_MIN && inum(b) == -1) return jv_int(INT64_MIN);
                    return jv_int(floor_div(inum(a), inum(b)));
                }
                return jv_float(floor(x / y));
            }
            return jv_float(x / y);
        case '%':
            if (y == 0) jfail_at(f, line, "modulo by zero");
            if (ints) {
                if (inum(b) == -1) return jv_int(0);
                return jv_int(inum(a) - floor_div(inum(a), inum(b)) * inum(b));
            } else {
                double r = fmod(x, y);
                if (r != 0 && ((r < 0) != (y < 0))) r += y;
                if (r == 0) r = copysign(0.0, y); /* Python's sign of a zero remainder */
                return jv_float(r);
            }
        }
    }
    if (op[0] == '+' && a.kind == JV_STR && b.kind == JV_STR) { /* exactly sized: templates add many */
        if (b.u.str.n > SIZE_MAX / 4 - a.u.str.n) jfail_at(f, line, "string too large");
        char *out = jf_alloc(f, a.u.str.n + b.u.str.n + 1);
        memcpy(out, a.u.str.s, a.u.str.n);
        memcpy(out + a.u.str.n, b.u.str.s, b.u.str.n);
        jf_scan(f, a.u.str.n + b.u.str.n);
        return jv_strn(out, a.u.str.n + b.u.str.n);
    }
    if (op[0] == '+' && a.kind == JV_LIST && b.kind == JV_LIST) {
        jv l = jv_new_list(f);
        l.u.list->is_tuple = a.u.list->is_tuple;
        for (size_t i = 0; i < a.u.list->n; i++) jlist_push(f, l.u.list, a.u.list->items[i]);
        for (size_t i = 0; i < b.u.list->n; i++) jlist_push(f, l.u.list, b.u.list->items[i]);
        return l;
    }
    if (!strcmp(op, "*") && (a.kind == JV_STR || a.kind == JV_LIST) && (b.kind == JV_INT || b.kind == JV_BOOL)) {
        int64_t times = inum(b);
        size_t n = a.kind == JV_STR ? a.u.str.n : a.u.list->n;
        if (times <= 0 || n == 0) return a.kind == JV_STR ? jv_cstr("") : jv_new_list(f);
        if (a.kind == JV_STR) {
            if ((uint64_t)times > (1u << 26) / n) jfail_at(f, line, "string too large");
            size_t total = n * (size_t)times, done = n;
            jf_scan(f, total);
            char *out = jf_alloc(f, total + 1);
            memcpy(out, a.u.str.s, n);
            for (; done < total; done *= 2) memcpy(out + done, out, done < total - done ? done : total - done);
            return jv_strn(out, total);
        }
        if ((uint64_t)times > (1u << 24) / n) jfail_at(f, line, "list too large");
        jf_work(f, n * (size_t)times);
        jv l = jv_new_list(f);
        for (int64_t i = 0; i < times; i++)
            for (size_t k = 0; k < a.u.list->n; k++) jlist_push(f, l.u.list, a.u.list->items[k]);
        return l;
    }
    jfail_at(f, line, "unsupported operand type(s) for %s: '%s' and '%s'", op, jv_type_name(a), jv_type_name(b));
}

static bool contains(jctx *c, int line, jv item, jv container) {
    if (container.kind == JV_STR) {
        if (item.kind != JV_STR) jfail_at(c->fail, line, "'in <string>' requires string as left operand");
        return jstr_find(c->fail, container.u.str.s, container.u.str.n, item.u.str.s, item.u.str.n) != NULL;
    }
    if (container.kind == JV_DICT && !container.u.dict->is_namespace)
        return jdict_get(c->fail, container.u.dict, item) != NULL;
    jlist *l = jinja_iterate(c, line, container);
    for (size_t i = 0; i < l->n; i++)
        if (jv_equal(c->fail, l->items[i], item)) return true;
    return false;
}

static JINJA_NOINLINE bool compare(jctx *c, int line, const char *op, jv a, jv b) {
    if (!strcmp(op, "==")) return jv_equal(c->fail, a, b);
    if (!strcmp(op, "!=")) return !jv_equal(c->fail, a, b);
    if (!strcmp(op, "in")) return contains(c, line, a, b);
    if (!strcmp(op, "not in")) return !contains(c, line, a, b);
    if (a.kind == JV_UNDEF) fail_undefined(c, line, a);
    if (b.kind == JV_UNDEF) fail_undefined(c, line, b);
    int r = jv_compare(c->fail, line, a, b);
    if (!strcmp(op, "<")) return r < 0;
    if (!strcmp(op, "<=")) return r <= 0;
    if (!strcmp(op, ">")) return r > 0;
    return r >= 0;
}

/* Python index normalisation for lists and strings; -1 when out of range. */
static int64_t normalize_index(int64_t i, size_t n) {
    if (i < 0) i += (int64_t)n;
    return i < 0 || i >= (int64_t)n ? -1 : i;
}

static JINJA_NOINLINE jv slice(jctx *c, int line, jv obj, jv start_v, jv stop_v, jv step_v) {
    jfail *f = c->fail;
    int64_t step = 1;
    if (step_v.kind != JV_NONE && step_v.kind != JV_UNDEF) {
        if (step_v.kind != JV_INT) jfail_at(f, line, "slice indices must be integers");
        step = step_v.u.i;
        if (step == 0) jfail_at(f, line, "slice step cannot be zero");
    }
    bool is_str = obj.kind == JV_STR;
    if (!is_str && obj.kind != JV_LIST) jfail_at(f, line, "'%s' object is not subscriptable", jv_type_name(obj));
    int64_t len = is_str ? (int64_t)utf8_length(obj.u.str.s, obj.u.str.n) : (int64_t)obj.u.list->n;
    int64_t start, stop;
    jv bounds[2] = {start_v, stop_v};
    int64_t out[2];
    for (int k = 0; k < 2; k++) {
        jv b = bounds[k];
        if (b.kind == JV_NONE || b.kind == JV_UNDEF) {
            out[k] = k == 0 ? (step > 0 ? 0 : len - 1) : (step > 0 ? len : -1);
            continue;
        }
        if (b.kind != JV_INT) jfail_at(f, line, "slice indices must be integers");
        int64_t i = b.u.i;
        if (i < 0) {
            i += len;
            if (i < 0) i = step > 0 ? 0 : -1;
        } else if (i >= len) {
            i = step > 0 ? len : len - 1;
        }
        out[k] = i;
    }
    start = out[0];
    stop = out[1];
    /* How many indices start, start + step, ... lie before stop. */
    uint64_t abs_step = step > 0 ? (uint64_t)step : (uint64_t)0 - (uint64_t)step;
    int64_t count = 0;
    if (step > 0 && start < stop) count = (int64_t)((uint64_t)(stop - start - 1) / abs_step) + 1;
    if (step < 0 && start > stop) count = (int64_t)((uint64_t)(start - stop - 1) / abs_step) + 1;
    if (is_str) {
        /* Walk the text once, a code point at a time, in the step's direction. */
        const char *s = obj.u.str.s;
        size_t n = obj.u.str.n;
        jf_scan(f, n);
        jbuf b = {0};
        size_t pos = count ? utf8_offset(s, n, (size_t)start) : 0;
        for (int64_t k = 0; k < count; k++) {
            size_t clen = utf8_offset(s + pos, n - pos, 1);
            jbuf_add(f, &b, s + pos, clen);
            if (step > 0) {
                for (uint64_t m = 0; m < abs_step && pos < n; m++) pos += utf8_offset(s + pos, n - pos, 1);
            } else {
                for (uint64_t m = 0; m < abs_step && pos > 0; m++) {
                    pos--;
                    while (pos > 0 && ((unsigned char)s[pos] & 0xC0) == 0x80) pos--;
                }
            }
        }
        return jv_strn(b.data ? b.data : "", b.len);
    }
    jv l = jv_new_list(f);
    l.u.list->is_tuple = obj.u.list->is_tuple;
    int64_t i = start;
    for (int64_t k = 0; k < count; k++, i = k < count ? i + step : i) jlist_push(f, l.u.list, obj.u.list->items[i]);
    return l;
}

/* obj.key (attribute_syntax) or obj[key]: Jinja2 tries the attribute first for
 * ".", the item first for "[]"; a missing one is undefined. */
jv jinja_getattr(jctx *c, int line, jv obj, jv key, bool attribute_syntax) {
    if (obj.kind == JV_UNDEF) fail_undefined(c, line, obj);
    bool named = key.kind == JV_STR;
    const char *name = named ? jf_strndup(c->fail, key.u.str.s, key.u.str.n) : NULL;
    if (attribute_syntax && named) {
        jv m = jinja_get_method(c, obj, name);
        if (m.kind != JV_UNDEF) return m;
    }
    if (obj.kind == JV_DICT) {
        jv *v = jdict_get(c->fail, obj.u.dict, key);
        if (v) return *v;
    } else if (obj.kind == JV_LIST && (key.kind == JV_INT || key.kind == JV_BOOL)) {
        int64_t i = normalize_index(key.kind == JV_INT ? key.u.i : key.u.b, obj.u.list->n);
        if (i >= 0) return obj.u.list->items[i];
    } else if (obj.kind == JV_STR && key.kind == JV_INT) {
        jf_scan(c->fail, obj.u.str.n);
        size_t len = utf8_length(obj.u.str.s, obj.u.str.n);
        int64_t i = normalize_index(key.u.i, len);
        if (i >= 0) {
            size_t off = utf8_offset(obj.u.str.s, obj.u.str.n, (size_t)i);
            return jv_strn(obj.u.str.s + off, utf8_offset(obj.u.str.s + off, obj.u.str.n - off, 1));
        }
    }
    if (!attribute_syntax && named) {
        jv m = jinja_get_method(c, obj, name);
        if (m.kind != JV_UNDEF) return m;
    }
    return jv_undef(name);
}

static void eval_args(jctx *c, jframe *fr, const jnode *n, jargs *args) {
    args->n_pos = n->items.n;
    args->pos = jf_alloc(c->fail, (n->items.n + 1) * sizeof(jv));
    for (size_t i = 0; i < n->items.n; i++) args->pos[i] = eval(c, fr, n->items.v[i]);
    args->n_kw = n->kw.n;
    args->kw_names = n->kw_names;
    args->kw = jf_alloc(c->fail, (n->kw.n + 1) * sizeof(jv));
    for (size_t i = 0; i < n->kw.n; i++) args->kw[i] = eval(c, fr, n->kw.v[i]);
}

static jv call_macro(jctx *c, int line, const jfunc *fn, const jargs *args, jv caller) {
    const jnode *m = fn->node;
    if (args->n_pos > m->n_names)
        jfail_at(c->fail, line, "macro '%s' takes not more than %zu argument(s)", m->name, m->n_names);
    if (++c->call_depth > JINJA_MAX_CALL_DEPTH)
        jfail_at(c->fail, line, "maximum recursion depth exceeded (%d macro calls)", JINJA_MAX_CALL_DEPTH);
    jf_work(c->fail, 1 + m->n_names * args->n_kw);
    jframe *fr = new_frame(c, fn->closure);
    for (size_t i = 0; i < m->n_names; i++) {
        jv value = jv_undef(m->names[i]);
        bool given = false;
        if (i < args->n_pos) {
            value = args->pos[i];
            given = true;
        }
        for (size_t k = 0; k < args->n_kw; k++)
            if (!strcmp(args->kw_names[k], m->names[i])) {
                value = args->kw[k];
                given = true;
            }
        if (!given && m->defaults.v[i]) value = eval(c, fr, m->defaults.v[i]);
        assign(c, fr, m->names[i], value);
    }
    for (size_t k = 0; k < args->n_kw; k++) {
        bool known = false;
        for (size_t i = 0; i < m->n_names; i++) known |= !strcmp(args->kw_names[k], m->names[i]);
        if (!known) jfail_at(c->fail, line, "macro '%s' takes no keyword argument '%s'", m->name, args->kw_names[k]);
    }
    if (caller.kind != JV_UNDEF) assign(c, fr, "caller", caller);
    jbuf out = {0};
    exec_body(c, fr, &m->body, &out);
    c->call_depth--;
    return jv_strn(out.data ? out.data : "", out.len);
}

static jv call_caller(jctx *c, int line, const jfunc *fn, const jargs *args) {
    const jnode *block = fn->node;
    if (++c->call_depth > JINJA_MAX_CALL_DEPTH)
        jfail_at(c->fail, line, "maximum recursion depth exceeded (%d macro calls)", JINJA_MAX_CALL_DEPTH);
    jf_work(c->fail, 1 + block->n_names * args->n_kw);
    jframe *fr = new_frame(c, fn->closure);
    for (size_t i = 0; i < block->n_names; i++) {
        jv value = jv_undef(block->names[i]);
        if (i < args->n_pos)
            value = args->pos[i];
        else if (block->defaults.v[i])
            value = eval(c, fr, block->defaults.v[i]);
        for (size_t k = 0; k < args->n_kw; k++)
            if (!strcmp(args->kw_names[k], block->names[i])) value = args->kw[k];
        assign(c, fr, block->names[i], value);
    }
    jbuf out = {0};
    exec_body(c, fr, &block->body, &out);
    c->call_depth--;
    return jv_strn(out.data ? out.data : "", out.len);
}

jv jinja_call(jctx *c, int line, jv callee, const jargs *args) {
    if (callee.kind == JV_UNDEF) fail_undefined(c, line, callee);
    if (callee.kind != JV_FUNC) jfail_at(c->fail, line, "'%s' object is not callable", jv_type_name(callee));
    const jfunc *fn = callee.u.fn;
    switch (fn->kind) {
    case JF_BUILTIN: return jinja_call_builtin(c, line, fn->name, args);
    case JF_METHOD: return jinja_call_method(c, line, fn, args);
    case JF_MACRO: return call_macro(c, line, fn, args, jv_undef("caller"));
    case JF_CALLER: return call_caller(c, line, fn, args);
    }
    return jv_none();
}

/* A chain step (or operator node) applied to `value`, its first operand. */
static jv apply_step(jctx *c, jframe *fr, const jnode *n, jv value) {
    c->fail->line = n->line;
    switch (n->kind) {
    case JN_BINARY: return arith(c, n->line, n->name, value, eval(c, fr, n->b));
    case JN_AND: return jv_truthy(value) ? eval(c, fr, n->b) : value;
    case JN_OR: return jv_truthy(value) ? value : eval(c, fr, n->b);
    case JN_GETATTR: return jinja_getattr(c, n->line, value, jv_cstr(n->name), true);
    case JN_GETITEM: {
        if (n->b->kind == JN_SLICE) {
            if (value.kind == JV_UNDEF) fail_undefined(c, n->line, value);
            jv parts[3];
            const jnode *p[3] = {n->b->a, n->b->b, n->b->c};
            for (int k = 0; k < 3; k++) parts[k] = p[k] ? eval(c, fr, p[k]) : jv_none();
            return slice(c, n->line, value, parts[0], parts[1], parts[2]);
        }
        return jinja_getattr(c, n->line, value, eval(c, fr, n->b), false);
    }
    case JN_CALL: {
        jargs args;
        eval_args(c, fr, n, &args);
        return jinja_call(c, n->line, value, &args);
    }
    case JN_FILTER: {
        jargs args;
        eval_args(c, fr, n, &args);
        return jinja_filter(c, n->line, n->name, value, &args);
    }
    case JN_TEST: {
        jargs args;
        eval_args(c, fr, n, &args);
        bool r = jinja_test(c, n->line, n->name, value, &args);
        return jv_bool(n->negated ? !r : r);
    }
    default: jfail_at(c->fail, n->line, "not an operation");
    }
}

static jv eval_node(jctx *c, jframe *fr, const jnode *n) {
    jfail *f = c->fail;
    switch (n->kind) {
    case JN_LITERAL: return n->literal;
    case JN_NAME: return lookup(c, fr, n->name);
    case JN_LIST:
    case JN_TUPLE: {
        jv l = jv_new_list(f);
        l.u.list->is_tuple = n->kind == JN_TUPLE;
        for (size_t i = 0; i < n->items.n; i++) jlist_push(f, l.u.list, eval(c, fr, n->items.v[i]));
        return l;
    }
    case JN_DICT: {
        jv d = jv_new_dict(f);
        for (size_t i = 0; i + 1 < n->items.n; i += 2)
            jdict_set(f, d.u.dict, eval(c, fr, n->items.v[i]), eval(c, fr, n->items.v[i + 1]));
        return d;
    }
    case JN_UNARY: {
        jv v = eval(c, fr, n->a);
        if (v.kind == JV_UNDEF) fail_undefined(c, n->line, v);
        if (!is_num(v)) jfail_at(f, n->line, "bad operand type for unary %s: '%s'", n->name, jv_type_name(v));
        if (n->name[0] == '+') return v.kind == JV_BOOL ? jv_int(v.u.b) : v;
        return v.kind == JV_FLOAT ? jv_float(-v.u.f) : jv_int((int64_t)(0 - (uint64_t)inum(v)));
    }
    case JN_CHAIN: {
        jv v = eval(c, fr, n->a);
        for (size_t i = 0; i < n->items.n; i++) {
            jf_work(f, 1);
            v = apply_step(c, fr, n->items.v[i], v);
        }
        return v;
    }
    case JN_BINARY:
    case JN_AND:
    case JN_OR:
    case JN_GETATTR:
    case JN_GETITEM:
    case JN_CALL:
    case JN_FILTER:
    case JN_TEST: return apply_step(c, fr, n, eval(c, fr, n->a));
    case JN_CONCAT: {
        jbuf b = {0};
        for (size_t i = 0; i < n->items.n; i++) jv_str(f, &b, eval(c, fr, n->items.v[i]));
        return jv_strn(b.data ? b.data : "", b.len);
    }
    case JN_NOT: return jv_bool(!jv_truthy(eval(c, fr, n->a)));
    case JN_COMPARE: {
        jv left = eval(c, fr, n->a);
        for (size_t i = 0; i < n->ops.n; i++) {
            jv right = eval(c, fr, n->ops.v[i]);
            if (!compare(c, n->line, n->names[i], left, right)) return jv_bool(false);
            left = right;
        }
        return jv_bool(true);
    }
    case JN_TERNARY:
        if (jv_truthy(eval(c, fr, n->b))) return eval(c, fr, n->a);
        return n->c ? eval(c, fr, n->c) : jv_undef(NULL);
    default: jfail_at(f, n->line, "not an expression");
    }
}

static jv eval(jctx *c, jframe *fr, const jnode *n) {
    jinja_enter(c, n->line);
    c->fail->line = n->line;
    jf_work(c->fail, 1);
    jv v = eval_node(c, fr, n);
    jinja_leave(c);
    return v;
}

static void write_value(jctx *c, int line, jbuf *out, jv v) {
    (void)line;
    jv_str(c->fail, out, v);
}

/* The loop variable, filled directly: its keys are known to be distinct. */
static JINJA_NOINLINE jv make_loop(jctx *c, jlist *items, size_t i) {
    jfail *f = c->fail;
    jv loop = jv_new_dict(f);
    jdict *d = loop.u.dict;
    size_t n = items->n;
    d->cap = 11;
    d->keys = jf_alloc(f, d->cap * sizeof(jv));
    d->vals = jf_alloc(f, d->cap * sizeof(jv));
    const struct {
        const char *key;
        jv val;
        bool present;
    } fields[] = {
        {"index", jv_int((int64_t)i + 1), true},
        {"index0", jv_int((int64_t)i), true},
        {"revindex", jv_int((int64_t)(n - i)), true},
        {"revindex0", jv_int((int64_t)(n - i - 1)), true},
        {"first", jv_bool(i == 0), true},
        {"last", jv_bool(i + 1 == n), true},
        {"length", jv_int((int64_t)n), true},
        {"depth", jv_int(1), true},
        {"depth0", jv_int(0), true},
        {"previtem", i > 0 ? items->items[i - 1] : jv_none(), i > 0},
        {"nextitem", i + 1 < n ? items->items[i + 1] : jv_none(), i + 1 < n},
    };
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        if (!fields[k].present) continue;
        d->keys[d->n] = jv_cstr(fields[k].key);
        d->vals[d->n++] = fields[k].val;
    }
    return loop;
}

static JINJA_NOINLINE void bind_targets(jctx *c, int line, jframe *fr, const jnode *n, jv item) {
    if (n->n_names == 1) {
        assign(c, fr, n->names[0], item);
        return;
    }
    jlist *parts = jinja_iterate(c, line, item);
    if (parts->n != n->n_names)
        jfail_at(c->fail, line, "cannot unpack %zu value(s) into %zu name(s)", parts->n, n->n_names);
    for (size_t i = 0; i < n->n_names; i++) assign(c, fr, n->names[i], parts->items[i]);
}

static JINJA_NOINLINE void exec_for(jctx *c, jframe *fr, const jnode *n, jbuf *out) {
    jv iterable = eval(c, fr, n->b);
    jlist *source = jinja_iterate(c, n->line, iterable);
    jlist *items = source;
    if (n->c) { /* "for x in xs if cond": filter first, so loop.* counts the kept items */
        items = jv_new_list(c->fail).u.list;
        for (size_t i = 0; i < source->n; i++) {
            jframe *test = new_frame(c, fr);
            bind_targets(c, n->line, test, n, source->items[i]);
            if (jv_truthy(eval(c, test, n->c))) jlist_push(c->fail, items, source->items[i]);
        }
    } else {
        /* Iterate over a snapshot: the body may append to the list. */
        items = jv_new_list(c->fail).u.list;
        for (size_t i = 0; i < source->n; i++) jlist_push(c->fail, items, source->items[i]);
    }
    for (size_t i = 0; i < items->n; i++) {
        c->fail->line = n->line;
        jf_work(c->fail, 1);
        jframe *body = new_frame(c, fr);
        bind_targets(c, n->line, body, n, items->items[i]);
        if (n->uses_loop) assign(c, body, "loop", make_loop(c, items, i));
        flow fl = exec_body(c, body, &n->body, out);
        if (fl == FLOW_BREAK) break;
    }
    if (items->n == 0 && n->else_body.n) exec_body(c, new_frame(c, fr), &n->else_body, out);
}

/* {% call macro(args) %}body{% endcall %}: the macro runs with caller()
 * bound to the body. */
static JINJA_NOINLINE void exec_call_block(jctx *c, jframe *fr, const jnode *n, jbuf *out) {
    jfail *f = c->fail;
    jfunc *caller = jf_alloc(f, sizeof(jfunc));
    caller->kind = JF_CALLER;
    caller->name = "caller";
    caller->node = n;
    caller->closure = fr;
    jv caller_v = {.kind = JV_FUNC};
    caller_v.u.fn = caller;
    jv callee = eval(c, fr, n->a->a);
    jargs args;
    eval_args(c, fr, n->a, &args);
    jv result;
    if (callee.kind == JV_FUNC && callee.u.fn->kind == JF_MACRO)
        result = call_macro(c, n->line, callee.u.fn, &args, caller_v);
    else
        result = jinja_call(c, n->line, callee, &args);
    write_value(c, n->line, out, result);
}

static flow exec_node(jctx *c, jframe *fr, const jnode *n, jbuf *out) {
    jfail *f = c->fail;
    f->line = n->line;
    jf_work(f, 1);
    switch (n->kind) {
    case JN_TEXT: jbuf_add(f, out, n->literal.u.str.s, n->literal.u.str.n); break;
    case JN_PRINT: write_value(c, n->line, out, eval(c, fr, n->a)); break;
    case JN_IF:
        for (;;) { /* an elif is an if alone in the else body: a loop, not recursion */
            if (jv_truthy(eval(c, fr, n->a))) return exec_body(c, fr, &n->body, out);
            if (n->else_body.n != 1 || !n->else_body.v[0]->is_elif) return exec_body(c, fr, &n->else_body, out);
            n = n->else_body.v[0];
            jf_work(f, 1);
        }
    case JN_FOR: exec_for(c, fr, n, out); break;
    case JN_SET:
        if (n->name && !strcmp(n->name, "attr")) {
            jv target = lookup(c, fr, n->names[0]);
            if (target.kind != JV_DICT || !target.u.dict->is_namespace)
                jfail_at(f, n->line, "cannot assign attribute on non-namespace object");
            jdict_set(f, target.u.dict, jv_cstr(n->names[1]), eval(c, fr, n->a));
        } else {
            bind_targets(c, n->line, fr, n, eval(c, fr, n->a));
        }
        break;
    case JN_SET_BLOCK: {
        jbuf captured = {0};
        exec_body(c, fr, &n->body, &captured);
        jv value = jv_strn(captured.data ? captured.data : "", captured.len);
        if (n->a) {
            ((jnode *)n->b)->literal = value;
            value = eval(c, fr, n->a);
        }
        assign(c, fr, n->names[0], value);
        break;
    }
    case JN_MACRO: {
        jfunc *fn = jf_alloc(f, sizeof(jfunc));
        fn->kind = JF_MACRO;
        fn->name = n->name;
        fn->node = n;
        fn->closure = fr;
        jv v = {.kind = JV_FUNC};
        v.u.fn = fn;
        assign(c, fr, n->name, v);
        break;
    }
    case JN_CALL_BLOCK: exec_call_block(c, fr, n, out); break;
    case JN_FILTER_BLOCK: {
        jbuf captured = {0};
        exec_body(c, fr, &n->body, &captured);
        ((jnode *)n->b)->literal = jv_strn(captured.data ? captured.data : "", captured.len);
        write_value(c, n->line, out, eval(c, fr, n->a));
        break;
    }
    case JN_BREAK: return FLOW_BREAK;
    case JN_CONTINUE: return FLOW_CONTINUE;
    case JN_DO: eval(c, fr, n->a); break;
    default: jfail_at(f, n->line, "not a statement");
    }
    return FLOW_NORMAL;
}

static flow exec_body(jctx *c, jframe *fr, const jnodes *body, jbuf *out) {
    if (!body->n) return FLOW_NORMAL;
    jinja_enter(c, body->v[0]->line);
    flow fl = FLOW_NORMAL;
    for (size_t i = 0; i < body->n && fl == FLOW_NORMAL; i++) fl = exec_node(c, fr, body->v[i], out);
    jinja_leave(c);
    return fl;
}

tl_status tl_jinja_parse(const char *source, size_t len, tl_jinja **out, tl_error *err) {
    *out = NULL;
    if (!source && len) return tl_fail(err, TL_ERR_ARGUMENT, "template source is NULL");
    tl_jinja *t = calloc(1, sizeof *t);
    if (!t || !(t->arena = ja_new())) {
        free(t);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory parsing a template");
    }
    /* Parsing takes time and memory linear in the source; the default
     * memory budget only guards against a bug making that worse. */
    jfail f = {.err = err,
               .arena = t->arena,
               .max_steps = UINT64_MAX,
               .max_memory = TL_CHAT_DEFAULT_MAX_MEMORY,
               .max_output = SIZE_MAX};
    tl_error local;
    if (!err) f.err = &local;
    if (setjmp(f.jump)) {
        tl_jinja_free(t);
        return f.err->status;
    }
    jtok *toks;
    size_t n_toks;
    jinja_lex(&f, source ? source : "", len, &toks, &n_toks);
    t->body = jinja_parse_tokens(&f, toks, n_toks);
    *out = t;
    return TL_OK;
}

tl_status tl_jinja_render(const tl_jinja *t, const cJSON *context, char **out, size_t *out_len, tl_error *err) {
    return tl_jinja_render_limited(t, context, NULL, out, out_len, err);
}

tl_status tl_jinja_render_limited(const tl_jinja *t, const cJSON *context, const tl_chat_limits *limits, char **out,
                                  size_t *out_len, tl_error *err) {
    *out = NULL;
    if (out_len) *out_len = 0;
    jarena *arena = ja_new();
    if (!arena) return tl_fail(err, TL_ERR_NOMEM, "out of memory rendering a template");
    tl_error local;
    jfail f = {.err = err ? err : &local, .arena = arena, .line = 1};
    f.max_steps = limits && limits->max_steps ? limits->max_steps : TL_CHAT_DEFAULT_MAX_STEPS;
    f.max_memory = limits && limits->max_memory ? limits->max_memory : TL_CHAT_DEFAULT_MAX_MEMORY;
    f.max_output = limits && limits->max_output ? limits->max_output : TL_CHAT_DEFAULT_MAX_OUTPUT;
    /* volatile: read after longjmp */
    volatile tl_status status = TL_OK;
    if (setjmp(f.jump)) {
        status = f.err->status;
        ja_free(arena);
        return status;
    }
    jctx c = {.fail = &f};
    c.root = new_frame(&c, NULL);
    c.now_epoch = -1;
    if (context && cJSON_IsObject(context)) {
        for (const cJSON *item = context->child; item; item = item->next) {
            if (!item->string) continue;
            if (!strcmp(item->string, "__strftime_now_epoch") && cJSON_IsNumber(item)) {
                c.now_epoch = (int64_t)item->valuedouble;
                continue;
            }
            assign(&c, c.root, jf_strndup(&f, item->string, strlen(item->string)), jv_from_cjson(&f, item, 0));
        }
    }
    jframe *top = new_frame(&c, c.root);
    jbuf buf = {0};
    f.output = &buf;
    exec_body(&c, top, &t->body, &buf);
    char *result = malloc(buf.len + 1);
    if (!result) {
        ja_free(arena);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory rendering a template");
    }
    if (buf.len) memcpy(result, buf.data, buf.len);
    result[buf.len] = 0;
    *out = result;
    if (out_len) *out_len = buf.len;
    ja_free(arena);
    return status;
}

void tl_jinja_free(tl_jinja *t) {
    if (!t) return;
    ja_free(t->arena);
    free(t);
}
