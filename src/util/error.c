/*
 * error.c — the library's only way of reporting a problem: a status code and
 * a one-line message in a caller-owned tl_error.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

tl_status tl_fail(tl_error *err, tl_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

const char *tl_status_name(tl_status status) {
    switch (status) {
    case TL_OK: return "ok";
    case TL_ERR_IO: return "i/o error";
    case TL_ERR_FORMAT: return "format error";
    case TL_ERR_UNSUPPORTED: return "unsupported";
    case TL_ERR_ARGUMENT: return "invalid argument";
    case TL_ERR_NOMEM: return "out of memory";
    case TL_ERR_CONTEXT_FULL: return "context full";
    }
    return "unknown error";
}
