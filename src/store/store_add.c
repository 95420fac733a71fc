/*
 * store_add.c — putting model files into the store (tl_store_add,
 * tl_store_import): the file, or the split parts joined into one, becomes
 * blob blobs/sha256-HEX (moved when it can be, else copied while hashed),
 * then the name's manifest is written. The blob is in place, synced, before
 * the manifest that names it appears; a blob no manifest names any more is
 * removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "format/gguf.h"
#include "store/store_internal.h"
#include "util/error.h"

/* A single GGUF file is checked (header, metadata, tensor table) before it
 * is taken; one part of a split is not a model. */
static tl_status check_gguf(const char *path, tl_error *err) {
    gguf_file *f = NULL;
    TL_TRY(gguf_open(path, &f, err));
    uint32_t count = 0, no = 0;
    const bool part = gguf_get_u32(f, "split.count", &count) && count > 1;
    gguf_get_u32(f, "split.no", &no);
    gguf_close(f);
    if (part)
        return tl_fail(err, TL_ERR_ARGUMENT, "%s: part %u of %u of a split GGUF: give every part", path, no + 1, count);
    return TL_OK;
}

static void add_source(cJSON *m, const tl_store_source *source) {
    cJSON *o = cJSON_AddObjectToObject(m, "source");
    if (!source || !o) return;
    const char *const keys[] = {"ref", "repo", "revision", "file", "url"};
    const char *const values[] = {source->ref, source->repo, source->revision, source->file, source->url};
    for (int i = 0; i < 5; i++)
        if (values[i]) cJSON_AddStringToObject(o, keys[i], values[i]);
}

/* The manifest of a new model (no system, template or options yet). */
static cJSON *new_manifest(const char *name, const char *sha256, int64_t size, const tl_store_source *source) {
    char blob[80], now[32];
    snprintf(blob, sizeof blob, "blobs/sha256-%s", sha256);
    store_now_iso(now);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "schema", 1);
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(m, "model", blob);
    cJSON_AddStringToObject(m, "sha256", sha256);
    cJSON_AddNumberToObject(m, "size", (double)size);
    cJSON_AddStringToObject(m, "pulled_at", now);
    cJSON_AddStringToObject(m, "modified_at", now);
    add_source(m, source);
    return m;
}

/* Moves (or, across file systems, copies) `from` to blob `blob`, synced. */
static tl_status place_blob(tl_store *s, const char *from, bool from_is_temp, const char *blob, tl_error *err) {
    if (rename(from, blob) == 0) {
        if (!from_is_temp) TL_TRY(store_sync_file(blob, err));
        return store_sync_dir_of(blob, err);
    }
    if (errno != EXDEV) return tl_fail(err, TL_ERR_IO, "%s: %s", blob, strerror(errno));
    char temp[STORE_PATH_MAX], hex[65];
    int64_t size;
    if (!store_temp_path(s, "gguf", temp, sizeof temp, err)) return err ? err->status : TL_ERR_IO;
    tl_status st = store_copy_hashed(from, temp, hex, &size, err);
    if (st == TL_OK && rename(temp, blob) != 0) st = tl_fail(err, TL_ERR_IO, "%s: %s", blob, strerror(errno));
    if (st != TL_OK) unlink(temp);
    return st == TL_OK ? store_sync_dir_of(blob, err) : st;
}

/* The blob's content in `candidate` (a temporary file of ours, or the
 * caller's single file when moving) goes in place and the manifest is written. */
static tl_status commit(tl_store *s, const char *canonical, const char *candidate, bool candidate_is_temp,
                        const char *sha256, int64_t size, const tl_store_source *source, tl_error *err) {
    char blob_name[80], blob[STORE_PATH_MAX];
    snprintf(blob_name, sizeof blob_name, "sha256-%s", sha256);
    if (!store_path(s, "blobs", blob_name, blob, sizeof blob, err)) return err ? err->status : TL_ERR_IO;
    TL_TRY(store_lock(s, err));
    struct stat st_blob;
    tl_status st = TL_OK;
    if (stat(blob, &st_blob) == 0 && (int64_t)st_blob.st_size == size) {
        if (candidate_is_temp) unlink(candidate); /* the same content is there already */
    } else {
        st = place_blob(s, candidate, candidate_is_temp, blob, err);
    }
    bool broken;
    cJSON *old = st == TL_OK ? store_manifest_read(s, canonical, &broken, NULL) : NULL;
    cJSON *m = st == TL_OK ? new_manifest(canonical, sha256, size, source) : NULL;
    if (st == TL_OK && !m) st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (st == TL_OK) st = store_manifest_write(s, m, err);
    if (st == TL_OK && old) {
        const char *old_sha = cJSON_GetObjectItemCaseSensitive(old, "sha256")->valuestring;
        if (strcmp(old_sha, sha256) != 0) store_collect_blob(s, old_sha);
    }
    /* A blob placed for a manifest that could not be written is nobody's. */
    if (st != TL_OK) store_collect_blob(s, sha256);
    store_unlock(s);
    cJSON_Delete(old);
    cJSON_Delete(m);
    return st;
}

static tl_status add_files(tl_store *s, const char *name, const char *const *parts, int n_parts, const char *sha256,
                           const tl_store_source *source, bool move, tl_error *err) {
    char canonical[256], hex[65], temp[STORE_PATH_MAX];
    TL_TRY(tl_store_canonical_name(name, canonical, sizeof canonical, err));
    if (n_parts < 1 || !parts) return tl_fail(err, TL_ERR_ARGUMENT, "no model file to add");
    int64_t size = 0;
    const char *candidate = temp;
    tl_status st;
    if (n_parts == 1 && move) {
        struct stat st_part;
        candidate = parts[0];
        st = check_gguf(parts[0], err);
        if (st == TL_OK) st = tl_sha256_file(parts[0], hex, err);
        if (st == TL_OK && stat(parts[0], &st_part) != 0)
            st = tl_fail(err, TL_ERR_IO, "%s: %s", parts[0], strerror(errno));
        size = (int64_t)st_part.st_size;
    } else if (!store_temp_path(s, "gguf", temp, sizeof temp, err)) {
        return err ? err->status : TL_ERR_IO;
    } else if (n_parts == 1) {
        st = check_gguf(parts[0], err);
        if (st == TL_OK) st = store_copy_hashed(parts[0], temp, hex, &size, err);
    } else {
        st = store_join_split(parts, n_parts, temp, hex, &size, err);
    }
    if (st == TL_OK && sha256 && strcmp(sha256, hex) != 0)
        st = tl_fail(err, TL_ERR_FORMAT, "%s: sha256 mismatch: expected %s, got %s", parts[0], sha256, hex);
    if (st == TL_OK) st = commit(s, canonical, candidate, candidate == temp, hex, size, source, err);
    if (candidate == temp) unlink(temp); /* gone already unless something failed */
    if (st == TL_OK && move)
        for (int i = 0; i < n_parts; i++) unlink(parts[i]);
    return st;
}

tl_status tl_store_add(tl_store *store, const char *name, const char *const *part_paths, int n_parts,
                       const char *sha256, const tl_store_source *source, tl_error *err) {
    return add_files(store, name, part_paths, n_parts, sha256, source, true, err);
}

tl_status tl_store_import(tl_store *store, const char *name, const char *const *part_paths, int n_parts,
                          const tl_store_source *source, tl_error *err) {
    return add_files(store, name, part_paths, n_parts, NULL, source, false, err);
}
