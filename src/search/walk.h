/*
 * walk.h — the files under the paths given to `index`: folders walked
 * recursively (hidden entries and symbolic links to folders skipped), each
 * file with its absolute path, size and modification time, sorted by path.
 */
#ifndef TL_SEARCH_WALK_H
#define TL_SEARCH_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

typedef struct tl_walk_file {
    char *path; /* absolute */
    int64_t size, mtime_ns;
} tl_walk_file;

typedef struct tl_walk {
    tl_walk_file *files;
    size_t n, cap;
    char **roots; /* the given paths, absolute */
    size_t n_roots;
    int64_t unreadable; /* folders inside the roots that could not be read */
} tl_walk;

/* A path that does not exist or cannot be read is an error naming it. */
tl_status tl_walk_paths(const char *const *paths, int n_paths, tl_walk *out, tl_error *err);
void tl_walk_free(tl_walk *w);
/* Is path (absolute) one of the roots or under one of them? */
int tl_walk_covers(const tl_walk *w, const char *path);

#endif /* TL_SEARCH_WALK_H */
