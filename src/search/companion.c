/*
 * companion.c — the int8 companion of a float32 vector sidecar,
 * FILE.vectors.i8, which lets a float32 search read a quarter of the bytes:
 * scan.c scores every row in int8, bounds each row's float32 score from the
 * error of both quantizations, and reads the float32 rows only of the few
 * rows whose bound can still reach the top k.
 *
 * Layout (little-endian, as the machine that wrote it):
 *   0   "TLSVQ8\0\0"
 *   8   uint32 dim, uint32 0
 *   16  int64 count
 *   24  uint64 inode, size, mtime (ns), generation and header nonce of the
 *       FILE.vectors it was made from
 *   64  count * dim int8: row r quantized as tl_vectors_quantize does
 *   then, at 4-byte alignment: count tl_companion_row {scale, scale * ||q||,
 *   ||x - scale * q||}, the norms computed in double and rounded up.
 * The sidecar is always replaced by a rename, so these name one version of
 * it (the nonce, drawn when it is written, for an inode reused within the
 * clock's tick); a companion made from another version, or failing
 * any check, is rebuilt from the mapped float32 rows (written to a
 * temporary name, then renamed), on the first search or at the end of
 * `tinyllm index`.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "search_internal.h"

#define HEADER_SIZE 64
static const char magic[8] = "TLSVQ8";

typedef struct header { /* HEADER_SIZE bytes */
    char magic[8];
    uint32_t dim, zero;
    int64_t count;
    uint64_t file_id[5];
} header;
_Static_assert(sizeof(header) == HEADER_SIZE, "the companion's header is 64 bytes");

static size_t expected_size(uint32_t dim, int64_t count) {
    const size_t n = (size_t)count;
    return ((HEADER_SIZE + n * dim + 3) & ~(size_t)3) + n * sizeof(tl_companion_row);
}

/* d (>= 0) as a float no smaller than d with a margin for d's own rounding. */
static float round_up(double d) {
    d *= 1 + 1e-9;
    float f = (float)d;
    if ((double)f < d) f = nextafterf(f, INFINITY);
    return f;
}

static char *companion_path(const char *vectors_path) {
    const size_t n = strlen(vectors_path) + sizeof ".i8";
    char *path = malloc(n);
    if (path) snprintf(path, n, "%s.i8", vectors_path);
    return path;
}

static bool try_map(tl_vector_map *map, const char *path) {
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat sb;
    header h;
    bool ok = fstat(fd, &sb) == 0 && sb.st_size >= HEADER_SIZE && pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h &&
              memcmp(h.magic, magic, 8) == 0 && h.dim == map->dim && h.count == map->count &&
              memcmp(h.file_id, map->file_id, sizeof h.file_id) == 0 &&
              expected_size(h.dim, h.count) == (size_t)sb.st_size;
    void *base = ok ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (base == MAP_FAILED) return false;
    const size_t rows_end = (HEADER_SIZE + (size_t)h.count * h.dim + 3) & ~(size_t)3;
    map->base8 = base;
    map->size8 = (size_t)sb.st_size;
    map->rows8 = (const int8_t *)base + HEADER_SIZE;
    map->bounds8 = (const tl_companion_row *)((const char *)base + rows_end);
    return true;
}

/* Writes the companion of map's float32 rows to path (through a temporary
 * name); false on any failure, leaving no file behind. */
static bool build(const tl_vector_map *map, const char *path) {
    const size_t tmp_len = strlen(path) + 32;
    char *tmp = malloc(tmp_len);
    const size_t n = (size_t)map->count, dim = map->dim;
    tl_companion_row *bounds = malloc((n ? n : 1) * sizeof *bounds);
    int8_t *q = malloc(dim ? dim : 1);
    FILE *f = NULL;
    bool ok = tmp && bounds && q;
    if (ok) {
        snprintf(tmp, tmp_len, "%s.tmp%ld", path, (long)getpid());
        ok = (f = fopen(tmp, "wb")) != NULL;
    }
    if (ok) {
        header h = {.dim = map->dim, .count = map->count};
        memcpy(h.magic, magic, 8);
        memcpy(h.file_id, map->file_id, sizeof h.file_id);
        ok = fwrite(&h, 1, HEADER_SIZE, f) == HEADER_SIZE;
    }
    for (size_t r = 0; ok && r < n; r++) {
        const float *x = (const float *)map->rows + r * dim;
        const float scale = tl_vectors_quantize(x, map->dim, q);
        double norm = 0, error = 0;
        for (size_t i = 0; i < dim; i++) {
            const double back = (double)scale * q[i], diff = (double)x[i] - back;
            norm += back * back;
            error += diff * diff;
        }
        bounds[r] =
            (tl_companion_row){.scale = scale, .norm = round_up(sqrt(norm)), .error_norm = round_up(sqrt(error))};
        ok = fwrite(q, 1, dim, f) == dim;
    }
    if (ok) {
        static const char zeros[4] = {0};
        const size_t pad = (4 - (HEADER_SIZE + n * dim) % 4) % 4;
        ok = fwrite(zeros, 1, pad, f) == pad && fwrite(bounds, sizeof *bounds, n, f) == n;
    }
    if (f && fclose(f) != 0) ok = false;
    if (f && (!ok || rename(tmp, path) != 0)) {
        ok = false;
        remove(tmp);
    }
    free(tmp);
    free(bounds);
    free(q);
    return ok;
}

bool tl_companion_map(tl_vector_map *map, const char *vectors_path) {
    if (map->base8) return true;
    char *path = companion_path(vectors_path);
    if (!path) return false;
    const bool ok = try_map(map, path) || (build(map, path) && try_map(map, path));
    free(path);
    return ok;
}
