/*
 * registry.c — the models a server offers and the ones it has loaded (see
 * registry.h).
 *
 * At start the models directory and the -m files are scanned into a table
 * of slots, one per model; a model the server pulls, copies or creates in
 * the store later gets a slot of its own (registry_add_store_model), and a
 * deleted one is marked removed (registry_remove) but its slot stays, so a
 * model_entry pointer is valid until registry_free. The table of slot
 * pointers is replaced (never changed in place) when it grows: readers load
 * the count, then the table, without the mutex. Each slot moves through
 *
 *     UNLOADED -> LOADING -> LOADED -> UNLOADING -> UNLOADED
 *
 * under the registry mutex. The slow steps (tl_model_load, engine_new,
 * engine_free, which joins the engine's thread) run with the mutex released:
 * the thread that moved a slot into LOADING or UNLOADING owns its
 * loaded_model until it moves the slot on, and everyone else waits on the
 * `changed` condition variable. Limits count LOADING and LOADED slots;
 * UNLOADING ones are already on their way out.
 *
 * A reaper thread unloads idle models whose keep_alive has run out.
 *
 * A slot holds one instance, of one context size. A request for another size
 * waits (on `changed`, which a release to zero holders signals) until the
 * instance is idle, unloads it and loads one of the size it needs.
 */
#include "server/log.h"
#include "server/registry.h"
#include "store/store.h"
#include "util/buffer.h"
#include "util/error.h"
#include "util/text_file.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

/* How often (at most) the reaper looks for expired models. */
#define REAPER_PERIOD_MS 250.0

typedef enum slot_state { SLOT_UNLOADED, SLOT_LOADING, SLOT_LOADED, SLOT_UNLOADING } slot_state;

typedef struct model_slot {
    model_entry entry; /* first member: a model_entry * is its slot's address */
    /* Owned by the thread that put the slot in LOADING/UNLOADING; read-only
     * for holders while LOADED. */
    loaded_model loaded;
    /* The rest is guarded by the registry mutex. */
    slot_state state;
    int holders;
    uint64_t last_used;        /* the registry's use_clock at the last use: LRU order */
    uint64_t counted_memory;   /* bytes counted against --max-memory (an estimate while LOADING) */
    double pending_keep_alive; /* set by registry_set_keep_alive while held; NAN if none */
    double idle_deadline_ms;   /* tl_time_ms() at which an idle model expires; INFINITY = never */
    double expires_at;         /* the same in seconds since the epoch; 0 = never */
    double bytes_per_position; /* engine memory / context size at the last load: estimates reloads; 0 = unknown */
} model_slot;

/* The slots' addresses; a full table is copied into a bigger one and kept
 * (readers may still hold it) until registry_free. */
typedef struct slot_table {
    struct slot_table *older;
    int capacity;
    model_slot *items[];
} slot_table;

struct registry {
    tl_server_options options;
    _Atomic(slot_table *) table;
    atomic_int n_slots;        /* published after the slot is in the table */
    pthread_mutex_t add_lock;  /* one addition at a time */
    pthread_mutex_t sync_lock; /* one registry_sync_store at a time */

    pthread_mutex_t lock;
    pthread_cond_t changed;     /* a load or an unload finished */
    pthread_cond_t reaper_wake; /* a deadline changed, or stopping */
    pthread_t reaper;
    bool reaper_started, stopping;
    uint64_t use_clock;
};

static double epoch_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool ends_with(const char *text, const char *suffix) {
    const size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

/* ------------------------------------------------------------------------ */
/* Scanning                                                                 */
/* ------------------------------------------------------------------------ */

/* "DIR/NAME" (NAME alone when dir is empty). */
static char *join_path(const char *dir, size_t dir_len, const char *name) {
    const size_t n = dir_len + 1 + strlen(name) + 1;
    char *path = malloc(n);
    if (!path) return NULL;
    if (dir_len)
        snprintf(path, n, "%.*s/%s", (int)dir_len, dir, name);
    else
        snprintf(path, n, "%s", name);
    return path;
}

/* The length of the directory part of `path` (0 for a bare file name). */
static size_t dir_length(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return 0;
    return slash == path ? 1 : (size_t)(slash - path);
}

/* A file beside the model: "DIR/<other>". */
static char *beside_model(const char *model_path, const char *other) {
    return join_path(model_path, dir_length(model_path), other);
}

/* How a NAME.json "template" is meant: a built-in name, Jinja source, or a file. */
static bool template_is_source(const char *value) {
    return tl_chat_template_builtin(value) || strstr(value, "{{") || strstr(value, "{%");
}

/* The template file a NAME.json names, relative to the model's directory. */
static char *template_file_path(const char *model_path, const char *value) {
    return value[0] == '/' ? strdup(value) : beside_model(model_path, value);
}

char *registry_template_file(const model_entry *entry) {
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(entry->defaults, "template");
    if (!cJSON_IsString(value) || template_is_source(value->valuestring)) return NULL;
    char *file = template_file_path(entry->path, value->valuestring);
    char *source = file ? tl_read_text_file(file) : NULL;
    free(file);
    return source;
}

/* Checks the defaults of a model (NAME.json, or a store manifest, read from
 * `where`); false with err filled when a field is wrong. */
static bool check_defaults(const cJSON *json, const char *where, const char *model_path, tl_error *err) {
    const cJSON *system = cJSON_GetObjectItemCaseSensitive(json, "system");
    const cJSON *template = cJSON_GetObjectItemCaseSensitive(json, "template");
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(json, "options");
    if (!cJSON_IsObject(json)) return tl_fail(err, TL_ERR_FORMAT, "%s: must be a JSON object", where), false;
    if (system && !cJSON_IsString(system))
        return tl_fail(err, TL_ERR_FORMAT, "%s: \"system\" must be a string", where), false;
    if (template && !cJSON_IsString(template))
        return tl_fail(err, TL_ERR_FORMAT, "%s: \"template\" must be a string", where), false;
    if (options && !cJSON_IsObject(options))
        return tl_fail(err, TL_ERR_FORMAT, "%s: \"options\" must be an object", where), false;
    const cJSON *draft = cJSON_GetObjectItemCaseSensitive(json, "draft");
    if (draft && !cJSON_IsString(draft))
        return tl_fail(err, TL_ERR_FORMAT, "%s: \"draft\" must be a string (a model name or file)", where), false;
    if (!template || template_is_source(template->valuestring)) return true;
    char *file = template_file_path(model_path, template->valuestring);
    FILE *fp = file ? fopen(file, "rb") : NULL;
    bool ok = fp != NULL;
    if (fp)
        fclose(fp);
    else if (file)
        tl_fail(err, TL_ERR_IO, "%s: \"template\" is not a built-in template (%s), Jinja source or a file: %s: %s",
                where, tl_chat_template_builtin_names(), file, strerror(errno));
    else
        tl_fail(err, TL_ERR_NOMEM, "out of memory");
    free(file);
    return ok;
}

/* NAME.json beside the model, checked; *out stays NULL when there is none. */
static bool read_defaults(const char *model_path, const char *name, cJSON **out, tl_error *err) {
    *out = NULL;
    char *json_name = malloc(strlen(name) + 6);
    if (!json_name) return tl_fail(err, TL_ERR_NOMEM, "out of memory"), false;
    sprintf(json_name, "%s.json", name);
    char *json_path = beside_model(model_path, json_name);
    free(json_name);
    if (!json_path) return tl_fail(err, TL_ERR_NOMEM, "out of memory"), false;

    bool ok = false;
    char *text = tl_read_text_file(json_path);
    if (!text) {
        if (errno == ENOENT)
            ok = true;
        else
            tl_fail(err, TL_ERR_IO, "%s: %s", json_path, strerror(errno));
        free(json_path);
        return ok;
    }
    const char *parse_end = NULL;
    cJSON *json = cJSON_ParseWithOpts(text, &parse_end, true);
    if (!json)
        tl_fail(err, TL_ERR_FORMAT, "%s: invalid JSON at byte %td", json_path,
                parse_end ? parse_end - text : (ptrdiff_t)0);
    else
        ok = check_defaults(json, json_path, model_path, err);
    if (ok)
        *out = json;
    else
        cJSON_Delete(json);
    free(text);
    free(json_path);
    return ok;
}

static int slot_count(const registry *r) {
    return atomic_load_explicit(&((registry *)r)->n_slots, memory_order_acquire);
}

/* Slot i < slot_count(r) (read first). */
static model_slot *slot_at(const registry *r, int i) {
    return atomic_load_explicit(&((registry *)r)->table, memory_order_acquire)->items[i];
}

/* Adds slot s (owned) at the end of the table; caller holds add_lock. */
static bool append_slot(registry *r, model_slot *s) {
    slot_table *t = atomic_load(&r->table);
    const int n = slot_count(r);
    if (!t || n == t->capacity) {
        const int capacity = t ? 2 * t->capacity : 16;
        slot_table *bigger = malloc(sizeof *bigger + (size_t)capacity * sizeof bigger->items[0]);
        if (!bigger) return false;
        bigger->older = t;
        bigger->capacity = capacity;
        if (n > 0) memcpy(bigger->items, t->items, (size_t)n * sizeof t->items[0]);
        atomic_store_explicit(&r->table, bigger, memory_order_release);
        t = bigger;
    }
    t->items[n] = s;
    atomic_store_explicit(&r->n_slots, n + 1, memory_order_release);
    return true;
}

static void free_slots(registry *r) {
    const int n = slot_count(r);
    for (int i = 0; i < n; i++) {
        model_slot *s = slot_at(r, i);
        free(s->entry.name);
        free(s->entry.path);
        cJSON_Delete(s->entry.defaults);
        free(s);
    }
    for (slot_table *t = atomic_load(&r->table), *older; t; t = older) {
        older = t->older;
        free(t);
    }
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A 256-bit identifier of path+size+mtime in hex: four differently seeded
 * FNV-1a lanes, each finished with splitmix64. Not a cryptographic hash. */
static void compute_digest(const char *path, uint64_t size, double modified, char out[65]) {
    const int64_t modified_ns = (int64_t)(modified * 1e9);
    unsigned char tail[16];
    for (int i = 0; i < 8; i++) {
        tail[i] = (unsigned char)(size >> (8 * i));
        tail[8 + i] = (unsigned char)((uint64_t)modified_ns >> (8 * i));
    }
    for (int lane = 0; lane < 4; lane++) {
        uint64_t h = 0xcbf29ce484222325ull ^ splitmix64((uint64_t)lane + 1);
        for (const unsigned char *p = (const unsigned char *)path; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
        for (size_t i = 0; i < sizeof tail; i++) h = (h ^ tail[i]) * 0x100000001b3ull;
        snprintf(out + 16 * lane, 17, "%016" PRIx64, splitmix64(h));
    }
}

/* Adds the model at `path` under `name` with `defaults` (both owned: freed
 * on failure); fails on a missing file or a name already taken by a model
 * that is not removed. Caller holds add_lock (or no other thread runs). */
static model_slot *add_named_model(registry *r, const char *path, char *name, cJSON *defaults, tl_error *err) {
    struct stat st;
    tl_status status = TL_OK;
    if (stat(path, &st) != 0)
        status = tl_fail(err, TL_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        status = tl_fail(err, TL_ERR_IO, "%s: not a regular file", path);
    for (int i = 0; status == TL_OK && i < slot_count(r); i++) {
        const model_slot *other = slot_at(r, i);
        if (!atomic_load(&other->entry.removed) && strcmp(other->entry.name, name) == 0)
            status =
                tl_fail(err, TL_ERR_ARGUMENT, "two models are named '%s': %s and %s", name, other->entry.path, path);
    }
    model_slot *s = status == TL_OK ? calloc(1, sizeof *s) : NULL;
    char *path_copy = status == TL_OK ? strdup(path) : NULL;
    if (status == TL_OK && (!s || !path_copy)) status = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (status != TL_OK) {
        free(s);
        free(name);
        free(path_copy);
        cJSON_Delete(defaults);
        return NULL;
    }
    s->entry.name = name;
    s->entry.path = path_copy;
    s->entry.file_size = (uint64_t)st.st_size;
    s->entry.modified = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
    s->entry.defaults = defaults;
    atomic_init(&s->entry.removed, false);
    compute_digest(s->entry.path, s->entry.file_size, s->entry.modified, s->entry.digest);
    s->state = SLOT_UNLOADED;
    s->pending_keep_alive = NAN;
    s->idle_deadline_ms = INFINITY;
    if (!append_slot(r, s)) {
        free(name);
        free(path_copy);
        cJSON_Delete(defaults);
        free(s);
        tl_fail(err, TL_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return s;
}

/* Adds the model at `path` (its NAME.json too), named by its file name. */
static bool add_model(registry *r, const char *path, tl_error *err) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t name_len = strlen(base);
    if (ends_with(base, ".gguf")) name_len -= 5;
    if (name_len == 0) return tl_fail(err, TL_ERR_ARGUMENT, "%s: no model name in the file name", path), false;
    char *name = strndup(base, name_len);
    if (!name) return tl_fail(err, TL_ERR_NOMEM, "out of memory"), false;
    cJSON *defaults = NULL;
    if (!read_defaults(path, name, &defaults, err)) {
        free(name);
        return false;
    }
    return add_named_model(r, path, name, defaults, err) != NULL;
}

/* Adds model `name` of the model store, its manifest as its defaults (system,
 * template, options, as NAME.json's); named without ":latest", as a file's
 * model is (clients see NAME:latest either way). */
static bool add_store_model(registry *r, tl_store *store, const char *name, bool listed, tl_error *err) {
    tl_store_entry e;
    if (!tl_store_find(store, name, &e) && listed) return true; /* an unreadable manifest: skipped */
    if (!e.name)
        return tl_fail(err, TL_ERR_ARGUMENT, "'%s' is neither a file nor a model in the store %s", name,
                       tl_store_dir(store)),
               false;
    cJSON *defaults = cJSON_Parse(e.manifest_json);
    size_t len = strlen(e.name);
    if (ends_with(e.name, ":latest")) len -= 7;
    char *short_name = strndup(e.name, len);
    bool ok = short_name && defaults;
    if (!ok) tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (ok && !check_defaults(defaults, e.name, e.model_path, err)) ok = false;
    if (ok) {
        model_slot *s = add_named_model(r, e.model_path, short_name, defaults, err);
        /* Its id is the file's sha256, as Ollama's digest is its blob's. */
        if (s) snprintf(s->entry.digest, 65, "%s", e.sha256);
        if (s) s->entry.in_store = true;
        ok = s != NULL;
    } else {
        free(short_name);
        cJSON_Delete(defaults);
    }
    tl_store_entry_free(&e);
    return ok;
}

/* The models of the store: every one (serve_store), or those named. */
static bool add_store_models(registry *r, const tl_server_options *options, tl_error *err) {
    if (!options->serve_store && options->n_store_names == 0) return true;
    tl_store *store = NULL;
    if (tl_store_open(options->store_dir, &store, err) != TL_OK) return false;
    char **names = NULL;
    int n = 0;
    bool ok = true;
    if (options->serve_store) ok = tl_store_list(store, &names, &n, err) == TL_OK;
    for (int i = 0; ok && i < n; i++) ok = add_store_model(r, store, names[i], true, err);
    for (int i = 0; ok && i < options->n_store_names; i++)
        ok = add_store_model(r, store, options->store_names[i], false, err);
    tl_store_names_free(names, n);
    tl_store_close(store);
    return ok;
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular *.gguf of `dir`, in name order. */
static bool scan_directory(registry *r, const char *dir, tl_error *err) {
    DIR *d = opendir(dir);
    if (!d) return tl_fail(err, TL_ERR_IO, "%s: %s", dir, strerror(errno)), false;
    char **paths = NULL;
    int n_paths = 0;
    size_t paths_capacity = 0;
    bool ok = true;
    struct dirent *de;
    while (ok && (de = readdir(d))) {
        if (!ends_with(de->d_name, ".gguf") || strlen(de->d_name) == 5) continue;
        char *path = join_path(dir, strlen(dir), de->d_name);
        struct stat st;
        if (!path) {
            ok = false;
        } else if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path); /* a dangling link or a directory: not a model */
        } else {
            char **bigger = tl_grow(paths, &paths_capacity, n_paths + 1, sizeof *bigger, 16);
            if (!bigger) {
                free(path);
                ok = false;
                break;
            }
            paths = bigger;
            paths[n_paths++] = path;
        }
    }
    closedir(d);
    if (!ok) tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (n_paths) qsort(paths, (size_t)n_paths, sizeof *paths, compare_strings);
    for (int i = 0; ok && i < n_paths; i++) ok = add_model(r, paths[i], err);
    for (int i = 0; i < n_paths; i++) free(paths[i]);
    free(paths);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Loading and unloading (without the registry mutex)                       */
/* ------------------------------------------------------------------------ */

/* Frees whatever a (possibly half-made) loaded model holds; keeps `entry`. */
static void free_loaded(loaded_model *m) {
    if (m->engine) engine_free(m->engine);
    if (m->embed_ctx) tl_context_free(m->embed_ctx);
    if (m->embed_lock) {
        pthread_mutex_destroy(m->embed_lock);
        free(m->embed_lock);
    }
    free(m->template_source);
    free(m->end_marker);
    if (m->model) tl_model_free(m->model);
    if (m->draft_model) tl_model_free(m->draft_model);
    const model_entry *entry = m->entry;
    memset(m, 0, sizeof *m);
    m->entry = entry;
}

/* The chat template: NAME.json's "template" (a built-in name, Jinja source
 * or a file beside the model), else the model's own, else chatml. */
static char *choose_template(const model_entry *entry, const tl_model *model, tl_error *err) {
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(entry->defaults, "template");
    if (cJSON_IsString(value)) {
        const char *builtin = tl_chat_template_builtin(value->valuestring);
        if (builtin) return strdup(builtin);
        if (template_is_source(value->valuestring)) return strdup(value->valuestring);
        char *file = template_file_path(entry->path, value->valuestring);
        char *source = file ? tl_read_text_file(file) : NULL;
        if (!source) tl_fail(err, TL_ERR_IO, "template of %s: %s: %s", entry->name, file ? file : "", strerror(errno));
        free(file);
        return source;
    }
    const char *source = tl_model_chat_template(model);
    return strdup(source ? source : tl_chat_template_builtin("chatml"));
}

/* The end-of-sequence token's text ("" when the vocabulary has none). */
static char *eos_text(const tl_model *model) {
    char buf[256];
    const tl_token eos = tl_token_eos(model);
    const int32_t n = eos >= 0 ? tl_token_to_piece(model, eos, true, buf, (int32_t)sizeof buf - 1) : 0;
    buf[n > 0 ? n : 0] = 0;
    return strdup(buf);
}

/* The default context size of a model's engine: NAME.json options.num_ctx, else --ctx. */
static uint32_t context_size(const registry *r, const model_entry *entry) {
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(entry->defaults, "options");
    const cJSON *num_ctx = cJSON_GetObjectItemCaseSensitive(options, "num_ctx");
    if (cJSON_IsNumber(num_ctx) && num_ctx->valuedouble >= 1 && num_ctx->valuedouble <= 1e7)
        return (uint32_t)num_ctx->valuedouble;
    return r->options.n_ctx;
}

/* The draft model for the slot's model: its NAME.json "draft" (a model the
 * server offers, or a file, beside the model when relative), else the
 * server's --draft. A NAME.json draft that cannot draft for the model is an
 * error; the server's is only skipped for models it does not fit (logged). */
static bool load_draft(const registry *r, model_slot *s, tl_error *err) {
    loaded_model *m = &s->loaded;
    const cJSON *own = cJSON_GetObjectItemCaseSensitive(s->entry.defaults, "draft");
    if (r->options.draft.n_max <= 0 || (!cJSON_IsString(own) && !r->options.draft_model)) return true;
    char *path = NULL;
    if (cJSON_IsString(own)) {
        const model_entry *named = registry_find(r, own->valuestring);
        path = named                        ? strdup(named->path)
               : own->valuestring[0] == '/' ? strdup(own->valuestring)
                                            : beside_model(s->entry.path, own->valuestring);
    } else {
        path = strdup(r->options.draft_model);
    }
    if (!path) return tl_fail(err, TL_ERR_NOMEM, "out of memory"), false;
    tl_error draft_err = {0};
    bool ok = tl_model_load(path, NULL, &m->draft_model, &draft_err) == TL_OK &&
              tl_draft_check_vocab(m->draft_model, m->model, NULL, 0, &draft_err) == TL_OK;
    if (!ok) {
        if (m->draft_model) tl_model_free(m->draft_model);
        m->draft_model = NULL;
        if (cJSON_IsString(own)) {
            tl_fail(err, draft_err.status, "model '%s': draft %s: %s", s->entry.name, path, draft_err.message);
        } else {
            char reason[sizeof draft_err.message + 64];
            snprintf(reason, sizeof reason, "draft not used: %s", draft_err.message);
            log_model("draft_skipped", s->entry.name, 0, 0, reason);
            ok = true;
        }
    }
    free(path);
    return ok;
}

/* Loads the slot's model into s->loaded with `n_ctx` positions per slot (0:
 * the default); the caller owns the LOADING slot. */
static registry_status load_model(const registry *r, model_slot *s, uint32_t n_ctx, tl_error *err) {
    const double started = tl_time_ms();
    loaded_model *m = &s->loaded;
    memset(m, 0, sizeof *m);
    m->entry = &s->entry;

    tl_error load_err = {0};
    const tl_model_params params = tl_model_default_params();
    if (tl_model_load(s->entry.path, &params, &m->model, &load_err) != TL_OK) {
        tl_fail(err, load_err.status, "model '%s': %s", s->entry.name, load_err.message);
        goto fail;
    }
    if (!(m->template_source = choose_template(&s->entry, m->model, err))) goto fail;

    char *eos = eos_text(m->model);
    if (!eos || tl_chat_turn_end(m->template_source, eos, &m->end_marker, &load_err) != TL_OK) {
        m->end_marker = strdup("");
    }
    free(eos);
    if (!m->end_marker) {
        tl_fail(err, TL_ERR_NOMEM, "out of memory");
        goto fail;
    }

    if (tl_model_has_decoder(m->model) && !tl_model_has_encoder(m->model)) {
        if (!load_draft(r, s, err)) goto fail;
        const engine_params engine_options = {
            .n_slots = r->options.parallel > 0 ? r->options.parallel : 1,
            .n_ctx = n_ctx ? n_ctx : context_size(r, &s->entry),
            .n_threads = r->options.n_threads,
            .n_batch = r->options.n_batch,
            .queue_limit = r->options.queue_limit,
            .end_marker = m->end_marker,
            .draft_model = m->draft_model,
            .lookup = r->options.lookup,
            .draft = r->options.draft,
            .draft_threads = r->options.draft_threads,
            .draft_n_ctx = r->options.draft_n_ctx,
        };
        if (!(m->engine = engine_new(m->model, &engine_options, &load_err))) {
            tl_fail(err, load_err.status, "model '%s': %s", s->entry.name, load_err.message);
            goto fail;
        }
    }

    if (!(m->embed_lock = malloc(sizeof(pthread_mutex_t)))) {
        tl_fail(err, TL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (pthread_mutex_init(m->embed_lock, NULL) != 0) {
        free(m->embed_lock);
        m->embed_lock = NULL;
        tl_fail(err, TL_ERR_NOMEM, "cannot create a mutex");
        goto fail;
    }
    m->memory = (size_t)s->entry.file_size + (m->engine ? engine_memory(m->engine) : 0);
    m->n_ctx_asked = n_ctx ? n_ctx : context_size(r, &s->entry);
    m->n_ctx = m->engine ? engine_context_size(m->engine) : 0;
    m->load_ms = tl_time_ms() - started;
    log_model("load", s->entry.name, m->load_ms, m->memory, NULL);
    return REGISTRY_OK;

fail:
    log_model("load_failed", s->entry.name, 0, 0, err && err->message[0] ? err->message : "unknown error");
    free_loaded(m);
    return REGISTRY_LOAD_FAILED;
}

/* Frees an UNLOADING slot's model, then marks it UNLOADED (takes the mutex). */
static void finish_unload(registry *r, model_slot *s, const char *reason) {
    log_model("unload", s->entry.name, 0, 0, reason);
    free_loaded(&s->loaded);
    pthread_mutex_lock(&r->lock);
    s->state = SLOT_UNLOADED;
    s->counted_memory = 0;
    s->holders = 0;
    s->pending_keep_alive = NAN;
    s->idle_deadline_ms = INFINITY;
    s->expires_at = 0;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static void finish_unloads(registry *r, model_slot **victims, int n_victims) {
    for (int i = 0; i < n_victims; i++) finish_unload(r, victims[i], "room");
}

/* ------------------------------------------------------------------------ */
/* Bookkeeping (with the registry mutex held)                               */
/* ------------------------------------------------------------------------ */

static void hold(registry *r, model_slot *s) {
    s->holders++;
    s->last_used = ++r->use_clock;
    s->pending_keep_alive = NAN; /* a newer request: its own keep_alive will decide */
    s->idle_deadline_ms = INFINITY;
    s->expires_at = 0;
}

/* An idle model starts its keep_alive; true if it must unload now (the slot
 * is then UNLOADING and the caller must finish_unload it). */
static bool start_idle(registry *r, model_slot *s, double keep_alive_s) {
    if (keep_alive_s == 0) {
        s->state = SLOT_UNLOADING;
        return true;
    }
    if (isnan(keep_alive_s) || keep_alive_s < 0) {
        s->idle_deadline_ms = INFINITY;
        s->expires_at = 0;
    } else {
        s->idle_deadline_ms = tl_time_ms() + keep_alive_s * 1e3;
        s->expires_at = epoch_seconds() + keep_alive_s;
    }
    pthread_cond_signal(&r->reaper_wake);
    return false;
}

static double mebibytes(uint64_t bytes) {
    return (double)bytes / (1024.0 * 1024.0);
}

/*
 * Makes room for `extra_count` more models of `extra_memory` bytes by
 * marking idle models UNLOADING, least recently used first (never `keep`);
 * the caller must finish_unloads them once it has released the mutex.
 * When even that is not enough: if `must_fit`, nothing is marked and false
 * is returned with a message naming the limit; otherwise as many idle models
 * as help are marked and true is returned.
 */
static bool make_room(registry *r, const model_slot *keep, const char *wanted, int extra_count, uint64_t extra_memory,
                      bool must_fit, model_slot **victims, int max_victims, int *n_victims, tl_error *err) {
    int count = extra_count;
    uint64_t memory = extra_memory;
    const int n_all = slot_count(r);
    for (int i = 0; i < n_all; i++) {
        const model_slot *s = slot_at(r, i);
        if (s->state == SLOT_LOADING || s->state == SLOT_LOADED) {
            count++;
            memory += s->counted_memory;
        }
    }
    const int max_loaded = r->options.max_loaded;
    const uint64_t max_memory = r->options.max_memory;
    *n_victims = 0;
    for (;;) {
        const bool too_many = max_loaded > 0 && count > max_loaded;
        const bool too_big = max_memory > 0 && memory > max_memory;
        if (!too_many && !too_big) return true;
        model_slot *lru = NULL;
        for (int i = 0; i < n_all && *n_victims < max_victims; i++) {
            model_slot *s = slot_at(r, i);
            if (s != keep && s->state == SLOT_LOADED && s->holders == 0 && (!lru || s->last_used < lru->last_used))
                lru = s;
        }
        if (!lru) {
            if (!must_fit) return true;
            for (int i = 0; i < *n_victims; i++) victims[i]->state = SLOT_LOADED;
            *n_victims = 0;
            if (too_many) {
                tl_fail(err, TL_ERR_ARGUMENT,
                        "cannot load '%s': --max-loaded %d is reached and no loaded model is idle", wanted, max_loaded);
            } else {
                tl_fail(err, TL_ERR_ARGUMENT,
                        "cannot load '%s': it needs about %.1f MiB and models in use hold %.1f MiB of "
                        "--max-memory %.1f MiB",
                        wanted, mebibytes(extra_memory), mebibytes(memory - extra_memory), mebibytes(max_memory));
            }
            return false;
        }
        lru->state = SLOT_UNLOADING;
        victims[(*n_victims)++] = lru;
        count--;
        memory -= lru->counted_memory;
    }
}

/* ------------------------------------------------------------------------ */
/* The reaper                                                               */
/* ------------------------------------------------------------------------ */

/* Unloads idle models whose keep_alive ran out; sleeps until the next
 * deadline or REAPER_PERIOD_MS, whichever comes first. */
static void *reaper_main(void *arg) {
    registry *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        const double now = tl_time_ms();
        double wake_at = now + REAPER_PERIOD_MS;
        model_slot *expired = NULL;
        for (int i = 0, n_all = slot_count(r); i < n_all && !expired; i++) {
            model_slot *s = slot_at(r, i);
            if (s->state != SLOT_LOADED || s->holders > 0) continue;
            if (s->idle_deadline_ms <= now)
                expired = s;
            else if (s->idle_deadline_ms < wake_at)
                wake_at = s->idle_deadline_ms;
        }
        if (expired) {
            expired->state = SLOT_UNLOADING;
            pthread_mutex_unlock(&r->lock);
            finish_unload(r, expired, "keep_alive");
            pthread_mutex_lock(&r->lock);
            continue;
        }
        struct timespec until;
        until.tv_sec = (time_t)(wake_at / 1e3);
        until.tv_nsec = (long)((wake_at - (double)until.tv_sec * 1e3) * 1e6);
        if (until.tv_nsec >= 1000000000L) until.tv_nsec = 999999999L;
        if (until.tv_nsec < 0) until.tv_nsec = 0;
        pthread_cond_timedwait(&r->reaper_wake, &r->lock, &until);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The public functions                                                     */
/* ------------------------------------------------------------------------ */

registry *registry_new(const tl_server_options *options, tl_error *err) {
    registry *r = calloc(1, sizeof *r);
    if (!r) return tl_fail(err, TL_ERR_NOMEM, "out of memory"), NULL;
    r->options = *options;
    atomic_init(&r->table, NULL);
    atomic_init(&r->n_slots, 0);
    bool ok = !options->models_dir || scan_directory(r, options->models_dir, err);
    for (int i = 0; ok && i < options->n_model_paths; i++) ok = add_model(r, options->model_paths[i], err);
    ok = ok && add_store_models(r, options, err);
    if (!ok) {
        free_slots(r);
        free(r);
        return NULL;
    }

    /* The reaper's timed waits use the same monotonic clock as tl_time_ms(). */
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->add_lock, NULL);
    pthread_mutex_init(&r->sync_lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    pthread_cond_init(&r->reaper_wake, &monotonic);
    pthread_condattr_destroy(&monotonic);
    if (pthread_create(&r->reaper, NULL, reaper_main, r) != 0) {
        tl_fail(err, TL_ERR_NOMEM, "cannot start the model reaper thread");
        registry_free(r);
        return NULL;
    }
    r->reaper_started = true;
    return r;
}

void registry_free(registry *r) {
    if (!r) return;
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_signal(&r->reaper_wake);
    pthread_mutex_unlock(&r->lock);
    if (r->reaper_started) pthread_join(r->reaper, NULL);

    /* Loads and unloads still under way belong to other threads: let them end. */
    pthread_mutex_lock(&r->lock);
    const int n_all = slot_count(r);
    for (int i = 0; i < n_all; i++) {
        while (slot_at(r, i)->state == SLOT_LOADING || slot_at(r, i)->state == SLOT_UNLOADING)
            pthread_cond_wait(&r->changed, &r->lock);
    }
    pthread_mutex_unlock(&r->lock);

    for (int i = 0; i < n_all; i++) {
        model_slot *s = slot_at(r, i);
        if (s->state == SLOT_LOADED) free_loaded(&s->loaded);
    }
    free_slots(r);
    pthread_cond_destroy(&r->reaper_wake);
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->add_lock);
    pthread_mutex_destroy(&r->sync_lock);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int registry_count(const registry *r) {
    return slot_count(r);
}

const model_entry *registry_entry(const registry *r, int i) {
    return i >= 0 && i < slot_count(r) ? &slot_at(r, i)->entry : NULL;
}

const model_entry *registry_only(const registry *r) {
    const model_entry *only = NULL;
    for (int i = 0, n_all = slot_count(r); i < n_all; i++) {
        const model_entry *e = &slot_at(r, i)->entry;
        if (atomic_load(&e->removed)) continue;
        if (only) return NULL;
        only = e;
    }
    return only;
}

/* The entry (not removed) whose name is the first `len` bytes of `name`;
 * the last added when a name was taken again. */
static const model_entry *find_exact(const registry *r, const char *name, size_t len) {
    for (int i = slot_count(r) - 1; i >= 0; i--) {
        const model_entry *e = &slot_at(r, i)->entry;
        if (!atomic_load(&e->removed) && strlen(e->name) == len && memcmp(e->name, name, len) == 0) return e;
    }
    return NULL;
}

const model_entry *registry_find(const registry *r, const char *name) {
    if (!name) return NULL;
    size_t len = strlen(name);
    const model_entry *entry = find_exact(r, name, len);
    if (entry) return entry;
    if (len > 7 && memcmp(name + len - 7, ":latest", 7) == 0) {
        len -= 7;
        if ((entry = find_exact(r, name, len))) return entry;
    }
    if (len > 5 && memcmp(name + len - 5, ".gguf", 5) == 0) return find_exact(r, name, len - 5);
    return NULL;
}

/* Whether a loaded instance serves a request for `n_ctx` (ANY_SIZE: any). */
#define ANY_SIZE UINT32_MAX
static bool size_fits(const registry *r, const model_slot *s, uint32_t n_ctx) {
    if (n_ctx == ANY_SIZE || !s->loaded.engine) return true;
    const uint32_t wanted = n_ctx ? n_ctx : context_size(r, &s->entry);
    return wanted == s->loaded.n_ctx_asked || (wanted != 0 && wanted == s->loaded.n_ctx);
}

/* What loading the slot's model with `n_ctx` is expected to hold: the file,
 * plus the context as big as the last load's per position (when known). */
static uint64_t estimated_memory(const registry *r, const model_slot *s, uint32_t n_ctx) {
    const uint32_t wanted = n_ctx ? n_ctx : context_size(r, &s->entry);
    return s->entry.file_size + (uint64_t)(s->bytes_per_position * (wanted ? wanted : 0));
}

static registry_status acquire(registry *r, const char *name, uint32_t n_ctx, loaded_model **out, tl_error *err) {
    *out = NULL;
    const model_entry *entry = registry_find(r, name);
    if (!entry) {
        tl_fail(err, TL_ERR_ARGUMENT, "model '%s' not found", name ? name : "");
        return REGISTRY_UNKNOWN;
    }
    model_slot *s = (model_slot *)entry; /* entry is the slot's first member */
    const int max_victims = slot_count(r);
    model_slot **victims = malloc((size_t)max_victims * sizeof *victims);
    if (!victims) {
        tl_fail(err, TL_ERR_NOMEM, "out of memory");
        return REGISTRY_LOAD_FAILED;
    }
    int n_victims = 0;
    const uint32_t load_ctx = n_ctx == ANY_SIZE ? 0 : n_ctx;

    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (s->state == SLOT_LOADING || s->state == SLOT_UNLOADING) pthread_cond_wait(&r->changed, &r->lock);
        if (s->state != SLOT_LOADED) break;
        if (size_fits(r, s, n_ctx)) {
            hold(r, s);
            pthread_mutex_unlock(&r->lock);
            free(victims);
            *out = &s->loaded;
            return REGISTRY_OK;
        }
        if (s->holders > 0) { /* another size is in use: wait until it is idle */
            pthread_cond_wait(&r->changed, &r->lock);
            continue;
        }
        s->state = SLOT_UNLOADING; /* idle with another size: reload */
        pthread_mutex_unlock(&r->lock);
        finish_unload(r, s, "context_size");
        pthread_mutex_lock(&r->lock);
    }
    const uint64_t estimate = estimated_memory(r, s, load_ctx);
    const uint64_t max_memory = r->options.max_memory;
    if (load_ctx && max_memory > 0 && estimate > max_memory) {
        pthread_mutex_unlock(&r->lock);
        free(victims);
        tl_fail(err, TL_ERR_ARGUMENT,
                "model '%s' with a context of %u needs about %.1f MiB, more than --max-memory %.1f MiB", entry->name,
                load_ctx, mebibytes(estimate), mebibytes(max_memory));
        return REGISTRY_TOO_BIG;
    }
    if (!make_room(r, s, entry->name, 1, estimate, true, victims, max_victims, &n_victims, err)) {
        pthread_mutex_unlock(&r->lock);
        free(victims);
        return REGISTRY_NO_ROOM;
    }
    s->state = SLOT_LOADING;
    s->counted_memory = estimate;
    pthread_mutex_unlock(&r->lock);

    finish_unloads(r, victims, n_victims);
    registry_status status = load_model(r, s, load_ctx, err);
    if (status == REGISTRY_OK && load_ctx && max_memory > 0 && s->loaded.memory > max_memory) {
        tl_fail(err, TL_ERR_ARGUMENT, "model '%s' with a context of %u needs %.1f MiB, more than --max-memory %.1f MiB",
                entry->name, load_ctx, mebibytes(s->loaded.memory), mebibytes(max_memory));
        free_loaded(&s->loaded);
        status = REGISTRY_TOO_BIG;
    }

    pthread_mutex_lock(&r->lock);
    if (status != REGISTRY_OK) {
        s->state = SLOT_UNLOADED;
        s->counted_memory = 0;
        n_victims = 0;
    } else {
        s->state = SLOT_LOADED;
        s->counted_memory = s->loaded.memory;
        if (s->loaded.n_ctx > 0)
            s->bytes_per_position = (double)(s->loaded.memory - s->entry.file_size) / s->loaded.n_ctx;
        hold(r, s);
        /* The estimate was low: make up for it, but keep the model. */
        make_room(r, s, entry->name, 0, 0, false, victims, max_victims, &n_victims, NULL);
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);

    finish_unloads(r, victims, n_victims);
    free(victims);
    if (status == REGISTRY_OK) *out = &s->loaded;
    return status;
}

registry_status registry_acquire(registry *r, const char *name, loaded_model **out, tl_error *err) {
    return acquire(r, name, ANY_SIZE, out, err);
}

registry_status registry_acquire_ctx(registry *r, const char *name, uint32_t n_ctx, loaded_model **out, tl_error *err) {
    return acquire(r, name, n_ctx == ANY_SIZE ? ANY_SIZE - 1 : n_ctx, out, err);
}

/* With keep_alive 0 the last holder's thread unloads the model, joining its
 * engine's thread: so never call this from that engine's callbacks (on_text,
 * on_done run on the scheduler thread); release after the request ended. */
/* A release may come from a model's own generation thread (a streamed
 * reply's end), which engine_free would wait for: so an unload it causes is
 * left to the reaper thread, which does it at once. */
void registry_release(registry *r, loaded_model *m, double keep_alive_s) {
    if (!m) return;
    model_slot *s = (model_slot *)((char *)m - offsetof(model_slot, loaded));
    if (isnan(keep_alive_s)) keep_alive_s = r->options.keep_alive_s;
    pthread_mutex_lock(&r->lock);
    if (s->state == SLOT_LOADED && s->holders > 0) {
        s->holders--;
        s->last_used = ++r->use_clock;
        if (s->holders == 0) {
            pthread_cond_broadcast(&r->changed); /* a request for another context size may be waiting */
            double chosen = isnan(s->pending_keep_alive) ? keep_alive_s : s->pending_keep_alive;
            if (atomic_load(&s->entry.removed)) chosen = 0; /* deleted while in use: now it goes */
            s->pending_keep_alive = NAN;
            if (chosen == 0) {
                s->idle_deadline_ms = tl_time_ms();
                s->expires_at = epoch_seconds();
                pthread_cond_signal(&r->reaper_wake);
            } else {
                start_idle(r, s, chosen);
            }
        }
    }
    pthread_mutex_unlock(&r->lock);
}

bool registry_set_keep_alive(registry *r, const char *name, double keep_alive_s) {
    const model_entry *entry = registry_find(r, name);
    if (!entry) return false;
    model_slot *s = (model_slot *)entry;
    if (isnan(keep_alive_s)) keep_alive_s = r->options.keep_alive_s;
    bool loaded, unload = false;
    pthread_mutex_lock(&r->lock);
    if ((loaded = s->state == SLOT_LOADED)) {
        s->last_used = ++r->use_clock;
        if (s->holders > 0)
            s->pending_keep_alive = keep_alive_s; /* applies when the last holder lets go */
        else
            unload = start_idle(r, s, keep_alive_s);
    }
    pthread_mutex_unlock(&r->lock);
    if (unload) finish_unload(r, s, "keep_alive");
    return loaded;
}

static int by_last_used_descending(const void *a, const void *b) {
    const model_slot *x = *(model_slot *const *)a, *y = *(model_slot *const *)b;
    return x->last_used < y->last_used ? 1 : x->last_used > y->last_used ? -1 : 0;
}

int registry_loaded(registry *r, loaded_info *out, int max) {
    const int n_all = slot_count(r);
    model_slot **loaded = malloc((size_t)(n_all ? n_all : 1) * sizeof *loaded);
    if (!loaded) return 0;
    int n = 0;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < n_all; i++) {
        if (slot_at(r, i)->state == SLOT_LOADED) loaded[n++] = slot_at(r, i);
    }
    if (n > 1) qsort(loaded, (size_t)n, sizeof *loaded, by_last_used_descending);
    if (n > max) n = max > 0 ? max : 0;
    const double now = epoch_seconds();
    for (int i = 0; i < n; i++) {
        const model_slot *s = loaded[i];
        double expires_at = s->expires_at;
        if (s->holders > 0) {
            /* In use: when it would expire if let go now with the pending or default keep_alive. */
            const double keep = isnan(s->pending_keep_alive) ? r->options.keep_alive_s : s->pending_keep_alive;
            expires_at = keep >= 0 ? now + keep : 0;
        }
        out[i] = (loaded_info){.entry = &s->entry,
                               .memory = (size_t)s->counted_memory,
                               .expires_at = expires_at,
                               .holders = s->holders,
                               .n_ctx = s->loaded.n_ctx};
    }
    pthread_mutex_unlock(&r->lock);
    free(loaded);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Models added and removed while the server runs                           */
/* ------------------------------------------------------------------------ */

/* Marks a slot removed and unloads it once no request holds it. */
static void remove_slot(registry *r, model_slot *s) {
    atomic_store(&s->entry.removed, true);
    pthread_mutex_lock(&r->lock);
    bool unload = false;
    if (s->state == SLOT_LOADED) {
        if (s->holders > 0)
            s->pending_keep_alive = 0;
        else
            unload = start_idle(r, s, 0);
    }
    pthread_mutex_unlock(&r->lock);
    if (unload) finish_unload(r, s, "removed");
}

bool registry_add_store_model(registry *r, const char *name, tl_error *err) {
    tl_store *store = NULL;
    if (tl_store_open(r->options.store_dir, &store, err) != TL_OK) return false;
    char canonical[1024];
    bool ok = tl_store_canonical_name(name, canonical, sizeof canonical, err) == TL_OK;
    pthread_mutex_lock(&r->add_lock);
    const model_entry *old = ok ? registry_find(r, canonical) : NULL;
    if (old) atomic_store(&((model_entry *)old)->removed, true); /* so that the name is free */
    ok = ok && add_store_model(r, store, canonical, false, err);
    if (old && !ok) atomic_store(&((model_entry *)old)->removed, false);
    pthread_mutex_unlock(&r->add_lock);
    if (old && ok) remove_slot(r, (model_slot *)old);
    tl_store_close(store);
    return ok;
}

bool registry_remove(registry *r, const char *name) {
    pthread_mutex_lock(&r->add_lock);
    const model_entry *entry = registry_find(r, name);
    if (entry) atomic_store(&((model_entry *)entry)->removed, true);
    pthread_mutex_unlock(&r->add_lock);
    if (entry) remove_slot(r, (model_slot *)entry);
    return entry != NULL;
}

/* Whether the store lists the offered entry `e` (names[] are canonical). */
static bool store_lists(const model_entry *e, char **names, int n) {
    char canonical[1024];
    if (tl_store_canonical_name(e->name, canonical, sizeof canonical, NULL) != TL_OK) return false;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], canonical) == 0) return true;
    return false;
}

void registry_sync_store(registry *r) {
    if (!r->options.serve_store) return;
    tl_error err = {0};
    tl_store *store = NULL;
    if (tl_store_open(r->options.store_dir, &store, &err) != TL_OK) return;
    char **names = NULL;
    int n = 0;
    pthread_mutex_lock(&r->sync_lock);
    if (tl_store_list(store, &names, &n, &err) == TL_OK) {
        for (int i = 0; i < n; i++) {
            const model_entry *offered = registry_find(r, names[i]);
            tl_store_entry e;
            bool changed = false;
            if (offered && offered->in_store && tl_store_find(store, names[i], &e)) {
                changed = !e.sha256 || strcmp(e.sha256, offered->digest) != 0 || strcmp(e.model_path, offered->path);
                tl_store_entry_free(&e);
            }
            if (!offered || changed) registry_add_store_model(r, names[i], &err); /* a damaged one stays out */
        }
        for (int i = 0, n_all = slot_count(r); i < n_all; i++) {
            const model_entry *e = &slot_at(r, i)->entry;
            if (e->in_store && !atomic_load(&e->removed) && !store_lists(e, names, n)) registry_remove(r, e->name);
        }
    }
    pthread_mutex_unlock(&r->sync_lock);
    tl_store_names_free(names, n);
    tl_store_close(store);
}
