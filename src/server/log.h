/*
 * log.h — the server's log on stderr (log.c): one line per request and per
 * model load or unload, as text ("2026-01-02T03:04:05.678Z POST /api/chat
 * model=x status=200 ...") or one JSON object per line (--log-format json).
 * --quiet keeps only errors (requests answered 5xx, failed loads). Notices
 * (options without effect) go the same way; start-up errors are plain text.
 *
 * A request's line is gathered on the handler thread that runs it: api_route
 * starts it, the handlers note the model and token counts as they learn
 * them, and api_route writes it when the handler returns — unless the answer
 * is a stream, whose job takes the record and writes it when it ends.
 */
#ifndef TL_SERVER_LOG_H
#define TL_SERVER_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum log_format { LOG_TEXT, LOG_JSON } log_format;

/* Set once at start-up, before any thread logs. */
void log_configure(log_format format, bool quiet);

typedef struct request_log {
    char method[16];
    char path[128];
    char model[128]; /* "" when the request names none */
    int status;
    int32_t prompt_tokens; /* -1: not known / not applicable */
    int32_t generated_tokens;
    double started_ms; /* tl_time_ms() */
    bool client_gone;  /* the client left before its answer: logged as 499 */
} request_log;

/* The record of the request this handler thread runs (started by
 * log_request_begin); handlers fill model and token counts. */
request_log *log_current(void);
void log_request_begin(const char *method, const char *path);
/* Writes the record's line with `status` (499 when the client left) and the
 * time since it started. */
void log_request_end(request_log *r, int status);
/* Whether the current request's stream took its record (log_current's
 * line is then not written by api_route). */
void log_request_defer(bool deferred);
bool log_request_deferred(void);

/* A notice about a request or a model ("model 'x': option 'y' is ignored:
 * ..."): "tinyllm serve: MESSAGE" as text, {"event": "notice", "message"}
 * as JSON, nothing with --quiet. */
void log_notice(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* A model event: "load" (ms, bytes) or "unload" (reason), or a failed load
 * ("load_failed", the error in `reason`: written even with --quiet). */
void log_model(const char *event, const char *model, double ms, uint64_t memory, const char *reason);

#endif /* TL_SERVER_LOG_H */
