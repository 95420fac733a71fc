/*
 * web.c — serves the web chat page. The files of web/ are compiled into the
 * binary by cmake/embed_web.cmake as the table tl_web_assets (path, content
 * type, bytes), so the page works offline and needs no install step; a path
 * is looked up exactly, so nothing outside that table can be reached.
 * /favicon.ico, unless web/ has one, is a small SVG icon kept here.
 */
#include "server/web.h"

#include <stddef.h>
#include <string.h>

/* Must stay identical to the struct that cmake/embed_web.cmake writes. */
typedef struct tl_web_asset {
    const char *path, *content_type, *data;
    size_t size;
} tl_web_asset;

extern const tl_web_asset tl_web_assets[];

/* A dark rounded square with a light "t" (browsers take an SVG icon by its
 * content type, whatever the path says). */
static const char FAVICON_SVG[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
    "<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#1f2937\"/>"
    "<path d=\"M6.5 3v8.2c0 1.3.8 1.8 2 1.8h2v-1.8H9c-.5 0-.6-.2-.6-.7V7.3h2.2V5.6H8.4V3z\" fill=\"#f9fafb\"/>"
    "</svg>\n";

bool web_asset(const char *path, http_response *res) {
    if (strcmp(path, "/") == 0) path = "/index.html";
    for (const tl_web_asset *a = tl_web_assets; a->path; a++) {
        if (strcmp(a->path, path) != 0) continue;
        res->status = 200;
        res->content_type = a->content_type;
        res->body_static = a->data;
        res->body_len = a->size;
        return true;
    }
    if (strcmp(path, "/favicon.ico") == 0) {
        res->status = 200;
        res->content_type = "image/svg+xml";
        res->body_static = FAVICON_SVG;
        res->body_len = sizeof FAVICON_SVG - 1;
        return true;
    }
    return false;
}
