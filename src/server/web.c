/*
 * web.c — serves the web chat page. The files of web/ are compiled into the
 * binary by cmake/embed_web.cmake as the table tl_web_assets (path, content
 * type, bytes), so the page works offline and needs no install step; a path
 * is looked up exactly, so nothing outside that table can be reached.
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
    return false;
}
