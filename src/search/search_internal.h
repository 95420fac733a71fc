/*
 * search_internal.h — what the files of src/search share: the database
 * handle, its SQL helpers (db.c), the memory-mapped vector matrix
 * (vectors.c) and the int8 companion of a float32 one (companion.c), the
 * vector scan (scan.c) and the dot kernels (dot.c).
 */
#ifndef TL_SEARCH_INTERNAL_H
#define TL_SEARCH_INTERNAL_H

#include <sqlite3.h>

#include "search.h"

/* The int8 companion of a float32 sidecar, FILE.vectors.i8 (companion.c):
 * row r quantized as x ~= scale * q with error bounds for the scan. */
typedef struct tl_companion_row {
    float scale;      /* s */
    float norm;       /* s * ||q||, rounded up */
    float error_norm; /* ||x - s * q||, rounded up */
} tl_companion_row;

/* The sidecar matrix FILE.vectors, mapped: count rows of dim values. */
typedef struct tl_vector_map {
    void *base;
    size_t size;
    tl_vector_type type;
    uint32_t dim;
    int64_t count, generation;
    const void *rows;         /* count * dim floats or int8 */
    const float *scales;      /* int8: count scales */
    const int64_t *chunk_ids; /* count */
    const int64_t *source_ids;
    uint64_t file_id[5]; /* the sidecar's inode, size, mtime (ns), generation and nonce: a companion's origin */
    /* float32: the companion, when it could be mapped (else base8 NULL) */
    void *base8;
    size_t size8;
    const int8_t *rows8;             /* count * dim */
    const tl_companion_row *bounds8; /* count */
} tl_vector_map;

struct tl_search_db {
    sqlite3 *sql;
    char *path, *vectors_path;
    tl_vector_map map; /* base NULL until a search maps it */
};

/* db.c */
tl_status tl_search_sql_error(tl_search_db *db, tl_error *err, const char *what);
tl_status tl_search_exec(tl_search_db *db, const char *sql, tl_error *err);
/* meta values: text (NULL when absent, malloc'd) and integers */
tl_status tl_search_meta_get(tl_search_db *db, const char *key, char **value, tl_error *err);
tl_status tl_search_meta_set(tl_search_db *db, const char *key, const char *value, tl_error *err);
int64_t tl_search_generation(tl_search_db *db);
tl_status tl_search_bump_generation(tl_search_db *db, tl_error *err);
tl_status tl_search_set_model(tl_search_db *db, const tl_search_model *model, tl_error *err);

/* vectors.c: maps db->map, first (re)building the file from SQLite when
 * it is missing, invalid or of another generation, and for float32 its
 * int8 companion (tl_companion_map). Unmapping unmaps both. */
tl_status tl_vectors_map(tl_search_db *db, tl_error *err);
void tl_vectors_unmap(tl_vector_map *map);
/* int8 quantization with one scale: v ~= q * scale */
float tl_vectors_quantize(const float *v, uint32_t dim, int8_t *q);
/* the query's: int16 (|q| <= 32767), v ~= q * scale */
float tl_vectors_quantize_i16(const float *v, uint32_t dim, int16_t *q);

/* companion.c: maps map's companion, first (re)building it from the mapped
 * float32 rows when it is missing or not made from this sidecar; false
 * (map->base8 NULL) when it can be neither mapped nor written. */
bool tl_companion_map(tl_vector_map *map, const char *vectors_path);

/* scan.c: the top k rows of the mapped matrix for a unit query, best first
 * (score descending, then row ascending), into rows and scores (room for
 * k each); allowed: sorted source ids, or NULL for all. float32 matrices
 * with a companion are scanned in int8 and only the rows whose score can
 * reach the top k are scored in float32: the same rows and scores as a
 * float32 scan of every row. */
tl_status tl_vector_scan(const tl_vector_map *map, const float *query, int k, const int64_t *allowed, size_t n_allowed,
                         int n_threads, int64_t *rows, float *scores, int *n, tl_error *err);

/* query.c: the vector scan alone, the top req->k chunk ids and cosines,
 * best first, into ids and scores (room for k each) (bench/search_bench.c). */
tl_status tl_search_vector_top(tl_search_db *db, const tl_search_request *req, int64_t *ids, double *scores, int *n,
                               tl_error *err);
/* dot.c: kernels chosen once from the CPU (the scalar ones are the reference) */
float tl_dot_f32(const float *a, const float *b, uint32_t n);
float tl_dot_f32_scalar(const float *a, const float *b, uint32_t n);
/* out[r] = q . rows[r] for n_rows rows of dim int8 values, exact */
void tl_dot_i16_i8_rows(const int16_t *q, const int8_t *rows, uint32_t dim, uint32_t n_rows, int64_t *out);
void tl_dot_i16_i8_rows_scalar(const int16_t *q, const int8_t *rows, uint32_t dim, uint32_t n_rows, int64_t *out);
#define TL_DOT_BLOCK 512 /* 512 * 32767 * 127 < 2^31 */

#endif /* TL_SEARCH_INTERNAL_H */
