/*
 * llama_cpu_backend.h — what the llama.cpp drivers of bench/ (llama_bench.c,
 * llama_spec.c) do first: load the prebuilt backends (of the CPU variants,
 * the best one this CPU supports) and find the CPU backend's threadpool
 * functions, to run with one persistent threadpool as llama-bench does.
 */
#ifndef TL_BENCH_LLAMA_CPU_BACKEND_H
#define TL_BENCH_LLAMA_CPU_BACKEND_H

#include "ggml-backend.h"
#include "ggml-cpu.h"

typedef struct ggml_threadpool *(*threadpool_new_fn)(struct ggml_threadpool_params *);
typedef void (*threadpool_free_fn)(struct ggml_threadpool *);

/* Loads the backends of backends_dir ("": llama.cpp's default places) and
 * sets the threadpool functions; NULL, or what is missing. */
static inline const char *load_cpu_backend(const char *backends_dir, threadpool_new_fn *tp_new,
                                           threadpool_free_fn *tp_free) {
    if (*backends_dir)
        ggml_backend_load_all_from_path(backends_dir);
    else
        ggml_backend_load_all();
    ggml_backend_dev_t cpu_dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!cpu_dev) return "no CPU backend found (--backends DIR)";
    ggml_backend_reg_t cpu_reg = ggml_backend_dev_backend_reg(cpu_dev);
    *tp_new = (threadpool_new_fn)ggml_backend_reg_get_proc_address(cpu_reg, "ggml_threadpool_new");
    *tp_free = (threadpool_free_fn)ggml_backend_reg_get_proc_address(cpu_reg, "ggml_threadpool_free");
    return *tp_new && *tp_free ? NULL : "the CPU backend exports no ggml_threadpool_new/free";
}

#endif /* TL_BENCH_LLAMA_CPU_BACKEND_H */
