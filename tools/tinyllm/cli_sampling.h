/*
 * cli_sampling.h — the sampling options every generating command accepts
 * (llama.cpp's names and defaults) and turning them into tl_sampler_params.
 */
#ifndef TL_CLI_SAMPLING_H
#define TL_CLI_SAMPLING_H

#include "args.h"
#include "tinyllm.h"

typedef struct cli_sampling {
    tl_sampler_params params;
    uint64_t seed;
    bool seed_given;
    tl_opt_list logit_bias_text; /* "ID+BIAS", "ID-BIAS", "ID-inf" */
    tl_logit_bias *logit_bias;   /* parsed, malloc'd */
} cli_sampling;

#define CLI_SAMPLING_N_OPTS 14

/* Set defaults and write the option table entries into opts[0..CLI_SAMPLING_N_OPTS). */
void cli_sampling_init(cli_sampling *s, tl_opt *opts);
/* Parse --logit-bias values and finish the params; adds -inf bias for
 * end-of-generation tokens when ignore_eos. Prints an error and returns
 * false on bad values. */
bool cli_sampling_finish(cli_sampling *s, const char *command, const tl_model *model, bool ignore_eos);
void cli_sampling_free(cli_sampling *s);

#endif /* TL_CLI_SAMPLING_H */
