/*
 * search.h — semantic and full-text search over your own documents
 * (libtinyllm_search; docs/search.md).
 *
 * A search database is one SQLite file: the sources (files) indexed, their
 * chunks (text, byte offsets, line range, embedding vector) with an FTS5
 * index over the chunk texts, and the embedding model's description. Beside
 * it, FILE.vectors holds every vector in one contiguous matrix that searches
 * memory-map; it is rebuilt from SQLite whenever it is missing or stale.
 *
 * tl_search_index() walks files and folders, chunks them by tokens, embeds
 * the chunks with the caller's model and stores them, one transaction per
 * file; tl_search_query() finds the top-k chunks by vector similarity, BM25
 * or both (reciprocal rank fusion). The library prints nothing: errors come
 * back in a tl_error, progress through a callback. A tl_search_db is for one
 * thread at a time (a server opens one per worker, or holds a lock); any
 * number of processes may search a database while one indexes it (WAL).
 */
#ifndef TL_SEARCH_H
#define TL_SEARCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

typedef struct tl_search_db tl_search_db;

/* Vectors are stored as float32, or as int8 with one float scale each. */
typedef enum tl_vector_type { TL_VECTORS_F32 = 0, TL_VECTORS_I8 = 1 } tl_vector_type;

/* The embedding model a database was made with. */
typedef struct tl_search_model {
    char name[256];      /* what -m named: a store name or a file's absolute path */
    uint32_t dim;        /* embedding size */
    int32_t pooling;     /* tl_pooling */
    bool normalize;      /* vectors L2-normalized (always, for now) */
    tl_vector_type type; /* how the vectors are stored */
    float probe[8];      /* the first floats of the probe text's embedding: a
                            model with other weights gives other values */
} tl_search_model;

/* Opens (create: creating if missing) the database at path. Fails with a
 * one-line message for a file that is not a search database. */
tl_status tl_search_open(const char *path, bool create, tl_search_db **out, tl_error *err);
void tl_search_close(tl_search_db *db);
/* The database's model; *has false for a database not indexed yet. */
tl_status tl_search_get_model(tl_search_db *db, tl_search_model *model, bool *has, tl_error *err);

/* --- embedding one text (index and query) --------------------------------- */

/* The text's embedding (dim floats into out): tokenized with the model's
 * special tokens, cut to the context (keeping them), pooled, normalized. */
tl_status tl_search_embed(tl_context *ctx, const tl_model *model, tl_pooling pooling, const char *text, size_t len,
                          float *out, tl_error *err);
/* The same for n_texts NUL-terminated texts, n_texts vectors one after
 * another in out, several per forward pass (tl_embed_batch). */
tl_status tl_search_embed_batch(tl_context *ctx, const tl_model *model, tl_pooling pooling, const char *const *texts,
                                int32_t n_texts, float *out, tl_error *err);
/* The model description (name, dim, pooling, probe) a database stores. */
tl_status tl_search_describe_model(tl_context *ctx, const tl_model *model, const char *name, tl_vector_type type,
                                   tl_search_model *out, tl_error *err);
/* True when b is the same model as a (dim, pooling and probe agree); else
 * false with a one-line reason in why. */
bool tl_search_same_model(const tl_search_model *a, const tl_search_model *b, char *why, size_t why_size);

/* --- indexing ------------------------------------------------------------- */

typedef struct tl_index_progress {
    int64_t files_done, files_total; /* files looked at so far / found */
    int64_t bytes_done, bytes_total; /* of the files to (re)index */
    int64_t chunks_done;             /* chunks embedded so far */
    double elapsed_ms;
    const char *path; /* the file being indexed */
} tl_index_progress;

/* What an index run did. Skipped files are counted by kind. */
typedef struct tl_index_counts {
    int64_t indexed, unchanged, removed, chunks;
    int64_t skipped_binary, skipped_pdf, skipped_other, skipped_unreadable, skipped_empty;
} tl_index_counts;

typedef struct tl_index_params {
    tl_context *ctx;
    const tl_model *model;
    const char *model_name; /* stored as tl_search_model.name */
    int32_t chunk_tokens;   /* clamped to the context */
    int32_t overlap;        /* tokens shared by neighbouring chunks (< chunk_tokens / 2) */
    bool quantize;          /* int8 vectors for a new database */
    void (*progress)(void *user, const tl_index_progress *p); /* NULL: none */
    void *user;
    volatile sig_atomic_t *stop; /* set (by a signal handler) to stop after the current file */
} tl_index_params;

/* Indexes the files and folders of paths (n_paths of them): new and changed
 * files are (re)chunked and embedded, deleted ones removed, each file in its
 * own transaction. Refuses a model other than the database's. On *stop,
 * returns TL_OK with *stopped set: every file done so far is kept. */
tl_status tl_search_index(tl_search_db *db, const tl_index_params *params, const char *const *paths, int n_paths,
                          tl_index_counts *counts, bool *stopped, tl_error *err);

/* --- searching -------------------------------------------------------------- */

typedef enum tl_search_mode { TL_SEARCH_VECTOR, TL_SEARCH_TEXT, TL_SEARCH_HYBRID } tl_search_mode;
/* "vector", "text", "hybrid" and back; -1 for an unknown name. */
int tl_search_mode_from_name(const char *name);
const char *tl_search_mode_name(tl_search_mode mode);

typedef struct tl_search_request {
    const char *text;    /* the query text (text and hybrid modes) */
    const float *vector; /* its embedding, dim floats (vector and hybrid modes) */
    int32_t k;           /* results wanted */
    tl_search_mode mode;
    const char *path_glob; /* only sources whose path matches (fnmatch), or NULL */
    int n_threads;         /* for the vector scan; 0 = 2 */
} tl_search_request;

typedef struct tl_search_hit {
    int64_t chunk_id;
    double score; /* cosine (vector), -bm25 (text) or the fused RRF score (hybrid) */
    char *path;
    int64_t first_line, last_line; /* 1-based, inclusive */
    int64_t start_byte, end_byte;  /* in the source file */
    char *text;                    /* the chunk's text */
} tl_search_hit;

/* The top request->k hits, best first (fewer when fewer match), in *hits
 * (free with tl_search_hits_free). */
tl_status tl_search_query(tl_search_db *db, const tl_search_request *request, tl_search_hit **hits, int *n_hits,
                          tl_error *err);
void tl_search_hits_free(tl_search_hit *hits, int n_hits);

/* At most max_bytes of text on one line (whitespace runs as one space, cut on
 * a UTF-8 character boundary, "..." when cut), into out (malloc'd). */
char *tl_search_snippet(const char *text, size_t max_bytes);

#endif /* TL_SEARCH_H */
