/*
 * cmd_index.c — `tinyllm index`: files and folders into a search database
 * (src/search does the work: walk, chunk, embed, store; docs/search.md).
 *
 * Shows a progress bar on a terminal (files, chunks, chunks/s, ETA) and the
 * counts at the end. Ctrl-C stops after the chunk in progress: the file being
 * indexed is rolled back, everything before it is kept, and running the same
 * command again continues. Also the embedding model loader that `search`
 * shares (cli_embedder_open).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_defaults.h"
#include "search/search.h"

bool cli_embedder_open(const char *command, const char *ref, int32_t n_threads, cli_embedder *out) {
    *out = (cli_embedder){0};
    cli_defaults defaults = {0};
    bool ok = false;
    if (!cli_defaults_load(&defaults, command, ref, false) ||
        !(out->model = cli_load_model(command, defaults.path, false)))
        goto done;
    if (defaults.manifest) {
        snprintf(out->name, sizeof out->name, "%s", defaults.name);
    } else {
        char *abs = realpath(defaults.path, NULL);
        snprintf(out->name, sizeof out->name, "%s", abs ? abs : defaults.path);
        free(abs);
    }
    if (tl_model_has_decoder(out->model) && tl_model_has_encoder(out->model)) {
        tl_cli_error(command, "%s is an encoder-decoder model: use an embedding model (a BERT family one)", ref);
        goto done;
    }
    tl_context_params cp = tl_context_default_params();
    cp.n_ctx = defaults.options.num_ctx > 0 ? (uint32_t)defaults.options.num_ctx : 0;
    if (n_threads > 0) cp.n_threads = (uint32_t)n_threads;
    tl_error err = {0};
    if (tl_context_new(out->model, &cp, &out->ctx, &err) != TL_OK) {
        tl_cli_error(command, "%s", err.message);
        goto done;
    }
    ok = true;
done:
    cli_defaults_free(&defaults);
    if (!ok) cli_embedder_close(out);
    return ok;
}

void cli_embedder_close(cli_embedder *e) {
    tl_context_free(e->ctx);
    tl_model_free(e->model);
    *e = (cli_embedder){0};
}

static volatile sig_atomic_t stop_requested;
static void on_sigint(int sig) {
    (void)sig;
    stop_requested = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C stops at once (the database stays consistent) */
}

typedef struct bar_state {
    bool tty;
    double last_ms;
} bar_state;

/* For tests: TINYLLM_INDEX_PAUSE_AT_CHUNK=N stops the process (SIGSTOP) right
 * after it stores its N-th chunk, inside that file's transaction, so that a
 * test can signal an indexer in the middle of a file without racing it. */
static long long pause_at_chunk;

/* The bar, redrawn at most 10 times a second on a terminal. */
static void show_progress(void *user, const tl_index_progress *p) {
    bar_state *bar = user;
    if (pause_at_chunk > 0 && p->chunks_done == pause_at_chunk) {
        pause_at_chunk = 0; /* once */
        raise(SIGSTOP);
    }
    if (!bar->tty || (p->elapsed_ms - bar->last_ms < 100 && p->files_done < p->files_total)) return;
    bar->last_ms = p->elapsed_ms;
    const double secs = p->elapsed_ms / 1000;
    const double rate = secs > 0 ? (double)p->chunks_done / secs : 0;
    char eta[32] = "--";
    if (p->bytes_done > 0 && p->bytes_total > p->bytes_done) {
        const long left = (long)(secs * (double)(p->bytes_total - p->bytes_done) / (double)p->bytes_done);
        snprintf(eta, sizeof eta, "%ld:%02ld", left / 60, left % 60);
    } else if (p->bytes_total <= p->bytes_done) {
        snprintf(eta, sizeof eta, "0:00");
    }
    const int width = 24;
    const int filled = p->files_total ? (int)(p->files_done * width / p->files_total) : width;
    fprintf(stderr, "\r[%.*s%*s] files %lld/%lld  chunks %lld  %.1f chunks/s  ETA %s\033[K", filled,
            "########################", width - filled, "", (long long)p->files_done, (long long)p->files_total,
            (long long)p->chunks_done, rate, eta);
}

int cmd_index(int argc, char **argv) {
    const char *db_path = NULL, *model_ref = NULL;
    int32_t chunk_tokens = 256, overlap = 32, n_threads = 0;
    bool quantize = false, quiet = false;
    const tl_opt opts[] = {
        {NULL, "--db", TL_OPT_STRING, &db_path, "FILE", "the search database (created if missing)", NULL, 0, 0},
        {"-m", "--model", TL_OPT_STRING, &model_ref, "FILE|NAME",
         "the embedding model: a GGUF file or a model of the store (a BERT family sentence encoder)", NULL, 0, 0},
        {NULL, "--chunk-tokens", TL_OPT_INT, &chunk_tokens, "N",
         "most tokens in a chunk (default 256; at most the model's context)", NULL, 1, 1 << 20},
        {NULL, "--overlap", TL_OPT_INT, &overlap, "N", "tokens neighbouring chunks share (default 32)", NULL, 0,
         1 << 20},
        {NULL, "--quantize-vectors", TL_OPT_FLAG, &quantize, NULL,
         "store int8 vectors with a scale each (a new database): 4x smaller, faster searches", NULL, 0, 0},
        {"-t", "--threads", TL_OPT_INT, &n_threads, "N", "threads for embedding (default: physical cores)", NULL, 1,
         1024},
        {"-q", "--quiet", TL_OPT_FLAG, &quiet, NULL, "no progress bar", NULL, 0, 0},
    };
    const tl_command_spec spec = {
        "index", "--db FILE -m MODEL [options] PATH...",
        "Index text files and folders for `tinyllm search`: .txt, .md, .html (tags stripped), source code and\n"
        "files without an extension are split into chunks of tokens, embedded and stored in the SQLite\n"
        "database FILE with a full-text index. Run it again to add new and changed files and drop deleted\n"
        "ones; Ctrl-C keeps what is done, and the next run continues. Other files (.pdf, images...) are\n"
        "skipped and counted.",
        opts, (int)(sizeof opts / sizeof opts[0])};
    const char **paths = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *paths);
    if (!paths) {
        tl_cli_error("index", "out of memory");
        return 1;
    }
    int n_paths = 0, rc = 1;
    tl_args_result r = tl_args_parse(&spec, argc, argv, paths, argc, &n_paths);
    if (r != TL_ARGS_OK) {
        free(paths);
        return r == TL_ARGS_HELP ? 0 : 1;
    }
    tl_search_db *db = NULL;
    cli_embedder e = {0};
    tl_error err = {0};
    if (!db_path) {
        tl_cli_error("index", "no database given: use --db FILE");
        goto done;
    }
    if (!model_ref) {
        tl_cli_error("index", "no embedding model given: use -m FILE or -m NAME");
        goto done;
    }
    if (n_paths == 0) {
        tl_cli_error("index", "no files or folders given: tinyllm index --db FILE -m MODEL PATH...");
        goto done;
    }
    if (overlap >= chunk_tokens) {
        tl_cli_error("index", "--overlap %d must be smaller than --chunk-tokens %d", overlap, chunk_tokens);
        goto done;
    }
    for (int i = 0; i < n_paths; i++)
        if (access(paths[i], R_OK) != 0) {
            tl_cli_error("index", "%s: %s", paths[i], strerror(errno));
            goto done;
        }
    if (tl_search_open(db_path, true, &db, &err) != TL_OK) {
        tl_cli_error("index", "%s", err.message);
        goto done;
    }
    if (!cli_embedder_open("index", model_ref, n_threads, &e)) goto done;

    bar_state bar = {.tty = !quiet && isatty(STDERR_FILENO), .last_ms = -1000};
    const char *pause_env = getenv("TINYLLM_INDEX_PAUSE_AT_CHUNK");
    pause_at_chunk = pause_env ? atoll(pause_env) : 0;
    stop_requested = 0;
    struct sigaction action = {.sa_handler = on_sigint}, previous;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous);
    const tl_index_params params = {.ctx = e.ctx,
                                    .model = e.model,
                                    .model_name = e.name,
                                    .chunk_tokens = chunk_tokens,
                                    .overlap = overlap,
                                    .quantize = quantize,
                                    .progress = show_progress,
                                    .user = &bar,
                                    .stop = &stop_requested};
    tl_index_counts c;
    bool stopped = false;
    const tl_status st = tl_search_index(db, &params, paths, n_paths, &c, &stopped, &err);
    sigaction(SIGINT, &previous, NULL);
    if (bar.tty) fputs("\r\033[K", stderr);
    if (st != TL_OK) {
        tl_cli_error("index", "%s", err.message);
        goto done;
    }
    printf("files: %lld indexed, %lld unchanged, %lld removed\n", (long long)c.indexed, (long long)c.unchanged,
           (long long)c.removed);
    printf("skipped: %lld pdf, %lld other, %lld binary, %lld unreadable, %lld empty\n", (long long)c.skipped_pdf,
           (long long)c.skipped_other, (long long)c.skipped_binary, (long long)c.skipped_unreadable,
           (long long)c.skipped_empty);
    printf("chunks: %lld added\n", (long long)c.chunks);
    fflush(stdout);
    if (stopped) {
        tl_cli_error("index", "interrupted: the files done so far are kept; run the same command to continue");
        rc = 130;
        goto done;
    }
    rc = 0;
done:
    cli_embedder_close(&e);
    tl_search_close(db);
    free(paths);
    return rc;
}
