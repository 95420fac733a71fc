/*
 * jinja_lexer.c — splits template source into text and tag tokens, applying
 * Jinja2's whitespace rules as Hugging Face configures them: "-" strips all
 * whitespace on its side, trim_blocks drops the newline after a block or
 * comment tag, lstrip_blocks drops the indentation before one ("+" keeps
 * it), {% raw %} passes text through, and one trailing newline of the
 * template is dropped (keep_trailing_newline=False).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"
#include "util/buffer.h"

typedef struct lexer {
    jfail *f;
    const char *src;
    size_t len, pos;
    int line;
    jtok *toks;
    size_t n, cap;
    bool line_starting; /* the text after the previous tag starts a line */
} lexer;

static jtok *push(lexer *L, jtok_kind kind, int line) {
    L->f->line = line; /* for a budget error */
    if (L->n == L->cap) {
        size_t cap;
        if (!tl_grow_capacity(L->cap, L->n + 1, 256, SIZE_MAX / sizeof(jtok), &cap))
            jfail_at(L->f, line, "template too long");
        jtok *t = jf_alloc(L->f, cap * sizeof(jtok));
        if (L->n) memcpy(t, L->toks, L->n * sizeof(jtok));
        L->toks = t;
        L->cap = cap;
    }
    jtok *t = &L->toks[L->n++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->line = line;
    return t;
}

static int count_lines(const char *s, size_t n) {
    int lines = 0;
    for (size_t i = 0; i < n; i++) lines += s[i] == '\n';
    return lines;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Emits text (newlines normalized to \n) after applying the stripping the
 * following tag asks for. */
static void emit_text(lexer *L, size_t start, size_t end, char tag_kind, char modifier) {
    const char *s = L->src + start;
    size_t n = end - start;
    if (modifier == '-') {
        while (n > 0 && is_space(s[n - 1])) n--;
    } else if (modifier != '+' && (tag_kind == '%' || tag_kind == '#')) {
        size_t line_start = n;
        while (line_start > 0 && s[line_start - 1] != '\n') line_start--;
        if (line_start > 0 || L->line_starting) {
            bool blank = true;
            for (size_t i = line_start; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t') blank = false;
            if (blank) n = line_start;
        }
    }
    if (n == 0) return;
    jtok *t = push(L, JT_TEXT, L->line);
    char *out = jf_alloc(L->f, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            out[o++] = '\n';
            if (i + 1 < n && s[i + 1] == '\n') i++;
        } else {
            out[o++] = s[i];
        }
    }
    t->s = out;
    t->n = o;
}

/* After a tag end at L->pos: "-" strips following whitespace, else
 * trim_blocks drops one newline after block and comment tags. */
static void after_tag(lexer *L, bool strip, bool trim_newline) {
    size_t start = L->pos;
    if (strip) {
        while (L->pos < L->len && is_space(L->src[L->pos])) L->pos++;
    } else if (trim_newline) {
        if (L->pos < L->len && L->src[L->pos] == '\n')
            L->pos++;
        else if (L->pos + 1 < L->len && L->src[L->pos] == '\r' && L->src[L->pos + 1] == '\n')
            L->pos += 2;
        else if (L->pos < L->len && L->src[L->pos] == '\r')
            L->pos++;
    }
    L->line += count_lines(L->src + start, L->pos - start);
    L->line_starting = L->pos > start && (L->src[L->pos - 1] == '\n' || L->src[L->pos - 1] == '\r');
}

static size_t find(const lexer *L, size_t from, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = from; i + n <= L->len; i++)
        if (memcmp(L->src + i, needle, n) == 0) return i;
    return (size_t)-1;
}

/* Appends the UTF-8 encoding of a code point. */
static size_t put_utf8(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A quoted string with Python's backslash escapes (unknown ones kept). */
static void lex_string(lexer *L) {
    char quote = L->src[L->pos];
    int line = L->line;
    size_t i = L->pos + 1;
    /* The unescaped text is never longer than the quoted source. */
    size_t end = i;
    while (end < L->len && L->src[end] != quote) end += L->src[end] == '\\' ? 2 : 1;
    char *out = jf_alloc(L->f, (end < L->len ? end : L->len) - L->pos + 1);
    size_t o = 0;
    for (;;) {
        if (i >= L->len) jfail_at(L->f, line, "unterminated string");
        char c = L->src[i];
        if (c == quote) {
            i++;
            break;
        }
        if (c == '\n') L->line++;
        if (c != '\\' || i + 1 >= L->len) {
            out[o++] = c;
            i++;
            continue;
        }
        char e = L->src[i + 1];
        i += 2;
        switch (e) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case '0': out[o++] = '\0'; break;
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'v': out[o++] = '\v'; break;
        case '\\':
        case '\'':
        case '"': out[o++] = e; break;
        case '\n': L->line++; break;
        case 'x':
        case 'u':
        case 'U': {
            int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < digits; k++) {
                int h = i + (size_t)k < L->len ? hex_value(L->src[i + k]) : -1;
                if (h < 0) jfail_at(L->f, line, "bad \\%c escape in string", e);
                cp = cp * 16 + (uint32_t)h;
            }
            if (cp > 0x10FFFF) jfail_at(L->f, line, "bad \\%c escape in string", e);
            i += (size_t)digits;
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            out[o++] = '\\';
            out[o++] = e;
            break;
        }
    }
    jtok *t = push(L, JT_STRING, line);
    t->s = out;
    t->n = o;
    L->pos = i;
}

static void lex_number(lexer *L) {
    size_t i = L->pos;
    bool is_float = false;
    char digits[128];
    size_t nd = 0;
    while (i < L->len && (isdigit((unsigned char)L->src[i]) || L->src[i] == '_')) {
        if (L->src[i] != '_' && nd < sizeof digits - 8) digits[nd++] = L->src[i];
        i++;
    }
    if (i + 1 < L->len && L->src[i] == '.' && isdigit((unsigned char)L->src[i + 1])) {
        is_float = true;
        digits[nd++] = '.';
        i++;
        while (i < L->len && (isdigit((unsigned char)L->src[i]) || L->src[i] == '_')) {
            if (L->src[i] != '_' && nd < sizeof digits - 8) digits[nd++] = L->src[i];
            i++;
        }
    }
    if (i < L->len && (L->src[i] == 'e' || L->src[i] == 'E')) {
        size_t j = i + 1;
        if (j < L->len && (L->src[j] == '+' || L->src[j] == '-')) j++;
        if (j < L->len && isdigit((unsigned char)L->src[j])) {
            is_float = true;
            digits[nd++] = 'e';
            for (size_t k = i + 1; k < j; k++) digits[nd++] = L->src[k];
            i = j;
            while (i < L->len && isdigit((unsigned char)L->src[i])) {
                if (nd < sizeof digits - 1) digits[nd++] = L->src[i];
                i++;
            }
        }
    }
    digits[nd] = 0;
    jtok *t = push(L, is_float ? JT_FLOAT : JT_INT, L->line);
    if (is_float)
        t->f = strtod(digits, NULL);
    else {
        char *end;
        unsigned long long v = strtoull(digits, &end, 10);
        if (nd > 18 && v > (unsigned long long)INT64_MAX) jfail_at(L->f, L->line, "integer literal too large");
        t->i = (int64_t)v;
    }
    L->pos = i;
}

static const char *const OPERATORS[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                        ">",  "=",  "(",  ")",  "[",  "]",  "{", "}", ",", ".", ":", "|", ";"};

/* Tokens inside {{ }} or {% %} up to the closing delimiter. */
static void lex_tag(lexer *L, char tag_kind, int open_line) {
    const char *close = tag_kind == '{' ? "}}" : "%}";
    int depth = 0;
    for (;;) {
        while (L->pos < L->len && is_space(L->src[L->pos])) {
            if (L->src[L->pos] == '\n') L->line++;
            L->pos++;
        }
        if (L->pos >= L->len) jfail_at(L->f, open_line, "unclosed '%s' tag", tag_kind == '{' ? "{{" : "{%");
        const char *p = L->src + L->pos;
        size_t left = L->len - L->pos;
        if (depth == 0) {
            bool strip = false, ends = false;
            if (left >= 3 && (p[0] == '-' || p[0] == '+') && memcmp(p + 1, close, 2) == 0) {
                strip = p[0] == '-';
                L->pos += 3;
                ends = true;
            } else if (left >= 2 && memcmp(p, close, 2) == 0) {
                L->pos += 2;
                ends = true;
            }
            if (ends) {
                push(L, tag_kind == '{' ? JT_VAR_END : JT_BLOCK_END, L->line);
                after_tag(L, strip, tag_kind == '%' && p[0] != '+');
                return;
            }
        }
        char c = *p;
        if (c == '\'' || c == '"') {
            lex_string(L);
            continue;
        }
        if (isdigit((unsigned char)c)) {
            lex_number(L);
            continue;
        }
        if (isalpha((unsigned char)c) || c == '_') {
            size_t i = L->pos;
            while (i < L->len && (isalnum((unsigned char)L->src[i]) || L->src[i] == '_')) i++;
            jtok *t = push(L, JT_NAME, L->line);
            t->s = jf_strndup(L->f, p, i - L->pos);
            t->n = i - L->pos;
            L->pos = i;
            continue;
        }
        bool matched = false;
        for (size_t k = 0; k < sizeof OPERATORS / sizeof OPERATORS[0]; k++) {
            size_t n = strlen(OPERATORS[k]);
            if (left >= n && memcmp(p, OPERATORS[k], n) == 0) {
                jtok *t = push(L, JT_OP, L->line);
                t->s = OPERATORS[k];
                t->n = n;
                L->pos += n;
                if (c == '(' || c == '[' || c == '{') depth++;
                if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
                matched = true;
                break;
            }
        }
        if (!matched) jfail_at(L->f, L->line, "unexpected character '%c'", c);
    }
}

/* {% raw %} ... {% endraw %}: the text between is data. Returns false when
 * the block tag at L->pos is not "raw". */
static bool lex_raw(lexer *L, size_t tag_start, size_t text_start) {
    size_t i = tag_start + 2;
    char modifier = 0;
    if (i < L->len && (L->src[i] == '-' || L->src[i] == '+')) modifier = L->src[i++];
    while (i < L->len && is_space(L->src[i])) i++;
    if (i + 3 > L->len || memcmp(L->src + i, "raw", 3) != 0) return false;
    i += 3;
    while (i < L->len && is_space(L->src[i])) i++;
    bool strip_after = false;
    if (i < L->len && L->src[i] == '-') {
        strip_after = true;
        i++;
    }
    if (i + 2 > L->len || memcmp(L->src + i, "%}", 2) != 0) return false;
    i += 2;
    emit_text(L, text_start, tag_start, '%', modifier);
    L->line += count_lines(L->src + tag_start, i - tag_start);
    L->pos = i;
    after_tag(L, strip_after, true);
    /* Find {% endraw %} (with optional - and spaces). */
    for (size_t j = L->pos; j + 2 <= L->len; j++) {
        if (L->src[j] != '{' || L->src[j + 1] != '%') continue;
        size_t k = j + 2;
        char end_modifier = 0;
        if (k < L->len && (L->src[k] == '-' || L->src[k] == '+')) end_modifier = L->src[k++];
        while (k < L->len && is_space(L->src[k])) k++;
        if (k + 6 > L->len || memcmp(L->src + k, "endraw", 6) != 0) continue;
        k += 6;
        while (k < L->len && is_space(L->src[k])) k++;
        bool strip = false;
        if (k < L->len && L->src[k] == '-') {
            strip = true;
            k++;
        }
        if (k + 2 > L->len || memcmp(L->src + k, "%}", 2) != 0) continue;
        int line = L->line;
        emit_text(L, L->pos, j, '%', end_modifier);
        L->toks[L->n - 1].line = line;
        L->line += count_lines(L->src + L->pos, k + 2 - L->pos);
        L->pos = k + 2;
        after_tag(L, strip, true);
        return true;
    }
    jfail_at(L->f, L->line, "unclosed 'raw' block");
}

void jinja_lex(jfail *f, const char *src, size_t len, jtok **out, size_t *n_out) {
    lexer L = {.f = f, .src = src, .len = len, .line = 1, .line_starting = true};
    if (L.len > 0 && L.src[L.len - 1] == '\n') {
        L.len--;
        if (L.len > 0 && L.src[L.len - 1] == '\r') L.len--;
    } else if (L.len > 0 && L.src[L.len - 1] == '\r') {
        L.len--;
    }
    while (L.pos < L.len) {
        size_t text_start = L.pos, tag = L.pos;
        char kind = 0;
        for (; tag + 1 < L.len; tag++) {
            if (L.src[tag] == '{' && (L.src[tag + 1] == '{' || L.src[tag + 1] == '%' || L.src[tag + 1] == '#')) {
                kind = L.src[tag + 1];
                break;
            }
        }
        if (!kind) {
            emit_text(&L, text_start, L.len, 0, 0);
            break;
        }
        char modifier = tag + 2 < L.len ? L.src[tag + 2] : 0;
        if (modifier != '-' && modifier != '+') modifier = 0;
        if (kind == '%' && lex_raw(&L, tag, text_start)) continue;
        int text_line = L.line;
        emit_text(&L, text_start, tag, kind, modifier);
        L.line = text_line + count_lines(L.src + text_start, tag - text_start);
        int open_line = L.line;
        L.pos = tag + 2 + (modifier ? 1 : 0);
        if (kind == '#') {
            size_t end = find(&L, L.pos, "#}");
            if (end == (size_t)-1) jfail_at(f, open_line, "unclosed comment");
            bool strip = end > L.pos && L.src[end - 1] == '-';
            L.line += count_lines(L.src + L.pos, end + 2 - L.pos);
            L.pos = end + 2;
            after_tag(&L, strip, true);
            continue;
        }
        push(&L, kind == '{' ? JT_VAR_BEGIN : JT_BLOCK_BEGIN, open_line);
        lex_tag(&L, kind, open_line);
    }
    push(&L, JT_EOF, L.line);
    *out = L.toks;
    *n_out = L.n;
}
