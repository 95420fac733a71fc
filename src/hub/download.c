/*
 * download.c — one file from the Hub into the store's partial path: resumed
 * with HTTP Range from what an interrupted pull left, retried with backoff
 * when the connection drops (a bounded number of times), hashed as it
 * arrives, and checked against the size and sha256 the tree listing gave (a
 * mismatch removes the file, so the next pull starts clean).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "transfer.h"
#include "util/error.h"

typedef struct download {
    const char *path;
    int fd;
    tl_sha256 *hash;
    int64_t have;       /* bytes in the file */
    int64_t at_request; /* bytes in the file when the request was sent */
    int64_t size;       /* expected, or -1 */
    int write_errno;
    bool restarted; /* a 200 answered our Range: the file was started over */
    hub_response *response;
    const tl_hub_options *options;
    const char *status;
    const char *digest;
    char linked_sha256[65]; /* X-Linked-Etag, when it is a sha256: what to check without lfs.oid */
    double last_report;
    bool cancelled;
} download;

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Hashes the bytes already in the file (a resumed download). */
static tl_status hash_existing(download *d, tl_error *err) {
    FILE *f = fopen(d->path, "rb");
    if (!f) return tl_fail(err, TL_ERR_IO, "cannot read %s: %s", d->path, strerror(errno));
    char *buf = malloc(1 << 20);
    if (!buf) {
        fclose(f);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    int64_t left = d->have;
    while (left > 0) {
        size_t want = left < (1 << 20) ? (size_t)left : (size_t)(1 << 20);
        size_t got = fread(buf, 1, want, f);
        if (got == 0) break;
        tl_sha256_update(d->hash, buf, got);
        left -= (int64_t)got;
    }
    free(buf);
    fclose(f);
    return left == 0 ? TL_OK : tl_fail(err, TL_ERR_IO, "cannot read %s: shorter than expected", d->path);
}

static bool write_all(download *d, const char *data, size_t n) {
    while (n) {
        ssize_t w = write(d->fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            d->write_errno = errno;
            return false;
        }
        data += w;
        n -= (size_t)w;
    }
    return true;
}

static bool sink(void *user, const char *data, size_t n) {
    download *d = user;
    if (d->response->status == 200 && d->at_request > 0 && !d->restarted) {
        /* The server sent the whole file instead of the range: start over. */
        if (ftruncate(d->fd, 0) != 0) {
            d->write_errno = errno;
            return false;
        }
        tl_sha256_final(d->hash, (char[65]){0});
        d->hash = tl_sha256_new();
        d->have = 0;
        d->restarted = true;
    }
    if (d->size >= 0 && d->have + (int64_t)n > d->size) {
        d->write_errno = EFBIG;
        return false;
    }
    if (!write_all(d, data, n)) return false;
    tl_sha256_update(d->hash, data, n);
    d->have += (int64_t)n;
    return true;
}

static bool progress(void *user, int64_t now) {
    (void)now;
    download *d = user;
    double t = tl_time_ms() / 1e3;
    if (t - d->last_report < 0.1) return true;
    d->last_report = t;
    if (!hub_report(d->options, d->status, d->digest, d->have, d->size > 0 ? d->size : 0)) {
        d->cancelled = true;
        return false;
    }
    return true;
}

static bool retryable(CURLcode code, long status) {
    if (code == CURLE_OK) return status >= 500 || status == 408 || status == 429;
    switch (code) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR: return true;
    default: return false;
    }
}

/* One request for the rest of the file. TL_OK with *again set when it should
 * be retried; TL_OK with *again clear when the file is complete. */
static tl_status attempt(const hub_client *client, const char *repo, const char *url, download *d, bool *again,
                         char *last_error, size_t last_error_size, tl_error *err) {
    *again = false;
    d->fd = open(d->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (d->fd < 0) return tl_fail(err, TL_ERR_IO, "cannot write %s: %s", d->path, strerror(errno));
    /* Two pulls of one file would interleave their bytes: the second one stops. */
    if (flock(d->fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        close(d->fd);
        d->fd = -1;
        return tl_fail(err, TL_ERR_IO, "%s is being downloaded by another pull right now", url);
    }
    struct stat st;
    d->have = fstat(d->fd, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0;
    if (d->size >= 0 && d->have > d->size) {
        if (ftruncate(d->fd, 0) != 0) {
            close(d->fd);
            d->fd = -1;
            return tl_fail(err, TL_ERR_IO, "cannot write %s: %s", d->path, strerror(errno));
        }
        d->have = 0;
    }
    d->hash = tl_sha256_new();
    tl_status s = d->hash ? TL_OK : tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (s == TL_OK && d->have > 0) s = hash_existing(d, err);
    if (s == TL_OK && (d->size < 0 || d->have < d->size || d->size == 0)) {
        hub_response response = {0};
        d->response = &response;
        d->at_request = d->have;
        d->restarted = false;
        hub_transfer t = {.range_from = d->have > 0 ? d->have : -1,
                          .sink = sink,
                          .sink_user = d,
                          .progress = progress,
                          .progress_user = d,
                          .response = &response};
        CURLcode code = hub_transfer_run(client, url, &t);
        if (strlen(response.linked_etag) == 64 && strspn(response.linked_etag, "0123456789abcdef") == 64)
            memcpy(d->linked_sha256, response.linked_etag, 65);
        if (d->cancelled)
            s = tl_fail(err, TL_ERR_IO, "pull cancelled");
        else if (d->write_errno == ENOSPC || d->write_errno == EDQUOT)
            s = tl_fail(err, TL_ERR_IO, "disk full while writing %s", d->path);
        else if (d->write_errno == EFBIG)
            s = tl_fail(err, TL_ERR_FORMAT, "%s: the server sent more than the %lld bytes the Hub lists", url,
                        (long long)d->size);
        else if (d->write_errno)
            s = tl_fail(err, TL_ERR_IO, "cannot write %s: %s", d->path, strerror(d->write_errno));
        else if (code == CURLE_OK && response.status == 416) {
            /* Nothing left to send: complete if the size agrees, else start over. */
            if (d->size < 0 || d->have != d->size) {
                unlink(d->path);
                *again = true;
                snprintf(last_error, last_error_size, "%s: HTTP 416 for a range from %lld", url, (long long)d->have);
            }
        } else if (retryable(code, response.status)) {
            *again = true;
            tl_error e;
            if (code != CURLE_OK)
                hub_curl_error(url, code, t.curl_error, &e);
            else
                hub_http_error(client, repo, url, &response, &e);
            snprintf(last_error, last_error_size, "%s", e.message);
        } else if (code != CURLE_OK)
            s = hub_curl_error(url, code, t.curl_error, err);
        else if (response.status != 200 && response.status != 206)
            s = hub_http_error(client, repo, url, &response, err);
        else if (d->size >= 0 && d->have != d->size) {
            *again = true;
            snprintf(last_error, last_error_size, "%s: the connection closed after %lld of %lld bytes", url,
                     (long long)d->have, (long long)d->size);
        }
        hub_response_free(&response);
    }
    close(d->fd);
    d->fd = -1;
    if (s != TL_OK || *again) {
        char scratch[65];
        if (d->hash) tl_sha256_final(d->hash, scratch);
        d->hash = NULL;
    }
    return s;
}

tl_status hub_download(const hub_client *client, const char *repo, const char *url, const char *path, int64_t size,
                       const char *sha256, const tl_hub_options *options, char hex[65], tl_error *err) {
    char status[96], last_error[512] = "";
    const char *base = strrchr(url, '/');
    snprintf(status, sizeof status, "pulling %.12s", sha256 ? sha256 : base ? base + 1 : url);
    download d = {.path = path, .fd = -1, .size = size, .options = options, .status = status, .digest = sha256};
    long delay = client->retry_delay_ms;
    for (int n = 1;; n++) {
        bool again;
        TL_TRY(attempt(client, repo, url, &d, &again, last_error, sizeof last_error, err));
        if (!again) break;
        if (n >= client->max_attempts) return tl_fail(err, TL_ERR_IO, "gave up after %d attempts: %s", n, last_error);
        sleep_ms(delay);
        delay = delay * 2 > 30000 ? 30000 : delay * 2;
    }
    if (!hub_report(options, status, sha256, d.have, size > 0 ? size : d.have)) {
        tl_sha256_final(d.hash, hex);
        return tl_fail(err, TL_ERR_IO, "pull cancelled");
    }
    if (!sha256 && d.linked_sha256[0]) sha256 = d.linked_sha256; /* a file the tree listing gave no sha256 */
    hub_report(options, "verifying sha256 digest", sha256, d.have, d.have);
    tl_sha256_final(d.hash, hex);
    if (sha256 && strcasecmp(hex, sha256) != 0) {
        unlink(path);
        return tl_fail(err, TL_ERR_FORMAT,
                       "checksum mismatch for %s: expected sha256 %s, got %s (the download was removed; pull again)",
                       url, sha256, hex);
    }
    return TL_OK;
}
