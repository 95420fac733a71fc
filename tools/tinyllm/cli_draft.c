/*
 * cli_draft.c — speculative decoding options and the drafter they make
 * (see cli_draft.h).
 */
#include "cli_draft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/limits.h"

void cli_draft_init(cli_draft *c, tl_opt *o) {
    const tl_draft_params dp = tl_draft_default_params();
    *c = (cli_draft){.n_max = dp.n_max, .n_min = dp.n_min, .p_min = dp.p_min};
    int i = 0;
    o[i++] = (tl_opt){"-md",
                      "--model-draft",
                      TL_OPT_STRING,
                      &c->model,
                      "FILE|NAME",
                      "draft model for speculative decoding (same vocabulary as -m)",
                      NULL,
                      0,
                      0};
    o[i++] = (tl_opt){NULL, "--draft", TL_OPT_STRING, &c->model, "FILE|NAME", "the same as --model-draft", NULL, 0, 0};
    o[i++] = (tl_opt){NULL,       "--draft-max",
                      TL_OPT_INT, &c->n_max,
                      "N",        "most tokens drafted per step (default 16, at most 16)",
                      NULL,       0,
                      16};
    o[i++] = (tl_opt){
        NULL, "--draft-min", TL_OPT_INT, &c->n_min, "N", "drop drafts shorter than N (default 0)", NULL, 0, 16};
    o[i++] = (tl_opt){NULL,
                      "--draft-p-min",
                      TL_OPT_FLOAT,
                      &c->p_min,
                      "P",
                      "the draft model stops drafting below this probability (default 0.75)",
                      NULL,
                      0,
                      1};
    o[i++] = (tl_opt){
        NULL,       "--lookup", TL_OPT_INT,
        &c->lookup, "N",        "prompt lookup: draft what followed the last N..1 tokens earlier in the text (0 = off)",
        NULL,       0,          16};
    o[i++] = (tl_opt){"-cd",      "--ctx-size-draft",
                      TL_OPT_INT, &c->n_ctx,
                      "N",        "the draft model's context size (default: the target's)",
                      NULL,       0,
                      TL_MAX_CTX};
    o[i++] = (tl_opt){"-td",         "--threads-draft",
                      TL_OPT_INT,    &c->n_threads,
                      "N",           "the draft model's threads (default: the target's)",
                      NULL,          0,
                      TL_MAX_THREADS};
}

bool cli_draft_wanted(const cli_draft *c) {
    return (c->model || c->lookup > 0) && c->n_max > 0;
}

bool cli_draft_open(cli_draft *c, const char *command, const tl_model *target, const tl_context_params *target_params) {
    if (!cli_draft_wanted(c)) return true;
    if (c->model && c->lookup > 0) {
        tl_cli_error(command, "--lookup and a draft model (--draft) cannot be used together");
        return false;
    }
    if (c->n_min > c->n_max) {
        tl_cli_error(command, "--draft-min (%d) is larger than --draft-max (%d)", c->n_min, c->n_max);
        return false;
    }
    tl_draft_params dp = tl_draft_default_params();
    dp.n_max = c->n_max;
    dp.n_min = c->n_min;
    dp.p_min = c->p_min;
    tl_error err = {0};
    if (c->lookup > 0) {
        if (tl_drafter_new_lookup(c->lookup, &dp, &c->drafter, &err) == TL_OK) return true;
        tl_cli_error(command, "%s", err.message);
        return false;
    }
    char *path = cli_model_path(command, c->model);
    if (!path) return false;
    c->draft_model = cli_load_model(command, path, false);
    free(path);
    if (!c->draft_model) return false;
    char note[256];
    if (tl_draft_check_vocab(c->draft_model, target, note, sizeof note, &err) != TL_OK) {
        tl_cli_error(command, "the draft model %s cannot draft for this model: %s", c->model, err.message);
        return false;
    }
    if (note[0]) fprintf(stderr, "tinyllm %s: note: %s\n", command, note);
    tl_context_params cp = *target_params;
    cp.n_seq = 1;
    if (c->n_ctx > 0) cp.n_ctx = (uint32_t)c->n_ctx;
    if (c->n_threads > 0) cp.n_threads = (uint32_t)c->n_threads;
    if (tl_context_new(c->draft_model, &cp, &c->draft_ctx, &err) != TL_OK ||
        tl_drafter_new_model(c->draft_ctx, target, &dp, &c->drafter, &err) != TL_OK) {
        tl_cli_error(command, "draft model %s: %s", c->model, err.message);
        return false;
    }
    return true;
}

void cli_draft_close(cli_draft *c) {
    tl_drafter_free(c->drafter);
    tl_context_free(c->draft_ctx);
    tl_model_free(c->draft_model);
    c->drafter = NULL;
    c->draft_ctx = NULL;
    c->draft_model = NULL;
}

void cli_draft_describe(const tl_draft_stats *s, int32_t n_generated, char *buf, size_t size) {
    const double rate = s->drafted ? 100.0 * (double)s->accepted / (double)s->drafted : 0.0;
    /* Evaluations of the reply: one per step, a step with drafts counting as one. */
    const int64_t evals = (int64_t)n_generated - s->accepted;
    snprintf(buf, size, "drafted %lld, accepted %lld (%.1f%%), %.2f tokens per evaluation", (long long)s->drafted,
             (long long)s->accepted, rate, evals > 0 ? (double)n_generated / (double)evals : 0.0);
}
