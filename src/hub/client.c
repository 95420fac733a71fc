/*
 * client.c — the Hub client's settings (endpoint, token, timeouts, from the
 * options and HF_ENDPOINT/HF_TOKEN), GET of the API's JSON, and the one-line
 * errors for the HTTP statuses the Hub answers with.
 */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transfer.h"
#include "util/error.h"

static long env_long(const char *name, long fallback, long min, long max) {
    const char *v = getenv(name);
    if (!v || !*v) return fallback;
    char *end;
    long n = strtol(v, &end, 10);
    return *end || n < min || n > max ? fallback : n;
}

void hub_client_init(hub_client *client, const tl_hub_options *options) {
    memset(client, 0, sizeof *client);
    const char *endpoint = options && options->endpoint ? options->endpoint : getenv("HF_ENDPOINT");
    if (!endpoint || !*endpoint) endpoint = "https://huggingface.co";
    snprintf(client->endpoint, sizeof client->endpoint, "%s", endpoint);
    size_t n = strlen(client->endpoint);
    while (n && client->endpoint[n - 1] == '/') client->endpoint[--n] = '\0';
    const char *token = options && options->token ? options->token : getenv("HF_TOKEN");
    if (token) snprintf(client->token, sizeof client->token, "%s", token);
    client->insecure = options && options->insecure;
    /* The tests shorten these (TINYLLM_HUB_* are not documented for users). */
    client->connect_timeout = env_long("TINYLLM_HUB_CONNECT_TIMEOUT", 20, 1, 600);
    client->low_speed_time = env_long("TINYLLM_HUB_LOW_SPEED_TIME", 60, 1, 3600);
    client->max_attempts = (int)env_long("TINYLLM_HUB_ATTEMPTS", 6, 1, 100);
    client->retry_delay_ms = env_long("TINYLLM_HUB_RETRY_MS", 1000, 0, 60000);
}

typedef struct memory_sink {
    hub_response *response;
    size_t max;
    bool too_big;
} memory_sink;

static bool to_memory(void *user, const char *data, size_t n) {
    memory_sink *m = user;
    hub_response *r = m->response;
    if (r->body_len + n > m->max) {
        m->too_big = true;
        return false;
    }
    char *grown = realloc(r->body, r->body_len + n + 1);
    if (!grown) return false;
    r->body = grown;
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return true;
}

tl_status hub_get(const hub_client *client, const char *url, size_t max_body, hub_response *response, tl_error *err) {
    memset(response, 0, sizeof *response);
    memory_sink sink = {response, max_body, false};
    hub_transfer t = {.range_from = -1, .sink = to_memory, .sink_user = &sink, .response = response};
    CURLcode code = hub_transfer_run(client, url, &t);
    if (sink.too_big) return tl_fail(err, TL_ERR_FORMAT, "%s: the answer is larger than %zu bytes", url, max_body);
    if (code != CURLE_OK) return hub_curl_error(url, code, t.curl_error, err);
    if (!response->body) {
        response->body = calloc(1, 1);
        if (!response->body) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    return TL_OK;
}

void hub_response_free(hub_response *response) {
    free(response->body);
    response->body = NULL;
    response->body_len = 0;
}

tl_status hub_http_error(const hub_client *client, const char *repo, const char *url, const hub_response *response,
                         tl_error *err) {
    long status = response->status;
    bool token = client->token[0] != '\0';
    bool api = strstr(url, "/api/models/") != NULL;
    if (status == 404 || strcmp(response->error_code, "RepoNotFound") == 0) {
        if (!api && strcmp(response->error_code, "RepoNotFound") != 0)
            return tl_fail(err, TL_ERR_ARGUMENT, "%s: no such file in %s (HTTP 404)", url, repo);
        return tl_fail(err, TL_ERR_ARGUMENT, "unknown repository %s on %s (HTTP %ld)%s", repo, client->endpoint, status,
                       token ? "" : "; if it is private, set HF_TOKEN");
    }
    if ((status == 401 || status == 403) && !token)
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "%s is gated or private (HTTP %ld): set HF_TOKEN to a Hugging Face token with access to it",
                       repo, status);
    if (status == 401)
        return tl_fail(err, TL_ERR_ARGUMENT, "HF_TOKEN was not accepted for %s (HTTP 401): check the token", repo);
    if (status == 403)
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "the account of HF_TOKEN has no access to %s (HTTP 403): accept its conditions on the Hub",
                       repo);
    if (status == 429) return tl_fail(err, TL_ERR_IO, "%s: rate limited by the Hub (HTTP 429): try again later", url);
    return tl_fail(err, TL_ERR_IO, "%s: HTTP %ld%s%s", url, status, response->error_code[0] ? " " : "",
                   response->error_code);
}

void hub_url_encode(const char *s, bool keep_slash, char *out, size_t out_size) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(out);
    for (; *s && n + 4 < out_size; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~' || (keep_slash && c == '/')) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
}

bool hub_report(const tl_hub_options *options, const char *status, const char *digest, int64_t completed,
                int64_t total) {
    if (!options || !options->progress) return true;
    return options->progress(options->progress_user, status, digest, completed, total);
}
