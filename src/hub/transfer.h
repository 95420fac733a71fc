/*
 * transfer.h — one HTTP GET through libcurl with the Hub client's rules
 * (inside src/hub only): redirects followed by hand (the token goes only to
 * the endpoint's host), response headers captured, the body of a 2xx
 * response handed to a sink, timeouts.
 */
#ifndef TL_HUB_TRANSFER_H
#define TL_HUB_TRANSFER_H

#include <curl/curl.h>

#include "client.h"

typedef struct hub_transfer {
    int64_t range_from; /* send "Range: bytes=N-" when >= 0 */
    /* Called with the body of a 2xx response; returns false to stop. */
    bool (*sink)(void *user, const char *data, size_t n);
    void *sink_user;
    /* Called as bytes arrive (now = bytes of this response so far); false cancels. */
    bool (*progress)(void *user, int64_t now);
    void *progress_user;
    hub_response *response; /* status and headers; the body of a non-2xx response (first 4 KB) */
    char curl_error[CURL_ERROR_SIZE];
} hub_transfer;

/* Performs the GET; the libcurl result (CURLE_OK when a response, of any
 * status, came complete). */
CURLcode hub_transfer_run(const hub_client *client, const char *url, hub_transfer *transfer);

/* The one-line error for a libcurl failure reaching `url`. */
tl_status hub_curl_error(const char *url, CURLcode code, const char *detail, tl_error *err);

#endif /* TL_HUB_TRANSFER_H */
