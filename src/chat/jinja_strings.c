/*
 * jinja_strings.c — Python's str operations on UTF-8 text for the Jinja
 * filters and methods: case changes (Unicode, via utf8proc), strip with
 * Python's whitespace set, split, replace, find, startswith/endswith,
 * join, and Jinja2 3.1's indent(); and the functions that the tables of
 * filters and of str methods share.
 */
#include <string.h>

#include <utf8proc.h>

#include "chat/jinja_internal.h"

/* ---- string helpers ---------------------------------------------------------------- */

static void append_case(jctx *c, jbuf *b, const char *s, size_t n, case_kind kind) {
    size_t i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (len <= 0) {
            jbuf_addc(c->fail, b, s[i++]);
            continue;
        }
        if (kind == CASE_UPPER && cp == 0xDF) { /* Python: "ß".upper() == "SS" */
            jbuf_adds(c->fail, b, "SS");
            i += (size_t)len;
            continue;
        }
        cp = kind == CASE_UPPER ? utf8proc_toupper(cp) : utf8proc_tolower(cp);
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t elen = utf8proc_encode_char(cp, enc);
        jbuf_add(c->fail, b, (const char *)enc, (size_t)elen);
        i += (size_t)len;
    }
}

jv jstr_case(jctx *c, jv s, case_kind kind) {
    jbuf b = {0};
    append_case(c, &b, s.u.str.s, s.u.str.n, kind);
    return jbuf_value(&b);
}

static size_t char_len(const char *s, size_t n) {
    return n ? utf8_offset(s, n, 1) : 0;
}

jv jstr_capitalize(jctx *c, jv s) {
    jbuf b = {0};
    size_t first = char_len(s.u.str.s, s.u.str.n);
    append_case(c, &b, s.u.str.s, first, CASE_UPPER);
    append_case(c, &b, s.u.str.s + first, s.u.str.n - first, CASE_LOWER);
    return jbuf_value(&b);
}

/* Jinja2's title: words begin after whitespace, '-', '(', '{', '[' or '<'. */
jv jstr_title(jctx *c, jv s) {
    jbuf b = {0};
    bool word_start = true;
    for (size_t i = 0; i < s.u.str.n;) {
        size_t len = char_len(s.u.str.s + i, s.u.str.n - i);
        char ch = s.u.str.s[i];
        bool sep = strchr(" \t\n\r\f\v-({[<", ch) != NULL && ch != 0;
        if (sep)
            jbuf_add(c->fail, &b, s.u.str.s + i, len);
        else
            append_case(c, &b, s.u.str.s + i, len, word_start ? CASE_UPPER : CASE_LOWER);
        word_start = sep;
        i += len;
    }
    return jbuf_value(&b);
}

static bool is_py_space(const char *s, size_t n, size_t i, size_t *len) {
    unsigned char ch = (unsigned char)s[i];
    *len = 1;
    if (ch == ' ' || (ch >= 0x09 && ch <= 0x0d) || (ch >= 0x1c && ch <= 0x1f)) return true;
    if (ch == 0xc2 && i + 1 < n && ((unsigned char)s[i + 1] == 0x85 || (unsigned char)s[i + 1] == 0xa0)) {
        *len = 2;
        return true;
    }
    if (ch == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
        (((unsigned char)s[i + 2] >= 0x80 && (unsigned char)s[i + 2] <= 0x8a) || (unsigned char)s[i + 2] == 0xa8 ||
         (unsigned char)s[i + 2] == 0xa9 || (unsigned char)s[i + 2] == 0xaf)) {
        *len = 3;
        return true;
    }
    if (ch == 0xe3 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 && (unsigned char)s[i + 2] == 0x80) {
        *len = 3;
        return true;
    }
    return false;
}

static bool in_chars(jv chars, const char *s, size_t len) {
    for (size_t i = 0; i < chars.u.str.n;) {
        size_t cl = char_len(chars.u.str.s + i, chars.u.str.n - i);
        if (cl == len && memcmp(chars.u.str.s + i, s, len) == 0) return true;
        i += cl;
    }
    return false;
}

/* str.strip/lstrip/rstrip with optional chars (None: whitespace). */
jv jstr_strip(jctx *c, int line, jv s, jv chars, bool left, bool right) {
    bool custom = chars.kind == JV_STR;
    if (!custom && chars.kind != JV_NONE && chars.kind != JV_UNDEF)
        jfail_at(c->fail, line, "strip arg must be None or str");
    size_t start = 0, end = s.u.str.n;
    const char *p = s.u.str.s;
    size_t per_char = custom ? chars.u.str.n : 1;
    if (left)
        while (start < end) {
            jf_scan(c->fail, per_char);
            size_t len;
            bool sp = is_py_space(p, end, start, &len);
            if (custom) {
                len = char_len(p + start, end - start);
                sp = in_chars(chars, p + start, len);
            }
            if (!sp) break;
            start += len;
        }
    if (right)
        while (end > start) {
            jf_scan(c->fail, per_char);
            size_t k = end - 1;
            while (k > start && ((unsigned char)p[k] & 0xC0) == 0x80) k--;
            size_t len;
            bool sp = custom ? in_chars(chars, p + k, end - k) : is_py_space(p, end, k, &len);
            if (!sp) break;
            end = k;
        }
    return jv_strn(p + start, end - start);
}

const char *jstr_find(jfail *f, const char *h, size_t hn, const char *needle, size_t nn) {
    if (nn == 0) return h;
    jf_scan(f, hn);
    /* Each place the first byte matches costs a compare of the needle. */
    for (const char *p = h, *end = h + hn; (size_t)(end - p) >= nn;) {
        p = memchr(p, needle[0], (size_t)(end - p) - nn + 1);
        if (!p) return NULL;
        jf_scan(f, nn);
        if (memcmp(p, needle, nn) == 0) return p;
        p++;
    }
    return NULL;
}

jv jstr_replace(jctx *c, jv s, jv old, jv new_text, int64_t count) {
    jbuf b = {0};
    const char *p = s.u.str.s, *end = p + s.u.str.n;
    int64_t done = 0;
    if (old.u.str.n == 0) { /* Python inserts between every character */
        for (size_t i = 0; i <= s.u.str.n;) {
            if (count < 0 || done < count) {
                jbuf_add(c->fail, &b, new_text.u.str.s, new_text.u.str.n);
                done++;
            }
            if (i == s.u.str.n) break;
            size_t len = char_len(p + i, s.u.str.n - i);
            jbuf_add(c->fail, &b, p + i, len);
            i += len;
        }
        return jbuf_value(&b);
    }
    while (p < end) {
        const char *hit =
            (count < 0 || done < count) ? jstr_find(c->fail, p, (size_t)(end - p), old.u.str.s, old.u.str.n) : NULL;
        if (!hit) break;
        jbuf_add(c->fail, &b, p, (size_t)(hit - p));
        jbuf_add(c->fail, &b, new_text.u.str.s, new_text.u.str.n);
        p = hit + old.u.str.n;
        done++;
    }
    jbuf_add(c->fail, &b, p, (size_t)(end - p));
    return jbuf_value(&b);
}

/* str.jstr_split(sep=None, maxsplit=-1) */
jv jstr_split(jctx *c, int line, jv s, jv sep, int64_t maxsplit) {
    jv out = jv_new_list(c->fail);
    const char *p = s.u.str.s;
    size_t n = s.u.str.n;
    if (sep.kind == JV_STR) {
        if (sep.u.str.n == 0) jfail_at(c->fail, line, "empty separator");
        size_t start = 0;
        int64_t splits = 0;
        for (;;) {
            const char *hit = (maxsplit < 0 || splits < maxsplit)
                                  ? jstr_find(c->fail, p + start, n - start, sep.u.str.s, sep.u.str.n)
                                  : NULL;
            if (!hit) break;
            jlist_push(c->fail, out.u.list, jv_strn(p + start, (size_t)(hit - (p + start))));
            start = (size_t)(hit - p) + sep.u.str.n;
            splits++;
        }
        jlist_push(c->fail, out.u.list, jv_strn(p + start, n - start));
        return out;
    }
    size_t i = 0;
    int64_t splits = 0;
    for (;;) {
        size_t len;
        while (i < n && is_py_space(p, n, i, &len)) i += len;
        if (i >= n) break;
        if (maxsplit >= 0 && splits >= maxsplit) {
            size_t end = n;
            while (end > i) {
                size_t k = end - 1;
                while (k > i && ((unsigned char)p[k] & 0xC0) == 0x80) k--;
                if (!is_py_space(p, n, k, &len)) break;
                end = k;
            }
            jlist_push(c->fail, out.u.list, jv_strn(p + i, end - i));
            break;
        }
        size_t start = i;
        while (i < n && !is_py_space(p, n, i, &len)) i++;
        jlist_push(c->fail, out.u.list, jv_strn(p + start, i - start));
        splits++;
    }
    return out;
}

bool jstr_affix(jctx *c, int line, jv s, jv affix, bool prefix) {
    if (affix.kind == JV_LIST) { /* a tuple of strings, as in Python (not nested) */
        for (size_t i = 0; i < affix.u.list->n; i++)
            if (jstr_affix(c, line, s, jarg_str(c, line, affix.u.list->items[i], prefix ? "startswith" : "endswith"),
                           prefix))
                return true;
        return false;
    }
    jarg_str(c, line, affix, prefix ? "startswith" : "endswith");
    jf_scan(c->fail, affix.u.str.n);
    if (affix.u.str.n > s.u.str.n) return false;
    const char *at = prefix ? s.u.str.s : s.u.str.s + s.u.str.n - affix.u.str.n;
    return memcmp(at, affix.u.str.s, affix.u.str.n) == 0;
}

jv jstr_join(jctx *c, int line, jv sep, jv items) {
    jlist *l = jinja_iterate(c, line, items);
    jbuf b = {0};
    for (size_t i = 0; i < l->n; i++) {
        if (i && sep.kind == JV_STR) jbuf_add(c->fail, &b, sep.u.str.s, sep.u.str.n);
        jv_str(c->fail, &b, l->items[i]);
    }
    return jbuf_value(&b);
}

/* Jinja2 3.1 jstr_indent(): lines after the first get the prefix unless blank. */
jv jstr_indent(jctx *c, jv s, jv width, bool first, bool blank) {
    jbuf pad = {0};
    if (width.kind == JV_STR)
        jbuf_add(c->fail, &pad, width.u.str.s, width.u.str.n);
    else
        for (int64_t i = 0; i < (width.kind == JV_INT ? width.u.i : 4) && i < 1024; i++) jbuf_addc(c->fail, &pad, ' ');
    /* splitlines() of s + "\n" */
    jv lines = jv_new_list(c->fail);
    const char *p = s.u.str.s;
    size_t n = s.u.str.n, start = 0;
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)p[i];
        size_t br = 0;
        if (ch == '\r' && i + 1 < n && p[i + 1] == '\n')
            br = 2;
        else if (ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f' || (ch >= 0x1c && ch <= 0x1e))
            br = 1;
        else if (ch == 0xc2 && i + 1 < n && (unsigned char)p[i + 1] == 0x85)
            br = 2;
        else if (ch == 0xe2 && i + 2 < n && (unsigned char)p[i + 1] == 0x80 &&
                 ((unsigned char)p[i + 2] == 0xa8 || (unsigned char)p[i + 2] == 0xa9))
            br = 3;
        if (br) {
            jlist_push(c->fail, lines.u.list, jv_strn(p + start, i - start));
            i += br;
            start = i;
        } else {
            i++;
        }
    }
    jlist_push(c->fail, lines.u.list, jv_strn(p + start, n - start)); /* the part before the added "\n" */
    jlist *l = lines.u.list;
    jbuf b = {0};
    if (first) jbuf_add(c->fail, &b, pad.data, pad.len);
    for (size_t i = 0; i < l->n; i++) {
        if (i) {
            jbuf_addc(c->fail, &b, '\n');
            if (blank || l->items[i].u.str.n) jbuf_add(c->fail, &b, pad.data, pad.len);
        }
        jbuf_add(c->fail, &b, l->items[i].u.str.s, l->items[i].u.str.n);
    }
    return jbuf_value(&b);
}

/* ---- str filters that are also str methods ------------------------------------------------ */
jv jstr_call_upper(jctx *c, int line, jv s, const jargs *a) {
    (void)line, (void)a;
    return jstr_case(c, s, CASE_UPPER);
}

jv jstr_call_lower(jctx *c, int line, jv s, const jargs *a) {
    (void)line, (void)a;
    return jstr_case(c, s, CASE_LOWER);
}

jv jstr_call_capitalize(jctx *c, int line, jv s, const jargs *a) {
    (void)line, (void)a;
    return jstr_capitalize(c, s);
}

jv jstr_call_title(jctx *c, int line, jv s, const jargs *a) {
    (void)line, (void)a;
    return jstr_title(c, s);
}

jv jstr_call_strip(jctx *c, int line, jv s, const jargs *a) {
    return jstr_strip(c, line, s, jarg(a, 0, "chars", jv_none()), true, true);
}
