/*
 * fuzz_support.c — see fuzz_support.h. Everything loaded at start is kept in
 * one list and freed by an atexit handler, so LeakSanitizer reports only what
 * a single input leaks.
 */
#include "fuzz_support.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TL_SHARED_DIR
#define TL_SHARED_DIR "../shared"
#endif

#define MAX_KEPT 64

static char *kept_strings[MAX_KEPT];
static int n_kept_strings;
static tl_model *kept_models[MAX_KEPT];
static int n_kept_models;
static char *scratch;

static char *keep_string(char *s) {
    if (!s) fuzz_die("out of memory");
    if (n_kept_strings == MAX_KEPT) fuzz_die("too many paths kept");
    kept_strings[n_kept_strings++] = s;
    return s;
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return keep_string(p);
}

const char *fuzz_shared_path(const char *relative) {
    const char *dir = getenv("TINYLLM_SHARED");
    if (!dir || !*dir) dir = TL_SHARED_DIR;
    return join(dir, relative);
}

static void vreport(const char *what, const char *fmt, va_list ap) {
    fprintf(stderr, "fuzz: %s", what);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void fuzz_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport("skipped: ", fmt, ap);
    va_end(ap);
    exit(77);
}

void fuzz_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
    exit(1);
}

/* Removes the scratch directory's files (no subdirectories are made). */
static void remove_scratch(void) {
    if (!scratch) return;
    DIR *d = opendir(scratch);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(scratch);
}

static void free_kept(void) {
    for (int i = 0; i < n_kept_models; i++) tl_model_free(kept_models[i]);
    n_kept_models = 0;
    remove_scratch();
    for (int i = 0; i < n_kept_strings; i++) free(kept_strings[i]);
    n_kept_strings = 0;
    scratch = NULL;
}

static void register_cleanup(void) {
    static bool registered;
    if (!registered) atexit(free_kept);
    registered = true;
}

const char *fuzz_scratch_dir(void) {
    if (scratch) return scratch;
    register_cleanup();
    const char *tmp = getenv("TMPDIR");
    char *templ = join(tmp && *tmp ? tmp : "/tmp", "tinyllm-fuzz-XXXXXX");
    if (!mkdtemp(templ)) fuzz_die("cannot make a scratch directory %s", templ);
    scratch = templ;
    return scratch;
}

const char *fuzz_scratch_path(const char *name) {
    return join(fuzz_scratch_dir(), name);
}

tl_model *fuzz_load_vocab_path(const char *path) {
    register_cleanup();
    if (access(path, R_OK) != 0) fuzz_skip("%s is absent (set TINYLLM_SHARED)", path);
    tl_model_params params = tl_model_default_params();
    params.vocab_only = true;
    tl_model *model = NULL;
    tl_error err = {0};
    if (tl_model_load(path, &params, &model, &err) != TL_OK) fuzz_die("%s", err.message);
    if (n_kept_models == MAX_KEPT) fuzz_die("too many models kept");
    kept_models[n_kept_models++] = model;
    return model;
}

tl_model *fuzz_load_vocab(const char *shared_relative) {
    return fuzz_load_vocab_path(fuzz_shared_path(shared_relative));
}
