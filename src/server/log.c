/*
 * log.c — the server's request and model log lines (see log.h). Each line
 * is built whole and written with one fputs, so lines from concurrent
 * threads never interleave.
 */
#include "server/log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "server/wire.h"
#include "tinyllm.h"

static log_format g_format = LOG_TEXT;
static bool g_quiet;
static _Thread_local request_log current;
static _Thread_local bool deferred;

void log_configure(log_format format, bool quiet) {
    g_format = format;
    g_quiet = quiet;
}

request_log *log_current(void) {
    return &current;
}

/* Copies at most size-1 bytes, control bytes as '?' (a path or a model
 * name comes from the client). */
static void copy_printable(char *out, size_t size, const char *text) {
    size_t at = 0;
    for (; text && *text && at + 1 < size; text++)
        out[at++] = (unsigned char)*text < 0x20 || *text == 0x7f ? '?' : *text;
    out[at] = 0;
}

void log_request_begin(const char *method, const char *path) {
    memset(&current, 0, sizeof current);
    copy_printable(current.method, sizeof current.method, method);
    copy_printable(current.path, sizeof current.path, path);
    current.prompt_tokens = current.generated_tokens = -1;
    current.started_ms = tl_time_ms();
    deferred = false;
}

void log_request_defer(bool value) {
    deferred = value;
}
bool log_request_deferred(void) {
    return deferred;
}

/* "2026-01-02T03:04:05.678Z" */
static void now_text(char out[32]) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm utc;
    const time_t seconds = tv.tv_sec;
    gmtime_r(&seconds, &utc);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(out, 32, "%s.%03dZ", day, (int)(tv.tv_usec / 1000));
}

/* Writes a JSON object as one line; takes `json`. */
static void write_json(cJSON *json) {
    char *text = wire_json_text(json);
    cJSON_Delete(json);
    if (!text) return;
    fprintf(stderr, "%s\n", text);
    free(text);
}

void log_request_end(request_log *r, int status) {
    if (r->client_gone) status = 499; /* nginx's "client closed request" */
    r->status = status;
    if (g_quiet && status < 500) return;
    const double ms = tl_time_ms() - r->started_ms;
    char time[32];
    now_text(time);
    if (g_format == LOG_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "time", time);
        cJSON_AddStringToObject(o, "event", "request");
        cJSON_AddStringToObject(o, "method", r->method);
        cJSON_AddStringToObject(o, "path", r->path);
        if (r->model[0])
            cJSON_AddStringToObject(o, "model", r->model);
        else
            cJSON_AddNullToObject(o, "model");
        cJSON_AddNumberToObject(o, "status", status);
        cJSON_AddNumberToObject(o, "prompt_tokens", r->prompt_tokens > 0 ? r->prompt_tokens : 0);
        cJSON_AddNumberToObject(o, "generated_tokens", r->generated_tokens > 0 ? r->generated_tokens : 0);
        cJSON_AddNumberToObject(o, "ms", (double)(int64_t)(ms * 10) / 10);
        write_json(o);
        return;
    }
    char line[512];
    snprintf(line, sizeof line, "%s %s %s model=%s status=%d prompt_tokens=%d generated_tokens=%d ms=%.1f\n", time,
             r->method, r->path, r->model[0] ? r->model : "-", status, r->prompt_tokens > 0 ? r->prompt_tokens : 0,
             r->generated_tokens > 0 ? r->generated_tokens : 0, ms);
    fputs(line, stderr);
}

void log_notice(const char *fmt, ...) {
    if (g_quiet) return;
    char message[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (g_format == LOG_JSON) {
        char time[32];
        now_text(time);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "time", time);
        cJSON_AddStringToObject(o, "event", "notice");
        cJSON_AddStringToObject(o, "message", message);
        write_json(o);
        return;
    }
    char line[640];
    snprintf(line, sizeof line, "tinyllm serve: %s\n", message);
    fputs(line, stderr);
}

void log_model(const char *event, const char *model, double ms, uint64_t memory, const char *reason) {
    const bool error = strcmp(event, "load_failed") == 0;
    if (g_quiet && !error) return;
    char time[32], name[128];
    now_text(time);
    copy_printable(name, sizeof name, model);
    if (g_format == LOG_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "time", time);
        cJSON_AddStringToObject(o, "event", event);
        cJSON_AddStringToObject(o, "model", name);
        if (strcmp(event, "load") == 0) {
            cJSON_AddNumberToObject(o, "ms", (double)(int64_t)(ms * 10) / 10);
            cJSON_AddNumberToObject(o, "memory", (double)memory);
        }
        if (reason) cJSON_AddStringToObject(o, error ? "error" : "reason", reason);
        write_json(o);
        return;
    }
    char line[768];
    if (strcmp(event, "load") == 0)
        snprintf(line, sizeof line, "%s load model=%s ms=%.1f memory=%.1fMiB\n", time, name, ms,
                 (double)memory / (1024.0 * 1024.0));
    else
        snprintf(line, sizeof line, "%s %s model=%s%s%s\n", time, event, name,
                 reason ? (error ? " error=" : " reason=") : "", reason ? reason : "");
    fputs(line, stderr);
}
