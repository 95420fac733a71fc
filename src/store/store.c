/*
 * store.c — the model store's folder and its manifests (store.h,
 * docs/models.md): opening it, finding, listing, copying, removing and
 * deriving models. Adding model files is store_add.c.
 *
 *     DIR/blobs/sha256-HEX        model files, named by their content's sha256
 *     DIR/manifests/NAME.json     one per name ('/' written as %2F)
 *     DIR/partial/KEY.partial     downloads in progress (tl_store_partial_path)
 *     DIR/tmp/PID-N.SUFFIX        files being written; left by a dead process: removed at open
 *     DIR/lock                    flock'ed around every change
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "store/store_internal.h"
#include "util/buffer.h"
#include "util/error.h"
#include "util/text_file.h"

tl_status tl_store_default_dir(char *out, size_t out_size, tl_error *err) {
    const char *models = getenv("TINYLLM_MODELS"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (models && *models)
        n = snprintf(out, out_size, "%s", models);
    else if (xdg && xdg[0] == '/')
        n = snprintf(out, out_size, "%s/tinyllm/models", xdg);
    else if (home && *home)
        n = snprintf(out, out_size, "%s/.local/share/tinyllm/models", home);
    else
        return tl_fail(err, TL_ERR_ARGUMENT, "no model store folder: set TINYLLM_MODELS (or HOME)");
    if (n < 0 || (size_t)n >= out_size) return tl_fail(err, TL_ERR_ARGUMENT, "model store folder: path too long");
    return TL_OK;
}

/* mkdir -p */
static tl_status make_dirs(const char *path, tl_error *err) {
    char buf[STORE_PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        const bool end = *p == 0;
        if (*p == '/' || end) {
            *p = 0;
            struct stat st;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return tl_fail(err, TL_ERR_IO, "model store: cannot create %s: %s", buf, strerror(errno));
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return tl_fail(err, TL_ERR_IO, "model store: %s is not a folder", buf);
            if (end) break;
            *p = '/';
        }
    }
    return TL_OK;
}

/* Removes the temporary files of processes that are gone (a crash mid-write). */
static void clean_temporaries(tl_store *s) {
    char dir[STORE_PATH_MAX];
    if (!store_path(s, NULL, "tmp", dir, sizeof dir, NULL)) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *end = NULL;
        const long pid = strtol(de->d_name, &end, 10);
        const bool alive = end != de->d_name && *end == '-' && pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
        if (alive) continue;
        char path[STORE_PATH_MAX];
        if (store_path(s, "tmp", de->d_name, path, sizeof path, NULL)) unlink(path);
    }
    closedir(d);
}

tl_status tl_store_open(const char *dir, tl_store **out, tl_error *err) {
    *out = NULL;
    char wanted[STORE_PATH_MAX];
    if (dir && *dir)
        snprintf(wanted, sizeof wanted, "%s", dir);
    else
        TL_TRY(tl_store_default_dir(wanted, sizeof wanted, err));
    TL_TRY(make_dirs(wanted, err));
    tl_store *s = calloc(1, sizeof *s);
    if (!s) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    s->lock_fd = -1;
    if (!(s->dir = realpath(wanted, NULL))) {
        free(s);
        return tl_fail(err, TL_ERR_IO, "model store: %s: %s", wanted, strerror(errno));
    }
    static const char *const subdirs[] = {"blobs", "manifests", "partial", "tmp"};
    char path[STORE_PATH_MAX];
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        if (!store_path(s, NULL, subdirs[i], path, sizeof path, err) || make_dirs(path, err) != TL_OK) {
            tl_store_close(s);
            return err ? err->status : TL_ERR_IO;
        }
    }
    if (!store_path(s, NULL, "lock", path, sizeof path, err) ||
        (s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        if (s->lock_fd < 0) tl_fail(err, TL_ERR_IO, "model store: %s: %s", path, strerror(errno));
        tl_store_close(s);
        return err ? err->status : TL_ERR_IO;
    }
    clean_temporaries(s);
    *out = s;
    return TL_OK;
}

void tl_store_close(tl_store *store) {
    if (!store) return;
    if (store->lock_fd >= 0) close(store->lock_fd);
    free(store->dir);
    free(store);
}

const char *tl_store_dir(const tl_store *store) {
    return store->dir;
}

/* ------------------------------------------------------------------------ */
/* Manifests                                                                */
/* ------------------------------------------------------------------------ */

/* A manifest has a string name, model and 64-hex sha256, and a size (a
 * number of bytes an int64_t holds: fuzz/regressions/store/huge_size). */
static bool manifest_valid(const cJSON *m) {
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(m, "sha256");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(m, "size");
    if (!cJSON_IsObject(m) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "name")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "model")) || !cJSON_IsString(sha) ||
        strlen(sha->valuestring) != 64 || strspn(sha->valuestring, "0123456789abcdef") != 64 || !cJSON_IsNumber(size) ||
        !(size->valuedouble >= 0 && size->valuedouble <= 9007199254740992.0))
        return false;
    return true;
}

cJSON *store_manifest_read(const tl_store *s, const char *canonical, bool *broken, tl_error *err) {
    *broken = false;
    char path[STORE_PATH_MAX];
    if (!store_manifest_path(s, canonical, path, sizeof path, err)) return *broken = true, NULL;
    char *text = tl_read_text_file(path);
    if (!text) {
        if (errno == ENOENT) return NULL;
        *broken = true;
        tl_fail(err, TL_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    cJSON *m = cJSON_Parse(text);
    free(text);
    if (!manifest_valid(m)) {
        cJSON_Delete(m);
        *broken = true;
        tl_fail(err, TL_ERR_FORMAT, "%s: not a valid manifest (docs/models.md)", path);
        return NULL;
    }
    return m;
}

tl_status store_manifest_write(tl_store *s, cJSON *manifest, tl_error *err) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(manifest, "name");
    char path[STORE_PATH_MAX];
    if (!store_manifest_path(s, name->valuestring, path, sizeof path, err)) return err ? err->status : TL_ERR_IO;
    char *text = cJSON_Print(manifest);
    if (!text) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    const tl_status st = store_write_file(s, path, text, err);
    free(text);
    return st;
}

/* Calls fn for every manifest file name (not decoded) until it returns false. */
static tl_status each_manifest(const tl_store *s, bool (*fn)(void *user, const char *file), void *user, tl_error *err) {
    char dir[STORE_PATH_MAX];
    if (!store_path(s, NULL, "manifests", dir, sizeof dir, err)) return err ? err->status : TL_ERR_IO;
    DIR *d = opendir(dir);
    if (!d) return tl_fail(err, TL_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    const size_t suffix = strlen(".json");
    while ((de = readdir(d))) {
        const size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n <= suffix || strcmp(de->d_name + n - suffix, ".json") != 0) continue;
        if (!fn(user, de->d_name)) break;
    }
    closedir(d);
    return TL_OK;
}

typedef struct blob_use {
    const tl_store *store;
    const char *sha256;
    bool used;
} blob_use;

static bool check_blob_use(void *user, const char *file) {
    blob_use *u = user;
    char path[STORE_PATH_MAX];
    if (!store_path(u->store, "manifests", file, path, sizeof path, NULL)) return true;
    char *text = tl_read_text_file(path);
    cJSON *m = text ? cJSON_Parse(text) : NULL;
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(m, "sha256");
    /* A manifest that cannot be read might name the blob: keep it then. */
    u->used = !m || !cJSON_IsString(sha) || strcmp(sha->valuestring, u->sha256) == 0;
    cJSON_Delete(m);
    free(text);
    return !u->used;
}

void store_collect_blob(tl_store *s, const char *sha256) {
    blob_use u = {s, sha256, false};
    if (each_manifest(s, check_blob_use, &u, NULL) != TL_OK || u.used) return;
    char name[80], path[STORE_PATH_MAX];
    snprintf(name, sizeof name, "sha256-%s", sha256);
    if (store_path(s, "blobs", name, path, sizeof path, NULL) && unlink(path) == 0) store_sync_dir_of(path, NULL);
}

/* ------------------------------------------------------------------------ */
/* The API                                                                  */
/* ------------------------------------------------------------------------ */

static char *dup_string(const cJSON *object, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(item) ? strdup(item->valuestring) : NULL;
}

void tl_store_entry_free(tl_store_entry *e) {
    if (!e) return;
    free(e->name);
    free(e->model_path);
    free(e->sha256);
    free(e->pulled_at);
    free(e->source_ref);
    free(e->source_repo);
    free(e->source_file);
    free(e->manifest_json);
    memset(e, 0, sizeof *e);
}

bool tl_store_find(tl_store *store, const char *name, tl_store_entry *entry) {
    char canonical[256];
    bool broken;
    memset(entry, 0, sizeof *entry);
    if (tl_store_canonical_name(name, canonical, sizeof canonical, NULL) != TL_OK) return false;
    cJSON *m = store_manifest_read(store, canonical, &broken, NULL);
    if (!m) return false;
    const char *model = cJSON_GetObjectItemCaseSensitive(m, "model")->valuestring;
    char path[STORE_PATH_MAX];
    if (model[0] == '/')
        snprintf(path, sizeof path, "%s", model);
    else
        snprintf(path, sizeof path, "%s/%s", store->dir, model);
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(m, "source");
    entry->name = strdup(canonical);
    entry->model_path = strdup(path);
    entry->sha256 = dup_string(m, "sha256");
    entry->size = (int64_t)cJSON_GetObjectItemCaseSensitive(m, "size")->valuedouble;
    entry->pulled_at = dup_string(m, "pulled_at");
    entry->source_ref = dup_string(source, "ref");
    entry->source_repo = dup_string(source, "repo");
    entry->source_file = dup_string(source, "file");
    entry->manifest_json = cJSON_Print(m);
    cJSON_Delete(m);
    if (!entry->name || !entry->model_path || !entry->sha256 || !entry->manifest_json) {
        tl_store_entry_free(entry);
        return false;
    }
    return true;
}

typedef struct name_list {
    char **names;
    int n;
    size_t capacity;
    bool failed;
} name_list;

static bool collect_name(void *user, const char *file) {
    name_list *l = user;
    char **names = tl_grow(l->names, &l->capacity, (size_t)l->n + 1, sizeof *names, 16);
    char *name = malloc(strlen(file) + 1);
    if (!names || !name) {
        free(name);
        l->failed = true;
        return false;
    }
    l->names = names;
    size_t k = 0;
    for (const char *p = file; *p; p++) {
        if (strncmp(p, "%2F", 3) == 0) {
            name[k++] = '/';
            p += 2;
        } else {
            name[k++] = *p;
        }
    }
    name[k - strlen(".json")] = 0;
    l->names[l->n++] = name;
    return true;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

tl_status tl_store_list(tl_store *store, char ***names, int *n, tl_error *err) {
    name_list l = {0};
    *names = NULL;
    *n = 0;
    const tl_status st = each_manifest(store, collect_name, &l, err);
    if (st != TL_OK || l.failed) {
        tl_store_names_free(l.names, l.n);
        return st != TL_OK ? st : tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    if (l.n) qsort(l.names, (size_t)l.n, sizeof *l.names, compare_names);
    *names = l.names;
    *n = l.n;
    return TL_OK;
}

void tl_store_names_free(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* The manifest of `name` (canonical form in `canonical`), with the lock
 * held; NULL after filling err (lock released) when it is not there. */
static cJSON *locked_manifest(tl_store *s, const char *name, char canonical[256], tl_error *err) {
    if (tl_store_canonical_name(name, canonical, 256, err) != TL_OK || store_lock(s, err) != TL_OK) return NULL;
    bool broken;
    cJSON *m = store_manifest_read(s, canonical, &broken, err);
    if (!m) {
        store_unlock(s);
        if (!broken) tl_fail(err, TL_ERR_ARGUMENT, "model '%s' not found in the store %s", name, s->dir);
    }
    return m;
}

tl_status tl_store_remove(tl_store *store, const char *name, tl_error *err) {
    char canonical[256], path[STORE_PATH_MAX];
    cJSON *m = locked_manifest(store, name, canonical, err);
    if (!m) return err ? err->status : TL_ERR_ARGUMENT;
    tl_status st = TL_OK;
    if (!store_manifest_path(store, canonical, path, sizeof path, err)) {
        st = err ? err->status : TL_ERR_IO;
    } else if (unlink(path) != 0) {
        st = tl_fail(err, TL_ERR_IO, "%s: %s", path, strerror(errno));
    } else {
        st = store_sync_dir_of(path, err);
        store_collect_blob(store, cJSON_GetObjectItemCaseSensitive(m, "sha256")->valuestring);
    }
    store_unlock(store);
    cJSON_Delete(m);
    return st;
}

/* Writes `m` (a base's manifest) under `dst`, then frees the blob the old
 * `dst` used if nothing else does; called and returns with the lock held. */
static tl_status write_under(tl_store *s, cJSON *m, const char *dst, tl_error *err) {
    bool broken;
    cJSON *old = store_manifest_read(s, dst, &broken, NULL);
    char now[32];
    store_now_iso(now);
    cJSON_ReplaceItemInObjectCaseSensitive(m, "name", cJSON_CreateString(dst));
    cJSON_DeleteItemFromObjectCaseSensitive(m, "modified_at");
    cJSON_AddStringToObject(m, "modified_at", now);
    tl_status st = store_manifest_write(s, m, err);
    if (st == TL_OK && old) {
        const char *old_sha = cJSON_GetObjectItemCaseSensitive(old, "sha256")->valuestring;
        if (strcmp(old_sha, cJSON_GetObjectItemCaseSensitive(m, "sha256")->valuestring) != 0)
            store_collect_blob(s, old_sha);
    }
    cJSON_Delete(old);
    return st;
}

tl_status tl_store_copy(tl_store *store, const char *src, const char *dst, tl_error *err) {
    char canonical[256], dst_canonical[256];
    TL_TRY(tl_store_canonical_name(dst, dst_canonical, sizeof dst_canonical, err));
    cJSON *m = locked_manifest(store, src, canonical, err);
    if (!m) return err ? err->status : TL_ERR_ARGUMENT;
    const tl_status st = strcmp(canonical, dst_canonical) == 0 ? TL_OK : write_under(store, m, dst_canonical, err);
    store_unlock(store);
    cJSON_Delete(m);
    return st;
}

/* Sets m[key] to a string, or removes it for "". */
static void set_or_clear(cJSON *m, const char *key, const char *value) {
    cJSON_DeleteItemFromObjectCaseSensitive(m, key);
    if (*value) cJSON_AddStringToObject(m, key, value);
}

tl_status tl_store_create(tl_store *store, const char *name, const char *from, const char *system,
                          const char *template_text, const char *options_json, tl_error *err) {
    char canonical[256], dst[256];
    TL_TRY(tl_store_canonical_name(name, dst, sizeof dst, err));
    cJSON *options = NULL;
    if (options_json) {
        options = cJSON_Parse(options_json);
        if (!cJSON_IsObject(options)) {
            cJSON_Delete(options);
            return tl_fail(err, TL_ERR_ARGUMENT, "options must be a JSON object");
        }
    }
    cJSON *m = locked_manifest(store, from, canonical, err);
    if (!m) {
        cJSON_Delete(options);
        return err ? err->status : TL_ERR_ARGUMENT;
    }
    if (system) set_or_clear(m, "system", system);
    if (template_text) set_or_clear(m, "template", template_text);
    if (options) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "options");
        cJSON_AddItemToObject(m, "options", options);
    }
    if (strcmp(canonical, dst) != 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, "from");
        cJSON_AddStringToObject(m, "from", canonical);
    }
    const tl_status st = write_under(store, m, dst, err);
    store_unlock(store);
    cJSON_Delete(m);
    return st;
}

tl_status tl_store_partial_path(tl_store *store, const char *key, char *out, size_t out_size, tl_error *err) {
    tl_sha256 *h = tl_sha256_new();
    if (!h) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    tl_sha256_update(h, key, strlen(key));
    char hex[65], file[80];
    tl_sha256_final(h, hex);
    snprintf(file, sizeof file, "%s.partial", hex);
    if (!store_path(store, "partial", file, out, out_size, err)) return err ? err->status : TL_ERR_ARGUMENT;
    return TL_OK;
}
