/*
 * api_store.c — Ollama's model management over the model store
 * (store/store.h) and the Hub (hub/hub.h): POST /api/pull, DELETE
 * /api/delete, POST /api/copy and POST /api/create. What they add to the
 * store the registry offers at once (registry_add_store_model); what
 * /api/delete removes it stops offering (a loaded instance finishes its
 * requests, then unloads).
 *
 * A pull runs on a thread of its own when it streams (the handler returns
 * the stream at once; the pull writes Ollama's progress objects to it) and
 * on the handler's thread when it does not. Either way a client that
 * disconnects cancels it (the progress callback returns false), and pulls of
 * the same store name take turns: a second request waits for the first, then
 * finds the model there (only "pulling manifest" and "success"). Pulling is
 * refused (403) unless the server runs with --allow-pull or an API key
 * (http.c has then checked the request's key).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub/hub.h"
#include "server/api_common.h"
#include "server/api_store.h"
#include "store/store.h"

#define MAX_PULLS 64 /* pulls under way (or waiting their turn) at once */
#define NAME_MAX_LEN 700

struct api_pulls {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a pull ended, or a thread did */
    char names[MAX_PULLS][NAME_MAX_LEN];
    bool active[MAX_PULLS];
    int threads; /* streaming pulls' threads still running */
    bool stopping;
};

typedef struct pull_job {
    server *srv;
    char ref[NAME_MAX_LEN];
    char name[NAME_MAX_LEN]; /* the store name the pull is kept under */
    bool insecure;
    http_stream *stream; /* NULL: not streaming */
    int client_fd;       /* the non-streaming client's socket */
    request_log log;     /* a streaming pull's log line, written when it ends */
} pull_job;

api_pulls *api_pulls_new(void) {
    api_pulls *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    return p;
}

void api_pulls_stop(api_pulls *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    while (p->threads > 0) pthread_cond_wait(&p->changed, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&p->changed);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static bool stopping(api_pulls *p) {
    pthread_mutex_lock(&p->lock);
    const bool stop = p->stopping;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

/* The client still waits for the pull. */
static bool client_there(const pull_job *j) {
    if (stopping(j->srv->pulls)) return false;
    return j->stream ? !http_stream_gone(j->stream) : !http_client_gone(j->client_fd);
}

/* Waits until no other pull of the same name runs, then takes the name:
 * its place in the table, or -1 (the client left, or too many pulls). */
static int take_turn(pull_job *j, api_error *e) {
    api_pulls *p = j->srv->pulls;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        int busy = -1, free_place = -1;
        for (int i = 0; i < MAX_PULLS; i++) {
            if (p->active[i] && strcmp(p->names[i], j->name) == 0) busy = i;
            if (!p->active[i] && free_place < 0) free_place = i;
        }
        if (busy < 0 && free_place >= 0) {
            p->active[free_place] = true;
            snprintf(p->names[free_place], NAME_MAX_LEN, "%s", j->name);
            pthread_mutex_unlock(&p->lock);
            return free_place;
        }
        if (busy < 0) {
            pthread_mutex_unlock(&p->lock);
            api_fail(e, 503, NULL, "too many pulls under way (%d): try again later", MAX_PULLS);
            return -1;
        }
        /* Another pull of this name: wait for it, looking at our client now and then. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&p->changed, &p->lock, &until);
        pthread_mutex_unlock(&p->lock);
        const bool there = client_there(j);
        pthread_mutex_lock(&p->lock);
        if (!there) {
            pthread_mutex_unlock(&p->lock);
            api_fail(e, 499, NULL, "pull cancelled: the client left");
            return -1;
        }
    }
}

static void end_turn(api_pulls *p, int place) {
    pthread_mutex_lock(&p->lock);
    p->active[place] = false;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

/* One progress object, as Ollama streams them. */
static bool write_status(pull_job *j, const char *status, const char *digest, int64_t completed, int64_t total) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status);
    if (strncmp(status, "pulling ", 8) == 0 && strcmp(status, "pulling manifest") != 0) {
        if (digest) {
            char text[80];
            snprintf(text, sizeof text, "sha256:%.64s", digest);
            cJSON_AddStringToObject(o, "digest", text);
        }
        if (total > 0) cJSON_AddNumberToObject(o, "total", (double)total);
        cJSON_AddNumberToObject(o, "completed", (double)(total > 0 && completed > total ? total : completed));
    }
    return api_stream_ndjson(j->stream, o);
}

/* tl_hub_pull's progress: streamed to the client, except "success", which
 * is sent once the registry offers the model. */
static bool on_progress(void *user, const char *status, const char *digest, int64_t completed, int64_t total) {
    pull_job *j = user;
    if (!client_there(j)) return false;
    if (!j->stream || strcmp(status, "success") == 0) return true;
    return write_status(j, status, digest, completed, total);
}

/* The HTTP status for a failed pull: the Hub's 404 and 401/403 as such, a
 * bad reference 400, the network 502, the rest 500. */
static int pull_error_status(tl_status s, const char *message) {
    if (strstr(message, "(HTTP 404)") || strstr(message, "has no GGUF") || strstr(message, "has no file '")) return 404;
    if (strstr(message, "(HTTP 401)") || strstr(message, "(HTTP 403)")) return 403;
    if (strstr(message, "cannot connect") || strstr(message, "cannot reach") || strstr(message, "gave up after"))
        return 502;
    return s == TL_ERR_ARGUMENT ? 400 : 500;
}

/* Runs a pull to its end; false with the error in e. */
static bool run_pull(pull_job *j, api_error *e) {
    const int place = take_turn(j, e);
    if (place < 0) return false;
    tl_error err = {0};
    tl_store *store = NULL;
    tl_status s = tl_store_open(j->srv->options.store_dir, &store, &err);
    if (s == TL_OK) {
        const tl_hub_options options = {.endpoint = j->srv->options.hub_endpoint,
                                        .progress = on_progress,
                                        .progress_user = j,
                                        .insecure = j->insecure};
        char name[NAME_MAX_LEN];
        s = tl_hub_pull(store, j->ref, &options, name, sizeof name, &err);
        if (s == TL_OK && !registry_add_store_model(j->srv->models, name, &err)) s = TL_ERR_FORMAT;
        tl_store_close(store);
    }
    end_turn(j->srv->pulls, place);
    if (s == TL_OK) return true;
    if (!client_there(j)) return api_fail(e, 499, NULL, "pull cancelled: the client left");
    const int status = pull_error_status(s, err.message);
    if (status == 404 || status == 403) /* Ollama's words for a model it cannot get */
        return api_fail(e, status, NULL, "pull model manifest: %s", err.message);
    return api_fail(e, status, NULL, "%s", err.message);
}

static void *pull_thread(void *arg) {
    pull_job *j = arg;
    api_error e = {0};
    const bool ok = run_pull(j, &e);
    if (ok) {
        write_status(j, "success", NULL, 0, 0);
    } else if (e.status != 499) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", e.message);
        api_stream_ndjson(j->stream, o);
    }
    http_stream_finish(j->stream);
    j->log.client_gone = e.status == 499;
    log_request_end(&j->log, ok ? 200 : e.status);
    api_pulls *p = j->srv->pulls;
    free(j);
    pthread_mutex_lock(&p->lock);
    p->threads--;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* The model name of a request: "model", or Ollama's older "name". */
static bool model_field(const cJSON *body, const char *field, const char **out, api_error *e) {
    *out = NULL;
    if (!api_field_string(body, NULL, field, false, out, e)) return false;
    if (!*out && strcmp(field, "model") == 0 && !api_field_string(body, NULL, "name", false, out, e)) return false;
    if (!*out || !**out) return api_fail(e, 400, field, "field '%s' is required", field);
    api_log_model(*out);
    return true;
}

/* POST /api/pull {"model", "insecure", "stream"} */
void ollama_pull(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    const char *ref = NULL;
    bool stream = true, insecure = false;
    pull_job *j = NULL;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !model_field(body, "model", &ref, &e) || !api_field_bool(body, NULL, "stream", &stream, &e) ||
        !api_field_bool(body, NULL, "insecure", &insecure, &e))
        goto fail;
    if (!srv->options.allow_pull && !srv->options.api_key) {
        api_fail(&e, 403, NULL,
                 "pulling models is not allowed on this server: start it with --allow-pull, or with --api-key "
                 "and send the key");
        goto fail;
    }
    tl_error err = {0};
    tl_hub_ref parsed;
    if (strlen(ref) >= NAME_MAX_LEN || tl_hub_parse_ref(ref, &parsed, &err) != TL_OK) {
        api_fail(&e, 400, "model", "%s", err.message[0] ? err.message : "field 'model' is too long");
        goto fail;
    }
    if (!(j = calloc(1, sizeof *j))) {
        api_fail(&e, 500, NULL, "out of memory");
        goto fail;
    }
    j->srv = srv;
    j->insecure = insecure;
    j->client_fd = req->socket_fd;
    snprintf(j->ref, sizeof j->ref, "%s", ref);
    if (tl_hub_store_name(ref, j->name, sizeof j->name, &err) != TL_OK) {
        api_fail(&e, 400, "model", "%s", err.message);
        goto fail;
    }
    cJSON_Delete(body);
    body = NULL;
    if (!stream) {
        const bool ok = run_pull(j, &e);
        free(j);
        if (!ok) {
            log_current()->client_gone = e.status == 499;
            api_reply_error(res, API_OLLAMA, &e);
            return;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "success");
        api_reply_json(res, 200, o);
        return;
    }
    if (!(j->stream = http_stream_new())) {
        api_fail(&e, 500, NULL, "out of memory");
        goto fail;
    }
    j->log = *log_current();
    api_pulls *p = srv->pulls;
    pthread_mutex_lock(&p->lock);
    pthread_t thread;
    const bool started = pthread_create(&thread, NULL, pull_thread, j) == 0;
    if (started) {
        p->threads++;
        pthread_detach(thread);
    }
    pthread_mutex_unlock(&p->lock);
    res->status = 200;
    res->content_type = "application/x-ndjson";
    res->stream = j->stream;
    if (!started) { /* the stream carries the error alone */
        http_stream_write(j->stream, "{\"error\":\"cannot start the pull\"}\n", 34);
        http_stream_finish(j->stream);
        res->status = 500;
        free(j);
        return;
    }
    log_request_defer(true);
    return;
fail:
    if (j && j->stream) http_stream_finish(j->stream);
    free(j);
    cJSON_Delete(body);
    api_reply_error(res, API_OLLAMA, &e);
}

/* Opens the store, or a 500 naming it. */
static tl_store *open_store(server *srv, api_error *e) {
    tl_error err = {0};
    tl_store *store = NULL;
    if (tl_store_open(srv->options.store_dir, &store, &err) != TL_OK) {
        api_fail(e, 500, NULL, "the model store: %s", err.message);
        return NULL;
    }
    return store;
}

/* A store error as a reply: a name that cannot be one is a 400, the rest 500. */
static void store_error(http_response *res, tl_status s, const tl_error *err) {
    api_reply_fail(res, API_OLLAMA, s == TL_ERR_ARGUMENT ? 400 : 500, NULL, "%s", err->message);
}

/* DELETE /api/delete {"model"} */
void ollama_delete(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    const char *name = NULL;
    tl_store *store = NULL;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !model_field(body, "model", &name, &e) || !(store = open_store(srv, &e))) goto fail;
    tl_store_entry entry;
    if (!tl_store_find(store, name, &entry)) {
        if (registry_find(srv->models, name))
            api_fail(&e, 400, "model",
                     "model '%s' is a file the server was started with (--models, -m), not a model of "
                     "the store: it cannot be deleted here",
                     name);
        else
            api_fail(&e, 404, "model", "model '%s' not found", name);
        goto fail;
    }
    const model_entry *offered = registry_find(srv->models, name);
    const bool same = offered && strcmp(offered->path, entry.model_path) == 0;
    tl_store_entry_free(&entry);
    tl_error err = {0};
    const tl_status s = tl_store_remove(store, name, &err);
    if (s != TL_OK) {
        store_error(res, s, &err);
    } else {
        if (same) registry_remove(srv->models, name);
        api_reply_text(res, 200, "application/json", "");
    }
    tl_store_close(store);
    cJSON_Delete(body);
    return;
fail:
    tl_store_close(store);
    cJSON_Delete(body);
    api_reply_error(res, API_OLLAMA, &e);
}

/* Adds a name the store just got to the models offered; the reply. */
static void offer(server *srv, const char *name, http_response *res) {
    tl_error err = {0};
    if (!registry_add_store_model(srv->models, name, &err))
        api_reply_fail(res, API_OLLAMA, 500, NULL, "'%s' is in the store but cannot be served: %s", name, err.message);
    else
        api_reply_text(res, 200, "application/json", "");
}

/* POST /api/copy {"source", "destination"} */
void ollama_copy(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    const char *source = NULL, *destination = NULL;
    tl_store *store = NULL;
    cJSON *body = api_parse_body(req, &e);
    if (!body || !model_field(body, "source", &source, &e) || !model_field(body, "destination", &destination, &e) ||
        !(store = open_store(srv, &e)))
        goto fail;
    tl_store_entry entry;
    if (!tl_store_find(store, source, &entry)) {
        api_fail(&e, 404, "source", "model '%s' not found", source);
        goto fail;
    }
    tl_store_entry_free(&entry);
    tl_error err = {0};
    const tl_status s = tl_store_copy(store, source, destination, &err);
    if (s != TL_OK)
        store_error(res, s, &err);
    else
        offer(srv, destination, res);
    tl_store_close(store);
    cJSON_Delete(body);
    return;
fail:
    tl_store_close(store);
    cJSON_Delete(body);
    api_reply_error(res, API_OLLAMA, &e);
}

/* Fields of Ollama's /api/create that tinyllm does not take (a new model
 * comes "from" one in the store). */
static bool refuse_unsupported(const cJSON *body, api_error *e) {
    static const char *const fields[] = {"files", "adapters", "quantize", "messages", "modelfile", "path"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, fields[i]);
        if (f && !cJSON_IsNull(f))
            return api_fail(e, 400, fields[i],
                            "field '%s' is not supported: create a model \"from\" one in the store, with its own "
                            "\"system\", \"template\" and \"parameters\"",
                            fields[i]);
    }
    return true;
}

/* POST /api/create {"model", "from", "system", "template", "parameters", "stream"} */
void ollama_create(server *srv, const http_request *req, http_response *res) {
    api_error e = {0};
    const char *name = NULL, *from = NULL, *system = NULL, *template = NULL;
    const cJSON *parameters = NULL;
    bool stream = true;
    char *options = NULL;
    tl_store *store = NULL;
    api_sampling checked;
    api_sampling_init(&checked, NULL);
    cJSON *body = api_parse_body(req, &e);
    if (!body || !model_field(body, "model", &name, &e) || !model_field(body, "from", &from, &e) ||
        !api_field_string(body, NULL, "system", false, &system, &e) ||
        !api_field_string(body, NULL, "template", false, &template, &e) ||
        !api_field_object(body, NULL, "parameters", &parameters, &e) ||
        !api_field_bool(body, NULL, "stream", &stream, &e) || !refuse_unsupported(body, &e) ||
        (parameters && !api_sampling_ollama(&checked, parameters, "parameters.", &e)))
        goto fail;
    if (template && !tl_chat_template_builtin(template) && !strstr(template, "{{") && !strstr(template, "{%")) {
        api_fail(&e, 400, "template", "field 'template' must be a built-in template (%s) or Jinja source",
                 tl_chat_template_builtin_names());
        goto fail;
    }
    if (!(store = open_store(srv, &e))) goto fail;
    tl_store_entry base;
    if (!tl_store_find(store, from, &base)) {
        api_fail(&e, 404, "from", "model '%s' not found", from);
        goto fail;
    }
    char used[100];
    snprintf(used, sizeof used, "using existing layer sha256:%s", base.sha256 ? base.sha256 : "");
    tl_store_entry_free(&base);
    if (parameters && !(options = cJSON_PrintUnformatted(parameters))) {
        api_fail(&e, 500, NULL, "out of memory");
        goto fail;
    }
    tl_error err = {0};
    const tl_status s = tl_store_create(store, name, from, system, template, options, &err);
    if (s != TL_OK) {
        api_fail(&e, s == TL_ERR_ARGUMENT ? 400 : 500, NULL, "%s", err.message);
        goto fail;
    }
    if (!registry_add_store_model(srv->models, name, &err)) {
        api_fail(&e, 500, NULL, "'%s' is in the store but cannot be served: %s", name, err.message);
        goto fail;
    }
    if (stream) { /* done already: the statuses Ollama streams, at once */
        char text[400];
        snprintf(text, sizeof text,
                 "{\"status\":\"%s\"}\n{\"status\":\"writing manifest\"}\n{\"status\":\"success\"}\n", used);
        api_reply_text(res, 200, "application/x-ndjson", text);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "success");
        api_reply_json(res, 200, o);
    }
    goto done;
fail:
    api_reply_error(res, API_OLLAMA, &e);
done:
    api_sampling_free(&checked);
    free(options);
    tl_store_close(store);
    cJSON_Delete(body);
}
