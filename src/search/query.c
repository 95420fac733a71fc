/*
 * query.c — finding the top-k chunks: by vector (exact brute force over the
 * mapped matrix, scan.c), by text (SQLite FTS5, BM25; the query's words quoted so no user text is FTS
 * syntax) or both (reciprocal rank fusion, k = 60, of the two lists).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search_internal.h"
#include "util/error.h"

#define RRF_K 60.0

int tl_search_mode_from_name(const char *name) {
    static const char *const names[] = {"vector", "text", "hybrid"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

const char *tl_search_mode_name(tl_search_mode mode) {
    return mode == TL_SEARCH_VECTOR ? "vector" : mode == TL_SEARCH_TEXT ? "text" : "hybrid";
}

/* A ranked list of chunk ids with scores, best first. */
typedef struct ranked {
    int64_t *ids;
    double *scores;
    int n;
} ranked;

static void ranked_free(ranked *r) {
    free(r->ids);
    free(r->scores);
    *r = (ranked){0};
}

static bool ranked_alloc(ranked *r, int n) {
    r->ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *r->ids);
    r->scores = malloc((size_t)(n > 0 ? n : 1) * sizeof *r->scores);
    r->n = 0;
    return r->ids && r->scores;
}

/* ---- the vector scan (scan.c) --------------------------------------------- */

/* The source ids whose path matches the glob, sorted. */
static tl_status matching_sources(tl_search_db *db, const char *glob, int64_t **ids, size_t *n, tl_error *err) {
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT id, path FROM sources ORDER BY id", -1, &q, NULL) != SQLITE_OK)
        return tl_search_sql_error(db, err, "reading sources");
    size_t cap = 0;
    tl_status st = TL_OK;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (fnmatch(glob, (const char *)sqlite3_column_text(q, 1), 0) != 0) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *grown = realloc(*ids, cap * sizeof *grown);
            if (!grown) {
                st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
                break;
            }
            *ids = grown;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(q, 0);
    }
    if (st == TL_OK && rc != SQLITE_DONE) st = tl_search_sql_error(db, err, "reading sources");
    sqlite3_finalize(q);
    if (st == TL_OK && !*ids) *ids = malloc(sizeof **ids); /* none match: an empty, non-NULL list */
    return st == TL_OK && !*ids ? tl_fail(err, TL_ERR_NOMEM, "out of memory") : st;
}

static tl_status vector_search(tl_search_db *db, const tl_search_request *req, int k, ranked *out, tl_error *err) {
    TL_TRY(tl_vectors_map(db, err));
    const tl_vector_map *m = &db->map;
    if (!req->vector) return tl_fail(err, TL_ERR_ARGUMENT, "a vector search needs the query's embedding");
    int64_t *allowed = NULL, *rows = malloc((size_t)k * sizeof *rows);
    size_t n_allowed = 0;
    float *scores = malloc((size_t)k * sizeof *scores);
    tl_status st = !rows || !scores || !ranked_alloc(out, k) ? tl_fail(err, TL_ERR_NOMEM, "out of memory") : TL_OK;
    if (st == TL_OK && req->path_glob) st = matching_sources(db, req->path_glob, &allowed, &n_allowed, err);
    if (st == TL_OK)
        st = tl_vector_scan(m, req->vector, k, allowed, n_allowed, req->n_threads, rows, scores, &out->n, err);
    for (int i = 0; st == TL_OK && i < out->n; i++) {
        out->ids[i] = m->chunk_ids[rows[i]];
        out->scores[i] = scores[i];
    }
    free(allowed);
    free(rows);
    free(scores);
    return st;
}

tl_status tl_search_vector_top(tl_search_db *db, const tl_search_request *req, int64_t *ids, double *scores, int *n,
                               tl_error *err) {
    ranked r = {0};
    *n = 0;
    tl_status st = vector_search(db, req, req->k, &r, err);
    for (int i = 0; st == TL_OK && i < r.n; i++) {
        ids[i] = r.ids[i];
        scores[i] = r.scores[i];
    }
    if (st == TL_OK) *n = r.n;
    ranked_free(&r);
    return st;
}

/* ---- full text ------------------------------------------------------------ */

/* The FTS5 query for free text: every word (letters, digits, any non-ASCII
 * byte) quoted, joined by OR, so nothing the user types is FTS syntax. */
static char *fts_query(const char *text) {
    const size_t len = strlen(text);
    char *out = malloc(len * 6 + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && ((unsigned char)text[j] >= 0x80 || (text[j] >= '0' && text[j] <= '9') ||
                           (text[j] >= 'a' && text[j] <= 'z') || (text[j] >= 'A' && text[j] <= 'Z') || text[j] == '_'))
            j++;
        if (j > i) {
            if (o > out) o += sprintf(o, " OR ");
            *o++ = '"';
            memcpy(o, text + i, j - i);
            o += j - i;
            *o++ = '"';
            i = j;
        } else {
            i++;
        }
    }
    *o = 0;
    return out;
}

static void glob_function(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    (void)argc;
    const char *glob = (const char *)sqlite3_value_text(argv[0]), *path = (const char *)sqlite3_value_text(argv[1]);
    sqlite3_result_int(ctx, glob && path && fnmatch(glob, path, 0) == 0);
}

static tl_status text_search(tl_search_db *db, const tl_search_request *req, int k, ranked *out, tl_error *err) {
    if (!ranked_alloc(out, k)) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    char *match = fts_query(req->text ? req->text : "");
    if (!match) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (!match[0]) { /* no words: no text hits */
        free(match);
        return TL_OK;
    }
    sqlite3_create_function(db->sql, "tl_glob", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, glob_function, NULL, NULL);
    sqlite3_stmt *q = NULL;
    tl_status st = TL_OK;
    if (sqlite3_prepare_v2(db->sql,
                           "SELECT c.id, bm25(chunks_fts) FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid"
                           " JOIN sources s ON s.id = c.source_id WHERE chunks_fts MATCH ?1"
                           " AND (?2 IS NULL OR tl_glob(?2, s.path)) ORDER BY bm25(chunks_fts), c.id LIMIT ?3",
                           -1, &q, NULL) != SQLITE_OK) {
        free(match);
        return tl_search_sql_error(db, err, "full-text search");
    }
    sqlite3_bind_text(q, 1, match, -1, SQLITE_STATIC);
    if (req->path_glob) sqlite3_bind_text(q, 2, req->path_glob, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, k);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && out->n < k) {
        out->ids[out->n] = sqlite3_column_int64(q, 0);
        out->scores[out->n++] = -sqlite3_column_double(q, 1); /* bm25(): lower is better */
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) st = tl_search_sql_error(db, err, "full-text search");
    sqlite3_finalize(q);
    free(match);
    return st;
}

/* {score, id} pairs: score descending, then id ascending. */
static int cmp_pairs(const void *a, const void *b) {
    const double *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? 1 : -1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* ---- fusion and results ---------------------------------------------------- */

/* Reciprocal rank fusion: score(d) = sum over lists of 1 / (60 + rank). */
static tl_status fuse(const ranked *a, const ranked *b, int k, ranked *out, tl_error *err) {
    const int n = a->n + b->n;
    double *pairs = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *pairs);
    if (!pairs || !ranked_alloc(out, k)) {
        free(pairs);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    int m = 0;
    const ranked *lists[2] = {a, b};
    for (int l = 0; l < 2; l++)
        for (int r = 0; r < lists[l]->n; r++) {
            const double add = 1.0 / (RRF_K + r + 1);
            int j = 0;
            while (j < m && (int64_t)pairs[2 * j + 1] != lists[l]->ids[r]) j++;
            if (j == m) {
                pairs[2 * m] = 0;
                pairs[2 * m + 1] = (double)lists[l]->ids[r];
                m++;
            }
            pairs[2 * j] += add;
        }
    qsort(pairs, (size_t)m, 2 * sizeof *pairs, cmp_pairs);
    for (int i = 0; i < m && i < k; i++) {
        out->ids[i] = (int64_t)pairs[2 * i + 1];
        out->scores[i] = pairs[2 * i];
        out->n++;
    }
    free(pairs);
    return TL_OK;
}

static tl_status fill_hits(tl_search_db *db, const ranked *r, tl_search_hit **hits, int *n_hits, tl_error *err) {
    *hits = calloc((size_t)(r->n > 0 ? r->n : 1), sizeof **hits);
    if (!*hits) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->sql,
                           "SELECT s.path, c.first_line, c.last_line, c.start_byte, c.end_byte, c.text FROM chunks c"
                           " JOIN sources s ON s.id = c.source_id WHERE c.id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return tl_search_sql_error(db, err, "reading chunks");
    tl_status st = TL_OK;
    for (int i = 0; i < r->n && st == TL_OK; i++) {
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, r->ids[i]);
        if (sqlite3_step(q) != SQLITE_ROW) continue; /* removed since the matrix was built */
        tl_search_hit *h = &(*hits)[*n_hits];
        *h = (tl_search_hit){.chunk_id = r->ids[i],
                             .score = r->scores[i],
                             .path = strdup((const char *)sqlite3_column_text(q, 0)),
                             .first_line = sqlite3_column_int64(q, 1),
                             .last_line = sqlite3_column_int64(q, 2),
                             .start_byte = sqlite3_column_int64(q, 3),
                             .end_byte = sqlite3_column_int64(q, 4),
                             .text = strdup((const char *)sqlite3_column_text(q, 5))};
        (*n_hits)++;
        if (!h->path || !h->text) st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    sqlite3_finalize(q);
    return st;
}

tl_status tl_search_query(tl_search_db *db, const tl_search_request *req, tl_search_hit **hits, int *n_hits,
                          tl_error *err) {
    *hits = NULL;
    *n_hits = 0;
    if (req->k < 1) return tl_fail(err, TL_ERR_ARGUMENT, "k must be at least 1");
    ranked by_vector = {0}, by_text = {0}, fused = {0};
    const int depth = req->mode == TL_SEARCH_HYBRID ? (req->k * 4 > 50 ? req->k * 4 : 50) : req->k;
    tl_status st = TL_OK;
    if (req->mode != TL_SEARCH_TEXT) st = vector_search(db, req, depth, &by_vector, err);
    if (st == TL_OK && req->mode != TL_SEARCH_VECTOR) st = text_search(db, req, depth, &by_text, err);
    if (st == TL_OK && req->mode == TL_SEARCH_HYBRID) st = fuse(&by_vector, &by_text, req->k, &fused, err);
    if (st == TL_OK)
        st = fill_hits(db,
                       req->mode == TL_SEARCH_HYBRID ? &fused
                       : req->mode == TL_SEARCH_TEXT ? &by_text
                                                     : &by_vector,
                       hits, n_hits, err);
    if (st != TL_OK) {
        tl_search_hits_free(*hits, *n_hits);
        *hits = NULL;
        *n_hits = 0;
    }
    ranked_free(&by_vector);
    ranked_free(&by_text);
    ranked_free(&fused);
    return st;
}

void tl_search_hits_free(tl_search_hit *hits, int n_hits) {
    for (int i = 0; i < n_hits && hits; i++) {
        free(hits[i].path);
        free(hits[i].text);
    }
    free(hits);
}

char *tl_search_snippet(const char *text, size_t max_bytes) {
    const size_t len = strlen(text);
    char *out = malloc((len < max_bytes ? len : max_bytes) + 4);
    if (!out) return NULL;
    size_t o = 0, i = 0;
    bool space = false;
    for (; i < len && o < max_bytes; i++) {
        const char ch = text[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f') {
            space = o > 0;
            continue;
        }
        if (space) {
            out[o++] = ' ';
            space = false;
            if (o >= max_bytes) break;
        }
        out[o++] = ch;
    }
    if (i < len) { /* cut: not inside a character */
        size_t start = o;
        while (start > 0 && ((unsigned char)out[start - 1] & 0xC0) == 0x80) start--;
        if (start > 0 && (unsigned char)out[start - 1] >= 0xC0) { /* out[start - 1] leads a character */
            const unsigned char lead = (unsigned char)out[start - 1];
            const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (o - (start - 1) < need) o = start - 1;
        }
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
    return out;
}
