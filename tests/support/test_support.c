/*
 * test_support.c — locating shared data and scratch files for the tests.
 */
#include "test_support.h"

#include "tensor/kernels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tl_test_shared_dir(void) {
    const char *env = getenv("TINYLLM_SHARED");
    return (env && *env) ? env : TL_DEFAULT_SHARED_DIR;
}

static char *next_slot(void) {
    static char slots[8][4096];
    static int next;
    return slots[next++ & 7];
}

const char *tl_test_shared_path(const char *relative) {
    char *buf = next_slot();
    snprintf(buf, 4096, "%s/%s", tl_test_shared_dir(), relative);
    return buf;
}

const char *tl_test_source_path(const char *relative) {
    char *buf = next_slot();
    snprintf(buf, 4096, "%s/%s", TL_SOURCE_DIR, relative);
    return buf;
}

bool tl_test_have_shared(const char *relative) {
    const char *path = tl_test_shared_path(relative);
    if (access(path, R_OK) == 0) return true;
    fprintf(stderr, "skipped: %s is not there (set TINYLLM_SHARED)\n", path);
    return false;
}

const char *tl_test_tmp_path(const char *name) {
    const char *dir = getenv("TL_TEST_TMP");
    if (!dir || !*dir) dir = "/tmp";
    mkdir(dir, 0777);
    char *buf = next_slot();
    snprintf(buf, 4096, "%s/%d-%s", dir, (int)getpid(), name);
    return buf;
}

char *tl_test_read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, fp) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[size] = 0;
        if (len) *len = (size_t)size;
    }
    return buf;
}

bool tl_test_write_file(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return false;
    bool ok = fwrite(data, 1, len, fp) == len;
    return fclose(fp) == 0 && ok;
}

bool tl_test_write_sparse(const char *path, const void *head, size_t head_len, uint64_t size) {
    if (!tl_test_write_file(path, head, head_len)) return false;
    return truncate(path, (off_t)size) == 0;
}

static uint64_t rng_state = 1;

double tl_test_time_scale(void) {
    const char *env = getenv("TL_TIME_SCALE");
    const double scale = env ? strtod(env, NULL) : 1.0;
    return scale > 0 ? scale : 1.0;
}

void tl_test_rng_seed(uint64_t seed) {
    rng_state = seed ? seed : 1;
}

uint32_t tl_test_rng_next(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

float tl_test_rng_uniform(void) {
    return (float)((double)tl_test_rng_next() / 2147483648.0 - 1.0);
}

void tl_test_fill_random(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) {
        float v = (tl_test_rng_uniform() + tl_test_rng_uniform() + tl_test_rng_uniform()) * scale;
        if (tl_test_rng_next() % 97 == 0) v *= 8.0f;
        x[i] = v;
    }
}

bool tl_test_x86_activations(void) {
    const char *level = tl_kernels()->name;
    return strcmp(level, "avx2") == 0 || strcmp(level, "avx512") == 0;
}
