/*
 * registry.h — the models a server offers and the ones it has loaded
 * (registry.c).
 *
 * Every *.gguf of --models and each -m file is listed under its file name
 * without ".gguf" ("smollm2-135m-q8_0"); an optional NAME.json beside it sets
 * defaults: {"system": "...", "template": "chatml" | "FILE" | Jinja source,
 * "options": {Ollama options, as a request's (docs/server.md); num_ctx is
 * the model's default context size}}.
 * Names are matched exactly, also with an Ollama tag (":latest" is ignored).
 *
 * Models load on first use. A request holds its model (registry_acquire ...
 * registry_release); an idle model unloads when its keep_alive expires (a
 * reaper thread checks every few hundred ms). Before a load would go over
 * --max-loaded or --max-memory, least recently used idle models are unloaded;
 * if that is not enough the request fails (503). A request for a model that
 * another request is loading waits for that load.
 *
 * A model is loaded with one context size at a time (positions per slot): a
 * request that needs another size (Ollama's per-request num_ctx) waits until
 * the model is idle, then it is reloaded with that size, as Ollama reloads
 * its runner. The limits apply to the reload as to any load.
 */
#ifndef TL_SERVER_REGISTRY_H
#define TL_SERVER_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/engine.h"
#include "server/server.h"
#include "tinyllm.h"

struct cJSON;
typedef struct registry registry;

/* A model the server offers (loaded or not). Fields are fixed once it is
 * added, but for `removed`; the entry stays valid until registry_free. */
typedef struct model_entry {
    char *name;          /* "smollm2-135m-q8_0" */
    atomic_bool removed; /* deleted from the store while the server runs: no longer offered */
    bool in_store;       /* a model of the store (registry_sync_store may add or withdraw it) */
    char *path;
    uint64_t file_size;
    double modified;        /* seconds since the epoch (file mtime) */
    char digest[65];        /* hex sha256-like id of path+size+mtime (Ollama shows one) */
    struct cJSON *defaults; /* NAME.json contents, or NULL */
} model_entry;

/* A loaded model, valid between registry_acquire and registry_release. */
typedef struct loaded_model {
    const model_entry *entry;
    tl_model *model;
    engine *engine;        /* NULL for encoder-only (embedding) models */
    tl_model *draft_model; /* its speculative decoding draft, or NULL */
    char *template_source; /* chat template in use: defaults' "template", the model's, else chatml */
    char *end_marker;      /* tl_chat_turn_end of it */
    double load_ms;
    size_t memory;        /* bytes counted against --max-memory */
    uint32_t n_ctx_asked; /* the context size it was loaded for (0 = the model's default) */
    uint32_t n_ctx;       /* the size its engine has (positions per slot; 0 without an engine) */
    /* Embeddings go through one context of their own, one request at a time. */
    tl_context *embed_ctx;
    void *embed_lock; /* pthread_mutex_t *, see registry.c */
} loaded_model;

/* The contents of the template file an entry's NAME.json names (malloc'd),
 * or NULL when it names none (or it cannot be read). */
char *registry_template_file(const model_entry *entry);

registry *registry_new(const tl_server_options *options, tl_error *err);
void registry_free(registry *r);

/* Every entry ever added, removed ones too (skip those whose `removed` is
 * set): i < registry_count() stays valid while models are added. */
int registry_count(const registry *r);
const model_entry *registry_entry(const registry *r, int i);
/* The one model offered when there is exactly one, else NULL. */
const model_entry *registry_only(const registry *r);

/* Offers model `name` of the store (options.store_dir) from now on, taking
 * the place of a model of that name (which unloads once idle): after the
 * server pulled, copied or created it. False with a message in err. */
bool registry_add_store_model(registry *r, const char *name, tl_error *err);
/* When the server serves the whole store: offers the models that were added
 * to it since (by `tinyllm pull`, `create`, another server...) and withdraws
 * those that are gone from it or were replaced. Cheap enough for /api/tags. */
void registry_sync_store(registry *r);
/* No longer offers `name` (the store deleted it); a loaded instance finishes
 * the requests that hold it and unloads. False when no such model is offered. */
bool registry_remove(registry *r, const char *name);
/* The entry named `name` (an Ollama "NAME:TAG" matches NAME when TAG is
 * "latest"), or NULL. */
const model_entry *registry_find(const registry *r, const char *name);

typedef enum registry_status {
    REGISTRY_OK,
    REGISTRY_UNKNOWN,     /* no such model: 404 */
    REGISTRY_NO_ROOM,     /* the limits leave no room even after unloading idle models: 503 */
    REGISTRY_LOAD_FAILED, /* the file did not load: 500, message in err */
    REGISTRY_TOO_BIG      /* the asked context alone needs more than --max-memory: 400, message in err */
} registry_status;

/* Loads `name` if needed (waiting for a load in progress) and holds it,
 * whatever context size it is loaded with. */
registry_status registry_acquire(registry *r, const char *name, loaded_model **out, tl_error *err);

/* The same with a context size: `n_ctx` positions per slot, or 0 for the
 * model's default (its NAME.json num_ctx, else the server's -c). A model
 * loaded with another size is reloaded once no request holds it. */
registry_status registry_acquire_ctx(registry *r, const char *name, uint32_t n_ctx, loaded_model **out, tl_error *err);
/* Lets go of a model. keep_alive_s: NAN = the server's default; 0 = unload
 * as soon as no request holds it (the reaper thread does it at once, so this
 * may be called from any thread, the model's generation thread included);
 * < 0 = keep loaded. */
void registry_release(registry *r, loaded_model *m, double keep_alive_s);
/* Sets how long an idle model stays (as registry_release), unloading it now
 * if idle and keep_alive_s is 0; false if it is not loaded. */
bool registry_set_keep_alive(registry *r, const char *name, double keep_alive_s);

/* What /api/ps shows, for each loaded model. */
typedef struct loaded_info {
    const model_entry *entry;
    size_t memory;
    double expires_at; /* seconds since the epoch; 0 = never */
    int holders;       /* requests using it now */
    uint32_t n_ctx;    /* its context size (positions per slot) */
} loaded_info;
/* Fills up to `max` entries, most recently used first; returns the count. */
int registry_loaded(registry *r, loaded_info *out, int max);

#endif /* TL_SERVER_REGISTRY_H */
