/*
 * error.h — filling a tl_error with a one-line, printf-formatted message.
 */
#ifndef TL_ERROR_H
#define TL_ERROR_H

#include "tinyllm.h"

#if defined(__GNUC__)
#define TL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TL_PRINTF(a, b)
#endif

/* Set err (which may be NULL) and return status, so callers can write
 * `return tl_fail(err, TL_ERR_FORMAT, "%s: bad magic", path);`. */
tl_status tl_fail(tl_error *err, tl_status status, const char *fmt, ...) TL_PRINTF(3, 4);

/* Returns the status of `expr` from the calling function unless it is TL_OK. */
#define TL_TRY(expr)                                                                                                   \
    do {                                                                                                               \
        tl_status tl_try_status_ = (expr);                                                                             \
        if (tl_try_status_ != TL_OK) return tl_try_status_;                                                            \
    } while (0)

#endif /* TL_ERROR_H */
