/*
 * extract.c — document kinds by file name and HTML blanking (extract.h).
 */
#include "extract.h"

#include <string.h>
#include <strings.h>

static const char *const text_exts[] = {"txt", "md", "markdown", "rst", "adoc", "org", "tex", "text", "log", NULL};
static const char *const html_exts[] = {"html", "htm", "xhtml", NULL};
static const char *const source_exts[] = {
    "c",     "h",    "cc",   "cpp",  "cxx", "hpp",  "hh",   "m",     "mm",      "rs",     "go",         "py",   "pyi",
    "js",    "mjs",  "cjs",  "ts",   "tsx", "jsx",  "java", "kt",    "kts",     "scala",  "swift",      "rb",   "php",
    "pl",    "pm",   "lua",  "r",    "jl",  "hs",   "ml",   "mli",   "ex",      "exs",    "erl",        "clj",  "cs",
    "fs",    "dart", "zig",  "nim",  "v",   "sv",   "vhd",  "sh",    "bash",    "zsh",    "fish",       "ps1",  "bat",
    "cmake", "mk",   "make", "sql",  "css", "scss", "less", "vue",   "svelte",  "json",   "jsonl",      "yaml", "yml",
    "toml",  "ini",  "cfg",  "conf", "xml", "csv",  "tsv",  "proto", "graphql", "gradle", "dockerfile", "nix",  "el",
    "vim",   "asm",  "s",    "f",    "f90", "glsl", "hlsl", "wgsl",  "cu",      "cuh",    "in",         "am",   NULL};

static bool in_list(const char *ext, const char *const *list) {
    for (; *list; list++)
        if (strcasecmp(ext, *list) == 0) return true;
    return false;
}

tl_doc_kind tl_doc_kind_of(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) return TL_DOC_TEXT; /* README, Makefile, .bashrc */
    const char *ext = dot + 1;
    if (in_list(ext, text_exts)) return TL_DOC_TEXT;
    if (in_list(ext, html_exts)) return TL_DOC_HTML;
    if (in_list(ext, source_exts)) return TL_DOC_SOURCE;
    if (strcasecmp(ext, "pdf") == 0) return TL_DOC_PDF;
    return TL_DOC_OTHER;
}

bool tl_doc_is_binary(const char *data, size_t len) {
    return memchr(data, 0, len < 8192 ? len : 8192) != NULL;
}

static void blank(char *t, size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if (t[i] != '\n') t[i] = ' ';
}

/* The end of the first occurrence of needle (case-insensitive) at or after
 * i, or len. */
static size_t find_end(const char *t, size_t len, size_t i, const char *needle) {
    const size_t n = strlen(needle);
    for (; i + n <= len; i++)
        if (strncasecmp(t + i, needle, n) == 0) return i + n;
    return len;
}

static const struct {
    const char *name;
    char ch;
} entities[] = {{"&amp;", '&'},  {"&lt;", '<'},    {"&gt;", '>'},  {"&quot;", '"'},
                {"&#39;", '\''}, {"&apos;", '\''}, {"&nbsp;", ' '}};

void tl_doc_strip_html(char *t, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (t[i] == '<') {
            size_t end;
            if (len - i >= 4 && strncmp(t + i, "<!--", 4) == 0) {
                end = find_end(t, len, i + 4, "-->");
            } else if (len - i >= 7 && strncasecmp(t + i, "<script", 7) == 0) {
                end = find_end(t, len, i + 7, "</script>");
            } else if (len - i >= 6 && strncasecmp(t + i, "<style", 6) == 0) {
                end = find_end(t, len, i + 6, "</style>");
            } else {
                const char *gt = memchr(t + i, '>', len - i);
                end = gt ? (size_t)(gt - t) + 1 : len;
            }
            blank(t, i, end);
            i = end;
        } else if (t[i] == '&') {
            size_t e = 0;
            for (; e < sizeof entities / sizeof entities[0]; e++) {
                const size_t n = strlen(entities[e].name);
                if (len - i >= n && strncmp(t + i, entities[e].name, n) == 0) {
                    blank(t, i, i + n);
                    t[i] = entities[e].ch;
                    i += n;
                    break;
                }
            }
            if (e == sizeof entities / sizeof entities[0]) i++;
        } else {
            i++;
        }
    }
}
