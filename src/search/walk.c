/*
 * walk.c — collecting the files to index (walk.h).
 */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buffer.h"
#include "util/error.h"

static int64_t mtime_ns(const struct stat *st) {
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + (int64_t)st->st_mtim.tv_nsec;
}

static tl_status add_file(tl_walk *w, const char *path, const struct stat *st, tl_error *err) {
    tl_walk_file *grown = tl_grow(w->files, &w->cap, w->n + 1, sizeof *grown, 64);
    char *copy = strdup(path);
    if (!grown || !copy) {
        free(copy);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    w->files = grown;
    w->files[w->n++] = (tl_walk_file){.path = copy, .size = st->st_size, .mtime_ns = mtime_ns(st)};
    return TL_OK;
}

static tl_status walk_dir(tl_walk *w, const char *dir, tl_error *err) {
    DIR *d = opendir(dir);
    if (!d) {
        w->unreadable++;
        return TL_OK;
    }
    tl_status st = TL_OK;
    struct dirent *e;
    while (st == TL_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ., .., .git, .cache ... */
        const size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(n);
        if (!path) {
            st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(path, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode) && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            /* a link to a folder: not followed (no loops) */
        } else if (stat(path, &sb) != 0) {
            w->unreadable++;
        } else if (S_ISDIR(sb.st_mode)) {
            st = walk_dir(w, path, err);
        } else if (S_ISREG(sb.st_mode)) {
            st = add_file(w, path, &sb, err);
        }
        free(path);
    }
    closedir(d);
    return st;
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const tl_walk_file *)a)->path, ((const tl_walk_file *)b)->path);
}

tl_status tl_walk_paths(const char *const *paths, int n_paths, tl_walk *out, tl_error *err) {
    *out = (tl_walk){0};
    if (!(out->roots = calloc((size_t)(n_paths > 0 ? n_paths : 1), sizeof *out->roots)))
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n_paths; i++) {
        struct stat sb;
        char *abs = realpath(paths[i], NULL);
        if (!abs || stat(abs, &sb) != 0) {
            free(abs);
            tl_walk_free(out);
            return tl_fail(err, TL_ERR_IO, "%s: %s", paths[i], strerror(errno));
        }
        out->roots[out->n_roots++] = abs;
        tl_status st;
        if (S_ISDIR(sb.st_mode)) {
            DIR *probe = opendir(abs);
            if (!probe) {
                tl_walk_free(out);
                return tl_fail(err, TL_ERR_IO, "%s: %s", paths[i], strerror(errno));
            }
            closedir(probe);
            st = walk_dir(out, abs, err);
        } else if (S_ISREG(sb.st_mode)) {
            FILE *probe = fopen(abs, "rb");
            if (!probe) {
                tl_walk_free(out);
                return tl_fail(err, TL_ERR_IO, "%s: %s", paths[i], strerror(errno));
            }
            fclose(probe);
            st = add_file(out, abs, &sb, err);
        } else {
            tl_walk_free(out);
            return tl_fail(err, TL_ERR_IO, "%s: not a file or folder", paths[i]);
        }
        if (st != TL_OK) {
            tl_walk_free(out);
            return st;
        }
    }
    if (out->n) qsort(out->files, out->n, sizeof *out->files, by_path);
    size_t kept = 0; /* a file under two given roots once */
    for (size_t i = 0; i < out->n; i++) {
        if (kept && strcmp(out->files[kept - 1].path, out->files[i].path) == 0) {
            free(out->files[i].path);
            continue;
        }
        out->files[kept++] = out->files[i];
    }
    out->n = kept;
    return TL_OK;
}

void tl_walk_free(tl_walk *w) {
    for (size_t i = 0; i < w->n; i++) free(w->files[i].path);
    for (size_t i = 0; i < w->n_roots; i++) free(w->roots[i]);
    free(w->files);
    free(w->roots);
    *w = (tl_walk){0};
}

int tl_walk_covers(const tl_walk *w, const char *path) {
    for (size_t i = 0; i < w->n_roots; i++) {
        const size_t n = strlen(w->roots[i]);
        if (strncmp(path, w->roots[i], n) == 0 && (path[n] == 0 || path[n] == '/' || w->roots[i][n - 1] == '/'))
            return 1;
    }
    return 0;
}
