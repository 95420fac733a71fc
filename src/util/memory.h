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
#include <stdint.h>

void *tl_big_alloc(size_t size); /* NULL on failure; zero-filled */
void tl_big_free(void *p, size_t size);

/* Many buffers carved out of one block: a layout function takes each buffer
 * from the arena in turn. Run it once with base NULL to measure the block,
 * then again on the allocation to set the pointers. */
typedef struct tl_arena {
    uint8_t *base;
    size_t used;
} tl_arena;

/* The next `bytes` of the arena, 64-byte (cache line) aligned; NULL while measuring. */
void *tl_arena_take(tl_arena *a, size_t bytes);

#endif /* TL_MEMORY_H */
