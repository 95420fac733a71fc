/*
 * web.h — the web chat page, compiled into the binary from web/ (see
 * cmake/embed_web.cmake) and served by web.c.
 */
#ifndef TL_SERVER_WEB_H
#define TL_SERVER_WEB_H

#include <stdbool.h>

#include "server/http.h"

/* Fills *res with the page file at `path` ("/" is "/index.html"); false when
 * there is no such file. */
bool web_asset(const char *path, http_response *res);

#endif /* TL_SERVER_WEB_H */
