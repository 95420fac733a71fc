/*
 * client.h — the Hub client's HTTP layer over libcurl (inside src/hub
 * only): GET with the token where it may go, response headers the Hub
 * sends, redirects followed by hand so that the token never reaches a CDN
 * on another host, and one-line errors for what went wrong on the way.
 */
#ifndef TL_HUB_CLIENT_H
#define TL_HUB_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"

typedef struct hub_client {
    char endpoint[512]; /* no trailing '/' */
    char token[512];    /* "" when none */
    bool insecure;
    long connect_timeout; /* seconds */
    long low_speed_time;  /* seconds under 1 byte/s before a transfer is given up */
    int max_attempts;     /* of a download, counting the first */
    long retry_delay_ms;  /* before the first retry; doubled each time */
} hub_client;

typedef struct hub_response {
    long status;
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
    char link_next[2048];  /* the Link header's rel="next" URL, or "" */
    char error_code[64];   /* X-Error-Code */
    char linked_etag[128]; /* X-Linked-Etag, quotes removed */
    char repo_commit[64];  /* X-Repo-Commit */
} hub_response;

/* Fills the client from the options and the environment (HF_ENDPOINT, HF_TOKEN). */
void hub_client_init(hub_client *client, const tl_hub_options *options);

/* GET url (redirects followed; the token only to the endpoint's host). The
 * body is kept up to `max_body` bytes. Network failures are errors; any HTTP
 * status is a response. */
tl_status hub_get(const hub_client *client, const char *url, size_t max_body, hub_response *response, tl_error *err);
void hub_response_free(hub_response *response);

/* The one-line error for an HTTP status of `what` (a repository or URL). */
tl_status hub_http_error(const hub_client *client, const char *repo, const char *url, const hub_response *response,
                         tl_error *err);

/* Downloads url into `path`, resuming what is there (HTTP Range), retrying
 * dropped connections, checking `size` and `sha256` (when not NULL; a
 * mismatch removes the file). The digest of the whole file goes to hex. */
tl_status hub_download(const hub_client *client, const char *repo, const char *url, const char *path, int64_t size,
                       const char *sha256, const tl_hub_options *options, char hex[65], tl_error *err);

/* Appends to `out` the URL-encoding of s ('/' kept when keep_slash). */
void hub_url_encode(const char *s, bool keep_slash, char *out, size_t out_size);

/* Was the pull cancelled by the progress callback? Reports a progress step. */
bool hub_report(const tl_hub_options *options, const char *status, const char *digest, int64_t completed,
                int64_t total);

#endif /* TL_HUB_CLIENT_H */
