/*
 * cmd_pull.c — `tinyllm pull REF`: a model from the Hugging Face Hub into the
 * model store (src/hub does the work), with a progress bar on a terminal
 * (bytes, MB/s, ETA) or a few plain lines otherwise; prints the store name.
 * cli_pull is also what `tinyllm run NAME` uses to pull on first use.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hub/hub.h"
#include "util/error.h"

typedef struct pull_view {
    bool tty;
    char status[96];
    double started, last_draw;
    int64_t start_bytes;
    int last_step; /* plain lines: the last quarter printed */
    bool line_open;
} pull_view;

static void close_line(pull_view *v) {
    if (v->line_open) fputc('\n', stderr);
    v->line_open = false;
}

static void format_eta(double seconds, char *out, size_t size) {
    if (seconds < 0 || seconds > 360000)
        snprintf(out, size, "--");
    else if (seconds >= 3600)
        snprintf(out, size, "%dh%02dm", (int)seconds / 3600, ((int)seconds / 60) % 60);
    else if (seconds >= 60)
        snprintf(out, size, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
    else
        snprintf(out, size, "%ds", (int)seconds);
}

static bool on_progress(void *user, const char *status, const char *digest, int64_t completed, int64_t total) {
    (void)digest;
    pull_view *v = user;
    double t = tl_time_ms() / 1e3;
    bool changed = strcmp(status, v->status) != 0;
    if (changed) {
        close_line(v);
        snprintf(v->status, sizeof v->status, "%s", status);
        v->started = t;
        v->start_bytes = completed;
        v->last_step = -1;
        v->last_draw = 0;
    }
    if (strncmp(status, "pulling ", 8) != 0 || strcmp(status, "pulling manifest") == 0 || total <= 0) {
        if (changed) fprintf(stderr, "%s\n", status);
        return true;
    }
    double elapsed = t - v->started;
    double rate = elapsed > 0.05 ? (double)(completed - v->start_bytes) / elapsed : 0;
    int percent = (int)(completed * 100 / total);
    char eta[16];
    format_eta(rate > 0 ? (double)(total - completed) / rate : -1, eta, sizeof eta);
    if (v->tty) {
        if (completed < total && t - v->last_draw < 0.1) return true;
        v->last_draw = t;
        char bar[64] = "";
        int filled = percent / 5;
        for (int i = 0; i < 20; i++) strcat(bar, i < filled ? "\xe2\x96\x88" : " "); /* U+2588 full block */
        fprintf(stderr, "\r%s %3d%% \xe2\x96\x95%s\xe2\x96\x8f %.1f/%.1f MB  %.1f MB/s  ETA %s\033[K", status, percent,
                bar, completed / 1e6, total / 1e6, rate / 1e6, eta);
        v->line_open = true;
    } else {
        int step = percent / 25;
        if (step == v->last_step) return true;
        v->last_step = step;
        fprintf(stderr, "%s: %d%% (%.1f/%.1f MB, %.1f MB/s)\n", status, percent, completed / 1e6, total / 1e6,
                rate / 1e6);
    }
    fflush(stderr);
    return true;
}

tl_status cli_pull(tl_store *store, const char *ref, const char *endpoint, bool insecure, bool quiet, char *name,
                   size_t name_size, tl_error *err) {
    pull_view view = {.tty = isatty(fileno(stderr)) != 0};
    tl_hub_options options = {.endpoint = endpoint, .insecure = insecure};
    if (!quiet) {
        options.progress = on_progress;
        options.progress_user = &view;
    }
    tl_status s = tl_hub_pull(store, ref, &options, name, name_size, err);
    close_line(&view);
    return s;
}

/* Asks "pull NAME? [Y/n]" on a terminal; true for yes (or Enter). */
static bool ask(const char *name) {
    fprintf(stderr, "%s is not in the model store: pull it from the Hugging Face Hub? [Y/n] ", name);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return false;
    return line[0] == '\n' || line[0] == 'y' || line[0] == 'Y';
}

bool cli_pull_on_first_use(const char *command, tl_store *store, const char *canonical, tl_error *err) {
    (void)command;
    if (!tl_hub_looks_like_ref(canonical)) {
        /* The not-found error cli_model_path gives, with the name as it was given. */
        size_t n = strlen(canonical);
        if (n > 7 && strcmp(canonical + n - 7, ":latest") == 0) n -= 7;
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "'%.*s' is neither a file nor a model in the store %s (tinyllm list shows its models)", (int)n,
                       canonical, tl_store_dir(store)) == TL_OK;
    }
    if (isatty(fileno(stdin)) && !ask(canonical))
        return tl_fail(err, TL_ERR_ARGUMENT, "'%s' is not in the model store (not pulled)", canonical) == TL_OK;
    char name[1024];
    return cli_pull(store, canonical, NULL, false, false, name, sizeof name, err) == TL_OK;
}

static void print_catalogue(void) {
    printf("\nREF is hf.co/ORG/REPO[:TAG], huggingface.co/ORG/REPO[:TAG], ORG/REPO[:TAG],\n"
           "ORG/REPO/FILE.gguf, or a name of the catalogue. TAG picks the GGUF file by its\n"
           "quantization (Q4_K_M, IQ4_XS, Q8_0, F16, ... in any case); without it, Q4_K_M if\n"
           "the repository has it. HF_TOKEN: a Hugging Face token for gated or private\n"
           "repositories; HF_ENDPOINT: another Hub (a mirror); TINYLLM_MODELS: the store.\n"
           "\ncatalogue:\n");
    tl_hub_catalogue_entry e;
    for (int i = 0; tl_hub_catalogue(i, &e); i++)
        printf("  %-18s %s:%s\n  %-18s %s\n", e.name, e.repo, e.quant, "", e.summary);
}

int cmd_pull(int argc, char **argv) {
    const char *endpoint = NULL, *models = NULL;
    bool insecure = false, quiet = false;
    const tl_opt opts[] = {
        {NULL, "--endpoint", TL_OPT_STRING, &endpoint, "URL",
         "the Hub to use (default $HF_ENDPOINT, else https://huggingface.co)", NULL, 0, 0},
        {NULL, "--models", TL_OPT_STRING, &models, "DIR",
         "the store folder (default $TINYLLM_MODELS, else ~/.local/share/tinyllm/models)", NULL, 0, 0},
        {NULL, "--insecure", TL_OPT_FLAG, &insecure, "", "accept any TLS certificate (testing only)", NULL, 0, 0},
        {"-q", "--quiet", TL_OPT_FLAG, &quiet, "", "no progress, only the model's name at the end", NULL, 0, 0},
    };
    const tl_command_spec spec = {"pull", "REF [--endpoint URL] [--models DIR] [--insecure] [--quiet]",
                                  "Download a model from the Hugging Face Hub into the model store; print its name.",
                                  opts, (int)(sizeof opts / sizeof opts[0])};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 1, &n_pos);
    if (r == TL_ARGS_HELP) print_catalogue();
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (n_pos != 1) {
        tl_cli_error("pull", "give the model to pull (see tinyllm pull --help)");
        return 1;
    }
    tl_store *store = cli_open_store("pull", models);
    if (!store) return 1;
    tl_error err = {0};
    char name[1024];
    tl_status s = cli_pull(store, positional[0], endpoint, insecure, quiet, name, sizeof name, &err);
    tl_store_close(store);
    if (s != TL_OK) {
        tl_cli_error("pull", "%s", err.message);
        return 1;
    }
    printf("%s\n", name);
    return 0;
}
