/*
 * chat_session.c — a conversation turn by turn (see chat_session.h): render
 * the whole conversation, keep the cached prefix, evaluate the rest, stream
 * the reply until an end-of-generation token or the template's end-of-turn
 * text, and drop the oldest exchanges when the context is too small.
 */
#include "chat_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_draft.h"
#include "util/buffer.h"

/* The template's end-of-turn text, "" when it does not tell (a template
 * that refuses a plain user/assistant exchange just has no known marker). */
static char *find_end_marker(const chat_session *s) {
    char *marker = NULL, *eos = cli_token_text(s->model, tl_token_eos(s->model));
    tl_error err = {0};
    if (eos && tl_chat_turn_end(s->template_source, eos, &marker, &err) != TL_OK) marker = strdup("");
    free(eos);
    return marker;
}

/* Chooses the template (the override, else the default, else the model's,
 * else chatml) and its end marker. */
static bool use_template(chat_session *s) {
    char *source = !s->template_override && s->template_default
                       ? strdup(s->template_default)
                       : cli_chat_template(s->command, s->model, s->template_override);
    if (!source) return false;
    free(s->template_source);
    free(s->end_marker);
    s->template_source = source;
    if (!(s->end_marker = find_end_marker(s))) {
        tl_cli_error(s->command, "out of memory");
        return false;
    }
    return true;
}

bool chat_session_init(chat_session *s, const char *command, const tl_model *model, tl_context *ctx,
                       tl_sampler *sampler, const char *template_override, const char *template_default,
                       int32_t n_predict) {
    *s = (chat_session){.command = command,
                        .model = model,
                        .ctx = ctx,
                        .sampler = sampler,
                        .template_override = template_override,
                        .template_default = template_default,
                        .n_predict = n_predict,
                        .add_bos = -1};
    if (!use_template(s)) {
        chat_session_free(s);
        return false;
    }
    if (!(s->context = cJSON_CreateObject()) || !cJSON_AddArrayToObject(s->context, "messages")) {
        tl_cli_error(command, "out of memory");
        chat_session_free(s);
        return false;
    }
    tl_context_truncate(ctx, 0);
    return true;
}

bool chat_session_switch_model(chat_session *s, const tl_model *model, tl_context *ctx, tl_sampler *sampler) {
    chat_session next = *s;
    next.model = model;
    next.template_default = NULL;
    next.template_source = next.end_marker = NULL;
    if (!use_template(&next)) {
        free(next.template_source);
        free(next.end_marker);
        return false;
    }
    free(s->template_source);
    free(s->end_marker);
    s->template_source = next.template_source;
    s->end_marker = next.end_marker;
    s->template_default = NULL;
    s->model = model;
    s->ctx = ctx;
    s->sampler = sampler;
    s->n_cached = 0; /* the new context holds nothing yet */
    tl_context_truncate(ctx, 0);
    return true;
}

void chat_session_free(chat_session *s) {
    free(s->prompt_text);
    free(s->template_source);
    free(s->end_marker);
    cJSON_Delete(s->context);
    free(s->cached);
    *s = (chat_session){0};
}

static cJSON *messages_of(const chat_session *s) {
    return cJSON_GetObjectItemCaseSensitive(s->context, "messages");
}

static cJSON *new_message(const char *role, const char *content) {
    cJSON *m = cJSON_CreateObject();
    if (m && (!cJSON_AddStringToObject(m, "role", role) || !cJSON_AddStringToObject(m, "content", content))) {
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

static const char *role_of(const cJSON *message) {
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(message, "role");
    return cJSON_IsString(role) ? role->valuestring : "";
}

bool chat_session_add(chat_session *s, const char *role, const char *content) {
    cJSON *m = new_message(role, content);
    if (!m || !cJSON_AddItemToArray(messages_of(s), m)) {
        cJSON_Delete(m);
        tl_cli_error(s->command, "out of memory");
        return false;
    }
    return true;
}

bool chat_session_set_system(chat_session *s, const char *content) {
    cJSON *messages = messages_of(s), *m = new_message("system", content);
    if (!m) {
        tl_cli_error(s->command, "out of memory");
        return false;
    }
    cJSON *first = cJSON_GetArrayItem(messages, 0);
    if (first && strcmp(role_of(first), "system") == 0)
        cJSON_ReplaceItemInArray(messages, 0, m);
    else
        cJSON_InsertItemInArray(messages, 0, m);
    return true;
}

bool chat_session_load(chat_session *s, const cJSON *messages) {
    cJSON *copy = cJSON_Duplicate(messages, true);
    if (!copy || !cJSON_ReplaceItemInObjectCaseSensitive(s->context, "messages", copy)) {
        cJSON_Delete(copy);
        tl_cli_error(s->command, "out of memory");
        return false;
    }
    return true;
}

const char *chat_session_last_role(const chat_session *s) {
    const cJSON *messages = messages_of(s);
    const int n = cJSON_GetArraySize(messages);
    return n ? role_of(cJSON_GetArrayItem(messages, n - 1)) : NULL;
}

const cJSON *chat_session_messages(const chat_session *s) {
    return messages_of(s);
}

bool chat_session_pop(chat_session *s) {
    cJSON *messages = messages_of(s);
    const int n = cJSON_GetArraySize(messages);
    if (n == 0) return false;
    cJSON_DeleteItemFromArray(messages, n - 1);
    return true;
}

void chat_session_clear(chat_session *s, bool keep_system) {
    cJSON *messages = messages_of(s);
    const int keep = keep_system && cJSON_GetArraySize(messages) > 0 &&
                     strcmp(role_of(cJSON_GetArrayItem(messages, 0)), "system") == 0;
    while (cJSON_GetArraySize(messages) > keep) cJSON_DeleteItemFromArray(messages, keep);
}

void chat_metrics_print(const chat_metrics *m, FILE *out) {
    const double per_second = m->generation_ms > 0 ? m->n_generated * 1e3 / m->generation_ms : 0.0;
    const double ms_per_token = m->n_generated > 0 ? m->generation_ms / m->n_generated : 0.0;
    char draft[160] = "";
    if (m->speculative) {
        memcpy(draft, ", ", 3);
        cli_draft_describe(&m->draft, m->n_generated, draft + 2, sizeof draft - 2);
    }
    fprintf(out,
            "[%d tokens, %.1f tok/s, %.2f ms/token, TTFT %.0f ms, prompt %d new tokens (%d reused), "
            "context %u/%u%s]\n",
            m->n_generated, per_second, ms_per_token, m->first_token_ms, m->n_prompt_new, m->n_prompt_reused,
            m->context_used, m->context_size, draft);
}

/* Removes the oldest exchange (a user message and the assistant's answer, or
 * whatever non-system message comes first), never the last message. Returns
 * how many messages were removed (0: nothing left to drop). */
static int drop_oldest_exchange(chat_session *s) {
    cJSON *messages = messages_of(s);
    const int n = cJSON_GetArraySize(messages);
    int first = 0;
    while (first < n && strcmp(role_of(cJSON_GetArrayItem(messages, first)), "system") == 0) first++;
    if (first >= n - 1) return 0;
    int count = 1;
    if (first + 1 < n - 1 && strcmp(role_of(cJSON_GetArrayItem(messages, first + 1)), "assistant") == 0) count = 2;
    for (int i = 0; i < count; i++) cJSON_DeleteItemFromArray(messages, first);
    return count;
}

/* The conversation rendered with an open assistant turn and tokenized (with
 * special tokens parsed and a doubled BOS removed). NULL after an error, or
 * with *too_long when it has more than cli_prompt_limit(n_ctx) tokens (not
 * all tokenized; *n_prompt is that limit). */
static tl_token *render_prompt(chat_session *s, int32_t *n_prompt, bool *too_long) {
    size_t len;
    *too_long = false;
    char *text = cli_chat_render(s->command, s->model, s->template_source, s->context, true, NULL, NULL, &len);
    if (!text) return NULL;
    const bool add_bos = s->add_bos < 0 ? tl_vocab_adds_bos(s->model) : s->add_bos == 1;
    tl_token *prompt = cli_tokenize_prompt(s->command, s->model, text, len, add_bos, true, tl_context_size(s->ctx),
                                           n_prompt, too_long);
    free(s->prompt_text);
    s->prompt_text = NULL;
    if (s->verbose_prompt)
        s->prompt_text = text;
    else
        free(text);
    /* A template that writes bos_token itself: keep one BOS, as llama.cpp;
     * none at all when BOS is turned off. */
    const tl_token bos = tl_token_bos(s->model);
    while (prompt && bos >= 0 && *n_prompt >= 1 && prompt[0] == bos &&
           (s->add_bos == 0 || (*n_prompt >= 2 && prompt[1] == bos)))
        memmove(prompt, prompt + 1, (size_t)-- * n_prompt * sizeof *prompt);
    if (prompt && *n_prompt == 0) {
        tl_cli_error(s->command, "the chat template rendered an empty prompt");
        free(prompt);
        return NULL;
    }
    return prompt;
}

/* Tokens kept free for the reply when deciding whether a turn fits. */
static int32_t reply_reserve(const chat_session *s) {
    const int32_t quarter = (int32_t)(tl_context_size(s->ctx) / 4);
    return s->n_predict >= 0 && s->n_predict < quarter ? s->n_predict : quarter;
}

/* Renders a prompt that fits the context, dropping the oldest exchanges
 * (with a notice) as needed. NULL after an error. */
static tl_token *fitting_prompt(chat_session *s, int32_t *n_prompt, int32_t *n_dropped) {
    const int32_t n_ctx = (int32_t)tl_context_size(s->ctx);
    *n_dropped = 0;
    for (;;) {
        bool too_long;
        tl_token *prompt = render_prompt(s, n_prompt, &too_long);
        if (!prompt && !too_long) return NULL;
        if (prompt && *n_prompt + reply_reserve(s) <= n_ctx) return prompt;
        const int dropped = drop_oldest_exchange(s);
        if (dropped == 0) {
            if (prompt && *n_prompt < n_ctx) return prompt; /* the reply may be cut short by the full context */
            tl_cli_error(s->command, "the conversation has %s%d tokens, more than the context size of %d (use -c)",
                         too_long ? "more than " : "", *n_prompt, n_ctx);
            free(prompt);
            return NULL;
        }
        free(prompt);
        *n_dropped += dropped;
        fprintf(stderr, "tinyllm %s: the context is full: dropped the oldest %d message%s\n", s->command, dropped,
                dropped == 1 ? "" : "s");
    }
}

/* Records that `token` now sits at the end of the KV cache. */
static bool remember_cached(chat_session *s, tl_token token) {
    tl_token *grown = tl_grow(s->cached, &s->cached_capacity, (size_t)s->n_cached + 1, sizeof *grown, 256);
    if (!grown) return false;
    s->cached = grown;
    s->cached[s->n_cached++] = token;
    return true;
}

/* Evaluates the prompt, keeping the cache of its longest prefix already
 * there; at least its last token is evaluated so that logits are ready. */
static bool evaluate_reusing_cache(chat_session *s, const tl_token *prompt, int32_t n_prompt, chat_metrics *m) {
    int32_t common = 0;
    while (common < s->n_cached && common < n_prompt && s->cached[common] == prompt[common]) common++;
    if (common == n_prompt) common--;
    tl_context_truncate(s->ctx, (uint32_t)common);
    s->n_cached = common;
    tl_error err = {0};
    if (tl_decode(s->ctx, prompt + common, n_prompt - common, (uint32_t)common, false, &err) != TL_OK) {
        tl_cli_error(s->command, "%s", err.message);
        tl_context_truncate(s->ctx, (uint32_t)common);
        return false;
    }
    for (int32_t i = common; i < n_prompt; i++)
        if (!remember_cached(s, prompt[i])) {
            tl_cli_error(s->command, "out of memory");
            return false;
        }
    m->n_prompt_reused = common;
    m->n_prompt_new = n_prompt - common;
    return true;
}

/* The chat's words for why a reply ended (chat_metrics.stop_reason). */
static const char *const chat_stop_names[] = {
    [TL_STOP_NONE] = "length",   [TL_STOP_EOG] = "end",         [TL_STOP_STOP_STRING] = "end",
    [TL_STOP_LENGTH] = "length", [TL_STOP_CONTEXT] = "context", [TL_STOP_CANCELLED] = "interrupted",
    [TL_STOP_ERROR] = "error",
};

/* Runs the generator (src/generate) until the turn ends, streaming its text
 * and remembering the tokens it evaluates. */
static bool generate_reply(chat_session *s, tl_generator *gen, chat_text_fn on_text, void *user_data, double turn_start,
                           chat_metrics *m) {
    double first_token_at = 0;
    tl_error err = {0};
    tl_generation_event ev = {0};
    tl_generator_begin(gen, tl_context_used(s->ctx), tl_context_size(s->ctx));
    do {
        if (s->interrupted && *s->interrupted) tl_generator_cancel(gen); /* ends after the token it draws */
        const double step_start = tl_time_ms();
        const tl_status st = tl_generator_step(gen, s->ctx, &ev, &err);
        if (ev.sampled && first_token_at == 0) {
            first_token_at = step_start; /* the logits were ready: the token is drawn from them */
            m->first_token_ms = first_token_at - turn_start;
        }
        if (st != TL_OK) {
            tl_cli_error(s->command, "%s", err.message);
            return false;
        }
        if (ev.text_len > 0) on_text(user_data, ev.text, ev.text_len);
        if (ev.n_feed > 0) s->n_cached = (int32_t)ev.feed_pos;
        for (int32_t i = 0; i < ev.n_feed; i++)
            if (!remember_cached(s, ev.feed[i])) {
                tl_cli_error(s->command, "out of memory");
                return false;
            }
    } while (ev.stop == TL_STOP_NONE);
    m->n_generated = ev.n_generated;
    m->stop_reason = chat_stop_names[ev.stop];
    if (m->n_generated > 0) m->generation_ms = tl_time_ms() - first_token_at;
    return true;
}

bool chat_session_reply(chat_session *s, chat_text_fn on_text, void *user_data, chat_metrics *metrics) {
    chat_metrics m = {.context_size = tl_context_size(s->ctx), .stop_reason = "length"};
    const double turn_start = tl_time_ms();
    int32_t n_prompt = 0;
    bool ok = false;
    /* The template's end-of-turn text ends the reply like EOG, and so do the stop strings. */
    const char **stops = malloc(((size_t)s->n_stops + 1) * sizeof *stops);
    tl_generator_params gp = tl_generator_default_params();
    gp.n_predict = s->n_predict;
    gp.stops = stops;
    gp.n_stops = s->n_stops + 1;
    tl_generator *gen = NULL;
    tl_error err = {0};
    tl_token *prompt = NULL;
    if (!stops) {
        tl_cli_error(s->command, "out of memory");
        goto done;
    }
    stops[0] = s->end_marker;
    for (int32_t i = 0; i < s->n_stops; i++) stops[i + 1] = s->stops[i];
    if (!(prompt = fitting_prompt(s, &n_prompt, &m.n_dropped))) goto done;
    if (s->prompt_text) fprintf(stderr, "tinyllm %s: prompt:\n%s\n", s->command, s->prompt_text);
    if (!evaluate_reusing_cache(s, prompt, n_prompt, &m)) goto done;
    tl_sampler_reset(s->sampler);
    for (int32_t i = 0; i < n_prompt; i++) tl_sampler_accept(s->sampler, prompt[i]);
    if (tl_generator_new(s->model, s->sampler, &gp, &gen, &err) != TL_OK) {
        tl_cli_error(s->command, "%s", err.message);
        goto done;
    }
    if (s->drafter && tl_drafter_begin(s->drafter, prompt, n_prompt, &err) != TL_OK) {
        tl_cli_error(s->command, "%s", err.message);
        goto done;
    }
    tl_generator_set_drafter(gen, s->drafter);
    if (!generate_reply(s, gen, on_text, user_data, turn_start, &m)) goto done;
    m.speculative = s->drafter != NULL;
    m.draft = tl_generator_draft_stats(gen);
    size_t len;
    if (!chat_session_add(s, "assistant", tl_generator_text(gen, &len))) goto done;
    m.context_used = tl_context_used(s->ctx);
    ok = true;
done:
    if (metrics) *metrics = m;
    tl_generator_free(gen);
    free(prompt);
    free(stops);
    return ok;
}
