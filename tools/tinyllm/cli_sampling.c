/*
 * cli_sampling.c — sampling flags shared by generating commands.
 */
#include "cli_sampling.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_sampling_init(cli_sampling *s, tl_opt *o) {
    memset(s, 0, sizeof *s);
    s->params = tl_sampler_default_params();
    tl_sampler_params *p = &s->params;
    int i = 0;
    o[i++] = (tl_opt){NULL, "--temp", TL_OPT_FLOAT, &p->temperature, "T", "temperature; 0 = greedy (default 0.8)",
                      NULL, 0,        100};
    o[i++] =
        (tl_opt){NULL, "--top-k", TL_OPT_INT, &p->top_k, "K", "keep the K most likely tokens; 0 = off (default 40)",
                 NULL, 0,         1e9};
    o[i++] =
        (tl_opt){NULL, "--top-p", TL_OPT_FLOAT, &p->top_p, "P", "nucleus sampling; 1 = off (default 0.95)", NULL, 0, 1};
    o[i++] = (tl_opt){NULL,      "--min-p", TL_OPT_FLOAT,
                      &p->min_p, "P",       "drop tokens below P x the top probability; 0 = off (default 0.05)",
                      NULL,      0,         1};
    o[i++] = (tl_opt){NULL,          "--typical", TL_OPT_FLOAT,
                      &p->typical_p, "P",         "locally typical sampling; 1 = off (default 1.0)",
                      NULL,          0,           1};
    o[i++] = (tl_opt){NULL,       "--mirostat",
                      TL_OPT_INT, &p->mirostat,
                      "N",        "Mirostat sampling: 1, 2 (2.0), 0 = off; skips top-k/p, min-p, typical (default 0)",
                      NULL,       0,
                      2};
    o[i++] = (tl_opt){NULL,         "--mirostat-lr",
                      TL_OPT_FLOAT, &p->mirostat_eta,
                      "ETA",        "Mirostat learning rate eta (default 0.1)",
                      NULL,         0,
                      1e6};
    o[i++] = (tl_opt){NULL,         "--mirostat-ent",
                      TL_OPT_FLOAT, &p->mirostat_tau,
                      "TAU",        "Mirostat target entropy tau (default 5.0)",
                      NULL,         0,
                      1e6};
    o[i++] = (tl_opt){NULL,         "--repeat-penalty",
                      TL_OPT_FLOAT, &p->repeat_penalty,
                      "R",          "penalize repeated tokens; 1 = off (default 1.0)",
                      NULL,         0,
                      100};
    o[i++] = (tl_opt){NULL,       "--repeat-last-n",
                      TL_OPT_INT, &p->repeat_last_n,
                      "N",        "tokens of history the penalties look at; -1 = all (default 64)",
                      NULL,       -1,
                      1e9};
    o[i++] = (tl_opt){NULL,         "--presence-penalty",
                      TL_OPT_FLOAT, &p->presence_penalty,
                      "P",          "subtract P from tokens already seen (default 0)",
                      NULL,         -100,
                      100};
    o[i++] = (tl_opt){NULL,         "--frequency-penalty",
                      TL_OPT_FLOAT, &p->frequency_penalty,
                      "P",          "subtract P x count from tokens already seen (default 0)",
                      NULL,         -100,
                      100};
    o[i++] =
        (tl_opt){"-s",           "--seed", TL_OPT_UINT64,
                 &s->seed,       "SEED",   "random seed; same seed and settings give the same text (default random)",
                 &s->seed_given, 0,        0};
    o[i++] = (tl_opt){NULL,
                      "--logit-bias",
                      TL_OPT_LIST,
                      &s->logit_bias_text,
                      "ID(+|-)BIAS",
                      "add BIAS to token ID's logit, e.g. 15043+1 or 2-inf (repeatable)",
                      NULL,
                      0,
                      0};
}

/* "ID+BIAS" / "ID-BIAS" / "ID-inf" / "ID+inf" */
static bool parse_bias(const char *text, int32_t n_vocab, tl_logit_bias *out) {
    char *end;
    errno = 0;
    long id = strtol(text, &end, 10);
    if (errno || end == text || (*end != '+' && *end != '-') || id < 0 || id >= n_vocab) return false;
    const char *num = end;
    char *end2;
    float bias = strtof(num, &end2);
    if (end2 == num || *end2 || isnan(bias)) return false;
    out->token = (tl_token)id;
    out->bias = bias;
    return true;
}

bool cli_sampling_finish(cli_sampling *s, const char *command, const tl_model *model, bool ignore_eos) {
    const int32_t n_vocab = tl_vocab_size(model);
    int n_eog = 0;
    if (ignore_eos)
        for (tl_token t = 0; t < n_vocab; t++) n_eog += tl_token_is_eog(model, t);
    s->logit_bias = calloc((size_t)(s->logit_bias_text.n + n_eog + 1), sizeof *s->logit_bias);
    if (!s->logit_bias) {
        tl_cli_error(command, "out of memory");
        return false;
    }
    int n = 0;
    for (int i = 0; i < s->logit_bias_text.n; i++) {
        if (!parse_bias(s->logit_bias_text.items[i], n_vocab, &s->logit_bias[n])) {
            tl_cli_error(command,
                         "--logit-bias expects TOKEN_ID+BIAS or TOKEN_ID-BIAS with an id below %d, "
                         "got '%s'",
                         n_vocab, s->logit_bias_text.items[i]);
            return false;
        }
        n++;
    }
    if (ignore_eos)
        for (tl_token t = 0; t < n_vocab; t++)
            if (tl_token_is_eog(model, t)) s->logit_bias[n++] = (tl_logit_bias){t, -INFINITY};
    s->params.logit_bias = s->logit_bias;
    s->params.n_logit_bias = n;
    s->params.seed = s->seed_given ? s->seed : TL_SEED_RANDOM;
    return true;
}

void cli_sampling_free(cli_sampling *s) {
    free(s->logit_bias);
}
