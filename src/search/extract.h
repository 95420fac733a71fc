/*
 * extract.h — what kind of document a file is, and its text: plain text,
 * Markdown and source code as they are, HTML with its tags, scripts, styles
 * and comments blanked out. Blanking (not removing) keeps every byte where it
 * was, so a chunk's byte offsets and line numbers are the file's own.
 */
#ifndef TL_SEARCH_EXTRACT_H
#define TL_SEARCH_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum tl_doc_kind {
    TL_DOC_TEXT,   /* .txt, .md, .rst, ..., and files without an extension */
    TL_DOC_HTML,   /* .html, .htm, .xhtml */
    TL_DOC_SOURCE, /* program source, configuration, data as text */
    TL_DOC_PDF,    /* not read (no PDF library): skipped and counted */
    TL_DOC_OTHER,  /* any other extension: skipped and counted */
} tl_doc_kind;

/* The kind a file's name says. */
tl_doc_kind tl_doc_kind_of(const char *path);
/* A NUL byte in the first 8 KB: not text. */
bool tl_doc_is_binary(const char *data, size_t len);
/* Blanks HTML markup in place (tags, comments, <script> and <style>
 * contents become spaces, entities their character padded with spaces;
 * newlines stay). */
void tl_doc_strip_html(char *text, size_t len);

#endif /* TL_SEARCH_EXTRACT_H */
