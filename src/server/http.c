/*
 * http.c — the HTTP layer of `tinyllm serve` over libmicrohttpd (see http.h).
 *
 * libmicrohttpd runs one thread per connection, so handlers may block. For
 * each request this file collects the body (refusing it with 413 once it
 * passes the limit), answers CORS preflights, checks the API key (401), then
 * hands the complete request to api_route() and sends what it filled in:
 * a malloc'd or static body, or an http_stream that a generating thread
 * fills while the connection's thread sends it (chunked).
 *
 * A streaming response is pulled by libmicrohttpd through stream_read(),
 * which waits on a condition variable for bytes. It wakes every
 * STREAM_POLL_MS even without bytes to look at the socket: a client that
 * hung up is noticed within that time, and the stream is marked gone so the
 * producer stops generating.
 */
#include "server/http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#define CONNECTION_LIMIT 256
#define CONNECTION_TIMEOUT_S 600 /* idle seconds before a connection is dropped */
#define LISTEN_BACKLOG 128
#define DISCARD_LIMIT ((size_t)1 << 20) /* see handle_request */
#define STREAM_POLL_MS 100       /* how often a waiting stream checks its client */
#define STREAM_BLOCK_SIZE 16384  /* most bytes libmicrohttpd asks for per read */

/* ---- streams ------------------------------------------------------------ */

struct http_stream {
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* bytes arrived, or the stream finished or went */
    char *data;               /* pending bytes are data[start, end) */
    size_t start, end, capacity;
    bool finished;            /* the producer is done */
    bool gone;                /* the connection is done (client left or response sent) */
    int refs;                 /* the connection and the producer */
    int socket_fd;            /* the connection's socket while sending, else -1 */
};

http_stream *http_stream_new(void) {
    http_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->changed, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&s->lock, NULL);
    s->refs = 2;
    s->socket_fd = -1;
    return s;
}

/* One side lets go; the last one frees the stream. */
static void stream_release(http_stream *s) {
    pthread_mutex_lock(&s->lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (!last) return;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->changed);
    free(s->data);
    free(s);
}

/* Room for `len` more bytes at data[end]; caller holds the lock. */
static bool stream_reserve(http_stream *s, size_t len) {
    if (s->start > 0) {
        memmove(s->data, s->data + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    if (s->capacity - s->end >= len) return true;
    size_t capacity = s->capacity ? s->capacity : 4096;
    while (capacity - s->end < len) {
        if (capacity > SIZE_MAX / 2) return false;
        capacity *= 2;
    }
    char *data = realloc(s->data, capacity);
    if (!data) return false;
    s->data = data;
    s->capacity = capacity;
    return true;
}

bool http_stream_write(http_stream *s, const char *data, size_t len) {
    pthread_mutex_lock(&s->lock);
    bool ok = !s->gone && !s->finished && stream_reserve(s, len);
    if (ok) {
        memcpy(s->data + s->end, data, len);
        s->end += len;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

bool http_stream_printf(http_stream *s, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    if ((size_t)n < sizeof small) return http_stream_write(s, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) return false;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bool ok = http_stream_write(s, big, (size_t)n);
    free(big);
    return ok;
}

bool http_stream_gone(http_stream *s) {
    pthread_mutex_lock(&s->lock);
    bool gone = s->gone;
    pthread_mutex_unlock(&s->lock);
    return gone;
}

void http_stream_finish(http_stream *s) {
    pthread_mutex_lock(&s->lock);
    s->finished = true;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    stream_release(s);
}

/* The connection side is done with the stream (response sent, client gone,
 * or the response never started): the producer's writes now fail. */
static void stream_connection_done(void *cls) {
    http_stream *s = cls;
    pthread_mutex_lock(&s->lock);
    s->gone = true;
    s->socket_fd = -1;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    stream_release(s);
}

/* True when the peer closed or reset the connection. Peeking leaves any
 * bytes (a pipelined request) for libmicrohttpd. */
bool http_client_gone(int fd) {
    if (fd < 0) return false;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return false;
    if (n == 0) return true;
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* libmicrohttpd's content reader: copies pending bytes, ends the body once
 * the producer finished, and otherwise returns 0 after at most
 * STREAM_POLL_MS (legal with a thread per connection: it calls again). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    http_stream *s = cls;
    pthread_mutex_lock(&s->lock);
    if (s->start == s->end && !s->finished) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += STREAM_POLL_MS * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        while (s->start == s->end && !s->finished)
            if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) == ETIMEDOUT) break;
    }
    ssize_t n = 0;
    if (s->start < s->end) {
        size_t len = s->end - s->start < max ? s->end - s->start : max;
        memcpy(buf, s->data + s->start, len);
        s->start += len;
        if (s->start == s->end) s->start = s->end = 0;
        n = (ssize_t)len;
    } else if (s->finished) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    }
    int fd = s->socket_fd;
    pthread_mutex_unlock(&s->lock);
    if (n == 0 && http_client_gone(fd)) {
        pthread_mutex_lock(&s->lock);
        s->gone = true;
        pthread_mutex_unlock(&s->lock);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    return n;
}

/* ---- the server --------------------------------------------------------- */

struct http_server {
    struct MHD_Daemon *daemon;
    struct server *srv;
    size_t body_limit;
    char *api_key;     /* NULL = no key */
    char *cors_origin; /* NULL = no CORS headers */
};

/* What one request has gathered so far (libmicrohttpd's con_cls). */
typedef struct request_state {
    char *path;       /* the URL without its query string */
    char *body;       /* NUL-terminated once the body is complete */
    size_t body_len, body_capacity;
    size_t discarded; /* bytes past the limit, read and dropped until the body ends */
    bool too_big;     /* the body passed the limit: 413 once it ends */
    bool answered;    /* a response is queued (maybe before the body was read: 401, 413) */
} request_state;

/* Paths that only API clients use; everything else (GET/HEAD) is the web page. */
static bool is_api_path(const char *path) {
    static const char *const prefixes[] = {"/v1", "/api", "/health", "/metrics", "/tokenize", "/detokenize"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t len = strlen(prefixes[i]);
        if (strncmp(path, prefixes[i], len) == 0 && (path[len] == 0 || path[len] == '/')) return true;
    }
    return false;
}

/* Compares in time that depends only on the expected key's length. */
static bool same_secret(const char *given, const char *expected) {
    size_t given_len = strlen(given), expected_len = strlen(expected);
    unsigned char diff = given_len != expected_len;
    for (size_t i = 0; i < expected_len; i++)
        diff |= (unsigned char)((i < given_len ? given[i] : 0) ^ expected[i]);
    return diff == 0;
}

static bool has_api_key(const http_server *h, struct MHD_Connection *connection) {
    const char *auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) return false;
    const char *token = auth + 7;
    while (*token == ' ') token++;
    return same_secret(token, h->api_key);
}

static void add_common_headers(const http_server *h, struct MHD_Response *response) {
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (h->cors_origin) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, h->cors_origin);
        MHD_add_response_header(response, MHD_HTTP_HEADER_VARY, "Origin");
    }
}

/* Queues `response` (with the common headers) and lets go of our reference. */
static enum MHD_Result queue(const http_server *h, struct MHD_Connection *connection, int status,
                             struct MHD_Response *response) {
    if (!response) return MHD_NO;
    add_common_headers(h, response);
    enum MHD_Result result = MHD_queue_response(connection, (unsigned)status, response);
    MHD_destroy_response(response);
    return result;
}

/* Answers {"error": MESSAGE} with `status`. */
static enum MHD_Result send_error(const http_server *h, struct MHD_Connection *connection, int status,
                                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static enum MHD_Result send_error(const http_server *h, struct MHD_Connection *connection, int status,
                                  const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *json = cJSON_CreateObject();
    char *text = json && cJSON_AddStringToObject(json, "error", message) ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) return MHD_NO;
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback(strlen(text), text, cJSON_free);
    if (!response) {
        cJSON_free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return queue(h, connection, status, response);
}

static enum MHD_Result send_preflight(const http_server *h, struct MHD_Connection *connection) {
    struct MHD_Response *response = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!response) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, DELETE, OPTIONS");
    MHD_add_response_header(response, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type");
    MHD_add_response_header(response, MHD_HTTP_HEADER_ACCESS_CONTROL_MAX_AGE, "86400");
    return queue(h, connection, MHD_HTTP_NO_CONTENT, response);
}

/* Sends what api_route filled in; takes ownership of its body or stream. */
static enum MHD_Result send_response(const http_server *h, struct MHD_Connection *connection,
                                     http_response *res) {
    struct MHD_Response *response;
    if (res->stream) {
        http_stream *s = res->stream;
        free(res->body);
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        pthread_mutex_lock(&s->lock);
        s->socket_fd = info ? info->connect_fd : -1;
        pthread_mutex_unlock(&s->lock);
        response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, stream_read, s,
                                                     stream_connection_done);
        if (!response) stream_connection_done(s);
    } else if (res->body) {
        response = MHD_create_response_from_buffer_with_free_callback(res->body_len, res->body, free);
        if (!response) free(res->body);
    } else {
        const char *body = res->body_static ? res->body_static : "";
        size_t len = res->body_len ? res->body_len : strlen(body);
        response = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    }
    if (!response) return MHD_NO;
    if (res->content_type) MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    if (res->retry_after > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", res->retry_after);
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    return queue(h, connection, res->status > 0 ? res->status : MHD_HTTP_OK, response);
}

/* The first call for a request (headers only): answers a missing API key
 * and a declared body over the limit before reading the body. (libmicrohttpd
 * 0.9.75 queues a response only before or after the body, not while it is
 * being received.) */
static enum MHD_Result start_request(http_server *h, struct MHD_Connection *connection, const char *url,
                                     const char *method, request_state *state) {
    const char *query = strchr(url, '?');
    state->path = query ? strndup(url, (size_t)(query - url)) : strdup(url);
    if (!state->path) return MHD_NO;
    bool page = (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && !is_api_path(state->path);
    bool preflight = h->cors_origin && strcmp(method, "OPTIONS") == 0;
    if (h->api_key && !preflight && !page && !has_api_key(h, connection)) {
        state->answered = true;
        return send_error(h, connection, MHD_HTTP_UNAUTHORIZED, "missing or wrong API key");
    }
    const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > h->body_limit) {
        state->answered = true;
        return send_error(h, connection, MHD_HTTP_CONTENT_TOO_LARGE, "request body is larger than %zu bytes",
                          h->body_limit);
    }
    return MHD_YES;
}

/* Keeps a piece of the body, always leaving room for a final NUL. */
static bool append_body(request_state *state, const char *data, size_t len) {
    if (state->body_capacity - state->body_len <= len) {
        size_t capacity = state->body_capacity ? state->body_capacity : 1024;
        while (capacity - state->body_len <= len) capacity *= 2;
        char *body = realloc(state->body, capacity);
        if (!body) return false;
        state->body = body;
        state->body_capacity = capacity;
    }
    memcpy(state->body + state->body_len, data, len);
    state->body_len += len;
    return true;
}

/* The complete request goes to api_route; unknown routes are 404. */
static enum MHD_Result finish_request(http_server *h, struct MHD_Connection *connection, const char *method,
                                      request_state *state) {
    if (state->body) state->body[state->body_len] = 0;
    const char *accept = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    http_request req = {
        /* HEAD is GET without the body, which libmicrohttpd leaves out by itself. */
        .method = strcmp(method, "HEAD") == 0 ? "GET" : method,
        .path = state->path,
        .body = state->body ? state->body : "",
        .body_len = state->body_len,
        .accept = accept ? accept : "",
        .socket_fd = info ? info->connect_fd : -1,
    };
    http_response res = {.status = 200};
    if (api_route(h->srv, &req, &res)) return send_response(h, connection, &res);
    free(res.body);
    if (res.stream) stream_connection_done(res.stream);
    return send_error(h, connection, MHD_HTTP_NOT_FOUND, "no such endpoint: %s %s", method, state->path);
}

/* libmicrohttpd's access handler: called once with the headers, then for
 * each piece of the body, then once more with nothing left to upload. */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection, const char *url,
                                      const char *method, const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls) {
    (void)version;
    http_server *h = cls;
    request_state *state = *con_cls;
    if (!state) {
        if (!(state = calloc(1, sizeof *state))) return MHD_NO;
        *con_cls = state;
        return start_request(h, connection, url, method, state);
    }
    if (*upload_data_size > 0) {
        size_t len = *upload_data_size;
        *upload_data_size = 0;
        if (state->answered) return MHD_YES;
        if (state->too_big || len > h->body_limit - state->body_len) {
            /* A body without Content-Length (chunked) ran over: drop the rest and answer 413 at its end,
             * but hang up on one that goes on for more than DISCARD_LIMIT bytes or another body_limit. */
            state->too_big = true;
            state->discarded += len;
            return state->discarded > DISCARD_LIMIT && state->discarded > h->body_limit ? MHD_NO : MHD_YES;
        }
        /* Out of memory: hang up (no response can be queued while the body is coming). */
        return append_body(state, upload_data, len) ? MHD_YES : MHD_NO;
    }
    if (state->answered) return MHD_YES;
    state->answered = true;
    if (state->too_big)
        return send_error(h, connection, MHD_HTTP_CONTENT_TOO_LARGE, "request body is larger than %zu bytes",
                          h->body_limit);
    if (h->cors_origin && strcmp(method, "OPTIONS") == 0) return send_preflight(h, connection);
    return finish_request(h, connection, method, state);
}

/* Frees a request's state once libmicrohttpd is done with it (also after
 * errors and disconnects). */
static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode code) {
    (void)cls;
    (void)connection;
    (void)code;
    request_state *state = *con_cls;
    if (!state) return;
    free(state->path);
    free(state->body);
    free(state);
    *con_cls = NULL;
}

/* A listening socket on host:port (the first address that works), or -1
 * after a one-line error. */
static int open_listener(const char *host, int port, int *family) {
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *addresses = NULL;
    int rc = getaddrinfo(host, service, &hints, &addresses);
    if (rc != 0) {
        fprintf(stderr, "tinyllm serve: cannot resolve host '%s': %s\n", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, error = 0;
    for (struct addrinfo *a = addresses; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            error = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
            error = errno;
            close(fd);
            fd = -1;
            continue;
        }
        *family = a->ai_family;
    }
    freeaddrinfo(addresses);
    if (fd < 0)
        fprintf(stderr, "tinyllm serve: cannot listen on %s port %d: %s\n", host, port,
                strerror(error ? error : EADDRNOTAVAIL));
    return fd;
}

static int bound_port(int fd) {
    struct sockaddr_storage address;
    socklen_t len = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &len) != 0) return -1;
    if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return ntohs(((struct sockaddr_in *)&address)->sin_port);
}

static void free_server(http_server *h) {
    free(h->api_key);
    free(h->cors_origin);
    free(h);
}

http_server *http_server_start(struct server *srv, const char *host, int port, size_t body_limit,
                               const char *api_key, const char *cors_origin, int *port_out) {
    if (!host || !*host) host = "127.0.0.1";
    http_server *h = calloc(1, sizeof *h);
    if (!h || (api_key && *api_key && !(h->api_key = strdup(api_key))) ||
        (cors_origin && *cors_origin && !(h->cors_origin = strdup(cors_origin)))) {
        fprintf(stderr, "tinyllm serve: out of memory\n");
        if (h) free_server(h);
        return NULL;
    }
    h->srv = srv;
    h->body_limit = body_limit;
    int family = AF_INET;
    int fd = open_listener(host, port, &family);
    if (fd < 0) {
        free_server(h);
        return NULL;
    }
    int bound = bound_port(fd);
    unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES) flags |= MHD_USE_POLL;
    if (family == AF_INET6) flags |= MHD_USE_IPv6;
    /* libmicrohttpd closes the listening socket when it stops. */
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle_request, h,
                                 MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                 MHD_OPTION_NOTIFY_COMPLETED, request_completed, (void *)h,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
                                 MHD_OPTION_END);
    if (!h->daemon) {
        fprintf(stderr, "tinyllm serve: cannot start the HTTP server on %s port %d\n", host, bound);
        close(fd);
        free_server(h);
        return NULL;
    }
    if (port_out) *port_out = bound;
    return h;
}

void http_server_stop(http_server *h) {
    if (!h) return;
    MHD_stop_daemon(h->daemon);
    free_server(h);
}
