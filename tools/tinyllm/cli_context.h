/*
 * cli_context.h — the context options the generating commands share (-c,
 * -t, -b, --cache-type-k/-v, llama.cpp's names) and turning them into
 * tl_context_params, as cli_sampling.h does for sampling.
 */
#ifndef TL_CLI_CONTEXT_H
#define TL_CLI_CONTEXT_H

#include <stdbool.h>

#include "args.h"
#include "tinyllm.h"

typedef struct cli_context {
    int32_t n_ctx, n_threads, n_batch;
    const char *cache_type_k, *cache_type_v;
} cli_context;

#define CLI_CONTEXT_N_OPTS 5

/* Writes the option table entries into opts[0..CLI_CONTEXT_N_OPTS). */
void cli_context_init(cli_context *c, tl_opt *opts);
/* The context parameters; prints a one-line error and returns false for a
 * bad cache type. */
bool cli_context_params(const cli_context *c, const char *command, tl_context_params *out);

#endif /* TL_CLI_CONTEXT_H */
