/*
 * index.c — `tinyllm index`'s work: files in, chunks and vectors out.
 *
 * 1. The model is checked against the database's (or recorded in a new one).
 * 2. The paths are walked (walk.c); files whose size and mtime match their
 *    row are unchanged; sources under the paths that are gone are removed.
 * 3. Each other file is read, hashed (same content: only its row's size and
 *    mtime change), extracted (extract.c), chunked (chunk.c) and embedded
 *    (BATCH_CHUNKS chunks at a time, several per forward pass);
 *    then its old chunks are replaced by the new ones in one transaction,
 *    which bumps the generation. A stop request or a kill between files
 *    loses at most the file in progress, and a re-run picks it up.
 * 4. The vector sidecar is rebuilt (vectors.c) so the first search is fast.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "extract.h"
#include "search_internal.h"
#include "util/error.h"
#include "walk.h"

/* Chunks of a file embedded together: tl_embed_batch packs as many as fit
 * the context's batch into each forward pass. */
#define BATCH_CHUNKS 32

/* The chunker's token counter over the model's tokenizer (no special
 * tokens; tl_tokenize_prompt stops once past the limit). */
typedef struct counter {
    const tl_model *model;
    tl_token *tokens;
    int32_t cap;
} counter;

static int32_t count_tokens(void *user, const char *text, size_t len, int32_t limit) {
    counter *c = user;
    if (len == 0) return 0;
    if (limit + 1 > c->cap) {
        tl_token *grown = realloc(c->tokens, (size_t)(limit + 1) * sizeof *grown);
        if (!grown) return -1;
        c->tokens = grown;
        c->cap = limit + 1;
    }
    int32_t n = 0;
    tl_error err;
    const tl_status st = tl_tokenize_prompt(c->model, text, len, false, false, c->tokens, limit, &n, &err);
    return st == TL_OK ? n : st == TL_ERR_CONTEXT_FULL ? limit + 1 : -1;
}

/* What is known of a source row. */
typedef struct source_row {
    int64_t id, size, mtime_ns;
    char hash[65];
} source_row;

static tl_status find_source(tl_search_db *db, const char *path, source_row *row, bool *found, tl_error *err) {
    *found = false;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT id, size, mtime_ns, hash FROM sources WHERE path = ?", -1, &q, NULL) !=
        SQLITE_OK)
        return tl_search_sql_error(db, err, "reading sources");
    sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
    const int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *found = true;
        row->id = sqlite3_column_int64(q, 0);
        row->size = sqlite3_column_int64(q, 1);
        row->mtime_ns = sqlite3_column_int64(q, 2);
        snprintf(row->hash, sizeof row->hash, "%s", (const char *)sqlite3_column_text(q, 3));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? TL_OK : tl_search_sql_error(db, err, "reading sources");
}

static tl_status exec_bound(tl_search_db *db, const char *sql, int64_t a, int64_t b, int64_t c, tl_error *err) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->sql, sql, -1, &q, NULL) != SQLITE_OK) return tl_search_sql_error(db, err, sql);
    const int n = sqlite3_bind_parameter_count(q);
    if (n >= 1) sqlite3_bind_int64(q, 1, a);
    if (n >= 2) sqlite3_bind_int64(q, 2, b);
    if (n >= 3) sqlite3_bind_int64(q, 3, c);
    const int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? TL_OK : tl_search_sql_error(db, err, sql);
}

/* Removes a source and its chunks (the caller's transaction). */
static tl_status delete_source(tl_search_db *db, int64_t id, tl_error *err) {
    TL_TRY(exec_bound(db, "DELETE FROM chunks WHERE source_id = ?", id, 0, 0, err));
    TL_TRY(exec_bound(db, "DELETE FROM sources WHERE id = ?", id, 0, 0, err));
    return tl_search_bump_generation(db, err);
}

/* Ends the transaction the caller began: COMMIT after a body that succeeded, else ROLLBACK. */
static tl_status in_transaction(tl_search_db *db, tl_status st_of_body, tl_error *err) {
    if (st_of_body != TL_OK) {
        tl_search_exec(db, "ROLLBACK", NULL);
        return st_of_body;
    }
    return tl_search_exec(db, "COMMIT", err);
}

/* Sources under the walked roots whose file is gone: removed. */
static tl_status remove_missing(tl_search_db *db, const tl_walk *w, tl_index_counts *counts, tl_error *err) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT id, path FROM sources ORDER BY id", -1, &q, NULL) != SQLITE_OK)
        return tl_search_sql_error(db, err, "reading sources");
    int64_t *gone = NULL;
    size_t n_gone = 0, cap = 0;
    tl_status st = TL_OK;
    while (st == TL_OK && sqlite3_step(q) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(q, 1);
        if (!tl_walk_covers(w, path)) continue;
        tl_walk_file key = {.path = (char *)path};
        bool present = false;
        for (size_t lo = 0, hi = w->n; lo < hi && !present;) { /* binary search in the sorted walk */
            const size_t mid = lo + (hi - lo) / 2;
            const int c = strcmp(key.path, w->files[mid].path);
            if (c == 0) present = true;
            if (c < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        if (present) continue;
        if (n_gone == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *grown = realloc(gone, cap * sizeof *grown);
            if (!grown)
                st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
            else
                gone = grown;
        }
        if (st == TL_OK) gone[n_gone++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    for (size_t i = 0; i < n_gone && st == TL_OK; i++) {
        TL_TRY(tl_search_exec(db, "BEGIN IMMEDIATE", err));
        st = in_transaction(db, delete_source(db, gone[i], err), err);
        if (st == TL_OK) counts->removed++;
    }
    free(gone);
    return st;
}

static void sha256_hex(const char *data, size_t len, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n && i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const char *kind_name(tl_doc_kind kind) {
    return kind == TL_DOC_HTML ? "html" : kind == TL_DOC_SOURCE ? "source" : "text";
}

/* A chunk's text to store and embed: HTML's blanked runs collapsed. */
static char *chunk_text(const char *text, size_t start, size_t end, bool collapse) {
    char *out = malloc(end - start + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = start; i < end; i++) {
        if (collapse && (text[i] == ' ' || text[i] == '\t') && o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\n'))
            continue;
        out[o++] = text[i];
    }
    out[o] = 0;
    return out;
}

typedef struct indexer {
    tl_search_db *db;
    const tl_index_params *params;
    tl_search_model model;
    counter counter;
    int32_t chunk_tokens;
    float *vectors; /* BATCH_CHUNKS vectors */
    int8_t *quantized;
    tl_index_progress progress;
    double t0;
    sqlite3_stmt *insert_chunk;
} indexer;

static void report(indexer *ix, const char *path) {
    if (!ix->params->progress) return;
    ix->progress.path = path;
    ix->progress.elapsed_ms = tl_time_ms() - ix->t0;
    ix->params->progress(ix->params->user, &ix->progress);
}

/* One chunk and its vector, bound to the insert statement and stored. */
static tl_status store_chunk(indexer *ix, int64_t source_id, int64_t seq, const tl_chunk *c, const char *text,
                             const float *vector, tl_error *err) {
    sqlite3_stmt *q = ix->insert_chunk;
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, source_id);
    sqlite3_bind_int64(q, 2, seq);
    sqlite3_bind_int64(q, 3, (int64_t)c->start);
    sqlite3_bind_int64(q, 4, (int64_t)c->end);
    sqlite3_bind_int64(q, 5, c->first_line);
    sqlite3_bind_int64(q, 6, c->last_line);
    sqlite3_bind_text(q, 7, text, -1, SQLITE_STATIC);
    if (ix->model.type == TL_VECTORS_I8) {
        const float scale = tl_vectors_quantize(vector, ix->model.dim, ix->quantized);
        sqlite3_bind_blob(q, 8, ix->quantized, (int)ix->model.dim, SQLITE_STATIC);
        sqlite3_bind_double(q, 9, scale);
    } else {
        sqlite3_bind_blob(q, 8, vector, (int)(ix->model.dim * sizeof(float)), SQLITE_STATIC);
        sqlite3_bind_double(q, 9, 1.0);
    }
    return sqlite3_step(q) == SQLITE_DONE ? TL_OK : tl_search_sql_error(ix->db, err, "storing a chunk");
}

/* n chunks of a file, numbered from seq, embedded together and stored. */
static tl_status store_batch(indexer *ix, int64_t source_id, int64_t seq, const tl_chunk *chunks, char *const *pieces,
                             int n, const char *path, tl_error *err) {
    TL_TRY(tl_search_embed_batch(ix->params->ctx, ix->params->model, (tl_pooling)ix->model.pooling,
                                 (const char *const *)pieces, n, ix->vectors, err));
    for (int i = 0; i < n; i++) {
        TL_TRY(
            store_chunk(ix, source_id, seq + i, &chunks[i], pieces[i], ix->vectors + (size_t)i * ix->model.dim, err));
        ix->progress.chunks_done++;
        report(ix, path);
    }
    return TL_OK;
}

/* The body of one file's transaction: old chunks out, the source row and
 * every chunk (embedded here) in. *stopped when asked to stop midway. */
static tl_status replace_chunks(indexer *ix, const tl_walk_file *f, tl_doc_kind kind, const char *hash,
                                const source_row *old, bool had, const char *text, size_t len, int64_t *n_chunks,
                                bool *stopped, tl_error *err) {
    if (had) TL_TRY(delete_source(ix->db, old->id, err));
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(ix->db->sql,
                           "INSERT INTO sources (path, kind, size, mtime_ns, hash, n_chunks) VALUES (?, ?, ?, ?, ?, 0)",
                           -1, &q, NULL) != SQLITE_OK)
        return tl_search_sql_error(ix->db, err, "storing a source");
    sqlite3_bind_text(q, 1, f->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, kind_name(kind), -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, f->size);
    sqlite3_bind_int64(q, 4, f->mtime_ns);
    sqlite3_bind_text(q, 5, hash, -1, SQLITE_STATIC);
    const int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return tl_search_sql_error(ix->db, err, "storing a source");
    const int64_t source_id = sqlite3_last_insert_rowid(ix->db->sql);

    tl_chunker chunker;
    tl_chunker_init(&chunker, text, len, ix->chunk_tokens, ix->params->overlap, count_tokens, &ix->counter);
    tl_chunk chunks[BATCH_CHUNKS];
    char *pieces[BATCH_CHUNKS];
    int n = 0, more = 1;
    tl_status st = TL_OK;
    *n_chunks = 0;
    while (st == TL_OK && more == 1) {
        if (ix->params->stop && *ix->params->stop) {
            *stopped = true;
            st = TL_ERR_ARGUMENT; /* rolled back: the file is done again next time */
            break;
        }
        if ((more = tl_chunker_next(&chunker, &chunks[n])) == 1) {
            if (!(pieces[n] = chunk_text(text, chunks[n].start, chunks[n].end, kind == TL_DOC_HTML))) {
                st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
                break;
            }
            n++;
        }
        if (n == BATCH_CHUNKS || (more != 1 && n > 0)) {
            st = store_batch(ix, source_id, *n_chunks, chunks, pieces, n, f->path, err);
            *n_chunks += n;
            while (n > 0) free(pieces[--n]);
        }
    }
    while (n > 0) free(pieces[--n]);
    if (st != TL_OK) return st;
    if (more < 0) return tl_fail(err, TL_ERR_ARGUMENT, "%s: could not be tokenized", f->path);
    TL_TRY(exec_bound(ix->db, "UPDATE sources SET n_chunks = ? WHERE id = ?", *n_chunks, source_id, 0, err));
    return tl_search_bump_generation(ix->db, err);
}

/* One changed or new file. */
static tl_status index_file(indexer *ix, const tl_walk_file *f, tl_doc_kind kind, const source_row *old, bool had,
                            tl_index_counts *counts, bool *stopped, tl_error *err) {
    FILE *fp = fopen(f->path, "rb");
    char *text = fp ? malloc((size_t)f->size + 1) : NULL;
    size_t len = text ? fread(text, 1, (size_t)f->size, fp) : 0;
    const bool read_ok = fp && text && !ferror(fp);
    if (fp) fclose(fp);
    if (fp && !text) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (!read_ok) {
        free(text);
        counts->skipped_unreadable++;
        return TL_OK;
    }
    text[len] = 0;
    if (tl_doc_is_binary(text, len)) {
        free(text);
        counts->skipped_binary++;
        return TL_OK;
    }
    char hash[65] = "";
    sha256_hex(text, len, hash);
    tl_status st = TL_OK;
    if (had && strcmp(hash, old->hash) == 0) { /* touched, not changed */
        st = exec_bound(ix->db, "UPDATE sources SET size = ?, mtime_ns = ? WHERE id = ?", f->size, f->mtime_ns, old->id,
                        err);
        if (st == TL_OK) counts->unchanged++;
        free(text);
        return st;
    }
    if (kind == TL_DOC_HTML) tl_doc_strip_html(text, len);
    int64_t n_chunks = 0;
    TL_TRY(tl_search_exec(ix->db, "BEGIN IMMEDIATE", err));
    st = in_transaction(ix->db, replace_chunks(ix, f, kind, hash, old, had, text, len, &n_chunks, stopped, err), err);
    free(text);
    if (*stopped) return TL_OK;
    if (st != TL_OK) return st;
    if (n_chunks == 0)
        counts->skipped_empty++;
    else
        counts->indexed++;
    counts->chunks += n_chunks;
    return TL_OK;
}

/* The model: the database's must be this one; a new database records it. */
static tl_status check_model(indexer *ix, tl_error *err) {
    const tl_index_params *p = ix->params;
    TL_TRY(tl_search_describe_model(p->ctx, p->model, p->model_name, p->quantize ? TL_VECTORS_I8 : TL_VECTORS_F32,
                                    &ix->model, err));
    tl_search_model have;
    bool has;
    TL_TRY(tl_search_get_model(ix->db, &have, &has, err));
    if (!has) {
        TL_TRY(tl_search_exec(ix->db, "BEGIN IMMEDIATE", err));
        return in_transaction(ix->db, tl_search_set_model(ix->db, &ix->model, err), err);
    }
    char why[200];
    if (!tl_search_same_model(&have, &ix->model, why, sizeof why))
        return tl_fail(err, TL_ERR_ARGUMENT, "%s was indexed with %s, not %s: %s (use that model or another database)",
                       ix->db->path, have.name, p->model_name, why);
    if (p->quantize && have.type != TL_VECTORS_I8)
        return tl_fail(err, TL_ERR_ARGUMENT, "%s stores float32 vectors: --quantize-vectors applies to a new database",
                       ix->db->path);
    ix->model.type = have.type;
    return TL_OK;
}

tl_status tl_search_index(tl_search_db *db, const tl_index_params *params, const char *const *paths, int n_paths,
                          tl_index_counts *counts, bool *stopped, tl_error *err) {
    *counts = (tl_index_counts){0};
    *stopped = false;
    if (params->chunk_tokens < 1) return tl_fail(err, TL_ERR_ARGUMENT, "the chunk size must be at least 1 token");
    if (params->overlap < 0) return tl_fail(err, TL_ERR_ARGUMENT, "the overlap cannot be negative");
    indexer ix = {.db = db, .params = params, .counter = {.model = params->model}, .t0 = tl_time_ms()};
    TL_TRY(check_model(&ix, err));
    /* room for the special tokens ([CLS], [SEP]) in the context */
    tl_token specials[8];
    int32_t n_specials = tl_tokenize(params->model, "", 0, true, false, specials, 8);
    if (n_specials < 0) n_specials = 8;
    const int32_t room = (int32_t)tl_context_size(params->ctx) - n_specials;
    ix.chunk_tokens = params->chunk_tokens < room ? params->chunk_tokens : room;
    if (ix.chunk_tokens < 1) return tl_fail(err, TL_ERR_ARGUMENT, "the model's context is too small to embed chunks");

    tl_walk w;
    TL_TRY(tl_walk_paths(paths, n_paths, &w, err));
    counts->skipped_unreadable = w.unreadable;
    tl_status st = remove_missing(db, &w, counts, err);
    ix.vectors = malloc((size_t)BATCH_CHUNKS * ix.model.dim * sizeof *ix.vectors);
    ix.quantized = malloc(ix.model.dim);
    if (st == TL_OK && (!ix.vectors || !ix.quantized)) st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (st == TL_OK &&
        sqlite3_prepare_v2(db->sql,
                           "INSERT INTO chunks (source_id, seq, start_byte, end_byte, first_line, last_line, text,"
                           " vector, scale) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &ix.insert_chunk, NULL) != SQLITE_OK)
        st = tl_search_sql_error(db, err, "storing chunks");

    /* which files need work: kind, then size and mtime against their row */
    unsigned char *todo = calloc(w.n ? w.n : 1, 1);
    if (st == TL_OK && !todo) st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    ix.progress.files_total = (int64_t)w.n;
    for (size_t i = 0; i < w.n && st == TL_OK; i++) {
        const tl_doc_kind kind = tl_doc_kind_of(w.files[i].path);
        if (kind == TL_DOC_PDF || kind == TL_DOC_OTHER) continue;
        source_row row;
        bool had;
        st = find_source(db, w.files[i].path, &row, &had, err);
        if (had && row.size == w.files[i].size && row.mtime_ns == w.files[i].mtime_ns) continue;
        todo[i] = 1;
        ix.progress.bytes_total += w.files[i].size;
    }
    for (size_t i = 0; i < w.n && st == TL_OK && !*stopped; i++) {
        const tl_walk_file *f = &w.files[i];
        const tl_doc_kind kind = tl_doc_kind_of(f->path);
        if (kind == TL_DOC_PDF) {
            counts->skipped_pdf++;
        } else if (kind == TL_DOC_OTHER) {
            counts->skipped_other++;
        } else if (!todo[i]) {
            counts->unchanged++;
        } else {
            source_row row;
            bool had;
            st = find_source(db, f->path, &row, &had, err);
            if (st == TL_OK) st = index_file(&ix, f, kind, &row, had, counts, stopped, err);
            ix.progress.bytes_done += f->size;
        }
        ix.progress.files_done++;
        report(&ix, f->path);
    }
    free(todo);
    sqlite3_finalize(ix.insert_chunk);
    free(ix.vectors);
    free(ix.quantized);
    free(ix.counter.tokens);
    tl_walk_free(&w);
    if (st == TL_OK && !*stopped) st = tl_vectors_map(db, err); /* the sidecar, ready for searches */
    return st;
}
