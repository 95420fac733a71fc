/*
 * chat_session.h — one conversation with a model, turn by turn, for
 * `tinyllm chat`: the messages so far, the chat template that renders them,
 * and the tokens whose keys/values the context already holds, so that each
 * turn evaluates only what is new (prompt re-use). When a turn does not fit
 * the context, the oldest user/assistant exchanges are dropped (the system
 * message is kept) and the cache is re-used as far as the prefix matches.
 *
 * The session borrows the model, context and sampler (a chat_model); the
 * front end (the line-by-line script mode, or the interactive terminal) owns
 * them and decides where the streamed text and the metrics go.
 */
#ifndef TL_CHAT_SESSION_H
#define TL_CHAT_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tinyllm.h"

struct cJSON;

/* What one reply cost, for the metrics line. */
typedef struct chat_metrics {
    int32_t n_generated;     /* tokens of the reply */
    double generation_ms;    /* from the first token sampled to the last */
    double first_token_ms;   /* from the start of prompt evaluation to the first token (TTFT) */
    int32_t n_prompt_new;    /* prompt tokens evaluated this turn */
    int32_t n_prompt_reused; /* prompt tokens whose cache was kept from earlier turns */
    int32_t n_dropped;       /* old messages dropped to make the turn fit */
    uint32_t context_used, context_size;
    const char *stop_reason; /* "end", "length", "context" or "interrupted" */
    bool speculative;        /* a drafter was used: the counts below mean something */
    tl_draft_stats draft;
} chat_metrics;

/* Receives the reply's text as it is produced. */
typedef void (*chat_text_fn)(void *user_data, const char *text, size_t len);

typedef struct chat_session {
    const char *command; /* for error messages: "chat" */
    const tl_model *model;
    tl_context *ctx;
    tl_sampler *sampler;
    const char *template_override; /* --chat-template: a built-in name or a file; NULL = the model's */
    const char *template_default;  /* without an override: this Jinja source (a store model's template, borrowed)
                                      rather than the model file's; NULL = the file's */
    const char *const *stops;      /* stop strings besides the template's end of turn (borrowed) */
    int32_t n_stops;
    bool verbose_prompt;         /* print each turn's prompt text on stderr before its reply */
    tl_drafter *drafter;         /* speculative decoding (borrowed); NULL = none */
    const tl_model *draft_model; /* the drafter's model; NULL for prompt lookup */
    char *prompt_text;           /* the last prompt rendered, kept when verbose_prompt */
    char *template_source;
    char *end_marker;      /* the template's end-of-turn text ("<|im_end|>"), "" if unknown */
    struct cJSON *context; /* {"messages": [...]} as the template sees it */
    tl_token *cached;      /* the tokens held in ctx's KV cache, in order */
    int32_t n_cached;
    size_t cached_capacity;
    int32_t n_predict; /* most tokens per reply; -1 = until the end of the turn or a full context */
    int add_bos;       /* start the prompt with BOS: 1 yes, 0 no, -1 as the vocabulary says */
    /* When set and non-zero during a reply (a SIGINT handler sets it), the
     * reply stops after the current token; the text so far is kept. */
    const volatile sig_atomic_t *interrupted;
} chat_session;

/* Sets up an empty conversation using `template_override` (a built-in name
 * or a file), else `template_default` (Jinja source, borrowed), else the
 * model's template, else chatml. Prints a one-line error and returns false
 * on failure (nothing to free then). */
bool chat_session_init(chat_session *s, const char *command, const tl_model *model, tl_context *ctx,
                       tl_sampler *sampler, const char *template_override, const char *template_default,
                       int32_t n_predict);
void chat_session_free(chat_session *s);
/* Continues the conversation with another model, whose context and sampler
 * these are: the template is chosen again for it (unless overridden: its
 * file's own, not template_default, which belonged to the first) and the
 * next reply evaluates the whole conversation. On failure (printed) nothing
 * changes. */
bool chat_session_switch_model(chat_session *s, const tl_model *model, tl_context *ctx, tl_sampler *sampler);

/* Appends a message ("system", "user", "assistant"). */
bool chat_session_add(chat_session *s, const char *role, const char *content);
/* Sets the system message (first in the conversation), replacing any. */
bool chat_session_set_system(chat_session *s, const char *content);
/* Replaces the conversation by a JSON list of {"role", "content"} (copied). */
bool chat_session_load(chat_session *s, const struct cJSON *messages);
/* The role of the last message, or NULL when there is none. */
const char *chat_session_last_role(const chat_session *s);

/* The conversation as a JSON list of {"role", "content"} (owned by the session). */
const struct cJSON *chat_session_messages(const chat_session *s);
/* Removes the last message; returns false when there is none. */
bool chat_session_pop(chat_session *s);
/* Empties the conversation, keeping the system message when `keep_system`. */
void chat_session_clear(chat_session *s, bool keep_system);

/* The metrics line: "[N tokens, X tok/s, ... context U/S]" and a newline. */
void chat_metrics_print(const chat_metrics *m, FILE *out);

/* A decoder-only model with its context and sampler (chat_model.c). */
typedef struct chat_model {
    tl_model *model;
    tl_context *ctx;
    tl_sampler *sampler;
} chat_model;

/* Loads the model at `path` (refusing encoders), then makes its context and
 * sampler. Each prints a one-line error and closes `m` on failure. */
bool chat_model_load(chat_model *m, const char *command, const char *path);
bool chat_model_start(chat_model *m, const char *command, const tl_context_params *context_params,
                      const tl_sampler_params *sampler_params);
void chat_model_close(chat_model *m);

/* The interactive terminal front end (chat_interactive.c): a prompt with line
 * editing and history, slash commands, Ctrl-C to stop a reply. The session
 * talks to `*current`; /set replaces its sampler (from `*sampler_params`,
 * updated) and /model replaces all of it (with `context_params`). The caller
 * closes the final `*current`. Returns the exit code. */
int chat_interactive(chat_session *s, chat_model *current, const tl_context_params *context_params,
                     tl_sampler_params *sampler_params);

/* Generates the assistant's reply to the conversation (whose last message is
 * normally the user's), streaming its text to `on_text`, and appends it as
 * an assistant message. Prints a one-line error and returns false on failure;
 * the notice about dropped messages goes to stderr. */
bool chat_session_reply(chat_session *s, chat_text_fn on_text, void *user_data, chat_metrics *metrics);

#endif /* TL_CHAT_SESSION_H */
