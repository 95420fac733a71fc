/*
 * cmd_chat.c — `tinyllm chat`: a conversation with a model through its chat
 * template. Reads one user message per line from stdin (or answers a JSON
 * conversation given with --messages) and streams each reply to stdout,
 * followed by a newline; after each reply a metrics line goes to stderr.
 * Each turn evaluates only the tokens the KV cache does not already hold
 * (see chat_session.h). When stdin is a terminal, chat_interactive.c takes
 * over: line editing, slash commands, Ctrl-C to stop a reply. A model of the
 * store brings its system prompt, template and options as the defaults under
 * the flags (cli_defaults.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "chat_session.h"
#include "cli.h"
#include "cli_context.h"
#include "cli_defaults.h"
#include "cli_draft.h"
#include "cli_sampling.h"

typedef struct chat_options {
    const char *model, *system, *chat_template, *messages, *bos;
    int32_t n_predict;
    bool verbose_prompt;
    tl_opt_list stop; /* --stop: replaces a store model's stop strings */
    cli_context context;
    cli_sampling sampling;
    cli_draft draft;
} chat_options;

static void write_reply_text(void *user_data, const char *text, size_t len) {
    (void)user_data;
    cli_write(text, len);
}

/* One turn: the reply streamed to stdout, then a newline and the metrics. */
static bool answer(chat_session *session) {
    chat_metrics m;
    if (!chat_session_reply(session, write_reply_text, NULL, &m)) return false;
    cli_write("\n", 1);
    chat_metrics_print(&m, stderr);
    return true;
}

/* The conversation of a --messages file: a list of messages or an object
 * with a "messages" list, the last one the user's. NULL after an error. */
static cJSON *read_messages(const char *path) {
    size_t len;
    char *text = cli_read_file("chat", "messages", path, &len);
    if (!text) return NULL;
    cJSON *json = cJSON_ParseWithLength(text, len);
    free(text);
    if (!json) {
        tl_cli_error("chat", "%s: not valid JSON", path);
        return NULL;
    }
    cJSON *messages = cJSON_IsObject(json) ? cJSON_DetachItemFromObjectCaseSensitive(json, "messages") : NULL;
    if (messages) {
        cJSON_Delete(json);
        json = messages;
    }
    const cJSON *last = cJSON_GetArrayItem(json, cJSON_GetArraySize(json) - 1);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(last, "role");
    if (!cJSON_IsArray(json)) {
        tl_cli_error("chat", "%s: expected a list of messages or an object with a \"messages\" list", path);
    } else if (!cJSON_IsString(role) || strcmp(role->valuestring, "user") != 0) {
        tl_cli_error("chat", "%s: the last message must be the user's", path);
    } else {
        return json;
    }
    cJSON_Delete(json);
    return NULL;
}

/* Script mode: every non-empty line of `in` is a user message. */
static bool chat_lines(chat_session *session, FILE *in) {
    char *line = NULL;
    size_t capacity = 0;
    ssize_t n;
    bool ok = true;
    while (ok && (n = getline(&line, &capacity, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n == 0) continue;
        ok = chat_session_add(session, "user", line) && answer(session);
    }
    free(line);
    return ok;
}

/* Loads the model (d's file), a context and a sampler, then holds the conversation. */
static int run_chat(chat_options *o, const cli_defaults *d) {
    int rc = 1;
    chat_model current = {0};
    cJSON *messages = NULL;
    chat_session session = {0};
    bool have_session = false;

    if (o->messages && !(messages = read_messages(o->messages))) goto done;
    tl_context_params cp;
    if (!cli_context_params(&o->context, "chat", &cp)) goto done;
    if (!chat_model_load(&current, "chat", d->path) ||
        !cli_sampling_finish(&o->sampling, "chat", current.model, false) ||
        !chat_model_start(&current, "chat", &cp, &o->sampling.params))
        goto done;
    if (!(have_session = chat_session_init(&session, "chat", current.model, current.ctx, current.sampler,
                                           o->chat_template, d->template_source, o->n_predict)))
        goto done;
    session.verbose_prompt = o->verbose_prompt;
    if (!o->draft.model && !o->draft.lookup) o->draft.model = d->draft; /* a store model's own draft */
    if (!cli_draft_open(&o->draft, "chat", current.model, &cp)) goto done;
    session.drafter = o->draft.drafter;
    session.draft_model = o->draft.draft_model;
    session.stops = o->stop.n ? o->stop.items : (const char *const *)d->options.stop;
    session.n_stops = o->stop.n ? o->stop.n : d->options.n_stop;
    if (o->bos) session.add_bos = strcmp(o->bos, "on") == 0;
    if (messages && !chat_session_load(&session, messages)) goto done;
    /* A store model's system prompt, as the server's, goes before a conversation without one. */
    const cJSON *first = cJSON_GetArrayItem(chat_session_messages(&session), 0);
    const cJSON *first_role = cJSON_GetObjectItemCaseSensitive(first, "role");
    const bool has_system = cJSON_IsString(first_role) && strcmp(first_role->valuestring, "system") == 0;
    const bool from_model = o->system && o->system == d->system;
    if (o->system && o->system[0] && !(from_model && has_system) && !chat_session_set_system(&session, o->system))
        goto done;
    if (messages)
        rc = answer(&session) ? 0 : 1;
    else if (isatty(STDIN_FILENO))
        rc = chat_interactive(&session, &current, &cp, &o->sampling.params);
    else
        rc = chat_lines(&session, stdin) ? 0 : 1;
done:
    if (have_session) chat_session_free(&session);
    cJSON_Delete(messages);
    chat_model_close(&current);
    cli_draft_close(&o->draft);
    return rc;
}

#define CHAT_N_OPTS 8

/* Sets o's defaults (a store model's, when d is given) and parses argv over
 * them: chat parses twice for a store model, to know the model first. */
static tl_args_result parse_options(chat_options *o, const cli_defaults *d, int argc, char **argv) {
    *o = (chat_options){.n_predict = -1};
    tl_opt opts[CHAT_N_OPTS + CLI_CONTEXT_N_OPTS + CLI_SAMPLING_N_OPTS + CLI_DRAFT_N_OPTS] = {
        {"-m", "--model", TL_OPT_STRING, &o->model, "FILE|NAME",
         "GGUF model file, or a model of the store (tinyllm list; its settings are the defaults)", NULL, 0, 0},
        {NULL, "--system", TL_OPT_STRING, &o->system, "TEXT",
         "a system message opening the conversation (default: a store model's; \"\" = none)", NULL, 0, 0},
        {NULL, "--chat-template", TL_OPT_STRING, &o->chat_template, "NAME|FILE",
         "a built-in template (chatml, llama3, ...) or a Jinja file instead of the model's", NULL, 0, 0},
        {NULL, "--messages", TL_OPT_STRING, &o->messages, "FILE",
         "answer this JSON conversation (its last message the user's) instead of reading stdin", NULL, 0, 0},
        {"-n", "--n-predict", TL_OPT_INT, &o->n_predict, "N",
         "most tokens per reply; -1 = until the end of the turn or a full context (default -1; in a terminal, "
         "/set n-predict changes it)",
         NULL, -1, 1e9},
        {NULL, "--stop", TL_OPT_LIST, &o->stop, "TEXT",
         "end a reply before this text too (repeatable; replaces a store model's stop strings)", NULL, 0, 0},
        {NULL, "--bos", TL_OPT_STRING, &o->bos, "on|off",
         "start the prompt with the BOS token or not (default: as the vocabulary says)", NULL, 0, 0},
        {NULL, "--verbose-prompt", TL_OPT_FLAG, &o->verbose_prompt, "",
         "print each turn's prompt text (the rendered conversation) on stderr before the reply", NULL, 0, 0},
    };
    int n_opts = CHAT_N_OPTS;
    cli_context_init(&o->context, opts + n_opts);
    n_opts += CLI_CONTEXT_N_OPTS;
    cli_sampling_init(&o->sampling, opts + n_opts);
    n_opts += CLI_SAMPLING_N_OPTS;
    cli_draft_init(&o->draft, opts + n_opts);
    n_opts += CLI_DRAFT_N_OPTS;
    if (d) {
        cli_defaults_apply(d, &o->context, &o->sampling, &o->n_predict);
        o->system = d->system;
        if (d->options.add_bos >= 0) o->bos = d->options.add_bos ? "on" : "off";
    }
    const tl_command_spec spec = {"chat",
                                  "(-m FILE|NAME | NAME) [--system TEXT] [--chat-template NAME|FILE] "
                                  "[--messages FILE] [options]",
                                  "Chat with a model. In a terminal: line editing, history, /help for the slash "
                                  "commands;\notherwise one user message per line on stdin (or a --messages "
                                  "conversation).\nEach reply on stdout, a metrics line on stderr.",
                                  opts, n_opts};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 1, &n_pos);
    if (r != TL_ARGS_OK) return r;
    if (n_pos && o->model) {
        tl_cli_error("chat", "unexpected argument '%s' (the model is given with -m)", positional[0]);
        return TL_ARGS_ERROR;
    }
    if (n_pos) o->model = positional[0];
    return TL_ARGS_OK;
}

int cmd_chat(int argc, char **argv) {
    chat_options o;
    cli_defaults d = {0};
    tl_args_result r = parse_options(&o, NULL, argc, argv);
    int rc = r == TL_ARGS_HELP ? 0 : 1;
    if (r == TL_ARGS_OK && !o.model) {
        tl_cli_error("chat", "no model given: use -m FILE or NAME");
    } else if (r == TL_ARGS_OK && cli_defaults_load(&d, "chat", o.model, true)) {
        /* A store model's settings are the defaults the flags override. */
        if (d.manifest) {
            cli_sampling_free(&o.sampling);
            r = parse_options(&o, &d, argc, argv); /* as the first parse did, it succeeds */
        }
        if (r == TL_ARGS_OK && o.bos && strcmp(o.bos, "on") != 0 && strcmp(o.bos, "off") != 0)
            tl_cli_error("chat", "--bos expects on or off, got '%s'", o.bos);
        else if (r == TL_ARGS_OK)
            rc = run_chat(&o, &d);
    }
    cli_sampling_free(&o.sampling);
    cli_defaults_free(&d);
    return rc;
}
