/*
 * json_prefix.c — the JSON-object prefix automaton (see json_prefix.h).
 *
 * `expect` says what the next byte may be. Values end in three ways: a
 * string at its closing quote, a literal at its last letter, a container at
 * its bracket — and a number only at the first byte that is not part of it,
 * which is then read again as what follows the value.
 */
#include "sampling/json_prefix.h"

#include <string.h>

enum expect {
    ROOT,         /* the opening '{' of the root object */
    VALUE,        /* any value (after ':' or ',' in an array) */
    ARRAY_FIRST,  /* a value or ']' (right after '[') */
    OBJECT_FIRST, /* a key or '}' (right after '{') */
    KEY,          /* a key (after ',' in an object) */
    COLON,        /* ':' after a key */
    AFTER_VALUE,  /* ',' or the closing bracket of the container */
    STRING,       /* inside a string; step: 0 plain, 1 after '\', 2..5 hex digits of \u left + 1 */
    LITERAL,      /* inside true/false/null; step = letters read */
    NUMBER,       /* inside a number; step = number state below */
    DONE,         /* the root object is closed */
};

enum number_state { MINUS, ZERO, INT, DOT, FRACTION, E, E_SIGN, EXPONENT };

static const char *const literals[3] = {"true", "false", "null"};

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
static bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void tl_json_prefix_init(tl_json_prefix *p) {
    memset(p, 0, sizeof *p);
    p->expect = ROOT;
}

/* A value has ended: what follows it depends on the container. */
static void value_done(tl_json_prefix *p) {
    if (p->depth == 0) {
        p->expect = DONE;
        p->complete = true;
    } else {
        p->expect = AFTER_VALUE;
    }
}

static bool open_container(tl_json_prefix *p, char bracket) {
    if (p->depth == TL_JSON_MAX_DEPTH) return false;
    p->containers[p->depth++] = (uint8_t)bracket;
    p->expect = bracket == '{' ? OBJECT_FIRST : ARRAY_FIRST;
    return true;
}

static bool close_container(tl_json_prefix *p, char bracket) {
    if (p->depth == 0 || p->containers[p->depth - 1] != (bracket == '}' ? '{' : '[')) return false;
    p->depth--;
    value_done(p);
    return true;
}

/* The first byte of a value. */
static bool start_value(tl_json_prefix *p, char c) {
    if (c == '{' || c == '[') return open_container(p, c);
    if (c == '"') {
        p->expect = STRING;
        p->in_key = false;
        p->step = 0;
        return true;
    }
    if (c == '-' || is_digit(c)) {
        p->expect = NUMBER;
        p->step = c == '-' ? MINUS : c == '0' ? ZERO : INT;
        p->length = 1;
        return true;
    }
    for (uint8_t i = 0; i < 3; i++)
        if (c == literals[i][0]) {
            p->expect = LITERAL;
            p->literal = i;
            p->step = 1;
            return true;
        }
    return false;
}

/* The number state after byte c, or -1 when c cannot continue the number:
 * then it ends the number if the state allows (*can_end), else it is an error. */
static int number_next(int state, char c, bool *can_end) {
    *can_end = state == ZERO || state == INT || state == FRACTION || state == EXPONENT;
    const bool digit = is_digit(c), e = c == 'e' || c == 'E';
    switch (state) {
    case MINUS: return digit ? (c == '0' ? ZERO : INT) : -1;
    case ZERO: return c == '.' ? DOT : e ? E : -1;
    case INT: return digit ? INT : c == '.' ? DOT : e ? E : -1;
    case DOT: return digit ? FRACTION : -1;
    case FRACTION: return digit ? FRACTION : e ? E : -1;
    case E: return c == '+' || c == '-' ? E_SIGN : digit ? EXPONENT : -1;
    case E_SIGN: return digit ? EXPONENT : -1;
    default: return digit ? EXPONENT : -1; /* EXPONENT */
    }
}

static bool string_byte(tl_json_prefix *p, char c) {
    const unsigned char u = (unsigned char)c;
    if (p->step == 0) {
        if (c == '"') {
            if (p->in_key)
                p->expect = COLON;
            else
                value_done(p);
        } else if (c == '\\') {
            p->step = 1;
        } else if (u < 0x20) {
            return false; /* control characters must be escaped */
        }
        return true;
    }
    if (p->step == 1) {
        if (c == 'u')
            p->step = 5;
        else if (c && strchr("\"\\/bfnrt", c))
            p->step = 0;
        else
            return false;
        return true;
    }
    if (!is_hex(c)) return false;
    p->step = p->step == 2 ? 0 : (uint8_t)(p->step - 1);
    return true;
}

static bool feed_byte(tl_json_prefix *p, char c) {
    if (p->expect == STRING) return string_byte(p, c);
    if (p->expect == LITERAL) {
        const char *word = literals[p->literal];
        if (c != word[p->step]) return false;
        if (word[++p->step] == 0) value_done(p);
        return true;
    }
    if (p->expect == NUMBER) {
        bool can_end;
        const int next = number_next(p->step, c, &can_end);
        if (next >= 0) {
            p->step = (uint8_t)next;
            return ++p->length <= TL_JSON_MAX_NUMBER;
        }
        if (!can_end) return false;
        value_done(p); /* the byte after the number is read as what follows it */
    }
    if (is_space(c)) {
        if (p->expect == ROOT || p->expect == DONE || ++p->spaces > TL_JSON_MAX_SPACE) return false;
        return true;
    }
    p->spaces = 0;
    switch (p->expect) {
    case ROOT: return c == '{' && open_container(p, '{');
    case VALUE: return start_value(p, c);
    case ARRAY_FIRST: return c == ']' ? close_container(p, ']') : start_value(p, c);
    case OBJECT_FIRST:
    case KEY:
        if (c == '}' && p->expect == OBJECT_FIRST) return close_container(p, '}');
        if (c != '"') return false;
        p->expect = STRING;
        p->in_key = true;
        p->step = 0;
        return true;
    case COLON:
        if (c != ':') return false;
        p->expect = VALUE;
        return true;
    case AFTER_VALUE:
        if (c == ',') {
            p->expect = p->containers[p->depth - 1] == '{' ? KEY : VALUE;
            return true;
        }
        return (c == '}' || c == ']') && close_container(p, c);
    default: return false; /* DONE: nothing may follow */
    }
}

bool tl_json_prefix_feed(tl_json_prefix *p, const char *bytes, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!feed_byte(p, bytes[i])) return false;
    return true;
}
