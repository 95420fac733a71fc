/*
 * chat_interactive.c — `tinyllm chat` when stdin is a terminal: a prompt with
 * line editing and history (libedit when built with it, plain lines
 * otherwise), multi-line input (a line ending in '\' continues), streamed
 * replies with the metrics line after each, slash commands (/help lists
 * them), Ctrl-C to stop a reply, and Ctrl-C twice at the prompt to quit.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#ifdef TL_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "chat_session.h"
#include "cli.h"
#include "util/buffer.h"
#include "util/number_text.h"

static volatile sig_atomic_t interrupt_requested = 0;

static void on_sigint(int signo) {
    (void)signo;
    interrupt_requested = 1;
}

/* Totals over the session for /stats. */
typedef struct chat_totals {
    int32_t n_replies, n_generated, n_prompt_new, n_prompt_reused;
    double generation_ms, first_token_ms;
} chat_totals;

typedef struct interactive {
    chat_session *session;
    chat_model *current;
    const tl_context_params *context_params;
    tl_sampler_params *params;
    chat_totals totals;
    bool quit;
} interactive;

/* One line from the terminal (malloc'd, without its newline), or NULL at
 * the end of input or when Ctrl-C interrupted the read (the flag tells). */
static char *read_line(const char *prompt) {
#ifdef TL_HAVE_LIBEDIT
    return readline(prompt);
#else
    fputs(prompt, stdout);
    fflush(stdout);
    char *line = NULL;
    size_t capacity = 0;
    ssize_t n = getline(&line, &capacity, stdin);
    if (n < 0) {
        free(line);
        clearerr(stdin);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    return line;
#endif
}

/* A whole message: lines ending in '\' continue on the next (joined with
 * newlines). NULL at the end of input or after Ctrl-C. */
static char *read_message(void) {
    tl_buf message = {0};
    for (const char *prompt = "> ";; prompt = "... ") {
        char *line = read_line(prompt);
        if (!line) {
            tl_buf_free(&message);
            return NULL;
        }
        size_t n = strlen(line);
        const bool more = n > 0 && line[n - 1] == '\\';
        if (more) line[--n] = 0;
        const bool ok = tl_buf_append(&message, line, n) && (!more || tl_buf_append(&message, "\n", 1));
        free(line);
        if (!ok) {
            tl_buf_free(&message);
            return NULL;
        }
        if (!more) break;
    }
#ifdef TL_HAVE_LIBEDIT
    if (message.len) add_history(message.data);
#endif
    return tl_buf_take(&message);
}

static void write_reply_text(void *user_data, const char *text, size_t len) {
    (void)user_data;
    cli_write(text, len);
}

/* Generates and streams a reply to the conversation, then the metrics.
 * False after an error (printed). */
static bool reply(interactive *it) {
    chat_metrics m;
    interrupt_requested = 0;
    const bool ok = chat_session_reply(it->session, write_reply_text, NULL, &m);
    if (!ok) return false;
    cli_write("\n", 1);
    if (strcmp(m.stop_reason, "interrupted") == 0) fprintf(stderr, "(stopped)\n");
    chat_metrics_print(&m, stderr);
    chat_totals *t = &it->totals;
    t->n_replies++;
    t->n_generated += m.n_generated;
    t->n_prompt_new += m.n_prompt_new;
    t->n_prompt_reused += m.n_prompt_reused;
    t->generation_ms += m.generation_ms;
    t->first_token_ms += m.first_token_ms;
    interrupt_requested = 0;
    return true;
}

static void print_help(void) {
    puts("Type a message and press Enter; end a line with '\\' to continue on the next.\n"
         "Ctrl-C stops a reply; Ctrl-C twice at the prompt (or /quit, Ctrl-D) quits.\n"
         "  /help                 this list\n"
         "  /system TEXT          set the system message\n"
         "  /set NAME VALUE       temp, top-k, top-p, min-p, repeat-penalty, seed, n-predict (-1 = no\n"
         "                        limit) or bos (on|off|auto)\n"
         "  /settings             the sampling settings\n"
         "  /reset                forget the conversation (the system message stays)\n"
         "  /undo                 remove the last exchange\n"
         "  /retry                generate the last reply again\n"
         "  /save FILE            write the conversation as JSON\n"
         "  /load FILE            read a conversation from JSON\n"
         "  /stats                totals for this session\n"
         "  /model FILE           continue the conversation with another model\n"
         "  /quit                 leave");
}

static void print_settings(const interactive *it) {
    const tl_sampler_params *p = it->params;
    const int bos = it->session->add_bos;
    char temp[TL_NUMBER_TEXT_SIZE], top_p[TL_NUMBER_TEXT_SIZE], min_p[TL_NUMBER_TEXT_SIZE],
        penalty[TL_NUMBER_TEXT_SIZE];
    printf("temp %s, top-k %d, top-p %s, min-p %s, repeat-penalty %s, seed %llu, n-predict %d, bos %s\n",
           tl_float_text(p->temperature, temp), p->top_k, tl_float_text(p->top_p, top_p),
           tl_float_text(p->min_p, min_p), tl_float_text(p->repeat_penalty, penalty),
           (unsigned long long)tl_sampler_seed(it->current->sampler), it->session->n_predict,
           bos < 0 ? "auto"
           : bos   ? "on"
                   : "off");
}

/* Parses a whole number or decimal within [min, max]. */
static bool parse_number(const char *text, double min, double max, double *out) {
    char *end;
    errno = 0;
    const double v = strtod(text, &end);
    if (errno || end == text || *end || isnan(v) || v < min || v > max) return false;
    *out = v;
    return true;
}

#define SET_NAMES "temp, top-k, top-p, min-p, repeat-penalty, seed, n-predict or bos"

/* /set bos on|off|auto and /set n-predict N: settings of the session, not of
 * the sampler. False when `name` is neither. */
static bool set_session_setting(interactive *it, const char *name, const char *value) {
    if (strcmp(name, "bos") == 0) {
        static const char *const choices[3] = {"auto", "off", "on"}; /* add_bos -1, 0, 1 */
        for (int i = 0; i < 3; i++)
            if (strcmp(value, choices[i]) == 0) {
                it->session->add_bos = i - 1;
                printf("bos = %s\n", value);
                return true;
            }
        printf("bad value for bos: '%s' (on, off or auto)\n", value);
        return true;
    }
    if (strcmp(name, "n-predict") == 0) {
        double v;
        if (parse_number(value, -1, 1e9, &v) && v == floor(v)) {
            it->session->n_predict = (int32_t)v;
            printf("n-predict = %d\n", it->session->n_predict);
        } else {
            printf("bad value for n-predict: '%s' (tokens per reply, -1 = no limit)\n", value);
        }
        return true;
    }
    return false;
}

/* /set NAME VALUE: changes one setting (a sampling one rebuilds the sampler,
 * keeping the seed in use unless the seed is what changes). */
static void set_setting(interactive *it, const char *args) {
    char name[32];
    int used = 0;
    if (sscanf(args, "%31s %n", name, &used) != 1 || !args[used]) {
        puts("usage: /set temp|top-k|top-p|min-p|repeat-penalty|seed|n-predict|bos VALUE");
        return;
    }
    const char *value = args + used;
    if (set_session_setting(it, name, value)) return;
    tl_sampler_params p = *it->params;
    p.seed = tl_sampler_seed(it->current->sampler);
    float *real = NULL;
    double max = 1, v;
    bool ok;
    if (strcmp(name, "temp") == 0)
        real = &p.temperature, max = 100;
    else if (strcmp(name, "top-p") == 0)
        real = &p.top_p;
    else if (strcmp(name, "min-p") == 0)
        real = &p.min_p;
    else if (strcmp(name, "repeat-penalty") == 0)
        real = &p.repeat_penalty, max = 100;
    if (real) {
        if ((ok = parse_number(value, 0, max, &v))) *real = (float)v;
    } else if (strcmp(name, "top-k") == 0) {
        if ((ok = parse_number(value, 0, 1e9, &v) && v == floor(v))) p.top_k = (int32_t)v;
    } else if (strcmp(name, "seed") == 0) {
        char *end;
        errno = 0;
        const unsigned long long seed = strtoull(value, &end, 10);
        if ((ok = !errno && end != value && !*end && value[0] != '-')) p.seed = (uint64_t)seed;
    } else {
        printf("unknown setting '%s': " SET_NAMES "\n", name);
        return;
    }
    if (!ok) {
        printf("bad value for %s: '%s'\n", name, value);
        return;
    }
    tl_sampler *sampler = NULL;
    tl_error err = {0};
    if (tl_sampler_new(it->session->model, &p, &sampler, &err) != TL_OK) {
        printf("cannot apply %s: %s\n", name, err.message);
        return;
    }
    tl_sampler_free(it->current->sampler);
    it->current->sampler = it->session->sampler = sampler;
    *it->params = p;
    printf("%s = %s\n", name, value);
}

/* Removes messages from the end back to and including the last user message. */
static bool undo_exchange(chat_session *s) {
    const char *role;
    bool removed = false;
    while ((role = chat_session_last_role(s)) && strcmp(role, "system") != 0) {
        const bool was_user = strcmp(role, "user") == 0;
        chat_session_pop(s);
        removed = true;
        if (was_user) break;
    }
    return removed;
}

static void save_conversation(const chat_session *s, const char *path) {
    cJSON *root = cJSON_CreateObject();
    cJSON *copy = cJSON_Duplicate(chat_session_messages(s), true);
    char *text = NULL;
    if (root && copy && cJSON_AddItemToObject(root, "messages", copy)) {
        copy = NULL;
        text = cJSON_Print(root);
    }
    cJSON_Delete(copy);
    cJSON_Delete(root);
    FILE *f = text ? fopen(path, "w") : NULL;
    bool ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0) ok = false;
    free(text);
    if (ok)
        printf("saved %d messages to %s\n", cJSON_GetArraySize(chat_session_messages(s)), path);
    else
        printf("cannot write %s: %s\n", path, strerror(errno));
}

/* A list of {"role", "content"} strings, or an object with such a "messages" list. */
static void load_conversation(chat_session *s, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("cannot read %s: %s\n", path, strerror(errno));
        return;
    }
    fclose(f);
    size_t len;
    char *text = cli_read_file(s->command, "conversation", path, &len);
    if (!text) return;
    cJSON *json = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *messages = cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "messages") : json;
    bool valid = cJSON_IsArray(messages);
    for (const cJSON *m = valid ? messages->child : NULL; m; m = m->next) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content)) valid = false;
    }
    if (!valid)
        printf("%s: expected a list of {\"role\", \"content\"} messages (or {\"messages\": [...]})\n", path);
    else if (chat_session_load(s, messages))
        printf("loaded %d messages from %s\n", cJSON_GetArraySize(messages), path);
    cJSON_Delete(json);
}

static void print_stats(const interactive *it) {
    const chat_totals *t = &it->totals;
    printf("%d replies, %d tokens generated (%.1f tok/s), %d prompt tokens evaluated, %d reused, "
           "mean TTFT %.0f ms, %d messages, context %u/%u\n",
           t->n_replies, t->n_generated, t->generation_ms > 0 ? t->n_generated * 1e3 / t->generation_ms : 0.0,
           t->n_prompt_new, t->n_prompt_reused, t->n_replies ? t->first_token_ms / t->n_replies : 0.0,
           cJSON_GetArraySize(chat_session_messages(it->session)), tl_context_used(it->session->ctx),
           tl_context_size(it->session->ctx));
}

/* /model FILE: loads the other model beside the current one and swaps only
 * when it is ready, so a bad file leaves the chat as it was. */
static void switch_model(interactive *it, const char *path) {
    chat_model next;
    const double start = tl_time_ms();
    if (!chat_model_load(&next, it->session->command, path)) return;
    if (it->params->n_logit_bias > 0) { /* token ids of the old vocabulary mean nothing to the new one */
        printf("note: --logit-bias is dropped for %s\n", path);
        it->params->n_logit_bias = 0;
    }
    if (!chat_model_start(&next, it->session->command, it->context_params, it->params)) return;
    if (!chat_session_switch_model(it->session, next.model, next.ctx, next.sampler)) {
        chat_model_close(&next);
        return;
    }
    chat_model_close(it->current);
    *it->current = next;
    if (it->session->drafter && it->session->draft_model) { /* it drafted for the other vocabulary */
        printf("note: the draft model is not used with %s\n", path);
        it->session->drafter = NULL;
    }
    printf("switched to %s in %.0f ms; the conversation (%d messages) continues\n", path, tl_time_ms() - start,
           cJSON_GetArraySize(chat_session_messages(it->session)));
}

/* Runs one slash command (`line` starts with '/'). */
static void run_command(interactive *it, const char *line) {
    char name[32];
    int used = 0;
    if (sscanf(line, "/%31s %n", name, &used) != 1) {
        puts("unknown command: try /help");
        return;
    }
    const char *args = line + used;
    chat_session *s = it->session;
    if (strcmp(name, "help") == 0)
        print_help();
    else if (strcmp(name, "quit") == 0 || strcmp(name, "exit") == 0)
        it->quit = true;
    else if (strcmp(name, "settings") == 0)
        print_settings(it);
    else if (strcmp(name, "stats") == 0)
        print_stats(it);
    else if (strcmp(name, "set") == 0)
        set_setting(it, args);
    else if (strcmp(name, "system") == 0) {
        if (!*args)
            puts("usage: /system TEXT");
        else if (chat_session_set_system(s, args))
            puts("system message set");
    } else if (strcmp(name, "reset") == 0) {
        chat_session_clear(s, true);
        puts("conversation cleared");
    } else if (strcmp(name, "undo") == 0) {
        puts(undo_exchange(s) ? "removed the last exchange" : "nothing to undo");
    } else if (strcmp(name, "retry") == 0) {
        const char *role = chat_session_last_role(s);
        if (role && strcmp(role, "assistant") == 0) chat_session_pop(s);
        role = chat_session_last_role(s);
        if (!role || strcmp(role, "user") != 0)
            puts("nothing to retry");
        else
            (void)reply(it);
    } else if (strcmp(name, "model") == 0) {
        if (!*args)
            puts("usage: /model FILE");
        else
            switch_model(it, args);
    } else if (strcmp(name, "save") == 0 || strcmp(name, "load") == 0) {
        if (!*args)
            printf("usage: /%s FILE\n", name);
        else if (name[0] == 's')
            save_conversation(s, args);
        else
            load_conversation(s, args);
    } else {
        printf("unknown command /%s: try /help\n", name);
    }
}

int chat_interactive(chat_session *s, chat_model *current, const tl_context_params *context_params,
                     tl_sampler_params *sampler_params) {
    interactive it = {.session = s, .current = current, .context_params = context_params, .params = sampler_params};
    struct sigaction action = {0}, previous;
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; /* no SA_RESTART: Ctrl-C interrupts the read at the prompt */
    sigaction(SIGINT, &action, &previous);
#ifdef TL_HAVE_LIBEDIT
    rl_catch_signals = 0;
    using_history();
#endif
    s->interrupted = &interrupt_requested;
    puts("tinyllm chat: type a message, /help for commands, /quit to leave.");
    int pending_interrupts = 0;
    while (!it.quit) {
        interrupt_requested = 0;
        char *message = read_message();
        if (!message) {
            if (!interrupt_requested) break; /* end of input (Ctrl-D) */
            if (++pending_interrupts >= 2) {
                putchar('\n');
                break;
            }
            puts("\n(Ctrl-C again to quit)");
            continue;
        }
        pending_interrupts = 0;
        if (message[0] == '/')
            run_command(&it, message);
        else if (message[0] && chat_session_add(s, "user", message) && !reply(&it))
            chat_session_pop(s); /* the error is printed: forget the unanswered message */
        free(message);
    }
    s->interrupted = NULL;
    sigaction(SIGINT, &previous, NULL);
    return 0;
}
