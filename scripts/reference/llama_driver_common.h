/* llama_driver_common.h: helpers shared by the C programs that drive node-llama-cpp's prebuilt llama.cpp
 * (scripts/reference/llama_ref.c, bench/llama_bench.c). Header-only: each program is built from one .c file by
 * scripts/reference/build_llama_tool.sh. */
#ifndef LLAMA_DRIVER_COMMON_H
#define LLAMA_DRIVER_COMMON_H

#include <stdio.h>
#include <string.h>

/* Which CPU backend variant (zen4, haswell, ...) the loader chose: the libggml-cpu-*.so mapped into this process. */
static inline void cpu_variant(char *out, size_t size) {
    snprintf(out, size, "?");
    FILE *maps = fopen("/proc/self/maps", "r");
    if (!maps) return;
    char line[4096];
    while (fgets(line, sizeof line, maps)) {
        const char *lib = strstr(line, "libggml-cpu-");
        if (!lib) continue;
        lib += strlen("libggml-cpu-");
        size_t n = strcspn(lib, ".\n");
        snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), lib);
        break;
    }
    fclose(maps);
}

#endif
