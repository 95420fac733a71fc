/*
 * vectors.c — the vector matrix beside the database, FILE.vectors, that
 * searches memory-map: every chunk's vector in one contiguous block, so
 * that a query is one pass of dot products over mapped memory.
 *
 * Layout (little-endian, as the machine that wrote it; a file from another
 * machine fails the checks and is rebuilt):
 *   0   "TLSVEC1\0"
 *   8   uint32 type (0 float32, 1 int8), uint32 dim
 *   16  int64 count, int64 generation (meta 'generation' when written)
 *   32  uint64 a number drawn when written (with the file's inode, size and
 *       mtime, what its int8 companion, companion.c, records it was made from)
 *   40  zeros up to 64
 *   64  count * dim values (float32 or int8)
 *   then, at 8-byte alignment: count int64 chunk ids, count int64 source
 *   ids, and for int8 count float scales.
 * SQLite stays the truth: the file is written from it (to a temporary name,
 * then renamed over the old one) whenever it is missing, of another
 * generation, or fails any check of its header or size.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "search_internal.h"
#include "util/error.h"

#define HEADER_SIZE 64
static const char magic[8] = "TLSVEC1";

typedef struct header {
    char magic[8];
    uint32_t type, dim;
    int64_t count, generation;
    uint64_t nonce;
} header;

static size_t align8(size_t n) {
    return (n + 7) & ~(size_t)7;
}

/* The file size for a header, 0 if it overflows. */
static size_t expected_size(const header *h) {
    const size_t elem = h->type == TL_VECTORS_I8 ? 1 : 4;
    if (h->count < 0 || (uint64_t)h->count > ((uint64_t)1 << 40) / (h->dim ? h->dim : 1)) return 0;
    const size_t n = (size_t)h->count;
    return align8(HEADER_SIZE + n * h->dim * elem) + n * 16 + (h->type == TL_VECTORS_I8 ? n * 4 : 0);
}

static float max_abs(const float *v, uint32_t dim) {
    float max = 0;
    for (uint32_t i = 0; i < dim; i++)
        if (fabsf(v[i]) > max) max = fabsf(v[i]);
    return max;
}

/* Rounds to steps of max / 127.5 (the largest value to 127 after clamping),
 * then takes the scale that fits best, (v . q) / (q . q): the least-squares
 * one for these q, which makes int8 scores measurably closer to float32's
 * (bench/search.sh's recall) than max / 127 does. */
float tl_vectors_quantize(const float *v, uint32_t dim, int8_t *q) {
    const float max = max_abs(v, dim);
    if (!(max > 0)) {
        memset(q, 0, dim);
        return 1;
    }
    const float step = max / 127.5f;
    double vq = 0, qq = 0;
    for (uint32_t i = 0; i < dim; i++) {
        float x = roundf(v[i] / step);
        q[i] = (int8_t)(x > 127 ? 127 : x < -127 ? -127 : x);
        vq += (double)v[i] * q[i];
        qq += (double)q[i] * q[i];
    }
    return vq > 0 && qq > 0 ? (float)(vq / qq) : step;
}

float tl_vectors_quantize_i16(const float *v, uint32_t dim, int16_t *q) {
    const float max = max_abs(v, dim);
    const float scale = max > 0 ? max / 32767 : 1;
    for (uint32_t i = 0; i < dim; i++) {
        float x = roundf(v[i] / scale);
        q[i] = (int16_t)(x > 32767 ? 32767 : x < -32767 ? -32767 : x);
    }
    return scale;
}

void tl_vectors_unmap(tl_vector_map *map) {
    if (map->base) munmap(map->base, map->size);
    if (map->base8) munmap(map->base8, map->size8);
    *map = (tl_vector_map){0};
}

/* Writes the sidecar from the chunks table, inside a read transaction so
 * the generation recorded is the one of the rows written. */
static tl_status rebuild(tl_search_db *db, const tl_search_model *model, tl_error *err) {
    TL_TRY(tl_search_exec(db, "BEGIN", err));
    tl_status st = TL_OK;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    header h = {.type = (uint32_t)model->type,
                .dim = model->dim,
                .generation = tl_search_generation(db),
                .nonce = ((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec) ^ ((uint64_t)getpid() << 40)};
    memcpy(h.magic, magic, 8);
    const size_t elem = model->type == TL_VECTORS_I8 ? 1 : 4, row_bytes = elem * model->dim;
    sqlite3_stmt *q = NULL;
    int64_t *ids = NULL;
    float *scales = NULL;
    size_t cap = 0;
    const size_t tmp_len = strlen(db->vectors_path) + 32;
    char *tmp = malloc(tmp_len);
    FILE *f = NULL;
    if (!tmp) {
        st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(tmp, tmp_len, "%s.tmp%ld", db->vectors_path, (long)getpid());
    if (!(f = fopen(tmp, "wb"))) {
        st = tl_fail(err, TL_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    static const char zeros[HEADER_SIZE] = {0};
    fwrite(zeros, 1, HEADER_SIZE, f);
    if (sqlite3_prepare_v2(db->sql, "SELECT id, source_id, vector, scale FROM chunks ORDER BY id", -1, &q, NULL) !=
        SQLITE_OK) {
        st = tl_search_sql_error(db, err, "reading vectors");
        goto done;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if ((size_t)sqlite3_column_bytes(q, 2) != row_bytes) {
            st = tl_fail(err, TL_ERR_FORMAT, "%s: chunk %lld has a vector of %d bytes, expected %zu", db->path,
                         (long long)sqlite3_column_int64(q, 0), sqlite3_column_bytes(q, 2), row_bytes);
            goto done;
        }
        if ((size_t)h.count == cap) {
            cap = cap ? cap * 2 : 1024;
            int64_t *grown_ids = realloc(ids, cap * 2 * sizeof *ids);
            if (grown_ids) ids = grown_ids;
            float *grown_scales = realloc(scales, cap * sizeof *scales);
            if (grown_scales) scales = grown_scales;
            if (!grown_ids || !grown_scales) {
                st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
        ids[2 * h.count] = sqlite3_column_int64(q, 0);
        ids[2 * h.count + 1] = sqlite3_column_int64(q, 1);
        scales[h.count] = (float)sqlite3_column_double(q, 3);
        fwrite(sqlite3_column_blob(q, 2), 1, row_bytes, f);
        h.count++;
    }
    if (rc != SQLITE_DONE) {
        st = tl_search_sql_error(db, err, "reading vectors");
        goto done;
    }
    const size_t pad = align8(HEADER_SIZE + (size_t)h.count * row_bytes) - (HEADER_SIZE + (size_t)h.count * row_bytes);
    fwrite(zeros, 1, pad, f);
    for (int64_t i = 0; i < h.count; i++) fwrite(&ids[2 * i], sizeof *ids, 1, f);
    for (int64_t i = 0; i < h.count; i++) fwrite(&ids[2 * i + 1], sizeof *ids, 1, f);
    if (model->type == TL_VECTORS_I8) fwrite(scales, sizeof *scales, (size_t)h.count, f);
    fseek(f, 0, SEEK_SET);
    fwrite(&h, sizeof h, 1, f);
    if (fflush(f) != 0 || ferror(f)) {
        st = tl_fail(err, TL_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    if (fclose(f) != 0) {
        f = NULL;
        st = tl_fail(err, TL_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    f = NULL;
    if (rename(tmp, db->vectors_path) != 0) st = tl_fail(err, TL_ERR_IO, "%s: %s", db->vectors_path, strerror(errno));
done:
    if (f) fclose(f);
    if (st != TL_OK && tmp) remove(tmp);
    sqlite3_finalize(q);
    tl_search_exec(db, "COMMIT", NULL);
    free(tmp);
    free(ids);
    free(scales);
    return st;
}

/* Maps the sidecar if it is valid for the model and generation; false if
 * it is missing or fails a check. */
static bool try_map(tl_search_db *db, const tl_search_model *model, int64_t generation) {
    const int fd = open(db->vectors_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat sb;
    header h;
    bool ok = fstat(fd, &sb) == 0 && sb.st_size >= HEADER_SIZE && pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
              memcmp(h.magic, magic, 8) == 0 && h.type == (uint32_t)model->type && h.dim == model->dim &&
              h.generation == generation && expected_size(&h) == (size_t)sb.st_size;
    void *base = ok ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (base == MAP_FAILED) return false;
    tl_vector_map *m = &db->map;
    const size_t n = (size_t)h.count, row_bytes = (model->type == TL_VECTORS_I8 ? 1 : 4) * (size_t)h.dim;
    const char *ids = (const char *)base + align8(HEADER_SIZE + n * row_bytes);
    *m = (tl_vector_map){.base = base,
                         .size = (size_t)sb.st_size,
                         .type = model->type,
                         .dim = h.dim,
                         .count = h.count,
                         .generation = h.generation,
                         .rows = (const char *)base + HEADER_SIZE,
                         .chunk_ids = (const int64_t *)ids,
                         .source_ids = (const int64_t *)(ids + n * 8),
                         .scales = model->type == TL_VECTORS_I8 ? (const float *)(ids + n * 16) : NULL,
                         .file_id = {(uint64_t)sb.st_ino, (uint64_t)sb.st_size,
                                     (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec,
                                     (uint64_t)h.generation, h.nonce}};
    return true;
}

tl_status tl_vectors_map(tl_search_db *db, tl_error *err) {
    tl_search_model model;
    bool has;
    TL_TRY(tl_search_get_model(db, &model, &has, err));
    if (!has) return tl_fail(err, TL_ERR_FORMAT, "%s: nothing indexed yet (run tinyllm index)", db->path);
    const int64_t generation = tl_search_generation(db);
    if (db->map.base && db->map.generation == generation) return TL_OK;
    tl_vectors_unmap(&db->map);
    if (!try_map(db, &model, generation)) {
        TL_TRY(rebuild(db, &model, err));
        if (!try_map(db, &model, tl_search_generation(db)))
            return tl_fail(err, TL_ERR_IO, "%s: could not map the vectors it was just written with", db->vectors_path);
    }
    /* without its companion (a read-only folder) a float32 scan reads every row */
    if (db->map.type == TL_VECTORS_F32) tl_companion_map(&db->map, db->vectors_path);
    return TL_OK;
}
