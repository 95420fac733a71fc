/*
 * cli_draft.h — the speculative decoding options `run`, `chat` and `serve`
 * share (llama.cpp's names: -md/--model-draft (also --draft), --draft-max,
 * --draft-min, --draft-p-min, -cd/--ctx-size-draft, -td/--threads-draft,
 * and --lookup N for prompt lookup), and turning them into a tl_drafter.
 */
#ifndef TL_CLI_DRAFT_H
#define TL_CLI_DRAFT_H

#include <stdbool.h>

#include "args.h"
#include "tinyllm.h"

typedef struct cli_draft {
    const char *model; /* -md / --draft: a draft model file or store name */
    int32_t n_max, n_min, lookup, n_ctx, n_threads;
    float p_min;
    /* What cli_draft_open made (cli_draft_close frees it). */
    tl_model *draft_model;
    tl_context *draft_ctx;
    tl_drafter *drafter;
} cli_draft;

#define CLI_DRAFT_N_OPTS 8

/* Writes the option table entries into opts[0..CLI_DRAFT_N_OPTS), defaults set. */
void cli_draft_init(cli_draft *c, tl_opt *opts);
/* Whether any speculation was asked for. */
bool cli_draft_wanted(const cli_draft *c);
/* The drafter the options ask for (c->drafter; NULL when none was asked for):
 * loads the draft model and its context (threads and size default to the
 * target's) and checks its vocabulary against the target's, printing a
 * one-line error (false) or a note on stderr. */
bool cli_draft_open(cli_draft *c, const char *command, const tl_model *target, const tl_context_params *target_params);
void cli_draft_close(cli_draft *c);
/* "drafted 120, accepted 96 (80.0%), 2.41 tokens per step" for summaries. */
void cli_draft_describe(const tl_draft_stats *s, int32_t n_generated, char *buf, size_t size);

#endif /* TL_CLI_DRAFT_H */
