/*
 * memory.c — see memory.h.
 */
#include "util/memory.h"

#include <stdlib.h>
#include <sys/mman.h>

void *tl_big_alloc(size_t size) {
    if (size == 0) size = 1;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
    madvise(p, size, MADV_POPULATE_WRITE);
#endif
    return p;
}

void tl_big_free(void *p, size_t size) {
    if (p) munmap(p, size ? size : 1);
}

void *tl_arena_take(tl_arena *a, size_t bytes) {
    const size_t offset = (a->used + 63) & ~(size_t)63;
    a->used = offset + bytes;
    return a->base ? a->base + offset : NULL;
}
