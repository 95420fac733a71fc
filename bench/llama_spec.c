/* llama_spec.c: llama.cpp's side of bench/speculative.sh, in C. Greedy generation on node-llama-cpp's prebuilt
 * llama.cpp libraries, plain or speculative the way llama.cpp's examples/speculative-simple and
 * common/speculative.cpp (the version node-llama-cpp bundles) do it, and the cost of evaluating k tokens in one
 * llama_decode against one. Prints one JSON line.
 *
 *   llama_spec -m FILE (--prompt-ids 1,2,3 | -p TEXT) [-n 128] [-t N] [-c CTX] [--backends DIR] [-v]
 *              [--draft FILE [--draft-max 16] [--draft-min 0] [--draft-p-min 0.75] | --lookup N]
 *   llama_spec -m FILE --batch-cost 1,2,4,8,16 [--prompt-n 128] [-r 5] [-t N]
 *
 * Modes:
 *   plain:  one llama_decode per token, the argmax of its logits (greedy);
 *   draft:  common_speculative's draft-model drafter: the draft context decodes every batch the target decodes
 *           (without outputs); to draft it decodes the last token, then greedily proposes its argmax while the
 *           argmax's probability among the top 10 (llama.cpp's draft sampler: top-k 10, then a softmax) is at least
 *           --draft-p-min, up to --draft-max tokens (and the tokens still to generate, less one); a draft shorter than
 *           --draft-min is dropped. The target evaluates the last token and the draft in one batch, keeps the longest
 *           prefix its own argmax agrees with plus its own next token, and both memories drop the positions after
 *           it (llama_memory_seq_rm);
 *   lookup: prompt lookup with tinyllm's rule (src/generate/drafter_lookup.c), not llama.cpp's n-gram cache
 *           (examples/lookup): the draft is what followed the most recent earlier occurrence of the last n tokens of
 *           prompt + generated text, n from N down to 1, up to --draft-max tokens; verified as above.
 *   The prompt is decoded but for its last token before the clock starts (as speculative-simple does); generation
 *   time runs from there until -n tokens are produced (end-of-generation tokens do not stop it). The target and the
 *   draft share one persistent CPU threadpool (llama-bench's settings) with the same thread count.
 *
 * --batch-cost: a --prompt-n-token prompt of random ids, then for each k the median time of one llama_decode of k
 * tokens after it (all k with logits, as a verification does; the k positions are dropped again between runs).
 *
 * Built by bench/build_llama_bench.sh OUTPUT bench/llama_spec.c  (headers from the bundled llama.cpp source). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "llama_cpu_backend.h"
#include "ggml.h"
#include "llama.h"

#ifndef LLAMA_BINS_DIR
#define LLAMA_BINS_DIR ""
#endif
#ifndef LLAMA_CPP_RELEASE
#define LLAMA_CPP_RELEASE "?"
#endif

#define MAX_DRAFT 256
#define MAX_COSTS 32
#define DRAFT_TOP_K 10

typedef struct {
    const char *model_path, *draft_path, *prompt_text, *prompt_ids, *backends_dir, *batch_cost;
    int n_gen, threads, n_ctx, draft_max, draft_min, lookup, prompt_n, reps;
    float draft_p_min;
    bool verbose;
} options;

typedef struct {
    llama_token *v;
    int n, cap;
} tokens;

static void die(const char *fmt, const char *arg) {
    fprintf(stderr, "llama_spec: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void push(tokens *t, llama_token id) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->v = realloc(t->v, sizeof *t->v * (size_t)t->cap);
        if (!t->v) die("%s", "out of memory");
    }
    t->v[t->n++] = id;
}

static int int_arg(const char *name, const char *value, int min) {
    char *end = NULL;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *value == '\0' || *end != '\0' || v < min || v > 1000000) die("bad value for %s", name);
    return (int)v;
}

/* A comma-separated list of non-negative integers into out (at most max), returning the count. */
static int int_list(const char *name, const char *value, int *out, int max) {
    int n = 0;
    for (const char *p = value; *p;) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 1000000 || (*end != ',' && *end != '\0') || n == max) die("bad list for %s", name);
        out[n++] = (int)v;
        p = *end == ',' ? end + 1 : end;
    }
    if (n == 0) die("empty list for %s", name);
    return n;
}

static void usage(void) {
    fputs("usage: llama_spec -m FILE (--prompt-ids 1,2,3 | -p TEXT) [-n 128] [-t N] [-c CTX] [--backends DIR] [-v]\n"
          "                  [--draft FILE [--draft-max 16] [--draft-min 0] [--draft-p-min 0.75] | --lookup N]\n"
          "       llama_spec -m FILE --batch-cost 1,2,4,8,16 [--prompt-n 128] [-r 5] [-t N]\n",
          stderr);
}

static void parse_options(int argc, char **argv, options *o) {
    *o = (options){.backends_dir = LLAMA_BINS_DIR,
                   .n_gen = 128,
                   .draft_max = 16,
                   .draft_p_min = 0.75f,
                   .prompt_n = 128,
                   .reps = 5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        }
        if (!strcmp(a, "-v")) {
            o->verbose = true;
            continue;
        }
        if (!v) {
            usage();
            die("unknown option or missing value: '%s'", a);
        }
        i++;
        if (!strcmp(a, "-m"))
            o->model_path = v;
        else if (!strcmp(a, "--draft") || !strcmp(a, "-md"))
            o->draft_path = v;
        else if (!strcmp(a, "-p"))
            o->prompt_text = v;
        else if (!strcmp(a, "--prompt-ids"))
            o->prompt_ids = v;
        else if (!strcmp(a, "--backends"))
            o->backends_dir = v;
        else if (!strcmp(a, "--batch-cost"))
            o->batch_cost = v;
        else if (!strcmp(a, "-n"))
            o->n_gen = int_arg(a, v, 1);
        else if (!strcmp(a, "-t"))
            o->threads = int_arg(a, v, 0);
        else if (!strcmp(a, "-c"))
            o->n_ctx = int_arg(a, v, 0);
        else if (!strcmp(a, "--draft-max"))
            o->draft_max = int_arg(a, v, 1);
        else if (!strcmp(a, "--draft-min"))
            o->draft_min = int_arg(a, v, 0);
        else if (!strcmp(a, "--lookup"))
            o->lookup = int_arg(a, v, 1);
        else if (!strcmp(a, "--prompt-n"))
            o->prompt_n = int_arg(a, v, 1);
        else if (!strcmp(a, "-r"))
            o->reps = int_arg(a, v, 1);
        else if (!strcmp(a, "--draft-p-min")) {
            char *end = NULL;
            o->draft_p_min = strtof(v, &end);
            if (*end != '\0' || !(o->draft_p_min >= 0 && o->draft_p_min <= 1)) die("bad value for %s", a);
        } else {
            usage();
            die("unknown option '%s'", a);
        }
    }
    if (!o->model_path) die("%s", "no model given: use -m FILE");
    if (o->draft_max > MAX_DRAFT) die("%s", "--draft-max is at most 256");
    if (o->draft_path && o->lookup) die("%s", "--draft and --lookup exclude each other");
    if (!o->batch_cost && !o->prompt_text && !o->prompt_ids) die("%s", "no prompt: use --prompt-ids LIST or -p TEXT");
}

static void quiet_log(enum ggml_log_level level, const char *text, void *user_data) {
    (void)level, (void)text, (void)user_data;
}

static llama_token argmax(const float *logits, int n_vocab) {
    llama_token best = 0;
    for (int i = 1; i < n_vocab; i++)
        if (logits[i] > logits[best]) best = i;
    return best;
}

/* The draft sampler's probability of its argmax: a softmax over the DRAFT_TOP_K largest logits (top-k 10, then the
 * distribution common_speculative's draft sampler reads candidates[0].p from). */
static float top_probability(const float *logits, int n_vocab, llama_token best) {
    float top[DRAFT_TOP_K];
    int n = 0;
    for (int i = 0; i < n_vocab; i++) {
        float x = logits[i];
        if (n < DRAFT_TOP_K)
            top[n++] = x;
        else {
            int low = 0;
            for (int j = 1; j < n; j++)
                if (top[j] < top[low]) low = j;
            if (x > top[low]) top[low] = x;
        }
    }
    double sum = 0;
    for (int j = 0; j < n; j++) sum += exp((double)top[j] - logits[best]);
    return (float)(1.0 / sum);
}

static void batch_set(struct llama_batch *b, int n, const llama_token *ids, llama_pos pos0) {
    b->n_tokens = n;
    for (int i = 0; i < n; i++) {
        b->token[i] = ids[i];
        b->pos[i] = pos0 + i;
        b->n_seq_id[i] = 1;
        b->seq_id[i][0] = 0;
        b->logits[i] = 1;
    }
}

static void decode(struct llama_context *ctx, struct llama_batch b, const char *what) {
    if (llama_decode(ctx, b) != 0) die("llama_decode failed on %s", what);
}

/* Decodes ids[0, n) from position 0 in n_batch chunks, outputs only at the end. */
static void decode_prompt(struct llama_context *ctx, llama_token *ids, int n) {
    const int n_batch = (int)llama_n_batch(ctx);
    for (int done = 0; done < n; done += n_batch)
        decode(ctx, llama_batch_get_one(ids + done, n - done < n_batch ? n - done : n_batch), "the prompt");
}

/* tinyllm's prompt lookup: what followed the latest earlier occurrence of the last n tokens, n = n_gram .. 1. */
static int lookup_draft(const tokens *h, int n_gram, llama_token *out, int max) {
    for (int n = n_gram; n >= 1; n--) {
        if (h->n < n + 1) continue;
        const llama_token *pattern = h->v + h->n - n;
        for (int i = h->n - n - 1; i >= 0; i--) {
            if (memcmp(h->v + i, pattern, sizeof *pattern * (size_t)n) != 0) continue;
            int k = 0;
            while (k < max && i + n + k < h->n) {
                out[k] = h->v[i + n + k];
                k++;
            }
            return k;
        }
    }
    return 0;
}

/* common_speculative's draft-model drafter: id_last at pos, then greedy tokens while confident. */
static int model_draft(struct llama_context *dft, struct llama_batch *b, llama_token id_last, llama_pos pos, int max,
                       float p_min, llama_token *out) {
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(dft)));
    batch_set(b, 1, &id_last, pos);
    decode(dft, *b, "a draft token");
    int n = 0;
    while (n < max) {
        const float *logits = llama_get_logits_ith(dft, 0);
        const llama_token id = argmax(logits, n_vocab);
        if (top_probability(logits, n_vocab, id) < p_min) break;
        out[n++] = id;
        if (n >= max) break;
        batch_set(b, 1, &id, pos + n);
        decode(dft, *b, "a draft token");
    }
    return n;
}

static struct llama_context *new_context(struct llama_model *model, const options *o, int n_ctx,
                                         struct ggml_threadpool *pool) {
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)n_ctx;
    cp.n_batch = 512;
    cp.n_ubatch = 512;
    cp.n_threads = o->threads;
    cp.n_threads_batch = o->threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) die("%s", "llama.cpp failed to create a context (run with -v)");
    llama_attach_threadpool(ctx, pool, NULL);
    return ctx;
}

static struct llama_model *load(const char *path) {
    struct llama_model *m = llama_model_load_from_file(path, llama_model_default_params());
    if (!m) die("%s: llama.cpp failed to load the model (run with -v)", path);
    return m;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void batch_cost(struct llama_model *model, const options *o, struct ggml_threadpool *pool) {
    int ks[MAX_COSTS];
    const int n_k = int_list("--batch-cost", o->batch_cost, ks, MAX_COSTS);
    int k_max = 1;
    for (int i = 0; i < n_k; i++) k_max = ks[i] > k_max ? ks[i] : k_max;
    struct llama_context *ctx = new_context(model, o, o->prompt_n + k_max + 1, pool);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_token *ids = malloc(sizeof *ids * (size_t)(o->prompt_n + k_max));
    double *ms = malloc(sizeof *ms * (size_t)o->reps), median[MAX_COSTS];
    if (!ids || !ms) die("%s", "out of memory");
    srand(1);
    for (int i = 0; i < o->prompt_n + k_max; i++) ids[i] = rand() % n_vocab;
    decode_prompt(ctx, ids, o->prompt_n);
    struct llama_batch b = llama_batch_init(k_max, 0, 1);
    llama_memory_t mem = llama_get_memory(ctx);
    for (int i = 0; i < n_k; i++) {
        for (int rep = -1; rep < o->reps; rep++) {
            llama_memory_seq_rm(mem, 0, o->prompt_n, -1);
            batch_set(&b, ks[i], ids + o->prompt_n, o->prompt_n);
            const double start = now_ms();
            decode(ctx, b, "a k-token batch");
            llama_synchronize(ctx);
            if (rep >= 0) ms[rep] = now_ms() - start;
        }
        qsort(ms, (size_t)o->reps, sizeof *ms, compare_doubles);
        median[i] = o->reps % 2 ? ms[o->reps / 2] : (ms[o->reps / 2 - 1] + ms[o->reps / 2]) / 2;
    }
    printf("{\"engine\":\"llama.cpp\",\"llamaCpp\":\"%s\",\"threads\":%d,\"prompt_n\":%d,\"repetitions\":%d,"
           "\"batch_cost\":[",
           LLAMA_CPP_RELEASE, o->threads, o->prompt_n, o->reps);
    for (int i = 0; i < n_k; i++)
        printf("%s{\"k\":%d,\"ms\":%.4f,\"relative\":%.4f}", i ? "," : "", ks[i], median[i], median[i] / median[0]);
    printf("]}\n");
    llama_batch_free(b);
    llama_free(ctx);
    free(ids);
    free(ms);
}

static void prompt_tokens(struct llama_model *model, const options *o, tokens *prompt) {
    if (o->prompt_ids) {
        const int max = 1 << 20;
        int *v = malloc(sizeof *v * (size_t)max);
        if (!v) die("%s", "out of memory");
        const int n = int_list("--prompt-ids", o->prompt_ids, v, max);
        for (int i = 0; i < n; i++) push(prompt, v[i]);
        free(v);
        return;
    }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const int len = (int)strlen(o->prompt_text);
    prompt->cap = len + 16;
    prompt->v = malloc(sizeof *prompt->v * (size_t)prompt->cap);
    if (!prompt->v) die("%s", "out of memory");
    prompt->n = llama_tokenize(vocab, o->prompt_text, len, prompt->v, prompt->cap, true, false);
    if (prompt->n <= 0) die("%s", "the prompt tokenizes to nothing");
}

int main(int argc, char **argv) {
    options o;
    parse_options(argc, argv, &o);
    if (!o.verbose) llama_log_set(quiet_log, NULL);
    threadpool_new_fn threadpool_new;
    threadpool_free_fn threadpool_free;
    const char *missing = load_cpu_backend(o.backends_dir, &threadpool_new, &threadpool_free);
    if (missing) die("%s", missing);
    llama_backend_init();
    if (o.threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = cpus > 0 ? (int)cpus : 1;
    }
    /* One persistent threadpool as llama-bench makes it, shared by the target and the draft (they never overlap). */
    struct ggml_threadpool_params tpp = ggml_threadpool_params_default(o.threads);
    tpp.strict_cpu = false;
    tpp.poll = 50;
    tpp.prio = GGML_SCHED_PRIO_NORMAL;
    struct ggml_threadpool *pool = threadpool_new(&tpp);
    if (!pool) die("%s", "ggml_threadpool_new failed");

    struct llama_model *model = load(o.model_path);
    if (o.batch_cost) {
        batch_cost(model, &o, pool);
        llama_model_free(model);
        threadpool_free(pool);
        return 0;
    }
    tokens prompt = {0}, history = {0}, out = {0};
    prompt_tokens(model, &o, &prompt);
    const int n_ctx = o.n_ctx ? o.n_ctx : prompt.n + o.n_gen + MAX_DRAFT + 2;
    if (prompt.n + o.n_gen + o.draft_max + 1 > n_ctx) die("%s", "-c is too small for the prompt and -n");
    struct llama_context *tgt = new_context(model, &o, n_ctx, pool);
    struct llama_model *draft_model = o.draft_path ? load(o.draft_path) : NULL;
    struct llama_context *dft = draft_model ? new_context(draft_model, &o, n_ctx, pool) : NULL;
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    if (draft_model && llama_vocab_n_tokens(llama_model_get_vocab(draft_model)) != n_vocab)
        die("%s: the draft's vocabulary size differs from the target's", o.draft_path);

    /* The prompt but its last token, on both models (common_speculative_process decodes the target's batches). */
    const double prompt_start = now_ms();
    if (prompt.n > 1) {
        decode_prompt(tgt, prompt.v, prompt.n - 1);
        if (dft) decode_prompt(dft, prompt.v, prompt.n - 1);
    }
    llama_synchronize(tgt);
    const double prompt_ms = now_ms() - prompt_start;
    for (int i = 0; i + 1 < prompt.n; i++) push(&history, prompt.v[i]);

    struct llama_batch b = llama_batch_init(MAX_DRAFT + 1, 0, 1), bd = llama_batch_init(1, 0, 1);
    llama_memory_t mem_tgt = llama_get_memory(tgt), mem_dft = dft ? llama_get_memory(dft) : NULL;
    llama_token id_last = prompt.v[prompt.n - 1], draft[MAX_DRAFT], step[MAX_DRAFT + 1];
    llama_pos n_past = prompt.n - 1;
    long drafted = 0, accepted = 0, steps = 0;
    const double start = now_ms();
    while (out.n < o.n_gen) {
        int max = o.draft_max < o.n_gen - out.n - 1 ? o.draft_max : o.n_gen - out.n - 1, n_draft = 0;
        if (max > 0 && dft) {
            n_draft = model_draft(dft, &bd, id_last, n_past, max, o.draft_p_min, draft);
            llama_memory_seq_rm(mem_dft, 0, n_past, -1);
        } else if (max > 0 && o.lookup) {
            push(&history, id_last);
            n_draft = lookup_draft(&history, o.lookup, draft, max);
            history.n--;
        }
        if (n_draft < o.draft_min) n_draft = 0;
        step[0] = id_last;
        memcpy(step + 1, draft, sizeof *draft * (size_t)n_draft);
        batch_set(&b, n_draft + 1, step, n_past);
        decode(tgt, b, "the verification batch");
        if (dft) { /* the draft model sees the same batch, without outputs */
            struct llama_batch quiet = b;
            quiet.logits = NULL;
            decode(dft, quiet, "the draft's copy of the batch");
        }
        /* The longest prefix the target agrees with, plus its own next token. */
        int n_ids = 0;
        for (int i = 0; i <= n_draft; i++) {
            step[n_ids++] = argmax(llama_get_logits_ith(tgt, i), n_vocab);
            if (i == n_draft || step[i] != draft[i]) break;
        }
        n_past += n_ids;
        drafted += n_draft;
        accepted += n_ids - 1;
        steps++;
        for (int i = 0; i < n_ids && out.n < o.n_gen; i++) {
            push(&history, id_last);
            id_last = step[i];
            push(&out, id_last);
        }
        llama_memory_seq_rm(mem_tgt, 0, n_past, -1);
        if (dft) llama_memory_seq_rm(mem_dft, 0, n_past, -1);
    }
    llama_synchronize(tgt);
    const double gen_ms = now_ms() - start;

    printf("{\"engine\":\"llama.cpp\",\"llamaCpp\":\"%s\",\"mode\":\"%s\",\"threads\":%d,\"prompt_n\":%d,"
           "\"prompt_ms\":%.3f,\"n_gen\":%d,\"gen_ms\":%.3f,\"tokens_per_s\":%.4f,\"drafted\":%ld,\"accepted\":%ld,"
           "\"steps\":%ld,\"tokens\":[",
           LLAMA_CPP_RELEASE,
           dft        ? "draft"
           : o.lookup ? "lookup"
                      : "plain",
           o.threads, prompt.n, prompt_ms, out.n, gen_ms, out.n * 1000.0 / gen_ms, drafted, accepted, steps);
    for (int i = 0; i < out.n; i++) printf("%s%d", i ? "," : "", out.v[i]);
    printf("]}\n");

    llama_batch_free(b);
    llama_batch_free(bd);
    if (dft) llama_free(dft);
    if (draft_model) llama_model_free(draft_model);
    llama_free(tgt);
    llama_model_free(model);
    threadpool_free(pool);
    llama_backend_free();
    free(prompt.v);
    free(history.v);
    free(out.v);
    return 0;
}
