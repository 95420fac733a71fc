/*
 * test_support.h — helpers shared by the unit tests: where the shared data
 * lives, scratch files, reading whole files, and the cmocka includes.
 */
#ifndef TL_TEST_SUPPORT_H
#define TL_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

/* The shared data directory: $TINYLLM_SHARED, else ../shared beside the
 * source tree. */
const char *tl_test_shared_dir(void);
/* "<shared>/<relative>" in a static buffer rotated over 8 slots. */
const char *tl_test_shared_path(const char *relative);
/* "<source>/<relative>" likewise. */
const char *tl_test_source_path(const char *relative);
/* True if the shared file exists; otherwise prints a skip notice. */
bool tl_test_have_shared(const char *relative);
/* A fresh path for a scratch file named `name` under the test's temp dir. */
const char *tl_test_tmp_path(const char *name);
/* Read a whole file; returns a malloc'd NUL-terminated buffer or NULL. */
char *tl_test_read_file(const char *path, size_t *len);
/* Write a buffer to a file; returns false on failure. */
bool tl_test_write_file(const char *path, const void *data, size_t len);
/* Write `head`, then extend the file with a hole to `size` bytes (zeros that
 * take no disk space): hostile files that claim gigabytes. */
bool tl_test_write_sparse(const char *path, const void *head, size_t head_len, uint64_t size);
/* The factor for the tests' time limits and deadlines: $TL_TIME_SCALE (a
 * positive number, e.g. set by CTest for builds under qemu or ThreadSanitizer),
 * else 1. */
double tl_test_time_scale(void);

/* Whether the kernels in use quantize activations as llama.cpp does on x86,
 * where the llama.cpp references were made: the x86 levels use ggml's x86
 * activation quantizer (127/amax, rounded half to even), the scalar and NEON
 * levels ggml's reference one (1/d with roundf, as llama.cpp on ARM). A
 * quantized model's outputs then differ from the reference by more than
 * float rounding now and then. */
bool tl_test_x86_activations(void);

/* ---- deterministic random data (xorshift64*: the same on every platform) */
void tl_test_rng_seed(uint64_t seed);
uint32_t tl_test_rng_next(void);
float tl_test_rng_uniform(void); /* in [-1, 1) */
/* Roughly normal values times scale, with an occasional 8x outlier, like
 * real weights and activations. */
void tl_test_fill_random(float *x, int64_t n, float scale);
#define rng_seed tl_test_rng_seed
#define rng_next tl_test_rng_next
#define rng_uniform tl_test_rng_uniform
#define fill_random tl_test_fill_random
#endif
