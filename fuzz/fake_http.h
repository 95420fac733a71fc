/*
 * fake_http.h — an in-memory stand-in for the HTTP layer's streams, so the
 * API fuzz target can call api_route() without sockets (fake_http.c).
 */
#ifndef TL_FUZZ_FAKE_HTTP_H
#define TL_FUZZ_FAKE_HTTP_H

#include <stddef.h>

#include "server/http.h"

/* Waits until the producer finishes the stream, then lets go of the
 * connection's side; returns the number of bytes written to it. */
size_t fake_stream_wait(http_stream *s);

#endif /* TL_FUZZ_FAKE_HTTP_H */
