/*
 * test_support.c — locating shared data and scratch files for the tests.
 */
#include "test_support.h"

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
