/*
 * scan.c — the vector scan: exact brute force over the mapped matrix, a
 * top-k heap per thread, 2 threads for large matrices. The query is
 * quantized to int16 (its error is ~1/65534 of its largest value: the
 * stored rows' is the one that counts) and dotted with the int8 rows by
 * blocks of rows (dot.c).
 *
 * int8 matrices: score = (q16 . x8) * query scale * row scale.
 *
 * float32 matrices with their int8 companion (companion.c): one pass over
 * the int8 copy, a quarter of the bytes, bounds every row's float32 score
 * f = fl(q . x), with q ~= qs * q16 + eq and x = s * x8 + ex:
 *   q . x = a + s (eq . x8) + (q . ex),   a = qs * s * (q16 . x8)
 *   |q . x - a| <= ||eq|| * s||x8|| + ||q|| * ||ex||   (Cauchy-Schwarz)
 * plus M * ||q|| * (s||x8|| + ||ex||), M = (dim + 16) * 2^-22, for the
 * rounding of f (at most dim * 2^-24 * ||q|| ||x||) and of a and the bounds
 * themselves (a few 2^-24 each). Each thread keeps the k best LOWER bounds
 * seen so far and a list of the rows whose UPPER bound reaches the k-th of
 * them; then the k-th best lower bound of all rows, tau, is a lower bound of
 * the k-th best score, so every row of the float32 top k has upper >= tau,
 * and only the listed rows with upper >= tau are scored in float32 (from
 * the mapped float32 rows). The result is that of scoring every row in
 * float32, ties included: the top k by (score descending, row ascending).
 * A float32 matrix without a companion is scanned in float32.
 */
#include <math.h>
#include <stdlib.h>

#include "search_internal.h"
#include "util/error.h"
#include "util/threadpool.h"

/* Below this many values (rows * dim) one thread scans the matrix. */
#define PARALLEL_MIN_VALUES (1 << 22)
/* Rows whose int8 dots are computed at once. */
#define BLOCK_ROWS 64

/* A min-heap of the k best (score, row) so far: the root is the worst kept. */
typedef struct heap {
    float *score;
    int64_t *row;
    int n, k;
} heap;

/* (sa, ra) ranks below (sb, rb): a lower score, or the same and a later row. */
static inline bool worse(float sa, int64_t ra, float sb, int64_t rb) {
    return sa < sb || (sa == sb && ra > rb);
}

static inline void heap_push(heap *h, float score, int64_t row) {
    int i;
    if (h->n < h->k) {
        i = h->n++;
        while (i > 0 && worse(score, row, h->score[(i - 1) / 2], h->row[(i - 1) / 2])) { /* sift up */
            h->score[i] = h->score[(i - 1) / 2];
            h->row[i] = h->row[(i - 1) / 2];
            i = (i - 1) / 2;
        }
    } else {
        if (!worse(h->score[0], h->row[0], score, row)) return;
        i = 0; /* replace the root, sift down */
        for (;;) {
            int child = 2 * i + 1;
            if (child >= h->n) break;
            if (child + 1 < h->n && worse(h->score[child + 1], h->row[child + 1], h->score[child], h->row[child]))
                child++;
            if (!worse(h->score[child], h->row[child], score, row)) break;
            h->score[i] = h->score[child];
            h->row[i] = h->row[child];
            i = child;
        }
    }
    h->score[i] = score;
    h->row[i] = row;
}

static bool heap_alloc(heap *h, int k) {
    *h = (heap){.score = malloc((size_t)k * sizeof *h->score), .row = malloc((size_t)k * sizeof *h->row), .k = k};
    return h->score && h->row;
}

static void heap_free(heap *h) {
    free(h->score);
    free(h->row);
}

/* A row whose float32 score may reach the top k. */
typedef struct candidate {
    int64_t row;
    float upper;
} candidate;

typedef struct worker {
    heap best;  /* the scores (float32: of the candidates) */
    heap lower; /* float32 with companion: the k best lower bounds */
    candidate *candidates;
    size_t n_candidates, cap_candidates;
    bool out_of_memory;
} worker;

typedef struct scan {
    const tl_vector_map *map;
    const float *query;
    int16_t *query16;
    float query_scale;
    float c1, c2; /* float32 with companion: |f - a| <= norm * c1 + error_norm * c2 */
    const int64_t *allowed;
    size_t n_allowed;
    tl_threadpool *pool;
    float tau;
    worker workers[2];
} scan;

static int cmp_i64(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static inline bool is_allowed(const scan *s, int64_t row) {
    return !s->allowed || bsearch(&s->map->source_ids[row], s->allowed, s->n_allowed, sizeof *s->allowed, cmp_i64);
}

static void scan_i8(scan *s, worker *w, long begin, long end) {
    const tl_vector_map *m = s->map;
    int64_t dots[BLOCK_ROWS];
    for (long r0 = begin; r0 < end; r0 += BLOCK_ROWS) {
        const uint32_t n = (uint32_t)(end - r0 < BLOCK_ROWS ? end - r0 : BLOCK_ROWS);
        tl_dot_i16_i8_rows(s->query16, (const int8_t *)m->rows + (size_t)r0 * m->dim, m->dim, n, dots);
        for (uint32_t i = 0; i < n; i++)
            if (is_allowed(s, r0 + i)) heap_push(&w->best, (float)dots[i] * s->query_scale * m->scales[r0 + i], r0 + i);
    }
}

static void scan_f32(scan *s, worker *w, long begin, long end) {
    const tl_vector_map *m = s->map;
    for (long r = begin; r < end; r++)
        if (is_allowed(s, r))
            heap_push(&w->best, tl_dot_f32(s->query, (const float *)m->rows + (size_t)r * m->dim, m->dim), r);
}

/* Keeps the candidates whose upper bound reaches tau. */
static void drop_candidates_below(worker *w, float tau) {
    size_t kept = 0;
    for (size_t i = 0; i < w->n_candidates; i++)
        if (w->candidates[i].upper >= tau) w->candidates[kept++] = w->candidates[i];
    w->n_candidates = kept;
}

static bool add_candidate(worker *w, int64_t row, float upper) {
    if (w->n_candidates == w->cap_candidates) {
        drop_candidates_below(w, w->lower.n == w->lower.k ? w->lower.score[0] : -INFINITY);
        if (w->n_candidates * 2 >= w->cap_candidates) {
            const size_t cap = w->cap_candidates ? w->cap_candidates * 2 : 1024;
            candidate *grown = realloc(w->candidates, cap * sizeof *grown);
            if (!grown) return false;
            w->candidates = grown;
            w->cap_candidates = cap;
        }
    }
    w->candidates[w->n_candidates++] = (candidate){row, upper};
    return true;
}

static void scan_companion(scan *s, worker *w, long begin, long end) {
    const tl_vector_map *m = s->map;
    int64_t dots[BLOCK_ROWS];
    for (long r0 = begin; r0 < end && !w->out_of_memory; r0 += BLOCK_ROWS) {
        const uint32_t n = (uint32_t)(end - r0 < BLOCK_ROWS ? end - r0 : BLOCK_ROWS);
        tl_dot_i16_i8_rows(s->query16, m->rows8 + (size_t)r0 * m->dim, m->dim, n, dots);
        for (uint32_t i = 0; i < n; i++) {
            const int64_t r = r0 + i;
            const tl_companion_row *b = &m->bounds8[r];
            const float a = (float)dots[i] * (s->query_scale * b->scale);
            const float error = b->norm * s->c1 + b->error_norm * s->c2;
            const float upper = a + error;
            if (w->lower.n == w->lower.k && upper < w->lower.score[0]) continue;
            if (!is_allowed(s, r)) continue;
            heap_push(&w->lower, a - error, r);
            if (!add_candidate(w, r, upper)) {
                w->out_of_memory = true;
                break;
            }
        }
    }
}

static void scan_task(void *arg, int ith, int nth) {
    scan *s = arg;
    const tl_vector_map *m = s->map;
    worker *w = &s->workers[ith];
    long begin, end;
    tl_split_range((long)m->count, ith, nth, &begin, &end);
    if (m->type == TL_VECTORS_I8 || !m->base8) {
        (m->type == TL_VECTORS_I8 ? scan_i8 : scan_f32)(s, w, begin, end);
        return;
    }
    scan_companion(s, w, begin, end);
    tl_threadpool_barrier(s->pool);
    if (ith == 0) { /* tau: the k-th best lower bound of all rows */
        heap *lower = &s->workers[0].lower;
        for (int t = 1; t < nth; t++)
            for (int i = 0; i < s->workers[t].lower.n; i++)
                heap_push(lower, s->workers[t].lower.score[i], s->workers[t].lower.row[i]);
        s->tau = lower->n == lower->k ? lower->score[0] : -INFINITY;
    }
    tl_threadpool_barrier(s->pool);
    for (size_t i = 0; i < w->n_candidates; i++) {
        const candidate c = w->candidates[i];
        if (c.upper >= s->tau)
            heap_push(&w->best, tl_dot_f32(s->query, (const float *)m->rows + (size_t)c.row * m->dim, m->dim), c.row);
    }
}

/* The bound's factors for the query (see the top of the file), rounded up. */
static void bound_factors(scan *s, uint32_t dim) {
    double norm = 0, error = 0;
    for (uint32_t i = 0; i < dim; i++) {
        const double diff = (double)s->query[i] - (double)s->query_scale * s->query16[i];
        norm += (double)s->query[i] * s->query[i];
        error += diff * diff;
    }
    norm = sqrt(norm) * (1 + 1e-9);
    error = sqrt(error) * (1 + 1e-9);
    const double margin = (dim + 16) * ldexp(1, -22), slack = 1 + ldexp(1, -16);
    s->c1 = (float)((error + margin * (norm + error)) * slack);
    s->c2 = (float)(norm * (1 + margin) * slack);
}

/* {score, row} pairs: score descending, then row ascending. */
static int cmp_pairs(const void *a, const void *b) {
    const double *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? 1 : -1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

tl_status tl_vector_scan(const tl_vector_map *map, const float *query, int k, const int64_t *allowed, size_t n_allowed,
                         int n_threads, int64_t *rows, float *scores, int *n, tl_error *err) {
    *n = 0;
    const int nth = map->count * (int64_t)map->dim >= PARALLEL_MIN_VALUES ? (n_threads == 1 ? 1 : 2) : 1;
    scan s = {.map = map, .query = query, .allowed = allowed, .n_allowed = n_allowed};
    tl_status st = TL_OK;
    bool ok = (s.query16 = malloc(map->dim * sizeof *s.query16)) != NULL;
    for (int t = 0; t < 2; t++) ok = heap_alloc(&s.workers[t].best, k) && heap_alloc(&s.workers[t].lower, k) && ok;
    double *pairs = malloc((size_t)k * 2 * sizeof *pairs);
    if (!ok || !pairs) {
        st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
        goto done;
    }
    s.query_scale = tl_vectors_quantize_i16(query, map->dim, s.query16);
    if (map->type == TL_VECTORS_F32 && map->base8) bound_factors(&s, map->dim);
    if (!(s.pool = tl_threadpool_new(nth))) {
        st = tl_fail(err, TL_ERR_NOMEM, "could not start threads");
        goto done;
    }
    tl_threadpool_run(s.pool, scan_task, &s);
    tl_threadpool_free(s.pool);
    for (int t = 0; t < nth; t++)
        if (s.workers[t].out_of_memory) {
            st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
            goto done;
        }
    heap *h = &s.workers[0].best;
    for (int t = 1; t < nth; t++)
        for (int i = 0; i < s.workers[t].best.n; i++)
            heap_push(h, s.workers[t].best.score[i], s.workers[t].best.row[i]);
    for (int i = 0; i < h->n; i++) {
        pairs[2 * i] = h->score[i];
        pairs[2 * i + 1] = (double)h->row[i];
    }
    qsort(pairs, (size_t)h->n, 2 * sizeof *pairs, cmp_pairs);
    for (int i = 0; i < h->n; i++) {
        scores[i] = (float)pairs[2 * i];
        rows[i] = (int64_t)pairs[2 * i + 1];
    }
    *n = h->n;
done:
    for (int t = 0; t < 2; t++) {
        heap_free(&s.workers[t].best);
        heap_free(&s.workers[t].lower);
        free(s.workers[t].candidates);
    }
    free(s.query16);
    free(pairs);
    return st;
}
