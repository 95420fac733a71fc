/* search_bench.c: the vector scan of `tinyllm search` at scale, for bench/search.sh. Writes COUNT random 384-dim
 * vectors straight into two search databases' vector sidecars (DIR/bench-f32.db and DIR/bench-i8.db; no embedding,
 * no chunk rows), float32 and int8 (quantized as tinyllm index does), then times the vector scan
 * (tl_search_vector_top: the mapped matrix, k = 10, THREADS threads) and compares the int8 top-10 with float32's.
 *
 *   search_bench --dir DIR --count N [--queries Q] [--recall-queries R] [--threads T] [--dim D]
 *
 * Vectors: 1000 random unit centres; each vector (and each query) a centre plus Gaussian noise of the same norm,
 * normalized — clustered as embeddings are, so that a top-10 is not a coin toss among near-orthogonal vectors.
 * Writes the first Q queries to DIR/queries.f32 (raw floats) for bench/faiss_bench.cpp. Prints:
 *   f32 MEDIAN_MS RSS_MB ANON_MB BEST_MS
 *   i8 MEDIAN_MS RSS_MB ANON_MB BEST_MS
 *   recall OVERLAP          (mean |top10(int8) ∩ top10(float32)| / 10 over R queries)
 * RSS counts the mapped sidecar's pages (file-backed); ANON is the process's own memory, which stays small: the
 * vectors are mapped, not copied. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search_internal.h"

#define K 10
#define CENTRES 1000

static void die(const char *what, const char *detail) {
    fprintf(stderr, "search_bench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static double uniform(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static float gaussian(void) {
    return (float)(sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform()));
}

static void normalize(float *v, uint32_t dim) {
    double sum = 0;
    for (uint32_t i = 0; i < dim; i++) sum += (double)v[i] * v[i];
    const float scale = sum > 0 ? (float)(1.0 / sqrt(sum)) : 0.0f;
    for (uint32_t i = 0; i < dim; i++) v[i] *= scale;
}

/* A centre plus noise of the same norm, normalized. */
static void sample(const float *centres, uint32_t dim, float *v) {
    const float *c = centres + (size_t)(uniform() * CENTRES) * dim;
    const float sigma = 1.0f / sqrtf((float)dim);
    for (uint32_t i = 0; i < dim; i++) v[i] = c[i] + sigma * gaussian();
    normalize(v, dim);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* VmRSS and RssAnon of this process, in MB. */
static void rss_mb(double *rss, double *anon) {
    *rss = *anon = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) *rss = kb / 1024.0;
        if (sscanf(line, "RssAnon: %ld", &kb) == 1) *anon = kb / 1024.0;
    }
    fclose(f);
}

/* A database whose model is `type` vectors of dim, and an open sidecar file with the header for count rows. */
static tl_search_db *create_db(const char *path, tl_vector_type type, uint32_t dim, int64_t count, FILE **sidecar) {
    char file[4096];
    snprintf(file, sizeof file, "%s", path);
    remove(file);
    snprintf(file, sizeof file, "%s.vectors", path);
    remove(file);
    tl_search_db *db = NULL;
    tl_error err = {0};
    if (tl_search_open(path, true, &db, &err) != TL_OK) die(path, err.message);
    tl_search_model model = {.dim = dim, .pooling = TL_POOLING_MEAN, .normalize = true, .type = type};
    snprintf(model.name, sizeof model.name, "search_bench");
    if (tl_search_set_model(db, &model, &err) != TL_OK) die(path, err.message);
    if (!(*sidecar = fopen(file, "wb"))) die("cannot write", file);
    char header[64] = "TLSVEC1";
    const uint32_t t = (uint32_t)type;
    const int64_t generation = tl_search_generation(db);
    memcpy(header + 8, &t, 4);
    memcpy(header + 12, &dim, 4);
    memcpy(header + 16, &count, 8);
    memcpy(header + 24, &generation, 8);
    fwrite(header, 1, sizeof header, *sidecar);
    return db;
}

/* After the rows: padding to 8 bytes, the chunk ids 1.., the source ids (all 1), the scales (int8). */
static void finish_sidecar(FILE *f, size_t row_bytes, int64_t count, const float *scales) {
    static const char zeros[8] = {0};
    fwrite(zeros, 1, (8 - (64 + (size_t)count * row_bytes) % 8) % 8, f);
    for (int64_t i = 0; i < count; i++) {
        const int64_t id = i + 1;
        fwrite(&id, 8, 1, f);
    }
    for (int64_t i = 0; i < count; i++) {
        const int64_t one = 1;
        fwrite(&one, 8, 1, f);
    }
    if (scales) fwrite(scales, sizeof *scales, (size_t)count, f);
    if (fclose(f) != 0) die("cannot write a sidecar", NULL);
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void top(tl_search_db *db, const float *query, int threads, int64_t *ids) {
    tl_search_request req = {.vector = query, .k = K, .mode = TL_SEARCH_VECTOR, .n_threads = threads};
    double scores[K];
    int n = 0;
    tl_error err = {0};
    if (tl_search_vector_top(db, &req, ids, scores, &n, &err) != TL_OK) die("search", err.message);
    if (n != K) die("search", "fewer than k results");
}

/* Median milliseconds of the first n queries (after one untimed query that maps the sidecar), and the fastest. */
static double median_ms(tl_search_db *db, const float *queries, int n, uint32_t dim, int threads, double *best) {
    int64_t ids[K];
    top(db, queries, threads, ids);
    double *ms = malloc((size_t)n * sizeof *ms);
    for (int q = 0; q < n; q++) {
        const double t0 = now_ms();
        top(db, queries + (size_t)q * dim, threads, ids);
        ms[q] = now_ms() - t0;
    }
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    const double median = ms[n / 2];
    *best = ms[0];
    free(ms);
    return median;
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    int64_t count = 0;
    int n_queries = 200, n_recall = 1000, threads = 2;
    uint32_t dim = 384;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) die("missing value after", argv[i]);
        const char *a = argv[i], *v = argv[++i];
        if (!strcmp(a, "--dir"))
            dir = v;
        else if (!strcmp(a, "--count"))
            count = atoll(v);
        else if (!strcmp(a, "--queries"))
            n_queries = atoi(v);
        else if (!strcmp(a, "--recall-queries"))
            n_recall = atoi(v);
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else if (!strcmp(a, "--dim"))
            dim = (uint32_t)atoi(v);
        else
            die("unknown option", a);
    }
    if (!dir || count < K || n_queries < 1 || n_recall < 0 || threads < 1 || dim < 1)
        die("usage: search_bench --dir DIR --count N (>= 10) [--queries Q] [--recall-queries R] [--threads T]", NULL);

    float *centres = malloc((size_t)CENTRES * dim * sizeof *centres);
    for (size_t i = 0; i < (size_t)CENTRES * dim; i++) centres[i] = gaussian();
    for (int c = 0; c < CENTRES; c++) normalize(centres + (size_t)c * dim, dim);

    char f32_path[4096], i8_path[4096], queries_path[4096];
    snprintf(f32_path, sizeof f32_path, "%s/bench-f32.db", dir);
    snprintf(i8_path, sizeof i8_path, "%s/bench-i8.db", dir);
    snprintf(queries_path, sizeof queries_path, "%s/queries.f32", dir);
    FILE *f32_file, *i8_file;
    tl_search_db *f32_db = create_db(f32_path, TL_VECTORS_F32, dim, count, &f32_file);
    tl_search_db *i8_db = create_db(i8_path, TL_VECTORS_I8, dim, count, &i8_file);
    float *v = malloc(dim * sizeof *v), *scales = malloc((size_t)count * sizeof *scales);
    int8_t *q8 = malloc(dim);
    for (int64_t r = 0; r < count; r++) {
        sample(centres, dim, v);
        fwrite(v, sizeof *v, dim, f32_file);
        scales[r] = tl_vectors_quantize(v, dim, q8);
        fwrite(q8, 1, dim, i8_file);
    }
    finish_sidecar(f32_file, dim * sizeof(float), count, NULL);
    finish_sidecar(i8_file, dim, count, scales);
    free(scales);

    const int n_total = n_queries > n_recall ? n_queries : n_recall;
    float *queries = malloc((size_t)n_total * dim * sizeof *queries);
    for (int q = 0; q < n_total; q++) sample(centres, dim, queries + (size_t)q * dim);
    FILE *qf = fopen(queries_path, "wb");
    if (!qf || fwrite(queries, sizeof *queries, (size_t)n_queries * dim, qf) != (size_t)n_queries * dim ||
        fclose(qf) != 0)
        die("cannot write", queries_path);

    double rss, anon, best;
    printf("f32 %.3f", median_ms(f32_db, queries, n_queries, dim, threads, &best));
    rss_mb(&rss, &anon);
    printf(" %.0f %.0f %.3f\n", rss, anon, best);
    tl_search_close(f32_db); /* unmaps */
    f32_db = NULL;
    printf("i8 %.3f", median_ms(i8_db, queries, n_queries, dim, threads, &best));
    rss_mb(&rss, &anon);
    printf(" %.0f %.0f %.3f\n", rss, anon, best);

    tl_error err = {0};
    if (tl_search_open(f32_path, false, &f32_db, &err) != TL_OK) die(f32_path, err.message);
    long overlap = 0;
    for (int q = 0; q < n_recall; q++) {
        int64_t a[K], b[K];
        top(f32_db, queries + (size_t)q * dim, threads, a);
        top(i8_db, queries + (size_t)q * dim, threads, b);
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) overlap += a[i] == b[j];
    }
    printf("recall %.4f\n", n_recall ? (double)overlap / ((double)n_recall * K) : 1.0);
    tl_search_close(f32_db);
    tl_search_close(i8_db);
    free(queries);
    free(centres);
    free(v);
    free(q8);
    return 0;
}
