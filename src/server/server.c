/*
 * server.c — tl_server_run: puts the server together (see server.h). Fills
 * the shared `server` state with the options and their defaults, lists the
 * models (registry), starts the HTTP layer, then waits for SIGINT or SIGTERM
 * and shuts everything down in reverse order.
 *
 * SIGINT and SIGTERM are blocked before any thread starts, so every thread
 * inherits the mask and only sigwait() here receives them.
 *
 * The allocator gets fixed thresholds: glibc otherwise raises them after a
 * large block is freed (up to 32 MiB mmap / 64 MiB trim per arena), so a
 * burst of large request bodies would leave the server hundreds of MiB
 * bigger for good. With them, large blocks are mapped and unmapped and the
 * free top of an arena goes back to the system; and a few arenas (not one
 * per thread that ever ran a handler) keep what stays free in few places.
 */
#include "server/server.h"

#include <math.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "server/api.h"
#include "server/api_common.h"
#include "server/api_store.h"
#include "server/http.h"
#include "server/log.h"
#include "server/registry.h"
#include "tinyllm.h"

#define DEFAULT_KEEP_ALIVE_S 300.0
#define DEFAULT_PARALLEL 4
#define DEFAULT_QUEUE_LIMIT 64
#define DEFAULT_BODY_LIMIT ((size_t)8 << 20)
#define DEFAULT_HEADER_TIMEOUT_S 10.0
#define DEFAULT_BODY_TIMEOUT_S 60.0
#define DEFAULT_IDLE_TIMEOUT_S 5.0
#define DEFAULT_TIMEOUT_S 60.0
#define DEFAULT_MAX_CONNECTIONS 4096
#define DEFAULT_MAX_CONNECTIONS_PER_CLIENT 32
#define DEFAULT_CONNECTION_MEMORY ((size_t)64 << 10) /* above 32 KiB libmicrohttpd maps it: freed at close */
#define DEFAULT_THREADS_HTTP 128

/* The options with defaults for what was left unset: host NULL or "",
 * keep_alive NaN, parallel / queue_limit <= 0, body_limit 0. (A keep_alive
 * of 0 means "unload when idle", so only NaN stands for unset.) */
static tl_server_options with_defaults(const tl_server_options *given) {
    tl_server_options o = *given;
    if (!o.host || !*o.host) o.host = "127.0.0.1";
    if (isnan(o.keep_alive_s)) o.keep_alive_s = DEFAULT_KEEP_ALIVE_S;
    if (o.parallel <= 0) o.parallel = DEFAULT_PARALLEL;
    if (o.queue_limit <= 0) o.queue_limit = DEFAULT_QUEUE_LIMIT;
    if (o.body_limit == 0) o.body_limit = DEFAULT_BODY_LIMIT;
    if (o.api_key && !*o.api_key) o.api_key = NULL;
    if (o.cors_origin && !*o.cors_origin) o.cors_origin = NULL;
    if (!(o.header_timeout_s > 0)) o.header_timeout_s = DEFAULT_HEADER_TIMEOUT_S;
    if (!(o.body_timeout_s > 0)) o.body_timeout_s = DEFAULT_BODY_TIMEOUT_S;
    if (!(o.idle_timeout_s > 0)) o.idle_timeout_s = DEFAULT_IDLE_TIMEOUT_S;
    if (!(o.timeout_s > 0)) o.timeout_s = DEFAULT_TIMEOUT_S;
    if (o.max_connections <= 0) o.max_connections = DEFAULT_MAX_CONNECTIONS;
    if (o.max_connections_per_client == 0) o.max_connections_per_client = DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
    if (o.connection_memory == 0) o.connection_memory = DEFAULT_CONNECTION_MEMORY;
    if (o.threads_http <= 0) o.threads_http = DEFAULT_THREADS_HTTP;
    return o;
}

int tl_server_run(const tl_server_options *options) {
    server srv;
    memset(&srv, 0, sizeof srv);
    srv.options = with_defaults(options);
    atomic_init(&srv.requests_total, 0);
    atomic_init(&srv.requests_failed, 0);
    atomic_init(&srv.prompt_tokens_total, 0);
    atomic_init(&srv.generated_tokens_total, 0);
    atomic_init(&srv.drafted_tokens_total, 0);
    atomic_init(&srv.draft_accepted_tokens_total, 0);
    srv.started_at = tl_time_ms();
    log_configure(srv.options.log_json ? LOG_JSON : LOG_TEXT, srv.options.log_quiet);

#if defined(__GLIBC__)
    mallopt(M_ARENA_MAX, 4);
    mallopt(M_MMAP_THRESHOLD, 256 << 10);
    mallopt(M_TRIM_THRESHOLD, 1 << 20);
#endif
    /* A client that disconnects must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

    int rc = 1;
    tl_error err = {0};
    http_server *http = NULL;
    if (!api_search_start(&srv, &err)) {
        fprintf(stderr, "tinyllm serve: %s\n", err.message);
        goto done;
    }
    srv.models = registry_new(&srv.options, &err);
    srv.pulls = api_pulls_new();
    if (!srv.pulls) {
        fprintf(stderr, "tinyllm serve: out of memory\n");
        goto done;
    }
    if (!srv.models) {
        fprintf(stderr, "tinyllm serve: %s\n", err.message[0] ? err.message : "cannot list the models");
        goto done;
    }
    int port = 0;
    const tl_server_options *o = &srv.options;
    const http_options http_o = {
        .host = o->host,
        .port = o->port,
        .body_limit = o->body_limit,
        .api_key = o->api_key,
        .cors_origin = o->cors_origin,
        .header_timeout_s = o->header_timeout_s,
        .body_timeout_s = o->body_timeout_s,
        .idle_timeout_s = o->idle_timeout_s,
        .timeout_s = o->timeout_s,
        .max_connections = (unsigned)o->max_connections,
        .max_connections_per_client = o->max_connections_per_client > 0 ? (unsigned)o->max_connections_per_client : 0,
        .connection_memory = o->connection_memory,
        .max_handlers = o->threads_http,
    };
    http = http_server_start(&srv, &http_o, &port);
    if (!http) goto done;

    int n_models = registry_count(srv.models);
    bool ipv6 = strchr(o->host, ':') != NULL;
    printf("tinyllm serve: listening on http://%s%s%s:%d (%d model%s)\n", ipv6 ? "[" : "", o->host, ipv6 ? "]" : "",
           port, n_models, n_models == 1 ? "" : "s");
    fflush(stdout);

    int signal_number = 0;
    while (sigwait(&stop_signals, &signal_number) != 0) {
    }
    fprintf(stderr, "tinyllm serve: %s received, stopping\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
done:
    http_server_stop(http);
    api_pulls_stop(srv.pulls); /* after the streams were cut: the pulls cancel */
    if (srv.models) registry_free(srv.models);
    api_search_stop(&srv);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}
