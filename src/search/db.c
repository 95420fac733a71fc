/*
 * db.c — the search database's SQLite file: opening it (refusing files that
 * are not one), the schema, the meta table (format, model, generation).
 *
 * Schema: sources (one row per file), chunks (text, offsets, lines, vector
 * blob; ON DELETE CASCADE from sources), chunks_fts (an FTS5 index over
 * chunks.text kept by triggers) and meta (key/value). The generation counts
 * changes to the chunks; the vector sidecar (vectors.c) records the
 * generation it was built from, so a stale one is noticed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "search_internal.h"
#include "util/error.h"

#define FORMAT "tinyllm-search 1"

static const char schema[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE sources(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
    " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, hash TEXT NOT NULL, n_chunks INTEGER NOT NULL);"
    "CREATE TABLE chunks(id INTEGER PRIMARY KEY,"
    " source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
    " start_byte INTEGER NOT NULL, end_byte INTEGER NOT NULL, first_line INTEGER NOT NULL,"
    " last_line INTEGER NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL, scale REAL NOT NULL DEFAULT 1);"
    "CREATE INDEX chunks_source ON chunks(source_id);"
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN"
    " INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text); END;"
    "CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN"
    " INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END;"
    "INSERT INTO meta VALUES ('format', '" FORMAT "'), ('generation', '0');";

tl_status tl_search_sql_error(tl_search_db *db, tl_error *err, const char *what) {
    const int code = sqlite3_errcode(db->sql);
    return tl_fail(err, code == SQLITE_NOMEM ? TL_ERR_NOMEM : TL_ERR_IO, "%s: %s: %s", db->path, what,
                   sqlite3_errmsg(db->sql));
}

tl_status tl_search_exec(tl_search_db *db, const char *sql, tl_error *err) {
    char *message = NULL;
    if (sqlite3_exec(db->sql, sql, NULL, NULL, &message) != SQLITE_OK) {
        tl_status st = tl_fail(err, TL_ERR_IO, "%s: %s", db->path, message ? message : "SQLite error");
        sqlite3_free(message);
        return st;
    }
    return TL_OK;
}

tl_status tl_search_meta_get(tl_search_db *db, const char *key, char **value, tl_error *err) {
    *value = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->sql, "SELECT value FROM meta WHERE key = ?", -1, &q, NULL) != SQLITE_OK)
        return tl_search_sql_error(db, err, "reading meta");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    tl_status st = TL_OK;
    const int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        if (!(*value = strdup((const char *)sqlite3_column_text(q, 0))))
            st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    } else if (rc != SQLITE_DONE) {
        st = tl_search_sql_error(db, err, "reading meta");
    }
    sqlite3_finalize(q);
    return st;
}

tl_status tl_search_meta_set(tl_search_db *db, const char *key, const char *value, tl_error *err) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->sql, "INSERT OR REPLACE INTO meta VALUES (?, ?)", -1, &q, NULL) != SQLITE_OK)
        return tl_search_sql_error(db, err, "writing meta");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    const int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? TL_OK : tl_search_sql_error(db, err, "writing meta");
}

int64_t tl_search_generation(tl_search_db *db) {
    char *value = NULL;
    if (tl_search_meta_get(db, "generation", &value, NULL) != TL_OK || !value) return -1;
    const int64_t g = strtoll(value, NULL, 10);
    free(value);
    return g;
}

tl_status tl_search_bump_generation(tl_search_db *db, tl_error *err) {
    return tl_search_exec(db, "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'", err);
}

/* Is the file there and not an SQLite database with our format? */
static tl_status check_format(tl_search_db *db, bool create, tl_error *err) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(db->sql, "SELECT count(*) FROM sqlite_master", -1, &q, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(q);
        return tl_fail(err, TL_ERR_FORMAT, "%s: not a search database (%s)", db->path, sqlite3_errmsg(db->sql));
    }
    const int64_t n_tables = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (n_tables == 0) {
        if (!create) return tl_fail(err, TL_ERR_FORMAT, "%s: an empty database (run tinyllm index first)", db->path);
        return tl_search_exec(db, "BEGIN IMMEDIATE;", err) != TL_OK || tl_search_exec(db, schema, err) != TL_OK ||
                       tl_search_exec(db, "COMMIT;", err) != TL_OK
                   ? TL_ERR_IO
                   : TL_OK;
    }
    char *format = NULL;
    tl_error ignored;
    tl_search_meta_get(db, "format", &format, &ignored);
    const bool ours = format && strcmp(format, FORMAT) == 0;
    free(format);
    if (!ours)
        return tl_fail(err, TL_ERR_FORMAT, "%s: an SQLite database, but not a tinyllm search database", db->path);
    return TL_OK;
}

tl_status tl_search_open(const char *path, bool create, tl_search_db **out, tl_error *err) {
    *out = NULL;
    struct stat sb;
    if (!create && stat(path, &sb) != 0)
        return tl_fail(err, TL_ERR_IO, "%s: %s (make it with tinyllm index)", path, strerror(errno));
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) return tl_fail(err, TL_ERR_IO, "%s: not a file", path);
    tl_search_db *db = calloc(1, sizeof *db);
    const size_t n = strlen(path) + sizeof ".vectors";
    if (!db || !(db->path = strdup(path)) || !(db->vectors_path = malloc(n))) {
        tl_search_close(db);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    snprintf(db->vectors_path, n, "%s.vectors", path);
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &db->sql, flags, NULL) != SQLITE_OK) {
        tl_status st = tl_fail(err, TL_ERR_IO, "%s: %s", path, db->sql ? sqlite3_errmsg(db->sql) : "cannot open");
        tl_search_close(db);
        return st;
    }
    sqlite3_busy_timeout(db->sql, 10000);
    tl_status st = check_format(db, create, err);
    if (st == TL_OK)
        st = tl_search_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                            err);
    if (st != TL_OK) {
        tl_search_close(db);
        return st;
    }
    *out = db;
    return TL_OK;
}

void tl_search_close(tl_search_db *db) {
    if (!db) return;
    tl_vectors_unmap(&db->map);
    sqlite3_close(db->sql);
    free(db->path);
    free(db->vectors_path);
    free(db);
}

/* ---- the model ----------------------------------------------------------- */

static const char *const model_keys[] = {"model", "dim", "pooling", "vector_type", "probe", "normalize"};

tl_status tl_search_get_model(tl_search_db *db, tl_search_model *model, bool *has, tl_error *err) {
    *model = (tl_search_model){.normalize = true};
    *has = false;
    char *values[6] = {0};
    tl_status st = TL_OK;
    for (int i = 0; i < 6 && st == TL_OK; i++) st = tl_search_meta_get(db, model_keys[i], &values[i], err);
    if (st == TL_OK && values[0]) {
        bool ok = values[1] && values[2] && values[3] && values[4];
        if (ok) {
            snprintf(model->name, sizeof model->name, "%s", values[0]);
            model->dim = (uint32_t)strtoul(values[1], NULL, 10);
            model->pooling = (int32_t)strtol(values[2], NULL, 10);
            model->type = strcmp(values[3], "int8") == 0 ? TL_VECTORS_I8 : TL_VECTORS_F32;
            char *p = values[4];
            for (int i = 0; i < 8; i++) model->probe[i] = strtof(p, &p);
            model->normalize = !values[5] || strcmp(values[5], "0") != 0;
            ok = model->dim > 0 && model->dim <= 65536;
        }
        if (ok)
            *has = true;
        else
            st = tl_fail(err, TL_ERR_FORMAT, "%s: the embedding model's description is damaged", db->path);
    }
    for (int i = 0; i < 6; i++) free(values[i]);
    return st;
}

tl_status tl_search_set_model(tl_search_db *db, const tl_search_model *model, tl_error *err) {
    char values[6][300];
    snprintf(values[0], sizeof values[0], "%s", model->name);
    snprintf(values[1], sizeof values[1], "%u", model->dim);
    snprintf(values[2], sizeof values[2], "%d", model->pooling);
    snprintf(values[3], sizeof values[3], "%s", model->type == TL_VECTORS_I8 ? "int8" : "float32");
    values[4][0] = 0;
    for (int i = 0; i < 8; i++)
        snprintf(values[4] + strlen(values[4]), sizeof values[4] - strlen(values[4]), "%s%.9g", i ? " " : "",
                 (double)model->probe[i]);
    snprintf(values[5], sizeof values[5], "%d", model->normalize ? 1 : 0);
    for (int i = 0; i < 6; i++) TL_TRY(tl_search_meta_set(db, model_keys[i], values[i], err));
    return TL_OK;
}
