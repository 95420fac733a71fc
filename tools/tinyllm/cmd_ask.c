/*
 * cmd_ask.c — `tinyllm ask`: answer a question from your own documents.
 *
 * The question retrieves the top chunks of a search database (as `tinyllm
 * search`, with the database's embedding model, and reranked with
 * --rerank-model: cli_retrieve.h). The prompt is one conversation through
 * the chat model's template: a system message telling the model to answer
 * from the numbered sources and cite them as [n] (--system replaces it),
 * then one user message with the sources, each "[n] path:first-last" and
 * its text, and after them the question. It is fitted to the context,
 * keeping room for the answer (-n tokens, or a quarter of the context when
 * -n is -1): the lowest-ranked chunks are dropped first and, when the best
 * one alone is still too long, its text is cut. The answer is streamed to
 * stdout by the chat session (chat_session.h), then "Sources:" lists every
 * chunk the prompt held, "(cited)" after those the answer cites as [n].
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "chat_session.h"
#include "cli.h"
#include "cli_context.h"
#include "cli_defaults.h"
#include "cli_retrieve.h"
#include "cli_sampling.h"

#define ASK_SYSTEM                                                                                                     \
    "Answer the question using only the numbered sources in the user's message. Cite the sources you use as [n], "     \
    "for example [1]. If the sources do not contain the answer, say that you do not know."

typedef struct ask_options {
    cli_retrieval retrieval;
    const char *model, *system, *chat_template;
    int32_t n_predict;
    bool json, verbose_prompt;
    cli_context context;
    cli_sampling sampling;
} ask_options;

/* The prompt as it is fitted: the first n_used hits, the last of them cut
 * to last_len bytes when cut. */
typedef struct ask_prompt {
    const chat_session *session;
    const char *system, *question;
    const tl_search_hit *hits;
    int n_used;
    size_t last_len;
    bool cut;
} ask_prompt;

/* The user message: the sources, numbered, then the question (malloc'd). */
static char *user_message(const ask_prompt *p) {
    size_t size = strlen(p->question) + 64;
    for (int i = 0; i < p->n_used; i++) size += strlen(p->hits[i].path) + strlen(p->hits[i].text) + 64;
    char *text = malloc(size), *end = text;
    if (!text) return NULL;
    end += sprintf(end, "Sources:\n\n");
    for (int i = 0; i < p->n_used; i++) {
        const tl_search_hit *h = &p->hits[i];
        const bool cut = p->cut && i == p->n_used - 1;
        end += sprintf(end, "[%d] %s:%lld-%lld\n%.*s%s\n\n", i + 1, h->path, (long long)h->first_line,
                       (long long)h->last_line, (int)(cut ? p->last_len : strlen(h->text)), h->text, cut ? "..." : "");
    }
    sprintf(end, "Question: %s", p->question);
    return text;
}

/* The prompt's size in tokens through the chat template; -1 after an error
 * (printed), INT32_MAX when it is far longer than the context. */
static int32_t prompt_tokens(const ask_prompt *p) {
    const chat_session *s = p->session;
    char *user = user_message(p);
    cJSON *context = cJSON_CreateObject(), *messages = cJSON_AddArrayToObject(context, "messages");
    cJSON *system = cJSON_CreateObject(), *message = cJSON_CreateObject();
    cJSON_AddStringToObject(system, "role", "system");
    cJSON_AddStringToObject(system, "content", p->system);
    if (p->system[0])
        cJSON_AddItemToArray(messages, system);
    else
        cJSON_Delete(system);
    cJSON_AddStringToObject(message, "role", "user");
    cJSON_AddStringToObject(message, "content", user ? user : "");
    cJSON_AddItemToArray(messages, message);
    int32_t n = -1;
    size_t len;
    char *text =
        user ? cli_chat_render(s->command, s->model, s->template_source, context, true, NULL, NULL, &len) : NULL;
    if (!user) tl_cli_error(s->command, "out of memory");
    if (text) {
        bool too_long = false;
        tl_token *tokens = cli_tokenize_prompt(s->command, s->model, text, len, tl_vocab_adds_bos(s->model), true,
                                               tl_context_size(s->ctx), &n, &too_long);
        if (too_long)
            n = INT32_MAX;
        else if (!tokens)
            n = -1;
        free(tokens);
    }
    free(text);
    free(user);
    cJSON_Delete(context);
    return n;
}

/* Fits the prompt into budget tokens: drops the lowest-ranked chunks, then
 * cuts the best one's text (on a UTF-8 character boundary). False after a
 * one-line error (the question alone does not fit). */
static bool fit_prompt(ask_prompt *p, int32_t budget, int32_t n_ctx, int32_t reserve) {
    p->cut = false;
    for (; p->n_used >= 1; p->n_used--) {
        const int32_t n = prompt_tokens(p);
        if (n < 0) return false;
        if (n <= budget) return true;
        if (p->n_used == 1) break;
    }
    /* The best chunk alone is too long: the longest prefix that fits. */
    p->cut = true;
    size_t lo = 0, hi = strlen(p->hits[0].text); /* prefix lo fits (checked below), hi does not */
    p->last_len = 0;
    const int32_t n_none = prompt_tokens(p);
    if (n_none < 0) return false;
    if (n_none > budget) {
        tl_cli_error(p->session->command,
                     "the question and instructions take %s%d tokens: with %d kept for the answer they do not fit "
                     "the context of %d (use -c or -n)",
                     n_none == INT32_MAX ? "more than " : "", n_none == INT32_MAX ? n_ctx : n_none, reserve, n_ctx);
        return false;
    }
    const char *text = p->hits[0].text;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        while (mid > lo && ((unsigned char)text[mid] & 0xC0) == 0x80) mid--;
        if (mid == lo) { /* no character boundary between lo and hi other than lo */
            lo = mid;
            break;
        }
        p->last_len = mid;
        const int32_t n = prompt_tokens(p);
        if (n < 0) return false;
        if (n <= budget)
            lo = mid;
        else
            hi = mid;
    }
    p->last_len = lo;
    return true;
}

static void write_answer(void *user_data, const char *text, size_t len) {
    if (!*(const bool *)user_data) cli_write(text, len);
}

/* True when the answer cites source n as "[n]". */
static bool cites(const char *answer, int n) {
    char mark[16];
    snprintf(mark, sizeof mark, "[%d]", n);
    return strstr(answer, mark) != NULL;
}

static void print_sources(const ask_prompt *p, const cli_retrieved *found, const char *answer) {
    printf("\n\nSources:\n");
    for (int i = 0; i < p->n_used; i++) {
        const tl_search_hit *h = &found->hits[i];
        printf("[%d] %s:%lld-%lld%s\n", i + 1, h->path, (long long)h->first_line, (long long)h->last_line,
               cites(answer, i + 1) ? " (cited)" : "");
    }
    fflush(stdout);
}

static bool print_json(const ask_prompt *p, const cli_retrieved *found, const char *answer, const chat_metrics *m) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "answer", answer);
    cJSON *sources = cJSON_AddArrayToObject(root, "sources");
    for (int i = 0; i < p->n_used; i++) {
        const tl_search_hit *h = &found->hits[i];
        char lines[48];
        snprintf(lines, sizeof lines, "%lld-%lld", (long long)h->first_line, (long long)h->last_line);
        cJSON *s = cJSON_CreateObject();
        cJSON_AddNumberToObject(s, "n", i + 1);
        cJSON_AddStringToObject(s, "path", h->path);
        cJSON_AddStringToObject(s, "lines", lines);
        cJSON_AddNumberToObject(s, "score", found->rerank_scores ? found->rerank_scores[i] : h->score);
        if (found->rerank_scores) cJSON_AddNumberToObject(s, "retrieval_score", h->score);
        cJSON_AddBoolToObject(s, "cited", cites(answer, i + 1));
        cJSON_AddBoolToObject(s, "truncated", p->cut && i == p->n_used - 1);
        cJSON_AddItemToArray(sources, s);
    }
    cJSON_AddStringToObject(root, "stop_reason", m->stop_reason);
    cJSON *t = cJSON_AddObjectToObject(root, "timings");
    cJSON_AddNumberToObject(t, "retrieve_ms", found->retrieve_ms);
    cJSON_AddNumberToObject(t, "rerank_ms", found->rerank_ms);
    cJSON_AddNumberToObject(t, "prompt_n", m->n_prompt_new);
    cJSON_AddNumberToObject(t, "first_token_ms", m->first_token_ms);
    cJSON_AddNumberToObject(t, "predicted_n", m->n_generated);
    cJSON_AddNumberToObject(t, "predicted_ms", m->generation_ms);
    cJSON_AddNumberToObject(t, "predicted_per_second",
                            m->generation_ms > 0 ? m->n_generated * 1e3 / m->generation_ms : 0);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) return false;
    printf("%s\n", text);
    free(text);
    return true;
}

/* The answer: the chunks retrieved, the model loaded, the prompt fitted,
 * the reply streamed, the sources listed. */
static int answer(ask_options *o, const cli_defaults *d, const char *question) {
    int rc = 1;
    chat_model cm = {0};
    chat_session session = {0};
    bool have_session = false;
    cli_retrieved found = {0};
    tl_context_params cp;
    if (!cli_context_params(&o->context, "ask", &cp)) goto done;
    o->retrieval.n_threads = o->context.n_threads;
    if (!cli_retrieve("ask", &o->retrieval, question, &found)) goto done;
    if (found.n_hits == 0 && o->retrieval.path_glob) {
        tl_cli_error("ask", "nothing in %s matches --path '%s'", o->retrieval.db_path, o->retrieval.path_glob);
        goto done;
    }
    if (found.n_hits == 0) {
        tl_cli_error("ask", "%s has no chunks: index some files with tinyllm index", o->retrieval.db_path);
        goto done;
    }
    if (!(cm.model = cli_load_model("ask", d->path, false))) goto done;
    if (tl_model_has_encoder(cm.model) || !tl_model_has_decoder(cm.model)) {
        tl_cli_error("ask", "%s is not a decoder-only model: ask needs a chat (generating) model", o->model);
        goto done;
    }
    if (!cli_sampling_finish(&o->sampling, "ask", cm.model, false) ||
        !chat_model_start(&cm, "ask", &cp, &o->sampling.params))
        goto done;
    if (!(have_session = chat_session_init(&session, "ask", cm.model, cm.ctx, cm.sampler, o->chat_template,
                                           d->template_source, o->n_predict)))
        goto done;
    session.verbose_prompt = o->verbose_prompt;
    session.stops = (const char *const *)d->options.stop;
    session.n_stops = d->options.n_stop;
    const int32_t n_ctx = (int32_t)tl_context_size(cm.ctx);
    const int32_t reserve = o->n_predict >= 0 ? o->n_predict : n_ctx / 4;
    ask_prompt p = {&session, o->system, question, found.hits, found.n_hits, 0, false};
    if (!fit_prompt(&p, n_ctx - reserve, n_ctx, reserve)) goto done;
    if (p.n_used < found.n_hits || p.cut)
        fprintf(stderr, "tinyllm ask: the context of %d tokens holds %d of the %d chunks%s\n", n_ctx, p.n_used,
                found.n_hits, p.cut ? ", the last cut short" : "");
    char *user = user_message(&p);
    const bool ok = user && (!p.system[0] || chat_session_set_system(&session, p.system)) &&
                    chat_session_add(&session, "user", user);
    free(user);
    if (!ok) {
        if (!user) tl_cli_error("ask", "out of memory");
        goto done;
    }
    chat_metrics m;
    if (!chat_session_reply(&session, write_answer, &o->json, &m)) goto done;
    const cJSON *last = cJSON_GetArrayItem(chat_session_messages(&session), 2 - !p.system[0]);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(last, "content");
    const char *text = cJSON_IsString(content) ? content->valuestring : "";
    if (o->json) {
        if (!print_json(&p, &found, text, &m)) {
            tl_cli_error("ask", "out of memory");
            goto done;
        }
    } else {
        print_sources(&p, &found, text);
        chat_metrics_print(&m, stderr);
    }
    rc = 0;
done:
    cli_retrieved_free(&found);
    if (have_session) chat_session_free(&session);
    chat_model_close(&cm);
    return rc;
}

#define ASK_N_OPTS 8

/* Sets o's defaults (a store model's, when d is given) and parses argv over
 * them: ask parses twice for a store model, to know the model first. */
static tl_args_result parse_options(ask_options *o, const cli_defaults *d, int argc, char **argv,
                                    const char ***positional, int *n_pos) {
    *o = (ask_options){.n_predict = -1, .system = ASK_SYSTEM};
    tl_opt opts[CLI_RETRIEVAL_N_OPTS + ASK_N_OPTS + CLI_CONTEXT_N_OPTS + CLI_SAMPLING_N_OPTS];
    cli_retrieval_init(&o->retrieval, opts);
    o->retrieval.k = 4;
    tl_opt *a = opts + CLI_RETRIEVAL_N_OPTS;
    a[0] = (tl_opt){
        "-m",      "--model",   TL_OPT_STRING,
        &o->model, "FILE|NAME", "the chat model: a GGUF file or a model of the store (its options are the defaults)",
        NULL,      0,           0};
    a[1] = (tl_opt){"-k",       "--sources",
                    TL_OPT_INT, &o->retrieval.k,
                    "N",        "chunks to put in the prompt (default 4; --top-k is the sampler's)",
                    NULL,       1,
                    1000};
    a[2] = (tl_opt){
        NULL,       "--system", TL_OPT_STRING,
        &o->system, "TEXT",     "the system message (default: answer from the sources, cite them as [n]; \"\" = none)",
        NULL,       0,          0};
    a[3] = (tl_opt){NULL,
                    "--chat-template",
                    TL_OPT_STRING,
                    &o->chat_template,
                    "NAME|FILE",
                    "a built-in template (chatml, llama3, ...) or a Jinja file instead of the model's",
                    NULL,
                    0,
                    0};
    a[4] = (tl_opt){"-n",
                    "--n-predict",
                    TL_OPT_INT,
                    &o->n_predict,
                    "N",
                    "most tokens of the answer (kept free in the context); -1 = until the end of the turn, a "
                    "quarter of the context kept free (default -1)",
                    NULL,
                    -1,
                    1e9};
    a[5] = (tl_opt){NULL,
                    "--json",
                    TL_OPT_FLAG,
                    &o->json,
                    "",
                    "print {answer, sources: [{n, path, lines, score, cited, ...}], stop_reason, timings} at the end "
                    "instead of streaming",
                    NULL,
                    0,
                    0};
    a[6] = (tl_opt){NULL,
                    "--verbose-prompt",
                    TL_OPT_FLAG,
                    &o->verbose_prompt,
                    "",
                    "print the prompt text (after the chat template) on stderr first",
                    NULL,
                    0,
                    0};
    a[7] = (tl_opt){NULL,
                    "--embed-model",
                    TL_OPT_STRING,
                    &o->retrieval.embed_model,
                    "FILE|NAME",
                    "embed the question with this model (default: the one the database was indexed with)",
                    NULL,
                    0,
                    0};
    int n_opts = CLI_RETRIEVAL_N_OPTS + ASK_N_OPTS;
    cli_context_init(&o->context, opts + n_opts);
    n_opts += CLI_CONTEXT_N_OPTS;
    cli_sampling_init(&o->sampling, opts + n_opts);
    n_opts += CLI_SAMPLING_N_OPTS;
    if (d) cli_defaults_apply(d, &o->context, &o->sampling, &o->n_predict);
    const tl_command_spec spec = {"ask", "--db FILE -m FILE|NAME [options] QUESTION",
                                  "Answer QUESTION from your documents: the best chunks of the database (as\n"
                                  "tinyllm search finds them) go into the chat model's prompt as numbered\n"
                                  "sources; the answer is streamed, then the sources as [n] path:lines.",
                                  opts, n_opts};
    int rc;
    if (cli_parse_positional(&spec, argc, argv, positional, n_pos, &rc)) return TL_ARGS_OK;
    return rc == 0 ? TL_ARGS_HELP : TL_ARGS_ERROR;
}

int cmd_ask(int argc, char **argv) {
    ask_options o;
    cli_defaults d = {0};
    const char **positional = NULL;
    int n_pos = 0;
    tl_args_result r = parse_options(&o, NULL, argc, argv, &positional, &n_pos);
    int rc = r == TL_ARGS_HELP ? 0 : 1;
    char *question = NULL;
    if (r != TL_ARGS_OK) {
        /* printed */
    } else if (!o.retrieval.db_path) {
        tl_cli_error("ask", "no database given: use --db FILE");
    } else if (!o.model) {
        tl_cli_error("ask", "no chat model given: use -m FILE or NAME");
    } else if (n_pos == 0) {
        tl_cli_error("ask", "no question given: tinyllm ask --db FILE -m MODEL QUESTION");
    } else if (cli_defaults_load(&d, "ask", o.model, true)) {
        /* A store model's options are the defaults the flags override. */
        if (d.manifest) {
            cli_sampling_free(&o.sampling);
            free(positional);
            r = parse_options(&o, &d, argc, argv, &positional, &n_pos); /* as the first parse did, it succeeds */
        }
        if (r == TL_ARGS_OK && (question = cli_join_words("ask", positional, n_pos))) rc = answer(&o, &d, question);
    }
    free(question);
    free(positional);
    cli_sampling_free(&o.sampling);
    cli_defaults_free(&d);
    return rc;
}
