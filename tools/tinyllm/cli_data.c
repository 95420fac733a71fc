/*
 * cli_data.c — the search for shared data files described in cli_data.h.
 * The library only ever takes explicit paths; this is where the CLI turns a
 * file name into one, reading the environment and the binary's location.
 */
#include "cli_data.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TL_SHARED_DIR
#define TL_SHARED_DIR ""
#endif
#ifndef TL_BUILD_DIR
#define TL_BUILD_DIR ""
#endif
#ifndef TL_BIN_TO_DATA
#define TL_BIN_TO_DATA "../share/tinyllm"
#endif
#ifndef TL_INSTALL_DATA_DIR
#define TL_INSTALL_DATA_DIR ""
#endif

/* Writes dir/relative to buf when that file is readable. */
static bool try_dir(const char *dir, const char *relative, char *buf, size_t size) {
    if (!dir || !*dir) return false;
    int n = snprintf(buf, size, "%s/%s", dir, relative);
    return n > 0 && (size_t)n < size && access(buf, R_OK) == 0;
}

/* The folder holding the running binary (resolved), or false. */
static bool exe_dir(char *buf, size_t size) {
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0 || (size_t)n >= size - 1) return false;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash) return false;
    *slash = '\0';
    return true;
}

bool cli_find_shared_file(const char *relative, char *buf, size_t size) {
    if (try_dir(getenv("TINYLLM_SHARED"), relative, buf, size)) return true;
    char exe[PATH_MAX], build[PATH_MAX];
    bool have_exe = exe_dir(exe, sizeof exe);
    /* The build tree's shared folder is the developer's checkout: an
     * installed copy of the binary does not look there. */
    if (have_exe && *TL_BUILD_DIR && realpath(TL_BUILD_DIR, build) && strcmp(exe, build) == 0 &&
        try_dir(TL_SHARED_DIR, relative, buf, size))
        return true;
    char installed[PATH_MAX + sizeof TL_BIN_TO_DATA + 1];
    if (have_exe) {
        snprintf(installed, sizeof installed, "%s/%s", exe, TL_BIN_TO_DATA);
        if (try_dir(installed, relative, buf, size)) return true;
    }
    if (try_dir(TL_INSTALL_DATA_DIR, relative, buf, size)) return true;
    return try_dir("../shared", relative, buf, size);
}
