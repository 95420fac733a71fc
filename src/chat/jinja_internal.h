/*
 * jinja_internal.h — what the parts of the Jinja engine share: the arena all
 * template and render memory comes from, runtime values (Python-like:
 * undefined, none, bool, int, float, str, list, dict, callable), tokens and
 * the syntax tree. Errors inside the engine longjmp to the public entry
 * point, which is safe because every allocation lives in an arena.
 *
 * Hostile templates: every recursive path counts its depth (parser
 * nesting, evaluation nesting, value nesting) against limits far below what
 * a small thread stack holds, chains (a + b + ..., a.b.c, x|f|g, elif) are
 * flat lists evaluated in a loop, and a render has a budget of steps, arena
 * memory and output (kept in jfail) that the engine charges as it works.
 */
#ifndef TL_CHAT_JINJA_INTERNAL_H
#define TL_CHAT_JINJA_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "tinyllm.h"
#include "util/error.h"

/* Keeps a big helper's locals out of the frames of the recursive functions
 * that call it (the depth limits assume small frames). */
#if defined(__GNUC__)
#define JINJA_NOINLINE __attribute__((noinline))
#else
#define JINJA_NOINLINE
#endif

/* ---- arena --------------------------------------------------------------- */
typedef struct jarena jarena;
jarena *ja_new(void);
void ja_free(jarena *a);
/* Zeroed memory; NULL when out of memory or when the arena would grow past
 * `limit` bytes (*over_limit tells which). */
void *ja_alloc(jarena *a, size_t n, size_t limit, bool *over_limit);

/* Depth limits of the recursive paths, each far below what a 256 KiB stack
 * holds (tests/unit/test_jinja_limits.c renders the worst cases on one). */
#define JINJA_MAX_PARSE_NESTING 100 /* brackets, unary operators, not, blocks */
#define JINJA_MAX_EVAL_NESTING 128  /* nested expression/statement evaluation */
#define JINJA_MAX_VALUE_NESTING 100 /* lists/dicts inside each other */
#define JINJA_MAX_CALL_DEPTH 50     /* macro and caller() calls */

typedef struct jbuf {
    char *data;
    size_t len, cap;
} jbuf;

/* Where errors go (a tl_error and the jump back to the entry point), the
 * line being run (for budget errors), and the render's budget. */
typedef struct jfail {
    jmp_buf jump;
    tl_error *err;
    jarena *arena;
    int line;
    uint64_t steps, max_steps;
    size_t max_memory;
    const jbuf *output; /* the render's output, limited to max_output bytes */
    size_t max_output;
} jfail;
_Noreturn void jfail_at(jfail *f, int line, const char *fmt, ...) TL_PRINTF(3, 4);
_Noreturn void jfail_steps(jfail *f);
void *jf_alloc(jfail *f, size_t n); /* ja_alloc that fails cleanly */
char *jf_strndup(jfail *f, const char *s, size_t n);

/* Charges `n` steps of work to the render's budget. */
static inline void jf_work(jfail *f, uint64_t n) {
    f->steps += n;
    if (f->steps > f->max_steps) jfail_steps(f);
}
/* Charges a scan over `bytes` bytes (a step per 64 bytes). */
static inline void jf_scan(jfail *f, size_t bytes) {
    jf_work(f, 1 + bytes / 64);
}

/* ---- a growable string in the arena ---------------------------------------- */
void jbuf_add(jfail *f, jbuf *b, const char *s, size_t n);
void jbuf_adds(jfail *f, jbuf *b, const char *s);
void jbuf_addc(jfail *f, jbuf *b, char c);

/* ---- values ---------------------------------------------------------------- */
typedef enum jv_kind { JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_DICT, JV_FUNC } jv_kind;

struct jlist;
struct jdict;
struct jfunc;

typedef struct jv {
    jv_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *s;
            size_t n;
        } str;
        struct jlist *list;
        struct jdict *dict;
        struct jfunc *fn;
        const char *undef_name; /* for messages; may be NULL */
    } u;
} jv;

typedef struct jlist {
    jv *items;
    size_t n, cap;
    bool is_tuple;
} jlist;

typedef struct jdict {
    jv *keys, *vals;
    size_t n, cap;
    bool is_namespace;
} jdict;

jv jv_undef(const char *name);
jv jv_none(void);
jv jv_bool(bool b);
jv jv_int(int64_t i);
jv jv_float(double f);
jv jv_strn(const char *s, size_t n); /* no copy */
jv jv_cstr(const char *s);           /* no copy */
jv jv_new_list(jfail *f);
jv jv_new_dict(jfail *f);
void jlist_push(jfail *f, jlist *l, jv v);
/* Insert or replace. */
void jdict_set(jfail *f, jdict *d, jv key, jv val);
/* NULL when absent; charges a step per key compared. */
jv *jdict_get(jfail *f, const jdict *d, jv key);
jv *jdict_gets(jfail *f, const jdict *d, const char *key);

bool jv_truthy(jv v);
/* Python's ==; charges its work, fails on values nested too deeply. */
bool jv_equal(jfail *f, jv a, jv b);
/* -1/0/1; fails (line) when the kinds cannot be ordered, like Python. */
int jv_compare(jfail *f, int line, jv a, jv b);
const char *jv_type_name(jv v);
/* str(v) as Python prints it (None, True, 1.5, ['a'], {'k': 1}); undefined is "". */
void jv_str(jfail *f, jbuf *b, jv v);
/* repr(v) as Python prints it. */
void jv_repr(jfail *f, jbuf *b, jv v);
jv jv_to_string(jfail *f, jv v);
/* json.dumps(v, ensure_ascii=False, indent=indent (<0: none), sort_keys). */
void jv_tojson(jfail *f, int line, jbuf *b, jv v, int indent, bool sort_keys, int depth);
jv jv_from_cjson(jfail *f, const cJSON *j, int depth);
/* Stable merge sort of order[0..n) by keys[order[i]] (descending when reverse). */
void jv_sort_order(jfail *f, int line, const jv *keys, size_t *order, size_t n, bool reverse);
/* Python float repr (shortest round trip). */
void jv_float_repr(jbuf *b, jfail *f, double d);
/* Number of code points of a UTF-8 string. */
size_t utf8_length(const char *s, size_t n);
/* Byte offset of code point `index` (clamped to the end). */
size_t utf8_offset(const char *s, size_t n, size_t index);

/* ---- tokens ---------------------------------------------------------------- */
typedef enum jtok_kind {
    JT_TEXT,
    JT_VAR_BEGIN,
    JT_VAR_END,
    JT_BLOCK_BEGIN,
    JT_BLOCK_END,
    JT_NAME,
    JT_STRING,
    JT_INT,
    JT_FLOAT,
    JT_OP,
    JT_EOF
} jtok_kind;

typedef struct jtok {
    jtok_kind kind;
    int line;
    const char *s; /* text, name, op, or unescaped string (arena) */
    size_t n;
    int64_t i;
    double f;
} jtok;

/* Splits a template into tokens with Hugging Face's whitespace rules. */
void jinja_lex(jfail *f, const char *src, size_t len, jtok **out, size_t *n_out);

/* ---- syntax tree ----------------------------------------------------------- */
typedef enum jnode_kind {
    /* statements */
    JN_TEXT,
    JN_PRINT,
    JN_IF,
    JN_FOR,
    JN_SET,
    JN_SET_BLOCK,
    JN_MACRO,
    JN_CALL_BLOCK,
    JN_FILTER_BLOCK,
    JN_BREAK,
    JN_CONTINUE,
    JN_DO,
    /* expressions */
    JN_LITERAL,
    JN_NAME,
    JN_LIST,
    JN_TUPLE,
    JN_DICT,
    JN_UNARY,
    JN_BINARY,
    JN_AND,
    JN_OR,
    JN_NOT,
    JN_COMPARE,
    JN_TERNARY,
    JN_GETATTR,
    JN_GETITEM,
    JN_SLICE,
    JN_CALL,
    JN_FILTER,
    JN_TEST,
    JN_CONCAT,
    /* a: the first operand; items: steps (BINARY, AND, OR, GETATTR, GETITEM,
     * CALL, FILTER, TEST nodes whose `a` is NULL) applied left to right to
     * the value so far, so long chains need no recursion */
    JN_CHAIN
} jnode_kind;

typedef struct jnode jnode;
typedef struct jnodes {
    jnode **v;
    size_t n, cap;
} jnodes;

struct jnode {
    jnode_kind kind;
    int line;
    const char *name; /* variable, attribute, filter, test, macro, op ("+", "==", ...) */
    jv literal;
    jnode *a, *b, *c;      /* operands: condition, target, iterable, slice parts... */
    jnodes items;          /* list/tuple/dict items (dict: key, value, key, value...), args */
    const char **kw_names; /* keyword arguments (kw_values in kw) */
    jnodes kw;
    const char **names; /* for targets, macro parameters, set target (name, attr) */
    size_t n_names;
    jnodes defaults; /* macro parameter defaults (NULL entries: none) */
    jnodes body, else_body;
    jnodes ops;     /* compare: right operands; names hold the operators */
    bool negated;   /* "is not" */
    bool is_elif;   /* an if that is the elif of the if whose else_body it is */
    bool uses_loop; /* a for whose body reads `loop` (or might: nested loops count) */
};

/* Parses tokens into a body of statements. */
jnodes jinja_parse_tokens(jfail *f, const jtok *toks, size_t n);

/* ---- rendering --------------------------------------------------------------- */
typedef struct jframe {
    struct jframe *parent;
    jdict *vars;
} jframe;

typedef struct jctx jctx;

/* Arguments of a call. */
typedef struct jargs {
    jv *pos;
    size_t n_pos;
    const char **kw_names;
    jv *kw;
    size_t n_kw;
} jargs;

typedef enum jfunc_kind { JF_BUILTIN, JF_METHOD, JF_MACRO, JF_CALLER } jfunc_kind;
typedef struct jfunc {
    jfunc_kind kind;
    const char *name;
    jv self;           /* bound object of a method */
    const jnode *node; /* macro or call block */
    jframe *closure;   /* the frame a caller body runs in */
} jfunc;

struct jctx {
    jfail *fail;
    jframe *root;
    int call_depth; /* macro and caller() calls */
    int nesting;    /* eval/exec recursion */
    int64_t now_epoch;
};

/* Counts one level of recursion (fails past JINJA_MAX_EVAL_NESTING). */
void jinja_enter(jctx *c, int line);
static inline void jinja_leave(jctx *c) {
    c->nesting--;
}

jv jinja_call(jctx *c, int line, jv callee, const jargs *args);
/* A filter (value|name(args)) or a method (value.name(args)): one signature
 * for both, so that a str filter and a str method that agree share one
 * function. */
typedef jv jcall_fn(jctx *c, int line, jv value, const jargs *args);
/* A filter by name; fails for unknown names. */
jv jinja_filter(jctx *c, int line, const char *name, jv value, const jargs *args);
bool jinja_test(jctx *c, int line, const char *name, jv value, const jargs *args);
/* Whether a filter/test exists, so the parser can reject unknown names as Jinja2 does. */
bool jinja_filter_known(const char *name);
bool jinja_test_known(const char *name);
/* A method of a str/dict/list value (or undefined when there is none). */
jv jinja_get_method(jctx *c, jv self, const char *name);
jv jinja_call_method(jctx *c, int line, const jfunc *fn, const jargs *args);
jv jinja_call_builtin(jctx *c, int line, const char *name, const jargs *args);
jv jinja_getattr(jctx *c, int line, jv obj, jv key, bool attribute_syntax);
/* Sort/ iterate helpers shared with filters. */
jlist *jinja_iterate(jctx *c, int line, jv v);
bool jinja_is_global(const char *name);

/* ---- helpers shared by filters and methods ------------------------------------------ */
/* Positional argument `index` or keyword `name`; `fallback` when absent. */
jv jarg(const jargs *a, size_t index, const char *name, jv fallback);
/* v itself when it is a string; fails otherwise naming `what`. */
jv jarg_str(jctx *c, int line, jv v, const char *what);
jv jbuf_value(jbuf *b);
jv jv_method(jctx *c, jfunc_kind kind, const char *name, jv self);
/* The row named `name` of a table of `count` structs of `stride` bytes whose
 * first member is the name (the tables of filters, tests, methods and
 * globals), or NULL. */
const void *jname_find(const void *table, size_t count, size_t stride, const char *name);
#define JNAME_FIND(table, name) jname_find((table), sizeof(table) / sizeof((table)[0]), sizeof((table)[0]), (name))

typedef enum { CASE_UPPER, CASE_LOWER } case_kind;
jv jstr_case(jctx *c, jv s, case_kind kind);
jv jstr_capitalize(jctx *c, jv s);
jv jstr_title(jctx *c, jv s);
jv jstr_strip(jctx *c, int line, jv s, jv chars, bool left, bool right);
/* First occurrence; charges its work. */
const char *jstr_find(jfail *f, const char *haystack, size_t hn, const char *needle, size_t nn);
/* count < 0: replace all. */
jv jstr_replace(jctx *c, jv s, jv old, jv new_text, int64_t count);
/* sep None: runs of whitespace; maxsplit < 0: no limit. */
jv jstr_split(jctx *c, int line, jv s, jv sep, int64_t maxsplit);
/* startswith (prefix) / endswith; affix may be a tuple of strings. */
bool jstr_affix(jctx *c, int line, jv s, jv affix, bool prefix);
jv jstr_join(jctx *c, int line, jv sep, jv items);
jv jstr_indent(jctx *c, jv s, jv width, bool first, bool blank);
/* The str filters that are also str methods (value: a str): upper, lower,
 * capitalize, title, and trim (the method strip). */
jcall_fn jstr_call_upper, jstr_call_lower, jstr_call_capitalize, jstr_call_title, jstr_call_strip;

#endif /* TL_CHAT_JINJA_INTERNAL_H */
