/*
 * cli_context.c — context options shared by `run` and `chat` (see cli_context.h).
 */
#include "cli_context.h"

#include <string.h>

#include "cli.h"
#include "util/limits.h"

void cli_context_init(cli_context *c, tl_opt *o) {
    memset(c, 0, sizeof *c);
    int i = 0;
    o[i++] = (tl_opt){"-c",       "--ctx-size",
                      TL_OPT_INT, &c->n_ctx,
                      "N",        "context size in tokens; 0 = the model's, at most 4096 (default 0)",
                      NULL,       0,
                      TL_MAX_CTX};
    o[i++] = (tl_opt){"-t", "--threads", TL_OPT_INT,    &c->n_threads, "N", "threads; 0 = physical cores (default 0)",
                      NULL, 0,           TL_MAX_THREADS};
    o[i++] = (tl_opt){
        "-b", "--batch-size", TL_OPT_INT, &c->n_batch, "N", "prompt tokens per forward pass (default 512)", NULL,
        0,    TL_MAX_BATCH};
    o[i++] = (tl_opt){NULL,
                      "--cache-type-k",
                      TL_OPT_STRING,
                      &c->cache_type_k,
                      "TYPE",
                      "KV cache type for keys: f32, f16, q8_0 (default f16)",
                      NULL,
                      0,
                      0};
    o[i++] = (tl_opt){NULL,
                      "--cache-type-v",
                      TL_OPT_STRING,
                      &c->cache_type_v,
                      "TYPE",
                      "KV cache type for values: f32, f16, q8_0 (default f16)",
                      NULL,
                      0,
                      0};
}

bool cli_context_params(const cli_context *c, const char *command, tl_context_params *out) {
    *out = tl_context_default_params();
    out->n_ctx = (uint32_t)c->n_ctx;
    out->n_threads = (uint32_t)c->n_threads;
    out->n_batch = (uint32_t)c->n_batch;
    return cli_cache_types(command, c->cache_type_k, c->cache_type_v, out);
}
