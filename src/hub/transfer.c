/*
 * transfer.c — one HTTP GET with the Hub client's rules: redirects followed
 * by hand, so that Authorization goes to the endpoint's host and never to a
 * CDN on another host (as huggingface_hub does); the headers the Hub sends
 * (Link, X-Error-Code, X-Linked-Etag, X-Repo-Commit) captured (parse.c);
 * timeouts.
 */
#include "transfer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "util/error.h"

enum { MAX_REDIRECTS = 10, ERROR_BODY_MAX = 4096 };

/* The host of a URL, lower-cased, into out ("" when it has none). */
static void url_host(const char *url, char *out, size_t out_size) {
    out[0] = '\0';
    CURLU *u = curl_url();
    char *host = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        snprintf(out, out_size, "%s", host);
        for (char *c = out; *c; c++) *c = (char)tolower((unsigned char)*c);
    }
    curl_free(host);
    curl_url_cleanup(u);
}

static size_t on_header(char *data, size_t size, size_t count, void *user) {
    hub_transfer *t = user;
    hub_parse_header(t->response, data, size * count);
    return size * count;
}

typedef struct body_state {
    hub_transfer *t;
    CURL *curl;
} body_state;

static size_t on_body(char *data, size_t size, size_t count, void *user) {
    body_state *b = user;
    size_t n = size * count;
    long status = 0;
    curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 300 && status < 400) return n; /* a redirect's page */
    b->t->response->status = status;
    if (status >= 200 && status < 300) return b->t->sink(b->t->sink_user, data, n) ? n : 0;
    hub_response *r = b->t->response; /* an error page: keep its start */
    size_t room = r->body_len < ERROR_BODY_MAX ? ERROR_BODY_MAX - r->body_len : 0;
    size_t keep = n < room ? n : room;
    char *grown = realloc(r->body, r->body_len + keep + 1);
    if (!grown) return 0;
    r->body = grown;
    memcpy(r->body + r->body_len, data, keep);
    r->body_len += keep;
    r->body[r->body_len] = '\0';
    return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal, (void)ultotal, (void)ulnow;
    hub_transfer *t = user;
    return t->progress && !t->progress(t->progress_user, (int64_t)dlnow) ? 1 : 0;
}

CURLcode hub_transfer_run(const hub_client *client, const char *url, hub_transfer *t) {
    char endpoint_host[256], host[256], current[4096], range[64], auth[600];
    url_host(client->endpoint, endpoint_host, sizeof endpoint_host);
    snprintf(current, sizeof current, "%s", url);
    t->curl_error[0] = '\0';
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(t->curl_error, sizeof t->curl_error, "cannot start libcurl");
        return CURLE_FAILED_INIT;
    }
    CURLcode code = CURLE_OK;
    for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
        struct curl_slist *headers = NULL;
        url_host(current, host, sizeof host);
        if (client->token[0] && strcmp(host, endpoint_host) == 0) {
            snprintf(auth, sizeof auth, "Authorization: Bearer %s", client->token);
            headers = curl_slist_append(headers, auth);
        }
        if (t->range_from >= 0) {
            snprintf(range, sizeof range, "Range: bytes=%lld-", (long long)t->range_from);
            headers = curl_slist_append(headers, range);
        }
        body_state body = {t, curl};
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, current);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "tinyllm/" TL_VERSION);
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, client->connect_timeout);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, client->low_speed_time);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, t->curl_error);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        if (client->insecure) {
            curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        free(t->response->body);
        t->response->body = NULL;
        t->response->body_len = 0;
        t->curl_error[0] = '\0';
        code = curl_easy_perform(curl);
        curl_slist_free_all(headers);
        t->response->status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t->response->status);
        char *location = NULL;
        long status = t->response->status;
        if (code != CURLE_OK || status < 300 || status >= 400 ||
            curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) != CURLE_OK || !location)
            break;
        if (hop == MAX_REDIRECTS) {
            snprintf(t->curl_error, sizeof t->curl_error, "more than %d redirects", MAX_REDIRECTS);
            code = CURLE_TOO_MANY_REDIRECTS;
            break;
        }
        snprintf(current, sizeof current, "%s", location);
    }
    curl_easy_cleanup(curl);
    return code;
}

tl_status hub_curl_error(const char *url, CURLcode code, const char *detail, tl_error *err) {
    const char *why = detail && *detail ? detail : curl_easy_strerror(code);
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return tl_fail(err, TL_ERR_IO, "cannot reach %s: %s (no network?)", url, why);
    case CURLE_COULDNT_CONNECT:
        return tl_fail(err, TL_ERR_IO, "cannot connect to %s: %s (no network, or a wrong --endpoint?)", url, why);
    case CURLE_OPERATION_TIMEDOUT: return tl_fail(err, TL_ERR_IO, "%s: timed out: %s", url, why);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION: return tl_fail(err, TL_ERR_IO, "%s: TLS failed: %s", url, why);
    default: return tl_fail(err, TL_ERR_IO, "%s: %s", url, why);
    }
}
