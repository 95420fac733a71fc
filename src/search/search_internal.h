/*
 * search_internal.h — what the files of src/search share: the database
 * handle, its SQL helpers (db.c) and the memory-mapped vector matrix
 * (vectors.c), the dot kernels (dot.c).
 */
#ifndef TL_SEARCH_INTERNAL_H
#define TL_SEARCH_INTERNAL_H

#include <sqlite3.h>

#include "search.h"

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
 * it is missing, invalid or of another generation. */
tl_status tl_vectors_map(tl_search_db *db, tl_error *err);
void tl_vectors_unmap(tl_vector_map *map);
/* int8 quantization with one scale: v ~= q * scale */
float tl_vectors_quantize(const float *v, uint32_t dim, int8_t *q);

/* query.c: the vector scan alone, the top req->k chunk ids and cosines,
 * best first, into ids and scores (room for k each) (bench/search_bench.c). */
tl_status tl_search_vector_top(tl_search_db *db, const tl_search_request *req, int64_t *ids, double *scores, int *n,
                               tl_error *err);
/* dot.c: kernels chosen once from the CPU (the scalar ones are the reference) */
float tl_dot_f32(const float *a, const float *b, uint32_t n);
int32_t tl_dot_i8(const int8_t *a, const int8_t *b, uint32_t n);
int32_t tl_dot_i8_scalar(const int8_t *a, const int8_t *b, uint32_t n);
float tl_dot_f32_scalar(const float *a, const float *b, uint32_t n);

#endif /* TL_SEARCH_INTERNAL_H */
