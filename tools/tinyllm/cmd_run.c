/*
 * cmd_run.c — `tinyllm run`: evaluate a prompt and stream a continuation.
 *
 * Generated text (not the prompt) goes to stdout as it is produced; a timing
 * summary goes to stderr. With --json a single JSON object is printed instead.
 * Encoder-decoder models (T5) encode the prompt and generate from the
 * decoder's start token; "prompt" timings are then the encoder's.
 * A model of the store brings its options as the defaults under the flags,
 * and with --chat its system prompt and template (cli_defaults.h); without
 * --chat the prompt is completed as plain text.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_context.h"
#include "cli_defaults.h"
#include "cli_draft.h"
#include "cli_sampling.h"

typedef struct run_options {
    const char *model, *prompt, *prompt_file;
    int32_t n_predict;
    cli_context context;
    bool ignore_eos, no_bos, special, json;
    bool chat; /* apply the chat template to -p as one user message */
    bool verbose_prompt, no_pull;
    tl_opt_list stop;          /* --stop: replaces a store model's stop strings */
    const char *system;        /* with --chat: a system message first */
    const char *chat_template; /* with --chat: a built-in name or a file */
    cli_sampling sampling;
    cli_draft draft;
} run_options;

typedef struct run_stats {
    double load_ms, prompt_ms, gen_ms;
    int32_t n_prompt, n_gen;
    const char *stop_reason;
    bool speculative;
    tl_draft_stats draft;
} run_stats;

static void print_summary(const run_stats *s) {
    char draft[160] = "";
    if (s->speculative) {
        memcpy(draft, " | ", 4);
        cli_draft_describe(&s->draft, s->n_gen, draft + 3, sizeof draft - 3);
    }
    fprintf(stderr,
            "tinyllm: load %.1f ms | prompt %d tokens, %.1f tokens/s | generated %d tokens, "
            "%.1f tokens/s, %.2f ms/token%s | stop: %s\n",
            s->load_ms, s->n_prompt, s->prompt_ms > 0 ? s->n_prompt * 1e3 / s->prompt_ms : 0.0, s->n_gen,
            s->gen_ms > 0 ? s->n_gen * 1e3 / s->gen_ms : 0.0, s->n_gen > 0 ? s->gen_ms / s->n_gen : 0.0, draft,
            s->stop_reason);
}

static void print_json(const run_stats *s, const char *text, size_t text_len, const tl_token *prompt,
                       const tl_token *generated) {
    cJSON *root = cJSON_CreateObject();
    char *copy = malloc(text_len + 1);
    if (copy) {
        memcpy(copy, text, text_len);
        copy[text_len] = 0;
    }
    cJSON_AddStringToObject(root, "text", copy ? copy : "");
    free(copy);
    cJSON_AddItemToObject(root, "tokens", cJSON_CreateIntArray(generated, s->n_gen));
    cJSON_AddItemToObject(root, "prompt_tokens", cJSON_CreateIntArray(prompt, s->n_prompt));
    cJSON_AddStringToObject(root, "stop_reason", s->stop_reason);
    cJSON *t = cJSON_AddObjectToObject(root, "timings");
    cJSON_AddNumberToObject(t, "load_ms", s->load_ms);
    cJSON_AddNumberToObject(t, "prompt_n", s->n_prompt);
    cJSON_AddNumberToObject(t, "prompt_ms", s->prompt_ms);
    cJSON_AddNumberToObject(t, "prompt_per_second", s->prompt_ms > 0 ? s->n_prompt * 1e3 / s->prompt_ms : 0);
    cJSON_AddNumberToObject(t, "predicted_n", s->n_gen);
    cJSON_AddNumberToObject(t, "predicted_ms", s->gen_ms);
    cJSON_AddNumberToObject(t, "predicted_per_token_ms", s->n_gen ? s->gen_ms / s->n_gen : 0);
    cJSON_AddNumberToObject(t, "predicted_per_second", s->gen_ms > 0 ? s->n_gen * 1e3 / s->gen_ms : 0);
    if (s->speculative) { /* llama-server's names */
        cJSON_AddNumberToObject(t, "draft_n", (double)s->draft.drafted);
        cJSON_AddNumberToObject(t, "draft_n_accepted", (double)s->draft.accepted);
    }
    char *out = cJSON_PrintUnformatted(root);
    if (out) printf("%s\n", out);
    free(out);
    cJSON_Delete(root);
}

/* Evaluates the prompt (see cli_evaluate_prompt); a decoder-only model's
 * prompt also enters the penalties' history. */
static bool evaluate_prompt(const tl_model *model, tl_context *ctx, tl_sampler *sampler, const tl_token *prompt,
                            int32_t n_prompt) {
    if (!cli_evaluate_prompt("run", model, ctx, prompt, n_prompt)) return false;
    if (!tl_model_has_encoder(model))
        for (int32_t i = 0; i < n_prompt; i++) tl_sampler_accept(sampler, prompt[i]);
    return true;
}

/* Evaluates the prompt, then streams the reply of the generator (src/generate). */
static int generate(const run_options *o, const cli_defaults *d, tl_model *model, tl_context *ctx, tl_sampler *sampler,
                    const tl_token *prompt, int32_t n_prompt, run_stats *st) {
    tl_error err = {0};
    int rc = 1;
    const uint32_t n_ctx = tl_context_size(ctx);
    const int32_t n_max = o->n_predict < 0 ? (int32_t)n_ctx : o->n_predict;
    tl_token *generated = malloc(((size_t)n_max + 1) * sizeof *generated);
    tl_generator_params gp = tl_generator_default_params();
    gp.n_predict = o->n_predict;
    gp.ignore_eos = o->ignore_eos;
    gp.special = o->special;
    /* --stop replaces a store model's stop strings, as a request's stop replaces NAME.json's. */
    gp.stops = o->stop.n ? o->stop.items : (const char *const *)d->options.stop;
    gp.n_stops = o->stop.n ? o->stop.n : d->options.n_stop;
    tl_generator *gen = NULL;
    if (!generated || tl_generator_new(model, sampler, &gp, &gen, &err) != TL_OK) {
        tl_cli_error("run", "out of memory");
        goto done;
    }

    /* The prompt's time includes a draft model's evaluation of it (tl_drafter_begin). */
    double t0 = tl_time_ms();
    if (!evaluate_prompt(model, ctx, sampler, prompt, n_prompt)) goto done;
    tl_drafter *drafter = o->draft.drafter;
    if (drafter && tl_drafter_begin(drafter, prompt, n_prompt, &err) != TL_OK) {
        tl_cli_error("run", "%s", err.message);
        goto done;
    }
    st->prompt_ms = tl_time_ms() - t0;

    t0 = tl_time_ms();
    tl_generator_set_drafter(gen, drafter);
    tl_generator_begin(gen, tl_context_used(ctx), n_ctx);
    tl_generation_event ev = {0};
    do {
        if (tl_generator_step(gen, ctx, &ev, &err) != TL_OK) {
            tl_cli_error("run", "%s", err.message);
            goto done;
        }
        for (int32_t i = 0; i < ev.n_accepted && st->n_gen < n_max; i++) generated[st->n_gen++] = ev.accepted[i];
        if (!o->json) cli_write(ev.text, ev.text_len);
    } while (ev.stop == TL_STOP_NONE);
    st->gen_ms = tl_time_ms() - t0;
    st->stop_reason = tl_stop_reason_name(ev.stop); /* run's documented names are the library's */
    st->speculative = drafter != NULL;
    st->draft = tl_generator_draft_stats(gen);
    if (o->json) {
        size_t text_len;
        const char *text = tl_generator_text(gen, &text_len);
        print_json(st, text, text_len, prompt, generated);
    } else {
        if (ev.stop == TL_STOP_CONTEXT) fprintf(stderr, "\ntinyllm: context of %u tokens is full; stopping\n", n_ctx);
        cli_write("\n\n", 2); /* as llama-cli ends its output */
        print_summary(st);
    }
    rc = 0;
done:
    tl_generator_free(gen);
    free(generated);
    return rc;
}

/* --chat: the prompt as a user message (after --system, else a store
 * model's system prompt) through the chat template (--chat-template, else a
 * store model's, else the file's); replaces (and frees) the prompt text.
 * NULL after an error. */
static char *chat_prompt(const run_options *o, const cli_defaults *d, const tl_model *model, char *text, size_t *len) {
    char *source = !o->chat_template && d->template_source ? strdup(d->template_source)
                                                           : cli_chat_template("run", model, o->chat_template);
    char *out = NULL;
    const char *system = o->system ? o->system : d->system;
    cJSON *context = cJSON_CreateObject();
    cJSON *messages = cJSON_AddArrayToObject(context, "messages");
    if (system && system[0]) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", system);
        cJSON_AddItemToArray(messages, m);
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", text);
    cJSON_AddItemToArray(messages, m);
    if (source) out = cli_chat_render("run", model, source, context, true, NULL, NULL, len);
    cJSON_Delete(context);
    free(source);
    free(text);
    return out;
}

#define RUN_N_OPTS 14

/* Sets o's defaults (a store model's, when d is given) and parses argv over
 * them: run parses twice for a store model, to know the model first. */
static tl_args_result parse_options(run_options *o, const cli_defaults *d, int argc, char **argv) {
    *o = (run_options){.n_predict = -1};
    tl_opt opts[RUN_N_OPTS + CLI_CONTEXT_N_OPTS + CLI_SAMPLING_N_OPTS + CLI_DRAFT_N_OPTS] = {
        {"-m", "--model", TL_OPT_STRING, &o->model, "FILE|NAME",
         "GGUF model file, or a model of the store (tinyllm list; its options are the defaults)", NULL, 0, 0},
        {"-p", "--prompt", TL_OPT_STRING, &o->prompt, "TEXT", "prompt text", NULL, 0, 0},
        {"-f", "--file", TL_OPT_STRING, &o->prompt_file, "FILE", "read the prompt from a file", NULL, 0, 0},
        {"-n", "--n-predict", TL_OPT_INT, &o->n_predict, "N",
         "tokens to generate; -1 = until end of generation or a full context (default -1)", NULL, -1, 1e9},
        {NULL, "--stop", TL_OPT_LIST, &o->stop, "TEXT",
         "stop before this text (repeatable; replaces a store model's stop strings)", NULL, 0, 0},
        {NULL, "--ignore-eos", TL_OPT_FLAG, &o->ignore_eos, "", "keep generating past end-of-generation tokens", NULL,
         0, 0},
        {NULL, "--no-bos", TL_OPT_FLAG, &o->no_bos, "", "do not add the BOS token to the prompt (T5: the closing </s>)",
         NULL, 0, 0},
        {NULL, "--special", TL_OPT_FLAG, &o->special, "",
         "parse special tokens in the prompt and print them in the output", NULL, 0, 0},
        {NULL, "--json", TL_OPT_FLAG, &o->json, "",
         "print one JSON object (text, tokens, prompt_tokens, timings) instead of streaming", NULL, 0, 0},
        {NULL, "--chat", TL_OPT_FLAG, &o->chat, "",
         "format the prompt as one user message with the chat template (a store model's, if it has one)", NULL, 0, 0},
        {NULL, "--system", TL_OPT_STRING, &o->system, "TEXT",
         "with --chat: a system message before it (default: a store model's)", NULL, 0, 0},
        {NULL, "--chat-template", TL_OPT_STRING, &o->chat_template, "NAME|FILE",
         "with --chat: a built-in template (chatml, llama3, ...) or a Jinja file instead of the model's", NULL, 0, 0},
        {NULL, "--verbose-prompt", TL_OPT_FLAG, &o->verbose_prompt, "",
         "print the prompt text (after the chat template) on stderr first", NULL, 0, 0},
        {NULL, "--no-pull", TL_OPT_FLAG, &o->no_pull, "",
         "a Hub reference or catalogue name not in the store is an error (by default it is pulled first)", NULL, 0, 0},
    };
    int n_opts = RUN_N_OPTS;
    cli_context_init(&o->context, opts + n_opts);
    n_opts += CLI_CONTEXT_N_OPTS;
    cli_sampling_init(&o->sampling, opts + n_opts);
    n_opts += CLI_SAMPLING_N_OPTS;
    cli_draft_init(&o->draft, opts + n_opts);
    n_opts += CLI_DRAFT_N_OPTS;
    if (d) {
        cli_defaults_apply(d, &o->context, &o->sampling, &o->n_predict);
        o->no_bos = d->options.add_bos == 0;
    }
    const tl_command_spec spec = {"run", "(-m FILE|NAME | NAME) (-p TEXT | -f FILE) [options]",
                                  "Generate a continuation of a prompt, streamed to stdout as it is "
                                  "produced;\na timing summary is printed on stderr.",
                                  opts, n_opts};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 1, &n_pos);
    if (r != TL_ARGS_OK) return r;
    if (n_pos && o->model) {
        tl_cli_error("run", "unexpected argument '%s' (the model is given with -m)", positional[0]);
        return TL_ARGS_ERROR;
    }
    if (n_pos) o->model = positional[0];
    return TL_ARGS_OK;
}

int cmd_run(int argc, char **argv) {
    run_options o;
    cli_defaults d = {0};
    tl_args_result r = parse_options(&o, NULL, argc, argv);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (!o.model) {
        tl_cli_error("run", "no model given: use -m FILE or NAME");
        return 1;
    }

    size_t prompt_len;
    char *prompt_text = NULL;
    if (!(prompt_text = cli_read_prompt("run", o.prompt, o.prompt_file, &prompt_len))) return 1;
    /* A model name in neither a file nor the store is pulled on first use. */
    if (!o.no_pull) cli_model_missing = cli_pull_on_first_use;
    /* A store model's options are the defaults the flags override. */
    bool ok = cli_defaults_load(&d, "run", o.model, true);
    if (ok && d.manifest) {
        cli_sampling_free(&o.sampling);
        ok = parse_options(&o, &d, argc, argv) == TL_ARGS_OK;
    }
    if (!ok) {
        free(prompt_text);
        cli_defaults_free(&d);
        return 1;
    }

    int rc = 1;
    run_stats st = {.stop_reason = "length"};
    tl_model *model = NULL;
    tl_context *ctx = NULL;
    tl_sampler *sampler = NULL;
    tl_token *prompt = NULL;
    tl_error err = {0};

    double t0 = tl_time_ms();
    if (!(model = cli_load_model("run", d.path, false))) goto done;
    tl_context_params cp;
    if (!cli_context_params(&o.context, "run", &cp)) goto done;
    if (tl_context_new(model, &cp, &ctx, &err) != TL_OK) {
        tl_cli_error("run", "%s", err.message);
        goto done;
    }
    st.load_ms = tl_time_ms() - t0;

    if (cli_draft_wanted(&o.draft) && tl_model_has_encoder(model)) {
        tl_cli_error("run", "speculative decoding (--draft, --lookup) needs a decoder-only model");
        goto done;
    }
    if (!o.draft.model && !o.draft.lookup) o.draft.model = d.draft; /* a store model's own draft */
    if (!cli_draft_open(&o.draft, "run", model, &cp)) goto done;
    if ((o.system || o.chat_template) && !o.chat) {
        tl_cli_error("run", "--system and --chat-template need --chat");
        goto done;
    }
    if (o.chat && !(prompt_text = chat_prompt(&o, &d, model, prompt_text, &prompt_len))) goto done;
    if (o.verbose_prompt) fprintf(stderr, "tinyllm run: prompt:\n%.*s\n", (int)prompt_len, prompt_text);
    bool add_special = !o.no_bos, too_long = false;
    prompt = cli_tokenize_prompt("run", model, prompt_text, prompt_len, add_special, o.special || o.chat,
                                 tl_context_size(ctx), &st.n_prompt, &too_long);
    if (too_long)
        tl_cli_error("run", "the prompt is too long: more than %d tokens, more than the context size of %u (use -c)",
                     st.n_prompt, tl_context_size(ctx));
    if (!prompt) goto done;
    /* A template that writes bos_token itself: keep one BOS, as llama.cpp. */
    if (o.chat && st.n_prompt >= 2 && prompt[0] == tl_token_bos(model) && prompt[1] == prompt[0])
        memmove(prompt, prompt + 1, (size_t)--st.n_prompt * sizeof *prompt);
    if (st.n_prompt == 0) {
        tl_cli_error("run", "the prompt is empty (and no BOS token is added)");
        goto done;
    }
    if ((uint32_t)st.n_prompt > tl_context_size(ctx)) {
        tl_cli_error("run", "the prompt has %d tokens, more than the context size of %u (use -c)", st.n_prompt,
                     tl_context_size(ctx));
        goto done;
    }
    if (!cli_sampling_finish(&o.sampling, "run", model, o.ignore_eos)) goto done;
    if (tl_sampler_new(model, &o.sampling.params, &sampler, &err) != TL_OK) {
        tl_cli_error("run", "%s", err.message);
        goto done;
    }
    rc = generate(&o, &d, model, ctx, sampler, prompt, st.n_prompt, &st);
done:
    free(prompt);
    tl_sampler_free(sampler);
    cli_sampling_free(&o.sampling);
    cli_draft_close(&o.draft);
    tl_context_free(ctx);
    tl_model_free(model);
    free(prompt_text);
    cli_defaults_free(&d);
    return rc;
}
