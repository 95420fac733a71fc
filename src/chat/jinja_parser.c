/*
 * jinja_parser.c — recursive-descent parser from tokens to the syntax tree,
 * with Jinja2's statement set (if, for, set, macro, call, filter, break,
 * continue, do) and its expression precedence: ternary, or, and, not,
 * comparisons, + -, ~, * / // %, **, unary, then postfix access, calls,
 * filters and tests. Left-associative runs of operators, accesses, calls,
 * filters and tests become one flat JN_CHAIN, and elif runs a flat list of
 * ifs, so no input makes the tree deeper than its bracket and block nesting,
 * which is limited (JINJA_MAX_PARSE_NESTING).
 */
#include <string.h>
#include <stdint.h>

#include "chat/jinja_internal.h"
#include "util/buffer.h"

typedef struct parser {
    jfail *f;
    const jtok *t;
    size_t n, pos;
    int depth;
    size_t loop_names; /* how many times the name `loop` has been read */
} parser;

static const jtok *peek(parser *P) {
    return &P->t[P->pos];
}
static const jtok *peek_at(parser *P, size_t k) {
    return P->pos + k < P->n ? &P->t[P->pos + k] : &P->t[P->n - 1];
}
static const jtok *next(parser *P) {
    const jtok *t = &P->t[P->pos];
    if (P->pos + 1 < P->n) P->pos++;
    return t;
}
static bool is_op(const jtok *t, const char *op) {
    return t->kind == JT_OP && strcmp(t->s, op) == 0;
}
static bool is_name(const jtok *t, const char *name) {
    return t->kind == JT_NAME && strcmp(t->s, name) == 0;
}

static const char *describe(const jtok *t) {
    switch (t->kind) {
    case JT_TEXT: return "text";
    case JT_VAR_BEGIN: return "'{{'";
    case JT_VAR_END: return "'}}'";
    case JT_BLOCK_BEGIN: return "'{%'";
    case JT_BLOCK_END: return "'%}'";
    case JT_EOF: return "end of template";
    default: return t->s ? t->s : "token";
    }
}

static _Noreturn void unexpected(parser *P, const jtok *t, const char *expected) {
    if (t->kind == JT_STRING) jfail_at(P->f, t->line, "unexpected string, expected %s", expected);
    if (t->kind == JT_INT || t->kind == JT_FLOAT) jfail_at(P->f, t->line, "unexpected number, expected %s", expected);
    jfail_at(P->f, t->line, "unexpected %s, expected %s", describe(t), expected);
}

static void expect_op(parser *P, const char *op) {
    if (!is_op(peek(P), op)) {
        char what[16];
        strcpy(what, "'");
        strcat(what, op);
        strcat(what, "'");
        unexpected(P, peek(P), what);
    }
    next(P);
}
static void expect_block_end(parser *P) {
    if (peek(P)->kind != JT_BLOCK_END) unexpected(P, peek(P), "'%}'");
    next(P);
}
static const char *expect_name(parser *P) {
    if (peek(P)->kind != JT_NAME) unexpected(P, peek(P), "a name");
    return next(P)->s;
}

static jnode *new_node(parser *P, jnode_kind kind, int line) {
    P->f->line = line; /* for a budget error */
    jnode *n = jf_alloc(P->f, sizeof(jnode));
    n->kind = kind;
    n->line = line;
    return n;
}

static void nodes_push(parser *P, jnodes *list, jnode *node) {
    if (list->n == list->cap) {
        size_t c;
        if (!tl_grow_capacity(list->cap, list->n + 1, 4, SIZE_MAX / sizeof(jnode *), &c))
            jfail_at(P->f, P->f->line, "template too long");
        jnode **v = jf_alloc(P->f, c * sizeof(jnode *));
        if (list->n) memcpy(v, list->v, list->n * sizeof(jnode *));
        list->v = v;
        list->cap = c;
    }
    list->v[list->n++] = node;
}

/* Appends to an array of n names whose capacity is n rounded up to a power
 * of two (at least 4), so a long list costs linear memory. */
static const char **names_push(parser *P, const char **names, size_t n, const char *name) {
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        const char **v = jf_alloc(P->f, (n ? 2 * n : 4) * sizeof(char *));
        if (n) memcpy(v, names, n * sizeof(char *));
        names = v;
    }
    names[n] = name;
    return names;
}

/* One more level of recursion: a bracket, unary operator, not, or block. */
static void enter(parser *P, int line, const char *what) {
    if (++P->depth > JINJA_MAX_PARSE_NESTING)
        jfail_at(P->f, line, "%s nested deeper than %d levels", what, JINJA_MAX_PARSE_NESTING);
}

/* `step` (an operation whose operand is the value so far) applied after
 * `left`: appended to left's chain, or a new chain. */
static jnode *chain_append(parser *P, jnode *left, jnode *step) {
    step->a = NULL;
    if (left->kind != JN_CHAIN) {
        jnode *chain = new_node(P, JN_CHAIN, left->line);
        chain->a = left;
        left = chain;
    }
    nodes_push(P, &left->items, step);
    return left;
}

static jnode *parse_expr(parser *P);
static jnode *parse_or(parser *P);
static jnode *parse_unary(parser *P, bool with_filter);
static jnode *parse_primary(parser *P);
static jnode *parse_postfix(parser *P, jnode *node);

/* (args): positional then keyword arguments, into node->items / kw. */
static void parse_call_args(parser *P, jnode *node) {
    expect_op(P, "(");
    while (!is_op(peek(P), ")")) {
        if (node->items.n + node->kw.n > 0) expect_op(P, ",");
        if (is_op(peek(P), ")")) break;
        if (peek(P)->kind == JT_NAME && is_op(peek_at(P, 1), "=")) {
            const char *name = next(P)->s;
            next(P);
            node->kw_names = names_push(P, node->kw_names, node->kw.n, name);
            nodes_push(P, &node->kw, parse_expr(P));
        } else {
            if (node->kw.n) jfail_at(P->f, peek(P)->line, "positional argument after keyword argument");
            nodes_push(P, &node->items, parse_expr(P));
        }
    }
    next(P);
}

/* A call of `callee` whose "(" comes next. */
static jnode *parse_call(parser *P, jnode *callee, int line) {
    jnode *call = new_node(P, JN_CALL, line);
    parse_call_args(P, call);
    return chain_append(P, callee, call);
}

static jnode *parse_filter(parser *P, jnode *value) {
    const jtok *t = next(P); /* '|' */
    jnode *node = new_node(P, JN_FILTER, t->line);
    node->name = expect_name(P);
    if (!jinja_filter_known(node->name)) jfail_at(P->f, t->line, "unknown filter '%s'", node->name);
    if (is_op(peek(P), "(")) parse_call_args(P, node);
    return chain_append(P, value, node);
}

static jnode *parse_test(parser *P, jnode *value) {
    const jtok *t = next(P); /* 'is' */
    jnode *node = new_node(P, JN_TEST, t->line);
    if (is_name(peek(P), "not")) {
        next(P);
        node->negated = true;
    }
    node->name = expect_name(P);
    if (!jinja_test_known(node->name)) jfail_at(P->f, t->line, "unknown test '%s'", node->name);
    const jtok *arg = peek(P);
    if (is_op(arg, "(")) {
        parse_call_args(P, node);
    } else if ((arg->kind == JT_NAME || arg->kind == JT_STRING || arg->kind == JT_INT || arg->kind == JT_FLOAT ||
                is_op(arg, "[") || is_op(arg, "{")) &&
               !is_name(arg, "else") && !is_name(arg, "or") && !is_name(arg, "and")) {
        nodes_push(P, &node->items, parse_postfix(P, parse_primary(P)));
    }
    return chain_append(P, value, node);
}

/* Filters, tests and calls that follow a unary expression. */
static jnode *parse_filter_expr(parser *P, jnode *node) {
    for (;;) {
        const jtok *t = peek(P);
        if (is_op(t, "|"))
            node = parse_filter(P, node);
        else if (is_name(t, "is"))
            node = parse_test(P, node);
        else if (is_op(t, "(")) {
            node = parse_call(P, node, t->line);
        } else
            break;
    }
    return node;
}

static jnode *parse_subscript(parser *P) {
    const jtok *t = peek(P);
    jnode *start = NULL, *stop = NULL, *step = NULL;
    if (!is_op(t, ":")) {
        start = parse_expr(P);
        if (!is_op(peek(P), ":")) return start;
    }
    next(P); /* ':' */
    if (!is_op(peek(P), "]") && !is_op(peek(P), ":")) stop = parse_expr(P);
    if (is_op(peek(P), ":")) {
        next(P);
        if (!is_op(peek(P), "]")) step = parse_expr(P);
    }
    jnode *slice = new_node(P, JN_SLICE, t->line);
    slice->a = start;
    slice->b = stop;
    slice->c = step;
    return slice;
}

static jnode *parse_postfix(parser *P, jnode *node) {
    for (;;) {
        const jtok *t = peek(P);
        if (is_op(t, ".")) {
            next(P);
            const jtok *attr = next(P);
            jnode *get = new_node(P, JN_GETATTR, t->line);
            if (attr->kind == JT_NAME)
                get->name = attr->s;
            else if (attr->kind == JT_INT) {
                get->kind = JN_GETITEM;
                get->b = new_node(P, JN_LITERAL, t->line);
                get->b->literal = jv_int(attr->i);
            } else
                unexpected(P, attr, "an attribute name");
            node = chain_append(P, node, get);
        } else if (is_op(t, "[")) {
            next(P);
            jnode *get = new_node(P, JN_GETITEM, t->line);
            get->b = parse_subscript(P);
            expect_op(P, "]");
            node = chain_append(P, node, get);
        } else if (is_op(t, "(")) {
            node = parse_call(P, node, t->line);
        } else
            break;
    }
    return node;
}

static jnode *parse_primary(parser *P) {
    const jtok *t = next(P);
    jnode *node = NULL;
    if (t->kind == JT_NAME) {
        node = new_node(P, JN_LITERAL, t->line);
        const char *s = t->s;
        if (!strcmp(s, "true") || !strcmp(s, "True"))
            node->literal = jv_bool(true);
        else if (!strcmp(s, "false") || !strcmp(s, "False"))
            node->literal = jv_bool(false);
        else if (!strcmp(s, "none") || !strcmp(s, "None"))
            node->literal = jv_none();
        else {
            node->kind = JN_NAME;
            node->name = s;
            if (!strcmp(s, "loop")) P->loop_names++;
        }
    } else if (t->kind == JT_STRING) {
        /* Adjacent strings concatenate. */
        jbuf b = {0};
        jbuf_add(P->f, &b, t->s, t->n);
        while (peek(P)->kind == JT_STRING) {
            const jtok *more = next(P);
            jbuf_add(P->f, &b, more->s, more->n);
        }
        node = new_node(P, JN_LITERAL, t->line);
        node->literal = jv_strn(b.data ? b.data : "", b.len);
    } else if (t->kind == JT_INT) {
        node = new_node(P, JN_LITERAL, t->line);
        node->literal = jv_int(t->i);
    } else if (t->kind == JT_FLOAT) {
        node = new_node(P, JN_LITERAL, t->line);
        node->literal = jv_float(t->f);
    } else if (is_op(t, "(")) {
        if (is_op(peek(P), ")")) {
            next(P);
            node = new_node(P, JN_TUPLE, t->line);
        } else {
            jnode *first = parse_expr(P);
            if (is_op(peek(P), ",")) {
                node = new_node(P, JN_TUPLE, t->line);
                nodes_push(P, &node->items, first);
                while (is_op(peek(P), ",")) {
                    next(P);
                    if (is_op(peek(P), ")")) break;
                    nodes_push(P, &node->items, parse_expr(P));
                }
            } else {
                node = first;
            }
            expect_op(P, ")");
        }
    } else if (is_op(t, "[")) {
        node = new_node(P, JN_LIST, t->line);
        while (!is_op(peek(P), "]")) {
            if (node->items.n) expect_op(P, ",");
            if (is_op(peek(P), "]")) break;
            nodes_push(P, &node->items, parse_expr(P));
        }
        next(P);
    } else if (is_op(t, "{")) {
        node = new_node(P, JN_DICT, t->line);
        while (!is_op(peek(P), "}")) {
            if (node->items.n) expect_op(P, ",");
            if (is_op(peek(P), "}")) break;
            nodes_push(P, &node->items, parse_expr(P));
            expect_op(P, ":");
            nodes_push(P, &node->items, parse_expr(P));
        }
        next(P);
    } else {
        unexpected(P, t, "an expression");
    }
    return node;
}

static jnode *parse_unary(parser *P, bool with_filter) {
    const jtok *t = peek(P);
    jnode *node;
    if (is_op(t, "-") || is_op(t, "+")) {
        next(P);
        enter(P, t->line, "expression");
        node = new_node(P, JN_UNARY, t->line);
        node->name = t->s;
        node->a = parse_unary(P, false);
        P->depth--;
    } else {
        node = parse_postfix(P, parse_primary(P));
    }
    if (with_filter) node = parse_filter_expr(P, node);
    return node;
}

static jnode *binary(parser *P, const jtok *op, jnode *left, jnode *right) {
    jnode *node = new_node(P, JN_BINARY, op->line);
    node->name = op->s;
    node->b = right;
    return chain_append(P, left, node);
}

static jnode *parse_pow(parser *P) {
    jnode *left = parse_unary(P, true);
    while (is_op(peek(P), "**")) {
        const jtok *op = next(P);
        left = binary(P, op, left, parse_unary(P, true));
    }
    return left;
}

static jnode *parse_math2(parser *P) {
    jnode *left = parse_pow(P);
    for (;;) {
        const jtok *t = peek(P);
        if (!is_op(t, "*") && !is_op(t, "/") && !is_op(t, "//") && !is_op(t, "%")) break;
        next(P);
        left = binary(P, t, left, parse_pow(P));
    }
    return left;
}

static jnode *parse_concat(parser *P) {
    jnode *left = parse_math2(P);
    if (!is_op(peek(P), "~")) return left;
    jnode *node = new_node(P, JN_CONCAT, peek(P)->line);
    nodes_push(P, &node->items, left);
    while (is_op(peek(P), "~")) {
        next(P);
        nodes_push(P, &node->items, parse_math2(P));
    }
    return node;
}

static jnode *parse_math1(parser *P) {
    jnode *left = parse_concat(P);
    for (;;) {
        const jtok *t = peek(P);
        if (!is_op(t, "+") && !is_op(t, "-")) break;
        next(P);
        left = binary(P, t, left, parse_concat(P));
    }
    return left;
}

static jnode *parse_compare(parser *P) {
    jnode *left = parse_math1(P);
    jnode *node = NULL;
    for (;;) {
        const jtok *t = peek(P);
        const char *op = NULL;
        if (t->kind == JT_OP && (!strcmp(t->s, "==") || !strcmp(t->s, "!=") || !strcmp(t->s, "<") ||
                                 !strcmp(t->s, "<=") || !strcmp(t->s, ">") || !strcmp(t->s, ">="))) {
            op = t->s;
            next(P);
        } else if (is_name(t, "in")) {
            op = "in";
            next(P);
        } else if (is_name(t, "not") && is_name(peek_at(P, 1), "in")) {
            op = "not in";
            next(P);
            next(P);
        } else
            break;
        if (!node) {
            node = new_node(P, JN_COMPARE, t->line);
            node->a = left;
        }
        node->names = names_push(P, node->names, node->n_names, op);
        node->n_names++;
        nodes_push(P, &node->ops, parse_math1(P));
    }
    return node ? node : left;
}

static jnode *parse_not(parser *P) {
    if (is_name(peek(P), "not")) {
        const jtok *t = next(P);
        enter(P, t->line, "expression");
        jnode *node = new_node(P, JN_NOT, t->line);
        node->a = parse_not(P);
        P->depth--;
        return node;
    }
    return parse_compare(P);
}

/* A left-associative chain `operand WORD operand ...` ("and", "or"). */
static jnode *parse_word_chain(parser *P, const char *word, jnode_kind kind, jnode *(*operand)(parser *)) {
    jnode *left = operand(P);
    while (is_name(peek(P), word)) {
        const jtok *t = next(P);
        jnode *node = new_node(P, kind, t->line);
        node->b = operand(P);
        left = chain_append(P, left, node);
    }
    return left;
}

static jnode *parse_and(parser *P) {
    return parse_word_chain(P, "and", JN_AND, parse_not);
}
static jnode *parse_or(parser *P) {
    return parse_word_chain(P, "or", JN_OR, parse_and);
}

/* An expression with the ternary "a if c else b" (else part optional). */
static jnode *parse_expr(parser *P) {
    enter(P, peek(P)->line, "expression");
    jnode *node = parse_or(P);
    while (is_name(peek(P), "if")) {
        const jtok *t = next(P);
        jnode *tern = new_node(P, JN_TERNARY, t->line);
        tern->a = node;
        tern->b = parse_or(P);
        if (is_name(peek(P), "else")) {
            next(P);
            tern->c = parse_expr(P);
        }
        node = tern;
    }
    P->depth--;
    return node;
}

/* "a" or "a, b" (a tuple) at the top of a statement or print. */
static jnode *parse_tuple_expr(parser *P, bool with_ternary) {
    int line = peek(P)->line;
    jnode *first = with_ternary ? parse_expr(P) : parse_or(P);
    if (!is_op(peek(P), ",")) return first;
    jnode *node = new_node(P, JN_TUPLE, line);
    nodes_push(P, &node->items, first);
    while (is_op(peek(P), ",")) {
        next(P);
        if (peek(P)->kind == JT_BLOCK_END || peek(P)->kind == JT_VAR_END) break;
        nodes_push(P, &node->items, with_ternary ? parse_expr(P) : parse_or(P));
    }
    return node;
}

/* ---- statements ---------------------------------------------------------------- */
static jnodes parse_body(parser *P, const char *const *ends, const char **found, int open_line, const char *opener);

static void parse_targets(parser *P, jnode *node) {
    bool paren = is_op(peek(P), "(");
    if (paren) next(P);
    do {
        if (node->n_names && is_op(peek(P), ",")) next(P);
        node->names = names_push(P, node->names, node->n_names, expect_name(P));
        node->n_names++;
    } while (is_op(peek(P), ","));
    if (paren) expect_op(P, ")");
}

/* if/elif.../else/endif: each elif is an if (is_elif) alone in the else
 * body of the one before, built in a loop. */
static jnode *parse_if(parser *P, int line) {
    jnode *first = new_node(P, JN_IF, line), *node = first;
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    const char *found;
    for (;;) {
        node->a = parse_tuple_expr(P, true);
        expect_block_end(P);
        node->body = parse_body(P, ends, &found, line, "if");
        if (strcmp(found, "elif") != 0) break;
        jnode *elif = new_node(P, JN_IF, peek(P)->line);
        elif->is_elif = true;
        nodes_push(P, &node->else_body, elif);
        node = elif;
    }
    if (!strcmp(found, "else")) {
        expect_block_end(P);
        static const char *const end_only[] = {"endif", NULL};
        node->else_body = parse_body(P, end_only, &found, line, "if");
    }
    expect_block_end(P);
    return first;
}

static jnode *parse_for(parser *P, int line) {
    jnode *node = new_node(P, JN_FOR, line);
    parse_targets(P, node);
    if (!is_name(peek(P), "in")) unexpected(P, peek(P), "'in'");
    next(P);
    node->b = parse_tuple_expr(P, false);
    if (is_name(peek(P), "if")) {
        next(P);
        node->c = parse_expr(P);
    }
    if (is_name(peek(P), "recursive")) jfail_at(P->f, line, "recursive loops are not supported");
    expect_block_end(P);
    static const char *const ends[] = {"else", "endfor", NULL};
    const char *found;
    size_t loop_names = P->loop_names;
    node->body = parse_body(P, ends, &found, line, "for");
    node->uses_loop = P->loop_names != loop_names; /* else `loop` need not be made per iteration */
    if (!strcmp(found, "else")) {
        expect_block_end(P);
        static const char *const end_only[] = {"endfor", NULL};
        node->else_body = parse_body(P, end_only, &found, line, "for");
    }
    expect_block_end(P);
    return node;
}

static jnode *parse_filter_chain(parser *P, jnode *value) {
    /* "name(args)|name..." applied to value */
    jnode *node = value;
    do {
        if (is_op(peek(P), "|")) next(P);
        jnode *filter = new_node(P, JN_FILTER, peek(P)->line);
        filter->name = expect_name(P);
        if (!jinja_filter_known(filter->name)) jfail_at(P->f, filter->line, "unknown filter '%s'", filter->name);
        if (is_op(peek(P), "(")) parse_call_args(P, filter);
        node = chain_append(P, node, filter);
    } while (is_op(peek(P), "|"));
    return node;
}

static jnode *parse_set(parser *P, int line) {
    jnode *node = new_node(P, JN_SET, line);
    const char *first = expect_name(P);
    if (is_op(peek(P), ".")) { /* namespace attribute */
        next(P);
        node->names = names_push(P, NULL, 0, first);
        node->names = names_push(P, node->names, 1, expect_name(P));
        node->n_names = 2;
        node->name = "attr";
        expect_op(P, "=");
        node->a = parse_tuple_expr(P, true);
        expect_block_end(P);
        return node;
    }
    node->names = names_push(P, NULL, 0, first);
    node->n_names = 1;
    while (is_op(peek(P), ",")) {
        next(P);
        node->names = names_push(P, node->names, node->n_names, expect_name(P));
        node->n_names++;
    }
    if (is_op(peek(P), "=")) {
        next(P);
        node->a = parse_tuple_expr(P, true);
        expect_block_end(P);
        return node;
    }
    if (node->n_names != 1) unexpected(P, peek(P), "'='");
    node->kind = JN_SET_BLOCK;
    if (is_op(peek(P), "|")) {
        jnode *placeholder = new_node(P, JN_LITERAL, line);
        node->a = parse_filter_chain(P, placeholder);
        node->b = placeholder;
    }
    expect_block_end(P);
    static const char *const ends[] = {"endset", NULL};
    const char *found;
    node->body = parse_body(P, ends, &found, line, "set");
    expect_block_end(P);
    return node;
}

/* Parameters "(a, b=1)" of a macro or call block. */
static void parse_params(parser *P, jnode *node) {
    expect_op(P, "(");
    while (!is_op(peek(P), ")")) {
        if (node->n_names) expect_op(P, ",");
        if (is_op(peek(P), ")")) break;
        node->names = names_push(P, node->names, node->n_names, expect_name(P));
        node->n_names++;
        jnode *def = NULL;
        if (is_op(peek(P), "=")) {
            next(P);
            def = parse_expr(P);
        }
        nodes_push(P, &node->defaults, def);
    }
    next(P);
}

static jnode *parse_statement(parser *P) {
    const jtok *begin = next(P); /* {% */
    int line = begin->line;
    const jtok *t = peek(P);
    if (t->kind != JT_NAME) unexpected(P, t, "a statement name");
    const char *name = next(P)->s;
    enter(P, line, "blocks");
    jnode *node;
    if (!strcmp(name, "if"))
        node = parse_if(P, line);
    else if (!strcmp(name, "for"))
        node = parse_for(P, line);
    else if (!strcmp(name, "set"))
        node = parse_set(P, line);
    else if (!strcmp(name, "macro")) {
        node = new_node(P, JN_MACRO, line);
        node->name = expect_name(P);
        parse_params(P, node);
        expect_block_end(P);
        static const char *const ends[] = {"endmacro", NULL};
        const char *found;
        node->body = parse_body(P, ends, &found, line, "macro");
        if (peek(P)->kind == JT_NAME) next(P); /* {% endmacro name %} */
        expect_block_end(P);
    } else if (!strcmp(name, "call")) {
        node = new_node(P, JN_CALL_BLOCK, line);
        if (is_op(peek(P), "(")) parse_params(P, node);
        jnode *chain = parse_expr(P);
        if (chain->kind != JN_CHAIN || chain->items.v[chain->items.n - 1]->kind != JN_CALL)
            jfail_at(P->f, line, "expected a call after 'call'");
        node->a = chain->items.v[--chain->items.n]; /* the call, with what it calls as operand */
        node->a->a = chain->items.n ? chain : chain->a;
        expect_block_end(P);
        static const char *const ends[] = {"endcall", NULL};
        const char *found;
        node->body = parse_body(P, ends, &found, line, "call");
        expect_block_end(P);
    } else if (!strcmp(name, "filter")) {
        node = new_node(P, JN_FILTER_BLOCK, line);
        jnode *placeholder = new_node(P, JN_LITERAL, line);
        node->a = parse_filter_chain(P, placeholder);
        node->b = placeholder;
        expect_block_end(P);
        static const char *const ends[] = {"endfilter", NULL};
        const char *found;
        node->body = parse_body(P, ends, &found, line, "filter");
        expect_block_end(P);
    } else if (!strcmp(name, "break") || !strcmp(name, "continue")) {
        node = new_node(P, name[0] == 'b' ? JN_BREAK : JN_CONTINUE, line);
        expect_block_end(P);
    } else if (!strcmp(name, "do")) {
        node = new_node(P, JN_DO, line);
        node->a = parse_tuple_expr(P, true);
        expect_block_end(P);
    } else {
        jfail_at(P->f, line, "unknown tag '%s'", name);
    }
    P->depth--;
    return node;
}

/* Statements until one of `ends` (NULL-terminated; NULL: end of template).
 * Leaves the parser after the end tag's name. */
static jnodes parse_body(parser *P, const char *const *ends, const char **found, int open_line, const char *opener) {
    jnodes body = {0};
    for (;;) {
        const jtok *t = peek(P);
        if (t->kind == JT_EOF) {
            if (!ends) return body;
            jfail_at(P->f, open_line, "unclosed '%s' block (reached the end of the template)", opener);
        }
        if (t->kind == JT_TEXT) {
            jnode *node = new_node(P, JN_TEXT, t->line);
            node->literal = jv_strn(t->s, t->n);
            nodes_push(P, &body, node);
            next(P);
        } else if (t->kind == JT_VAR_BEGIN) {
            next(P);
            jnode *node = new_node(P, JN_PRINT, t->line);
            node->a = parse_tuple_expr(P, true);
            if (peek(P)->kind != JT_VAR_END) unexpected(P, peek(P), "'}}'");
            next(P);
            nodes_push(P, &body, node);
        } else if (t->kind == JT_BLOCK_BEGIN) {
            const jtok *name = peek_at(P, 1);
            if (name->kind == JT_NAME && ends)
                for (size_t i = 0; ends[i]; i++)
                    if (!strcmp(name->s, ends[i])) {
                        next(P);
                        next(P);
                        *found = ends[i];
                        return body;
                    }
            if (name->kind == JT_NAME &&
                (!strncmp(name->s, "end", 3) || !strcmp(name->s, "elif") || !strcmp(name->s, "else")))
                jfail_at(P->f, name->line, "unexpected '%s'%s%s%s", name->s, opener ? " inside '" : "",
                         opener ? opener : "", opener ? "' block" : "");
            nodes_push(P, &body, parse_statement(P));
        } else {
            unexpected(P, t, "text or a tag");
        }
    }
}

jnodes jinja_parse_tokens(jfail *f, const jtok *toks, size_t n) {
    parser P = {.f = f, .t = toks, .n = n};
    const char *found = NULL;
    return parse_body(&P, NULL, &found, 1, NULL);
}
