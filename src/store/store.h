/*
 * store.h — the model store (libtinyllm_store.a): models kept under names in
 * one folder, as Ollama keeps its models. `tinyllm pull` adds to it, `list`,
 * `show`, `rm` and `cp` manage it, `run`/`chat`/`embed`/`serve` accept its
 * names where they accept a file, and the server's /api/tags, /api/show,
 * /api/delete, /api/copy and /api/create work on it.
 *
 * The folder is `dir` if given, else $TINYLLM_MODELS, else
 * $XDG_DATA_HOME/tinyllm/models, else ~/.local/share/tinyllm/models. Its
 * layout and the manifest's fields are documented in docs/models.md. Every
 * write goes to a temporary name in the store's folder and is renamed into
 * place, so a crash never leaves a half-written manifest or model under its
 * final name.
 *
 * Not part of the runtime library's API (tinyllm.h): the CLI's, the server's
 * and the tests'.
 */
#ifndef TL_STORE_H
#define TL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "tinyllm.h"

typedef struct tl_store tl_store;

/* The store folder when none is given (see above), without creating it:
 * TL_ERR_ARGUMENT when neither TINYLLM_MODELS, XDG_DATA_HOME nor HOME is set. */
tl_status tl_store_default_dir(char *out, size_t out_size, tl_error *err);

/* Opens (creating it and its subfolders if needed) the store folder, and
 * removes the temporary files that processes which are gone left there. */
tl_status tl_store_open(const char *dir, tl_store **out, tl_error *err);
void tl_store_close(tl_store *store);
const char *tl_store_dir(const tl_store *store);

/* Where a model came from: written into the manifest by tl_store_add. */
typedef struct tl_store_source {
    const char *ref;      /* what the user asked for: "qwen2.5:0.5b", "hf.co/ORG/REPO:Q4_K_M", ... */
    const char *repo;     /* "ORG/REPO" on the Hub, or NULL */
    const char *revision; /* the commit the files were resolved at, or NULL */
    const char *file;     /* the file's name in the repository (the first part of a split) */
    const char *url;      /* the URL it was downloaded from, or NULL */
} tl_store_source;

/* A model's manifest, as read back (every string owned by the entry). */
typedef struct tl_store_entry {
    char *name;          /* canonical name (tl_store_canonical_name) */
    char *model_path;    /* absolute path of the GGUF file to load */
    char *sha256;        /* 64 lowercase hex digits of the GGUF file's content */
    int64_t size;        /* bytes of the GGUF file */
    char *pulled_at;     /* ISO 8601 UTC time it was added ("2026-12-07T06:21:45Z") */
    char *source_ref;    /* tl_store_source.ref, or NULL */
    char *source_repo;   /* or NULL */
    char *source_file;   /* or NULL */
    char *manifest_json; /* the whole manifest (JSON text): system, template, options, ... */
} tl_store_entry;
void tl_store_entry_free(tl_store_entry *entry);

/* The canonical form of a user's model name (Ollama's rules: a missing tag
 * is ":latest"; case kept) into out; TL_ERR_ARGUMENT with a one-line message
 * for a name that cannot be one (empty, "..", control characters, too long). */
tl_status tl_store_canonical_name(const char *name, char *out, size_t out_size, tl_error *err);

/* Finds a model by name (canonical or not). Returns false when the store has
 * no such model (err untouched); on true *entry is filled. */
bool tl_store_find(tl_store *store, const char *name, tl_store_entry *entry);

/* A path in the store's folder where a download of `key` (e.g. the file's
 * sha256, or repo+file) may be written and resumed later: the same key gives
 * the same path until the download is added or removed. */
tl_status tl_store_partial_path(tl_store *store, const char *key, char *out, size_t out_size, tl_error *err);

/* Adds (or replaces) model `name`: the complete GGUF file(s) at part_paths[0..n_parts)
 * — one file, or the parts of a split GGUF ("-00001-of-0000N"), which are joined
 * into one GGUF file — move into the store, their content's sha256 is computed
 * (or `sha256`, if given, is checked against the joined single file's content),
 * and a manifest is written. The part files are gone afterwards on success. */
tl_status tl_store_add(tl_store *store, const char *name, const char *const *part_paths, int n_parts,
                       const char *sha256, const tl_store_source *source, tl_error *err);

/* As tl_store_add, but the file(s) are copied into the store (hashed as
 * they are copied) and stay where they were: `tinyllm create --from FILE`. */
tl_status tl_store_import(tl_store *store, const char *name, const char *const *part_paths, int n_parts,
                          const tl_store_source *source, tl_error *err);

/* Model names, sorted; *names is an array of n strings (free with
 * tl_store_names_free). */
tl_status tl_store_list(tl_store *store, char ***names, int *n, tl_error *err);
void tl_store_names_free(char **names, int n);

/* Removes a name (and its model file when no other name uses it). */
tl_status tl_store_remove(tl_store *store, const char *name, tl_error *err);
/* A second name for the same model file (no copy of the weights). */
tl_status tl_store_copy(tl_store *store, const char *src, const char *dst, tl_error *err);
/* A new name from an existing model with its own settings (Ollama's
 * /api/create "from"): system, template, options (a JSON object text) replace
 * the base's where given (NULL = keep the base's). */
tl_status tl_store_create(tl_store *store, const char *name, const char *from, const char *system,
                          const char *template_text, const char *options_json, tl_error *err);

/* SHA-256 (OpenSSL's libcrypto): incremental, and of a whole file. */
typedef struct tl_sha256 tl_sha256;
tl_sha256 *tl_sha256_new(void);
void tl_sha256_update(tl_sha256 *h, const void *data, size_t n);
void tl_sha256_final(tl_sha256 *h, char hex[65]); /* frees h */
tl_status tl_sha256_file(const char *path, char hex[65], tl_error *err);

#endif /* TL_STORE_H */
