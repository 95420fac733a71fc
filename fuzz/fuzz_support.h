/*
 * fuzz_support.h — what the fuzz targets share (fuzz_support.c): the libFuzzer
 * entry points, where the shared data lives, a scratch directory removed at
 * exit, and loading the vocabulary of a model file once at start.
 *
 * Every target defines LLVMFuzzerInitialize (run once: load models and
 * vocabularies) and LLVMFuzzerTestOneInput (one input; must not leak, must
 * give the same result for the same bytes). The same files link either with
 * libFuzzer (fuzz_<target>, TL_FUZZ builds) or with replay_main.c
 * (fuzz_replay_<target>, a ctest that feeds the committed regressions).
 */
#ifndef TL_FUZZ_SUPPORT_H
#define TL_FUZZ_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tinyllm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "<shared>/<relative>" (malloc'd, kept for the whole run): $TINYLLM_SHARED,
 * else the TL_SHARED_DIR the build was configured with. */
const char *fuzz_shared_path(const char *relative);

/* Ends the process with status 77 (skipped) after a one-line reason: the
 * shared data a target needs is absent. */
void fuzz_skip(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;
/* Ends the process with status 1 after a one-line reason (a setup failure). */
void fuzz_die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/* A private directory under $TMPDIR (or /tmp), made on first use and removed
 * with its files at exit. */
const char *fuzz_scratch_dir(void);
/* "<scratch>/<name>" (malloc'd, kept for the whole run). */
const char *fuzz_scratch_path(const char *name);

/* Loads a model file (vocab_only) from the shared data; skips the target when
 * the file is absent, dies when it does not load. Freed at exit. */
tl_model *fuzz_load_vocab(const char *shared_relative);
/* The same for any path. */
tl_model *fuzz_load_vocab_path(const char *path);

#endif /* TL_FUZZ_SUPPORT_H */
