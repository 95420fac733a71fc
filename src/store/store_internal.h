/*
 * store_internal.h — what the store's files share (not an API): the store's
 * folders, temporary files, the store lock, manifests as JSON, and joining
 * split GGUF files.
 */
#ifndef TL_STORE_INTERNAL_H
#define TL_STORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

struct cJSON;

#define STORE_PATH_MAX 4096

struct tl_store {
    char *dir; /* absolute, without a trailing '/' */
    int lock_fd;
    unsigned temp_counter;
};

/* "DIR/SUB/NAME" into out; false (err filled) when it does not fit. */
bool store_path(const tl_store *s, const char *sub, const char *name, char *out, size_t out_size, tl_error *err);

/* A new temporary file name in DIR/tmp ("PID-N.SUFFIX"): files whose process
 * is gone are removed by tl_store_open. */
bool store_temp_path(tl_store *s, const char *suffix, char *out, size_t out_size, tl_error *err);

/* The store lock (flock on DIR/lock): held around every change of manifests
 * and blobs, so that concurrent commands see whole changes. */
tl_status store_lock(tl_store *s, tl_error *err);
void store_unlock(tl_store *s);

/* Writes `text` to `path` atomically: temporary file, fsync, rename, fsync
 * of the folder. */
tl_status store_write_file(tl_store *s, const char *path, const char *text, tl_error *err);
/* fsync of a file by path and of the folder holding it. */
tl_status store_sync_file(const char *path, tl_error *err);
tl_status store_sync_dir_of(const char *path, tl_error *err);

/* Bytes written to a file while hashed (the blob being made). */
typedef struct store_out {
    FILE *fp;
    tl_sha256 *hash;
    uint64_t written;
    const char *path;
} store_out;
tl_status store_out_write(store_out *o, const void *data, size_t n, tl_error *err);
tl_status store_out_zeros(store_out *o, size_t n, tl_error *err);

/* Copies the file at `from` to `to` (a new file), hashing it. */
tl_status store_copy_hashed(const char *from, const char *to, char hex[65], int64_t *size, tl_error *err);

/* Joins the parts of a split GGUF (any order; split.no tells) into one GGUF
 * file at out_path, hashing what it writes. */
tl_status store_join_split(const char *const *part_paths, int n_parts, const char *out_path, char hex[65],
                           int64_t *size, tl_error *err);

/* The manifest file of a canonical name: DIR/manifests/ENCODED.json. */
bool store_manifest_path(const tl_store *s, const char *canonical, char *out, size_t out_size, tl_error *err);
/* The parsed manifest of a canonical name, or NULL when there is none
 * (*broken set and err filled when it exists but cannot be read). */
struct cJSON *store_manifest_read(const tl_store *s, const char *canonical, bool *broken, tl_error *err);
/* Writes a manifest (atomically) under its "name". */
tl_status store_manifest_write(tl_store *s, struct cJSON *manifest, tl_error *err);
/* Removes blob "blobs/sha256-HEX" when no manifest names it any more
 * (called with the lock held). */
void store_collect_blob(tl_store *s, const char *sha256);

/* The current time as ISO 8601 UTC ("2026-12-07T06:21:45Z"). */
void store_now_iso(char out[32]);

#endif /* TL_STORE_INTERNAL_H */
