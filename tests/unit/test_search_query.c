/*
 * test_search_query.c — searching (src/search): the int8 and float32 dot
 * kernels against their scalar reference, vector search equal to a
 * straightforward cosine over every vector (on 2 threads), int8 vectors'
 * top-10 against float32's, float32 search through the int8 companion's
 * bounds equal to a float32 scan of every row (random and adversarial
 * vectors, path filters, k above the rows), the vector sidecar and its
 * companion rebuilt when truncated, damaged or stale, and BM25, path filters and hybrid fusion on a small
 * hand-made corpus with a known order. Databases are written directly
 * (no model needed): the indexer is tested by tests/cli/test_search.sh.
 */
#include "test_support.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "search/search_internal.h"

static uint64_t rng = 88172645463325252ull;
static float uniform(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}
static void random_unit(float *v, uint32_t dim) {
    double norm = 0;
    for (uint32_t i = 0; i < dim; i++) {
        v[i] = uniform();
        norm += (double)v[i] * v[i];
    }
    for (uint32_t i = 0; i < dim; i++) v[i] /= (float)sqrt(norm);
}

/* A database with one source and chunk per vector (chunk ids 1..n). */
static tl_search_db *make_db(const char *name, tl_vector_type type, uint32_t dim, int n, const float *vectors,
                             const char *const *texts, const char *const *paths) {
    const char *path = tl_test_tmp_path(name);
    char side[4200];
    snprintf(side, sizeof side, "%s.vectors", path);
    unlink(path);
    unlink(side);
    tl_search_db *db = NULL;
    tl_error err = {0};
    if (tl_search_open(path, true, &db, &err) != TL_OK) fail_msg("%s", err.message);
    tl_search_model m = {.name = "test", .dim = dim, .pooling = 1, .normalize = true, .type = type};
    assert_int_equal(tl_search_set_model(db, &m, &err), TL_OK);
    assert_int_equal(tl_search_exec(db, "BEGIN", &err), TL_OK);
    sqlite3_stmt *src = NULL, *chunk = NULL;
    assert_int_equal(sqlite3_prepare_v2(db->sql,
                                        "INSERT INTO sources (path, kind, size, mtime_ns, hash, n_chunks)"
                                        " VALUES (?, 'text', 1, 1, '', 1)",
                                        -1, &src, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db->sql,
                                        "INSERT INTO chunks (source_id, seq, start_byte, end_byte, first_line,"
                                        " last_line, text, vector, scale) VALUES (?, 0, 0, 1, 1, 1, ?, ?, ?)",
                                        -1, &chunk, NULL),
                     SQLITE_OK);
    int8_t *q = malloc(dim);
    for (int i = 0; i < n; i++) {
        char p[64], t[64];
        snprintf(p, sizeof p, "/docs/%d.txt", i);
        snprintf(t, sizeof t, "chunk %d", i);
        sqlite3_reset(src);
        sqlite3_bind_text(src, 1, paths ? paths[i] : p, -1, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(src), SQLITE_DONE);
        sqlite3_reset(chunk);
        sqlite3_bind_int64(chunk, 1, sqlite3_last_insert_rowid(db->sql));
        sqlite3_bind_text(chunk, 2, texts ? texts[i] : t, -1, SQLITE_TRANSIENT);
        if (type == TL_VECTORS_I8) {
            const float scale = tl_vectors_quantize(vectors + (size_t)i * dim, dim, q);
            sqlite3_bind_blob(chunk, 3, q, (int)dim, SQLITE_TRANSIENT);
            sqlite3_bind_double(chunk, 4, scale);
        } else {
            sqlite3_bind_blob(chunk, 3, vectors + (size_t)i * dim, (int)(dim * 4), SQLITE_TRANSIENT);
            sqlite3_bind_double(chunk, 4, 1);
        }
        assert_int_equal(sqlite3_step(chunk), SQLITE_DONE);
    }
    free(q);
    sqlite3_finalize(src);
    sqlite3_finalize(chunk);
    assert_int_equal(tl_search_bump_generation(db, &err), TL_OK);
    assert_int_equal(tl_search_exec(db, "COMMIT", &err), TL_OK);
    return db;
}

/* Removes a test database and the files beside it. */
static void drop_db(const char *name) {
    static const char *const suffixes[] = {"", "-wal", "-shm", ".vectors", ".vectors.i8"};
    char path[4200];
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s%s", tl_test_tmp_path(name), suffixes[i]);
        unlink(path);
    }
}

static tl_search_hit *run(tl_search_db *db, tl_search_mode mode, const char *text, const float *vector, int k,
                          const char *glob, int *n) {
    const tl_search_request req = {.text = text, .vector = vector, .k = k, .mode = mode, .path_glob = glob};
    tl_search_hit *hits = NULL;
    tl_error err = {0};
    if (tl_search_query(db, &req, &hits, n, &err) != TL_OK) fail_msg("%s", err.message);
    return hits;
}

static void test_dot_kernels_match_the_scalar_reference(void **state) {
    (void)state;
    float x[1000], y[1000];
    const uint32_t sizes[] = {1, 7, 31, 32, 33, 64, 127, 384, 1000};
    for (int i = 0; i < 1000; i++) {
        x[i] = uniform();
        y[i] = uniform();
    }
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const uint32_t n = sizes[s];
        assert_float_equal(tl_dot_f32(x, y, n), tl_dot_f32_scalar(x, y, n), 1e-4);
    }
    /* int16 query x int8 rows, by blocks of rows; the extremes over several 512-value blocks */
    static int16_t q16[1100];
    static int8_t rows[3 * 1100];
    int64_t got[3], want[3];
    for (int i = 0; i < 1100; i++) {
        q16[i] = (int16_t)(i % 3 ? uniform() * 32767 : 32767);
        rows[i] = 127;
        rows[1100 + i] = (int8_t)(uniform() * 127);
        rows[2200 + i] = (int8_t)(i % 2 ? -127 : 127);
    }
    const uint32_t dims[] = {1, 15, 16, 17, 31, 32, 33, 384, 511, 512, 513, 1100};
    for (size_t s = 0; s < sizeof dims / sizeof dims[0]; s++) {
        const uint32_t dim = dims[s];
        int8_t packed[3 * 1100];
        for (int r = 0; r < 3; r++) memcpy(packed + r * dim, rows + r * 1100, dim);
        tl_dot_i16_i8_rows(q16, packed, dim, 3, got);
        tl_dot_i16_i8_rows_scalar(q16, packed, dim, 3, want);
        for (int r = 0; r < 3; r++) assert_int_equal(got[r], want[r]);
    }
    int16_t all_max[1100];
    for (int i = 0; i < 1100; i++) all_max[i] = 32767;
    tl_dot_i16_i8_rows(all_max, rows, 1100, 1, got); /* beyond 2^31: the blocks add in 64 bits */
    assert_true(got[0] == (int64_t)1100 * 32767 * 127);
    float v[384], back[384];
    int8_t q[384];
    random_unit(v, 384);
    const float scale = tl_vectors_quantize(v, 384, q);
    float max = 0;
    for (int i = 0; i < 384; i++) max = fmaxf(max, fabsf(v[i]));
    double error = 0, plain_error = 0; /* the least-squares scale does no worse than max / 127 with these q */
    for (int i = 0; i < 384; i++) {
        back[i] = q[i] * scale;
        assert_true(fabsf(back[i] - v[i]) <= max / 127);
        error += (double)(back[i] - v[i]) * (back[i] - v[i]);
        plain_error += (double)(q[i] * (max / 127.5f) - v[i]) * (q[i] * (max / 127.5f) - v[i]);
    }
    assert_true(error <= plain_error);
    assert_true(fabsf(scale - max / 127.5f) < max / 127.5f * 0.01f);
}

enum { DIM = 384, COUNT = 12000 }; /* 4.6 M values: the scan runs on 2 threads */

static void reference_top(const float *vectors, const float *query, int k, int64_t *ids, double *scores) {
    double *all = malloc(COUNT * sizeof *all);
    for (int i = 0; i < COUNT; i++) {
        double ab = 0, aa = 0, bb = 0;
        for (int d = 0; d < DIM; d++) {
            ab += (double)vectors[(size_t)i * DIM + d] * query[d];
            aa += (double)vectors[(size_t)i * DIM + d] * vectors[(size_t)i * DIM + d];
            bb += (double)query[d] * query[d];
        }
        all[i] = ab / sqrt(aa * bb);
    }
    for (int r = 0; r < k; r++) {
        int best = -1;
        for (int i = 0; i < COUNT; i++)
            if (all[i] > -2 && (best < 0 || all[i] > all[best])) best = i;
        ids[r] = best + 1;
        scores[r] = all[best];
        all[best] = -3;
    }
    free(all);
}

static void test_vector_search_equals_cosine_over_every_vector(void **state) {
    (void)state;
    float *vectors = malloc((size_t)COUNT * DIM * sizeof *vectors), query[DIM];
    for (int i = 0; i < COUNT; i++) random_unit(vectors + (size_t)i * DIM, DIM);
    tl_search_db *f32 = make_db("search-f32.db", TL_VECTORS_F32, DIM, COUNT, vectors, NULL, NULL);
    tl_search_db *i8 = make_db("search-i8.db", TL_VECTORS_I8, DIM, COUNT, vectors, NULL, NULL);
    int overlap = 0, total = 0;
    for (int trial = 0; trial < 10; trial++) {
        random_unit(query, DIM);
        for (int d = 0; d < DIM; d++) query[d] += vectors[(size_t)trial * 97 * DIM + d] * 0.3f; /* near a vector */
        int64_t ids[10];
        double scores[10];
        reference_top(vectors, query, 10, ids, scores);
        double norm = 0;
        for (int d = 0; d < DIM; d++) norm += (double)query[d] * query[d];
        for (int d = 0; d < DIM; d++) query[d] /= (float)sqrt(norm); /* the search takes unit queries */
        int n = 0;
        tl_search_hit *hits = run(f32, TL_SEARCH_VECTOR, NULL, query, 10, NULL, &n);
        assert_int_equal(n, 10);
        for (int r = 0; r < 10; r++) {
            assert_int_equal(hits[r].chunk_id, ids[r]);
            assert_float_equal(hits[r].score, scores[r], 1e-4);
        }
        tl_search_hits_free(hits, n);
        hits = run(i8, TL_SEARCH_VECTOR, NULL, query, 10, NULL, &n);
        assert_int_equal(n, 10);
        for (int r = 0; r < 10; r++) {
            for (int s = 0; s < 10; s++) overlap += hits[r].chunk_id == ids[s];
            assert_float_equal(hits[r].score, scores[r], 0.02);
        }
        total += 10;
        tl_search_hits_free(hits, n);
    }
    printf("int8 vs float32 top-10 overlap: %.3f\n", (double)overlap / total);
    assert_true(overlap >= total * 9 / 10);
    tl_search_close(f32);
    tl_search_close(i8);
    drop_db("search-f32.db");
    drop_db("search-i8.db");
    free(vectors);
}

static void test_sidecar_is_rebuilt_when_truncated_damaged_or_stale(void **state) {
    (void)state;
    enum { N = 50, D = 16 };
    float vectors[N * D], query[D];
    for (int i = 0; i < N; i++) random_unit(vectors + i * D, D);
    random_unit(query, D);
    tl_search_db *db = make_db("search-side.db", TL_VECTORS_F32, D, N, vectors, NULL, NULL);
    int n0 = 0, n = 0;
    tl_search_hit *first = run(db, TL_SEARCH_VECTOR, NULL, query, 5, NULL, &n0);
    char side[4200];
    snprintf(side, sizeof side, "%s.vectors", tl_test_tmp_path("search-side.db"));
    char companion[4300];
    snprintf(companion, sizeof companion, "%s.i8", side);
    struct stat st;
    assert_int_equal(stat(companion, &st), 0);
    const off_t good_companion_size = st.st_size;
    assert_int_equal(stat(side, &st), 0);
    const off_t good_size = st.st_size;
    tl_search_close(db);
    for (int damage = 0; damage < 6; damage++) {
        if (damage == 0) assert_int_equal(truncate(side, 30), 0);            /* shorter than a header */
        if (damage == 1) assert_int_equal(truncate(side, good_size - 8), 0); /* rows missing */
        if (damage == 2) {                                                   /* not our magic */
            FILE *f = fopen(side, "r+b");
            fputs("GARBAGE!", f);
            fclose(f);
        }
        if (damage == 5) unlink(side);
        if (damage == 3) assert_int_equal(truncate(companion, good_companion_size - 4), 0); /* the int8 companion */
        if (damage == 4) {                                                                  /* made from another */
            FILE *f = fopen(companion, "r+b");
            fseek(f, 24, SEEK_SET);
            fputs("12345678", f);
            fclose(f);
        }
        tl_error err = {0};
        assert_int_equal(tl_search_open(tl_test_tmp_path("search-side.db"), false, &db, &err), TL_OK);
        tl_search_hit *hits = run(db, TL_SEARCH_VECTOR, NULL, query, 5, NULL, &n);
        assert_int_equal(n, n0);
        for (int i = 0; i < n; i++) assert_int_equal(hits[i].chunk_id, first[i].chunk_id);
        tl_search_hits_free(hits, n);
        assert_int_equal(stat(side, &st), 0);
        assert_int_equal(st.st_size, good_size);
        assert_non_null(db->map.base8);
        assert_int_equal(stat(companion, &st), 0);
        assert_int_equal(st.st_size, good_companion_size);
        if (damage == 5) { /* stale: a change in SQLite makes the mapped file's generation old */
            assert_int_equal(tl_search_exec(db, "DELETE FROM chunks WHERE id = 1", &err), TL_OK);
            assert_int_equal(tl_search_bump_generation(db, &err), TL_OK);
            hits = run(db, TL_SEARCH_VECTOR, NULL, query, N, NULL, &n);
            assert_int_equal(n, N - 1);
            for (int i = 0; i < n; i++) assert_true(hits[i].chunk_id != 1);
            tl_search_hits_free(hits, n);
        }
        tl_search_close(db);
    }
    tl_search_hits_free(first, n0);
    drop_db("search-side.db");
}

/* Whether make_db's row i (path /docs/I.txt) passes the glob (NULL: all do). */
static bool row_matches(int i, const char *glob) {
    char path[64];
    snprintf(path, sizeof path, "/docs/%d.txt", i);
    return !glob || fnmatch(glob, path, 0) == 0;
}

/* The float32 scan's answer, straightforwardly: every row's tl_dot_f32, the
 * top k by score descending then row ascending, among the rows whose path
 * matches the glob. */
static int straight_top(const float *vectors, int count, const float *query, int k, const char *glob, int64_t *ids,
                        float *scores) {
    float *all = malloc((size_t)count * sizeof *all);
    for (int i = 0; i < count; i++) all[i] = tl_dot_f32(query, vectors + (size_t)i * DIM, DIM);
    int n = 0;
    bool *taken = calloc((size_t)count, 1);
    for (; n < k; n++) {
        int best = -1;
        for (int i = 0; i < count; i++)
            if (!taken[i] && row_matches(i, glob) && (best < 0 || all[i] > all[best])) best = i;
        if (best < 0) break;
        taken[best] = true;
        ids[n] = best + 1;
        scores[n] = all[best];
    }
    free(taken);
    free(all);
    return n;
}

/* The search's top k equals straight_top's: the same ids and the same float scores, bit for bit. */
static void expect_exact(tl_search_db *db, const float *vectors, int count, const float *query, int k,
                         const char *glob) {
    int64_t *ids = malloc((size_t)k * sizeof *ids), *want_ids = malloc((size_t)k * sizeof *want_ids);
    double *scores = malloc((size_t)k * sizeof *scores);
    float *want_scores = malloc((size_t)k * sizeof *want_scores);
    const tl_search_request req = {.vector = query, .k = k, .mode = TL_SEARCH_VECTOR, .path_glob = glob};
    int n = 0;
    tl_error err = {0};
    if (tl_search_vector_top(db, &req, ids, scores, &n, &err) != TL_OK) fail_msg("%s", err.message);
    assert_non_null(db->map.base8); /* the int8 companion was scanned */
    const int want = straight_top(vectors, count, query, k, glob, want_ids, want_scores);
    assert_int_equal(n, want);
    for (int i = 0; i < n; i++) {
        assert_int_equal(ids[i], want_ids[i]);
        assert_true((float)scores[i] == want_scores[i]);
    }
    free(ids);
    free(want_ids);
    free(scores);
    free(want_scores);
}

static void test_float32_search_through_int8_bounds_equals_a_float32_scan(void **state) {
    (void)state;
    enum { N = 12000 }; /* 4.6 M values: 2 threads */
    float *vectors = malloc((size_t)N * DIM * sizeof *vectors), query[DIM];
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: random unit vectors; pass 1: adversarial: 600 distinct vectors, each 20 times (exact ties),
         * every other copy nudged by one unit in the last place of one value (near-ties) */
        for (int i = 0; i < N; i++) {
            float *v = vectors + (size_t)i * DIM;
            if (pass == 0 || i < 600) {
                random_unit(v, DIM);
                continue;
            }
            memcpy(v, vectors + (size_t)(i % 600) * DIM, DIM * sizeof *v);
            if (i % 2) v[i % DIM] = nextafterf(v[i % DIM], INFINITY);
        }
        tl_search_db *db = make_db("search-bounds.db", TL_VECTORS_F32, DIM, N, vectors, NULL, NULL);
        for (int trial = 0; trial < 6; trial++) {
            random_unit(query, DIM);
            if (trial % 2) /* near a stored vector, so the top scores stand out */
                for (int d = 0; d < DIM; d++) query[d] = query[d] * 0.3f + vectors[(size_t)(trial * 101) * DIM + d];
            double norm = 0;
            for (int d = 0; d < DIM; d++) norm += (double)query[d] * query[d];
            for (int d = 0; d < DIM; d++) query[d] /= (float)sqrt(norm);
            expect_exact(db, vectors, N, query, 10, NULL);
            expect_exact(db, vectors, N, query, trial < 2 ? 1 : 100, NULL);
            expect_exact(db, vectors, N, query, 10, "*[0369].txt"); /* rows ending in 0, 3, 6, 9 */
        }
        tl_search_close(db);
        drop_db("search-bounds.db");
    }
    /* every vector the same: every row is a candidate; k above the rows that match the filter, and above all */
    for (int i = 0; i < N; i++) memcpy(vectors + (size_t)i * DIM, vectors, DIM * sizeof *vectors);
    tl_search_db *db = make_db("search-bounds.db", TL_VECTORS_F32, DIM, 200, vectors, NULL, NULL);
    random_unit(query, DIM);
    expect_exact(db, vectors, 200, query, 50, NULL);
    expect_exact(db, vectors, 200, query, 300, NULL);
    expect_exact(db, vectors, 200, query, 30, "*/1*7.txt"); /* 17, 107, 117, ..., 197: 11 rows */
    tl_search_close(db);
    drop_db("search-bounds.db");
    free(vectors);
}

/* The hand-made corpus: vectors in 4 dimensions. */
static const char *const texts[] = {"the cat sat on the mat", "dogs chase cats in the park",
                                    "a rocket launch to the moon", "cat food and cat toys for your cat"};
static const char *const paths[] = {"/docs/cats/a.txt", "/docs/dogs/b.txt", "/docs/space/c.md", "/docs/cats/d.md"};
static const float corpus[4 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.70710678f, 0, 0, 0.70710678f};
static const float query_vector[4] = {0.6f, 0, 0.8f, 0};

/* Runs a query and checks the chunk ids of its hits, in order. */
static void expect_order(tl_search_db *db, tl_search_mode mode, const char *text, const float *vector, int k,
                         const char *glob, const int64_t *ids, int n_ids) {
    int n = 0;
    tl_search_hit *hits = run(db, mode, text, vector, k, glob, &n);
    assert_int_equal(n, n_ids);
    for (int i = 0; i < n; i++) assert_int_equal(hits[i].chunk_id, ids[i]);
    tl_search_hits_free(hits, n);
}

static void test_text_vector_and_hybrid_rankings_on_a_small_corpus(void **state) {
    (void)state;
    tl_search_db *db = make_db("search-corpus.db", TL_VECTORS_F32, 4, 4, corpus, texts, paths);
    int n = 0;
    /* BM25: three "cat" in a short text beat one; "cats" is another word */
    expect_order(db, TL_SEARCH_TEXT, "cat", NULL, 5, NULL, (const int64_t[]){4, 1}, 2);
    /* cosine: 0.8, 0.6, 0.42, 0 */
    expect_order(db, TL_SEARCH_VECTOR, NULL, query_vector, 5, NULL, (const int64_t[]){3, 1, 4, 2}, 4);
    /* fused: 4 (1/63 + 1/61) > 1 (1/62 + 1/62) > 3 (1/61) > 2 (1/64) */
    tl_search_hit *hits = run(db, TL_SEARCH_HYBRID, "cat", query_vector, 5, NULL, &n);
    assert_float_equal(hits[0].score, 1.0 / 63 + 1.0 / 61, 1e-9);
    tl_search_hits_free(hits, n);
    expect_order(db, TL_SEARCH_HYBRID, "cat", query_vector, 5, NULL, (const int64_t[]){4, 1, 3, 2}, 4);
    expect_order(db, TL_SEARCH_HYBRID, "cat", query_vector, 2, NULL, (const int64_t[]){4, 1}, 2);
    /* path filters */
    expect_order(db, TL_SEARCH_VECTOR, NULL, query_vector, 5, "*/cats/*", (const int64_t[]){1, 4}, 2);
    expect_order(db, TL_SEARCH_TEXT, "cat", NULL, 5, "*.md", (const int64_t[]){4}, 1);
    expect_order(db, TL_SEARCH_HYBRID, "cat", query_vector, 5, "/nowhere/*", NULL, 0);
    /* user text is never FTS syntax: quotes, operators, parentheses, a lone star */
    hits = run(db, TL_SEARCH_TEXT, "cat\" OR (moon NEAR -*", NULL, 5, NULL, &n);
    assert_int_equal(n, 3); /* "cat" OR "OR" OR "moon" OR "NEAR": chunks 1, 3 and 4 */
    assert_int_equal(hits[0].chunk_id + hits[1].chunk_id + hits[2].chunk_id, 8);
    for (int i = 0; i < n; i++) assert_true(hits[i].chunk_id != 2);
    tl_search_hits_free(hits, n);
    expect_order(db, TL_SEARCH_TEXT, "!!! ()", NULL, 5, NULL, NULL, 0);
    /* hits carry their source and text */
    hits = run(db, TL_SEARCH_TEXT, "rocket", NULL, 1, NULL, &n);
    assert_int_equal(n, 1);
    assert_string_equal(hits[0].path, "/docs/space/c.md");
    assert_string_equal(hits[0].text, texts[2]);
    tl_search_hits_free(hits, n);
    tl_search_close(db);
    drop_db("search-corpus.db");
}

static void test_snippets_collapse_space_and_cut_on_characters(void **state) {
    (void)state;
    char *s = tl_search_snippet("  a\n\n b\tc  ", 100);
    assert_string_equal(s, "a b c");
    free(s);
    s = tl_search_snippet("ab\xc3\xa9\xc3\xa9", 3); /* 3 bytes end inside the first é */
    assert_string_equal(s, "ab...");
    free(s);
}

static void test_files_that_are_not_search_databases_are_refused(void **state) {
    (void)state;
    tl_search_db *db = NULL;
    tl_error err = {0};
    assert_int_not_equal(tl_search_open(tl_test_tmp_path("no-such.db"), false, &db, &err), TL_OK);
    assert_non_null(strstr(err.message, "no-such.db"));
    const char *junk = tl_test_tmp_path("junk.db");
    FILE *f = fopen(junk, "wb");
    fputs("this is not SQLite, just some text that is long enough to be a header of a database file......", f);
    fclose(f);
    assert_int_equal(tl_search_open(junk, false, &db, &err), TL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "not a search database"));
    assert_null(db);
    unlink(junk);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dot_kernels_match_the_scalar_reference),
        cmocka_unit_test(test_vector_search_equals_cosine_over_every_vector),
        cmocka_unit_test(test_sidecar_is_rebuilt_when_truncated_damaged_or_stale),
        cmocka_unit_test(test_float32_search_through_int8_bounds_equals_a_float32_scan),
        cmocka_unit_test(test_text_vector_and_hybrid_rankings_on_a_small_corpus),
        cmocka_unit_test(test_snippets_collapse_space_and_cut_on_characters),
        cmocka_unit_test(test_files_that_are_not_search_databases_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
