/*
 * http.c — the HTTP layer of `tinyllm serve` over libmicrohttpd (see http.h
 * and, for how the files of the layer fit, http_internal.h).
 *
 * A few event-loop threads (epoll, a libmicrohttpd thread pool) hold every
 * connection, so thousands of idle or slow ones cost memory, not threads.
 * For each request this file collects the body (refusing it with 413 once it
 * passes the limit), answers CORS preflights, checks the API key (401), then
 * suspends the connection and hands the complete request to a handler thread
 * (http_handlers.c; 503 with Retry-After when all are busy), which runs
 * api_route() and resumes the connection; the next call of the access
 * handler sends what it filled in: a malloc'd or static body, or an
 * http_stream that a generating thread fills (chunked, http_stream.c).
 *
 * Limits: --max-connections in all (past it libmicrohttpd stops accepting;
 * new connections wait in the listen queue), --max-connections-per-client
 * from one address (libmicrohttpd closes the one past it at once),
 * --connection-memory for the request line, headers and buffers (431/414
 * past it), libmicrohttpd's idle timeout (--idle-timeout between requests,
 * --timeout while one is read or answered), and the header and body
 * deadlines of http_watch.c.
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "server/http_internal.h"
#include "server/log.h"
#include "server/wire.h"
#include "util/buffer.h"

#define LISTEN_BACKLOG 4096
#define EVENT_THREADS 2                 /* libmicrohttpd's event loops (a thread pool) */
#define FD_RESERVE 256                  /* descriptors kept for models, files and threads */
#define DISCARD_LIMIT ((size_t)1 << 20) /* see handle_request */
#define STREAM_BLOCK_SIZE 16384         /* most bytes libmicrohttpd asks for per read */

/* ---- the server --------------------------------------------------------- */

/* Paths that only API clients use; everything else (GET/HEAD) is the web page. */
static bool is_api_path(const char *path) {
    static const char *const prefixes[] = {"/v1", "/api", "/health", "/metrics", "/tokenize", "/detokenize", "/props"};
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
    for (size_t i = 0; i < expected_len; i++) diff |= (unsigned char)((i < given_len ? given[i] : 0) ^ expected[i]);
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

/* Appends one query argument, as libmicrohttpd decoded it, to state->query:
 * "key\0value\0" pairs ended by an empty key (see http_query_value). */
static enum MHD_Result add_query_argument(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    request_state *state = cls;
    if (!value) value = "";
    const size_t key_size = strlen(key) + 1, value_size = strlen(value) + 1;
    char *query = realloc(state->query, state->query_len + key_size + value_size + 1);
    if (!query) return MHD_NO;
    memcpy(query + state->query_len, key, key_size);
    memcpy(query + state->query_len + key_size, value, value_size);
    state->query_len += key_size + value_size;
    query[state->query_len] = 0;
    state->query = query;
    return MHD_YES;
}

/* The log line of a request this file answers itself. */
static void log_answered(const char *method, const char *path, int status) {
    log_request_begin(method, path);
    log_request_end(log_current(), status);
}

/* Answers {"error": MESSAGE} with `status` (and Retry-After when > 0). */
static enum MHD_Result send_error(const http_server *h, struct MHD_Connection *connection, int status, int retry_after,
                                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static enum MHD_Result send_error(const http_server *h, struct MHD_Connection *connection, int status, int retry_after,
                                  const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    cJSON *json = cJSON_CreateObject();
    char *text = json && cJSON_AddStringToObject(json, "error", message) ? wire_json_text(json) : NULL;
    cJSON_Delete(json);
    if (!text) return MHD_NO;
    struct MHD_Response *response = MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
    if (!response) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (retry_after > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", retry_after);
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
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
static enum MHD_Result send_response(http_server *h, struct MHD_Connection *connection, http_conn *conn,
                                     http_response *res) {
    const int status = res->status > 0 ? res->status : MHD_HTTP_OK;
    const char *content_type = res->content_type;
    struct MHD_Response *response;
    if (res->stream) {
        http_stream *s = res->stream;
        free(res->body);
        http_stream_attach(s, h, connection, conn);
        response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, http_stream_read, s,
                                                     http_stream_connection_done);
        if (!response) http_stream_connection_done(s);
    } else if (res->body) {
        response = MHD_create_response_from_buffer_with_free_callback(res->body_len, res->body, free);
        if (!response) free(res->body);
    } else {
        const char *body = res->body_static ? res->body_static : "";
        size_t len = res->body_len ? res->body_len : strlen(body);
        response = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
    }
    const int retry_after = res->retry_after;
    memset(res, 0, sizeof *res);
    if (!response) return MHD_NO;
    if (content_type) MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (retry_after > 0) {
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", retry_after);
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    return queue(h, connection, status, response);
}

/* Lets go of an answer that will not be sent. */
static void drop_response(http_response *res) {
    free(res->body);
    if (res->stream) http_stream_connection_done(res->stream);
    memset(res, 0, sizeof *res);
}

/* libmicrohttpd's timeouts are whole seconds; 0 would mean none. */
static unsigned whole_seconds(double seconds) {
    if (!(seconds > 1)) return 1;
    if (seconds > 1e6) return 1000000;
    return (unsigned)ceil(seconds);
}

/* The first call for a request (headers only): answers a missing API key
 * and a declared body over the limit before reading the body. (libmicrohttpd
 * 0.9.75 queues a response only before or after the body, not while it is
 * being received.) */
static enum MHD_Result start_request(http_server *h, struct MHD_Connection *connection, const char *url,
                                     const char *method, request_state *state) {
    http_watch_phase(h, state->conn, CONN_BODY);
    MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT, whole_seconds(h->options.timeout_s));
    const char *query = strchr(url, '?');
    state->path = query ? strndup(url, (size_t)(query - url)) : strdup(url);
    if (!state->path) return MHD_NO;
    bool page = (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && !is_api_path(state->path);
    bool preflight = h->cors_origin && strcmp(method, "OPTIONS") == 0;
    if (h->api_key && !preflight && !page && !has_api_key(h, connection)) {
        state->answered = true;
        http_watch_phase(h, state->conn, CONN_ANSWERING);
        log_answered(method, state->path, MHD_HTTP_UNAUTHORIZED);
        return send_error(h, connection, MHD_HTTP_UNAUTHORIZED, 0, "missing or wrong API key");
    }
    const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > h->options.body_limit) {
        state->answered = true;
        http_watch_phase(h, state->conn, CONN_ANSWERING);
        log_answered(method, state->path, MHD_HTTP_CONTENT_TOO_LARGE);
        return send_error(h, connection, MHD_HTTP_CONTENT_TOO_LARGE, 0, "request body is larger than %zu bytes",
                          h->options.body_limit);
    }
    return MHD_YES;
}

/* Keeps a piece of the body, always leaving room for a final NUL. */
static bool append_body(request_state *state, const char *data, size_t len) {
    if (len >= SIZE_MAX - state->body_len) return false;
    char *body = tl_grow(state->body, &state->body_capacity, state->body_len + len + 1, 1, 1024);
    if (!body) return false;
    state->body = body;
    memcpy(state->body + state->body_len, data, len);
    state->body_len += len;
    return true;
}

/* The complete request goes to a handler thread (api_route) while the
 * connection waits suspended; 503 when every handler is busy. */
static enum MHD_Result hand_over(http_server *h, struct MHD_Connection *connection, const char *method,
                                 request_state *state) {
    if (atomic_load(&h->stopping) || !http_handlers_reserve(h)) {
        state->answered = true;
        log_answered(method, state->path, MHD_HTTP_SERVICE_UNAVAILABLE);
        if (atomic_load(&h->stopping))
            return send_error(h, connection, MHD_HTTP_SERVICE_UNAVAILABLE, 1, "the server is stopping");
        return send_error(h, connection, MHD_HTTP_SERVICE_UNAVAILABLE, 1,
                          "the server is busy: %d requests are being handled; try again", h->options.max_handlers);
    }
    if (state->body) state->body[state->body_len] = 0;
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, add_query_argument, state);
    /* These strings live in the connection's memory until the request completes. */
    const char *accept = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    state->request = (http_request){
        /* HEAD is GET without the body, which libmicrohttpd leaves out by itself. */
        .method = strcmp(method, "HEAD") == 0 ? "GET" : method,
        .path = state->path,
        .query = state->query ? state->query : "\0",
        .body = state->body ? state->body : "",
        .body_len = state->body_len,
        .accept = accept ? accept : "",
        .socket_fd = state->conn ? state->conn->fd : -1,
    };
    state->response = (http_response){.status = 200};
    state->with_handler = true;
    /* Suspended before the handler can resume it. */
    MHD_suspend_connection(connection);
    http_handlers_run(h, state);
    return MHD_YES;
}

/* Back from the handler: sends its answer, or 404 for an unknown route. */
static enum MHD_Result answer(http_server *h, struct MHD_Connection *connection, const char *method,
                              request_state *state) {
    state->answered = true;
    if (state->routed) return send_response(h, connection, state->conn, &state->response);
    drop_response(&state->response);
    return send_error(h, connection, MHD_HTTP_NOT_FOUND, 0, "no such endpoint: %s %s", method, state->path);
}

/* libmicrohttpd's access handler: called once with the headers, then for
 * each piece of the body, then with nothing left to upload: once, and once
 * more after the handler thread resumed the connection. */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                                      const char *version, const char *upload_data, size_t *upload_data_size,
                                      void **con_cls) {
    (void)version;
    (void)upload_data;
    http_server *h = cls;
    request_state *state = *con_cls;
    if (!state) {
        if (!(state = calloc(1, sizeof *state))) return MHD_NO;
        *con_cls = state;
        state->h = h;
        state->connection = connection;
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        state->conn = info ? info->socket_context : NULL;
        return start_request(h, connection, url, method, state);
    }
    if (*upload_data_size > 0) {
        size_t len = *upload_data_size;
        *upload_data_size = 0;
        if (state->answered) return MHD_YES;
        if (state->too_big || len > h->options.body_limit - state->body_len) {
            /* A body without Content-Length (chunked) ran over: drop the rest and answer 413 at its end,
             * but hang up on one that goes on for more than DISCARD_LIMIT bytes or another body_limit. */
            state->too_big = true;
            state->discarded += len;
            return state->discarded > DISCARD_LIMIT && state->discarded > h->options.body_limit ? MHD_NO : MHD_YES;
        }
        /* Out of memory: hang up (no response can be queued while the body is coming). */
        return append_body(state, upload_data, len) ? MHD_YES : MHD_NO;
    }
    if (state->answered) return MHD_YES;
    if (state->with_handler) return atomic_load(&state->handled) ? answer(h, connection, method, state) : MHD_YES;
    http_watch_phase(h, state->conn, CONN_ANSWERING);
    if (state->too_big) {
        state->answered = true;
        log_answered(method, state->path, MHD_HTTP_CONTENT_TOO_LARGE);
        return send_error(h, connection, MHD_HTTP_CONTENT_TOO_LARGE, 0, "request body is larger than %zu bytes",
                          h->options.body_limit);
    }
    if (h->cors_origin && strcmp(method, "OPTIONS") == 0) {
        state->answered = true;
        return send_preflight(h, connection);
    }
    return hand_over(h, connection, method, state);
}

/* Frees a request's state once libmicrohttpd is done with it (also after
 * errors and disconnects); a kept-alive connection waits for its next
 * request with the idle timeout and a new header deadline. */
static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                              enum MHD_RequestTerminationCode code) {
    http_server *h = cls;
    request_state *state = *con_cls;
    if (!state) return;
    if (code == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        http_watch_phase(h, state->conn, CONN_WAITING);
        MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT, whole_seconds(h->options.idle_timeout_s));
    }
    if (state->with_handler && !state->answered) drop_response(&state->response);
    free(state->path);
    free(state->query);
    free(state->body);
    free(state);
    *con_cls = NULL;
}

/* A listening socket on host:port (the first address that works), or -1
 * after a one-line error. */
static int open_listener(const char *host, int port, int *family) {
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
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

/* Raises the soft limit of open files to the hard one, and returns how many
 * connections fit under it. */
static unsigned connections_that_fit(unsigned wanted) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= (rlim_t)wanted + FD_RESERVE) return wanted;
    unsigned fit = limit.rlim_cur > 2 * FD_RESERVE ? (unsigned)(limit.rlim_cur - FD_RESERVE) : FD_RESERVE / 2;
    fprintf(stderr, "tinyllm serve: the open-file limit (%llu) allows %u connections, not %u\n",
            (unsigned long long)limit.rlim_cur, fit, wanted);
    return fit;
}

http_server *http_server_start(struct server *srv, const http_options *options, int *port_out) {
    http_server *h = calloc(1, sizeof *h);
    if (!h || (options->api_key && *options->api_key && !(h->api_key = strdup(options->api_key))) ||
        (options->cors_origin && *options->cors_origin && !(h->cors_origin = strdup(options->cors_origin)))) {
        fprintf(stderr, "tinyllm serve: out of memory\n");
        if (h) free_server(h);
        return NULL;
    }
    h->srv = srv;
    h->options = *options;
    http_options *o = &h->options;
    if (!o->host || !*o->host) o->host = "127.0.0.1";
    o->api_key = h->api_key;
    o->cors_origin = h->cors_origin;
    o->max_connections = connections_that_fit(o->max_connections ? o->max_connections : 1);
    atomic_init(&h->stopping, false);
    int family = AF_INET;
    int fd = open_listener(o->host, o->port, &family);
    if (fd < 0) {
        free_server(h);
        return NULL;
    }
    int bound = bound_port(fd);
    http_handlers_init(h, o->max_handlers);
    if (!http_watch_start(h)) {
        fprintf(stderr, "tinyllm serve: cannot start a thread: %s\n", strerror(errno));
        close(fd);
        http_server_stop(h);
        return NULL;
    }
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
    if (family == AF_INET6) flags |= MHD_USE_IPv6;
    /* libmicrohttpd closes the listening socket when it stops. */
    h->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, handle_request, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)EVENT_THREADS, MHD_OPTION_NOTIFY_COMPLETED,
                         request_completed, (void *)h, MHD_OPTION_NOTIFY_CONNECTION, http_watch_connection, (void *)h,
                         MHD_OPTION_CONNECTION_TIMEOUT, whole_seconds(o->idle_timeout_s), MHD_OPTION_CONNECTION_LIMIT,
                         o->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_connections_per_client,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->connection_memory, MHD_OPTION_END);
    if (!h->daemon) {
        fprintf(stderr, "tinyllm serve: cannot start the HTTP server on %s port %d\n", o->host, bound);
        close(fd);
        http_server_stop(h);
        return NULL;
    }
    if (port_out) *port_out = bound;
    return h;
}

/* Stops in an order libmicrohttpd allows (no connection may stay suspended):
 * new requests get 503, every socket is shut down (a handler waiting for a
 * whole answer sees its client gone; streams are abandoned and their
 * connections resumed), the handlers finish and resume theirs, and only then
 * the daemon stops. */
void http_server_stop(http_server *h) {
    if (!h) return;
    atomic_store(&h->stopping, true);
    http_watch_stop(h);
    http_watch_cut_all(h);
    http_handlers_stop(h);
    if (h->daemon) MHD_stop_daemon(h->daemon);
    pthread_mutex_destroy(&h->watch.lock);
    pthread_cond_destroy(&h->watch.wake);
    pthread_mutex_destroy(&h->handlers.lock);
    pthread_cond_destroy(&h->handlers.work);
    pthread_cond_destroy(&h->handlers.changed);
    free_server(h);
}
