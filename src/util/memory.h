/*
 * memory.h — large working buffers (KV cache, scratch arenas).
 *
 * tl_big_alloc maps zeroed anonymous memory, asks for transparent huge pages
 * and populates it at once: a context pays for its memory when it is
 * created, in one system call, instead of one page fault per 4 KiB page
 * during the first tokens (which costs ~10 µs each on some VMs).
 */
#ifndef TL_MEMORY_H
#define TL_MEMORY_H

#include <stddef.h>

void *tl_big_alloc(size_t size); /* NULL on failure; zero-filled */
void tl_big_free(void *p, size_t size);

#endif /* TL_MEMORY_H */
