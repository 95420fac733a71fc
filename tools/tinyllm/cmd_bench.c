/*
 * cmd_bench.c — `tinyllm bench`: prompt-processing and generation speed,
 * measured the way llama.cpp's llama-bench measures them, so the two can be
 * put side by side (bench/compare does that).
 *
 *   pp: P tokens evaluated from an empty KV cache in n_batch chunks;
 *   tg: N tokens evaluated one at a time from an empty KV cache.
 *
 * Token ids are random (BOS first when the vocabulary adds one), so neither
 * tokenization nor sampling is timed. One warm-up run of each test comes
 * first (the full prompt; one generated token, as llama-bench does), then R
 * timed repetitions, reported as median, min and max tokens/s.
 *
 * --batch-cost 1,2,4,8,16: after a 128-token prompt, the median time of one
 * tl_decode of k tokens with the logits of all k (what a speculative step's
 * verification costs), relative to k = 1.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "cli_context.h"

#define BENCH_MAX_TOKENS 65536
#define TTFT_PROMPT_TOKENS 128
#define COST_PROMPT_TOKENS 128
#define COST_MAX_KS 32
#define COST_MAX_K 512

typedef struct bench_options {
    const char *path;
    int32_t n_prompt, n_gen, reps;
    int32_t n_batch; /* the prompt chunk: -b, or 512 */
    cli_context context;
    bool json, ttft;
    const char *batch_cost; /* --batch-cost LIST, or NULL */
    int32_t cost_k[COST_MAX_KS], n_cost_k;
} bench_options;

typedef struct summary {
    double median, min, max;
} summary;

/* What the timed runs share: the context, the vocabulary to draw ids from
 * and a fixed-seed random stream, so every run evaluates the same kind of
 * input and two invocations evaluate the very same ids. */
typedef struct bench_state {
    const tl_model *model;
    tl_context *ctx;
    int32_t n_vocab;
    uint64_t random_state;
    tl_token *tokens; /* n_batch ids for one prompt chunk */
    tl_error err;
} bench_state;

/* xorshift64*: any cheap generator will do; it only has to avoid feeding the
 * same id over and over. */
static tl_token random_token(bench_state *b) {
    uint64_t x = b->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b->random_state = x;
    return (tl_token)(((x * 0x2545F4914F6CDD1Dull) >> 33) % (uint64_t)b->n_vocab);
}

/* The first id of a sequence: BOS when the vocabulary adds one (llama-bench's rule). */
static tl_token first_token(bench_state *b) {
    tl_token bos = tl_token_bos(b->model);
    return tl_vocab_adds_bos(b->model) && bos >= 0 ? bos : random_token(b);
}

/* Evaluates a prompt of n_prompt random ids in n_batch chunks; the KV cache
 * must be empty. Models with an encoder encode the whole prompt at once. */
static bool run_prompt(bench_state *b, int32_t n_prompt, int32_t n_batch) {
    if (tl_model_has_encoder(b->model)) {
        b->tokens[0] = first_token(b);
        for (int32_t i = 1; i < n_prompt; i++) b->tokens[i] = random_token(b);
        return tl_encode(b->ctx, b->tokens, n_prompt, &b->err) == TL_OK;
    }
    for (int32_t done = 0; done < n_prompt;) {
        int32_t n = n_prompt - done < n_batch ? n_prompt - done : n_batch;
        b->tokens[0] = done == 0 ? first_token(b) : random_token(b);
        for (int32_t i = 1; i < n; i++) b->tokens[i] = random_token(b);
        if (tl_decode(b->ctx, b->tokens, n, (uint32_t)done, false, &b->err) != TL_OK) return false;
        done += n;
    }
    return true;
}

/* Evaluates n_gen ids one at a time (each a single-token decode, logits
 * computed as for a real generated token); the KV cache must be empty. */
static bool run_generation(bench_state *b, int32_t n_gen) {
    tl_token token = first_token(b);
    if (tl_model_has_encoder(b->model)) { /* encoder-decoder: a one-token input, then the decoder */
        if (tl_encode(b->ctx, &token, 1, &b->err) != TL_OK) return false;
        token = tl_model_decoder_start_token(b->model);
    }
    for (int32_t i = 0; i < n_gen; i++) {
        if (tl_decode(b->ctx, &token, 1, (uint32_t)i, false, &b->err) != TL_OK) return false;
        token = random_token(b);
    }
    return true;
}

/* Encoder-decoders: after encoding, the first logits come from decoding the
 * decoder start token (time to first token includes it). */
static bool decode_start(bench_state *b) {
    if (!(tl_model_has_encoder(b->model) && tl_model_has_decoder(b->model))) return true;
    const tl_token start = tl_model_decoder_start_token(b->model);
    if (start < 0) {
        snprintf(b->err.message, sizeof b->err.message, "the model has no decoder start token");
        return false;
    }
    return tl_decode(b->ctx, &start, 1, 0, false, &b->err) == TL_OK;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static summary summarize(const double *values, int n) {
    double *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted) return (summary){values[0], values[0], values[0]};
    memcpy(sorted, values, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_doubles);
    summary s = {n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2, sorted[0], sorted[n - 1]};
    free(sorted);
    return s;
}

/* Weight type of the model: the type holding most of the matrix bytes. */
static const char *weight_type_name(const tl_model_info *info) {
    const char *name = tl_type_name(info->main_weight_type);
    return name ? name : "?";
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Times `reps` runs of pp (kind 'p'), tg ('g') or time-to-first-token ('f')
 * after one warm-up run; stores tokens/s (or ms for 'f') in out[]. */
static bool measure(bench_state *b, const bench_options *o, char kind, double *out) {
    tl_sampler *greedy = NULL;
    if (kind == 'f') {
        tl_sampler_params sp = tl_sampler_default_params();
        sp.temperature = 0;
        if (tl_sampler_new(b->model, &sp, &greedy, &b->err) != TL_OK) return false;
    }
    bool ok = true;
    for (int rep = -1; ok && rep < o->reps; rep++) { /* rep -1 is the warm-up */
        tl_context_truncate(b->ctx, 0);
        double start = tl_time_ms();
        if (kind == 'p')
            ok = run_prompt(b, o->n_prompt, o->n_batch);
        else if (kind == 'g')
            ok = run_generation(b, rep < 0 ? 1 : o->n_gen);
        else if ((ok = run_prompt(b, TTFT_PROMPT_TOKENS, o->n_batch) && decode_start(b)))
            (void)tl_sampler_sample(greedy, tl_get_logits(b->ctx, -1));
        double ms = tl_time_ms() - start;
        if (ms <= 0) ms = 1e-6;
        if (rep >= 0) out[rep] = kind == 'f' ? ms : (kind == 'p' ? o->n_prompt : o->n_gen) * 1000.0 / ms;
    }
    tl_sampler_free(greedy);
    return ok;
}

typedef struct bench_result {
    const char *model_name, *type_name, *type_k, *type_v;
    uint32_t n_ctx;
    uint64_t file_size;
    uint64_t bytes_per_token; /* weights read per generated token */
    int32_t threads;
    double load_ms, peak_rss_mb;
    double *pp, *tg, *ttft;      /* o->reps values each, NULL when not measured */
    double cost_ms[COST_MAX_KS]; /* median ms of one k-token decode, per o->cost_k */
} bench_result;

/* Parses --batch-cost's comma-separated k values (1..COST_MAX_K). */
static bool parse_cost_list(bench_options *o) {
    o->n_cost_k = 0;
    for (const char *p = o->batch_cost; *p;) {
        char *end = NULL;
        long k = strtol(p, &end, 10);
        if (end == p || k < 1 || k > COST_MAX_K || (*end != ',' && *end != '\0') || o->n_cost_k == COST_MAX_KS) {
            tl_cli_error("bench", "--batch-cost expects up to %d comma-separated counts between 1 and %d, got '%s'",
                         COST_MAX_KS, COST_MAX_K, o->batch_cost);
            return false;
        }
        o->cost_k[o->n_cost_k++] = (int32_t)k;
        p = *end == ',' ? end + 1 : end;
    }
    if (o->n_cost_k == 0) {
        tl_cli_error("bench", "--batch-cost expects a list such as 1,2,4,8,16");
        return false;
    }
    return true;
}

/* After a COST_PROMPT_TOKENS prompt, each k's median time of one decode of k
 * tokens with all their logits; the k positions are dropped between runs. */
static bool measure_cost(bench_state *b, const bench_options *o, bench_result *r, double *samples) {
    tl_context_truncate(b->ctx, 0);
    if (!run_prompt(b, COST_PROMPT_TOKENS, o->n_batch)) return false;
    tl_token ids[COST_MAX_K];
    for (int i = 0; i < COST_MAX_K; i++) ids[i] = random_token(b);
    for (int i = 0; i < o->n_cost_k; i++) {
        for (int rep = -1; rep < o->reps; rep++) {
            tl_context_truncate(b->ctx, COST_PROMPT_TOKENS);
            double start = tl_time_ms();
            if (tl_decode(b->ctx, ids, o->cost_k[i], COST_PROMPT_TOKENS, true, &b->err) != TL_OK) return false;
            if (rep >= 0) samples[rep] = tl_time_ms() - start;
        }
        r->cost_ms[i] = summarize(samples, o->reps).median;
    }
    return true;
}

static void add_rate(cJSON *root, const char *name, int32_t tokens, const double *values, int n) {
    summary s = summarize(values, n);
    cJSON *test = cJSON_AddObjectToObject(root, name);
    cJSON_AddNumberToObject(test, "tokens", tokens);
    cJSON *rate = cJSON_AddObjectToObject(test, "tokens_per_s");
    cJSON_AddNumberToObject(rate, "median", s.median);
    cJSON_AddNumberToObject(rate, "min", s.min);
    cJSON_AddNumberToObject(rate, "max", s.max);
    cJSON_AddItemToObject(test, "samples", cJSON_CreateDoubleArray(values, n));
}

static void print_json(const bench_options *o, const bench_result *r) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", r->model_name);
    cJSON_AddStringToObject(root, "type", r->type_name);
    cJSON_AddNumberToObject(root, "threads", r->threads);
    cJSON_AddNumberToObject(root, "n_batch", o->n_batch);
    cJSON_AddNumberToObject(root, "n_ctx", r->n_ctx);
    cJSON_AddNumberToObject(root, "repetitions", o->reps);
    cJSON *kv = cJSON_AddObjectToObject(root, "kv_cache");
    cJSON_AddStringToObject(kv, "key", r->type_k);
    cJSON_AddStringToObject(kv, "value", r->type_v);
    if (r->pp) add_rate(root, "pp", o->n_prompt, r->pp, o->reps);
    if (r->tg) add_rate(root, "tg", o->n_gen, r->tg, o->reps);
    if (r->ttft) cJSON_AddNumberToObject(root, "ttft_ms_128", summarize(r->ttft, o->reps).median);
    if (o->n_cost_k > 0) {
        cJSON *costs = cJSON_AddArrayToObject(root, "batch_cost");
        for (int i = 0; i < o->n_cost_k; i++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "k", o->cost_k[i]);
            cJSON_AddNumberToObject(c, "ms", r->cost_ms[i]);
            cJSON_AddNumberToObject(c, "relative", r->cost_ms[i] / r->cost_ms[0]);
            cJSON_AddItemToArray(costs, c);
        }
    }
    cJSON_AddNumberToObject(root, "load_ms", r->load_ms);
    cJSON_AddNumberToObject(root, "peak_rss_mb", r->peak_rss_mb);
    cJSON_AddNumberToObject(root, "file_size", (double)r->file_size);
    cJSON_AddNumberToObject(root, "weights_bytes", (double)r->bytes_per_token);
    cJSON_AddStringToObject(root, "tinyllm_version", TL_VERSION);
    char *text = cJSON_PrintUnformatted(root);
    if (text) printf("%s\n", text);
    free(text);
    cJSON_Delete(root);
}

static void print_text_row(const bench_result *r, const char *test, summary s, const char *unit) {
    printf("| %-28s | %-6s | %8.2f MiB | %7d | %-9s | %10.2f | %10.2f | %10.2f | %-5s |\n", r->model_name, r->type_name,
           r->file_size / 1048576.0, r->threads, test, s.median, s.min, s.max, unit);
}

static void print_text(const bench_options *o, const bench_result *r) {
    if (r->pp || r->tg || r->ttft) {
        printf("| %-28s | %-6s | %12s | %7s | %-9s | %10s | %10s | %10s | %-5s |\n", "model", "type", "size", "threads",
               "test", "median", "min", "max", "unit");
        printf("|------------------------------|--------|--------------|---------|-----------|------------"
               "|------------|------------|-------|\n");
    }
    char test[32];
    if (r->pp) {
        snprintf(test, sizeof test, "pp%d", o->n_prompt);
        print_text_row(r, test, summarize(r->pp, o->reps), "t/s");
    }
    if (r->tg) {
        snprintf(test, sizeof test, "tg%d", o->n_gen);
        print_text_row(r, test, summarize(r->tg, o->reps), "t/s");
    }
    if (r->ttft) print_text_row(r, "ttft128", summarize(r->ttft, o->reps), "ms");
    if (o->n_cost_k > 0) {
        printf("\nbatch cost after a %d-token prompt (one decode of k tokens, all logits; median of %d):\n"
               "| %5s | %10s | %8s | %10s |\n|-------|------------|----------|------------|\n",
               COST_PROMPT_TOKENS, o->reps, "k", "ms", "vs k=1", "ms/token");
        for (int i = 0; i < o->n_cost_k; i++)
            printf("| %5d | %10.3f | %7.2fx | %10.3f |\n", o->cost_k[i], r->cost_ms[i], r->cost_ms[i] / r->cost_ms[0],
                   r->cost_ms[i] / o->cost_k[i]);
    }
    printf("\nload %.1f ms, peak RSS %.1f MiB, %d repetitions after one warm-up run, batch %d, "
           "context %u, KV cache %s/%s\n",
           r->load_ms, r->peak_rss_mb, o->reps, o->n_batch, r->n_ctx, r->type_k, r->type_v);
}

/* Loads the model, runs the requested tests and prints them; returns the exit code. */
static int run_bench(const bench_options *o) {
    int rc = 1;
    bench_state b = {.random_state = 0x9E3779B97F4A7C15ull};
    bench_result r = {0};
    tl_model *model = NULL;

    bench_options opt = *o;
    o = &opt;
    tl_context_params cp;
    if (!cli_context_params(&o->context, "bench", &cp)) return 1;
    if (cp.n_batch == 0) cp.n_batch = 512;
    opt.n_batch = (int32_t)cp.n_batch;
    r.type_k = tl_type_name(cp.type_k);
    r.type_v = tl_type_name(cp.type_v);

    double load_start = tl_time_ms();
    if (!(model = cli_load_model("bench", o->path, false))) return 1;
    if (!tl_model_has_decoder(model) && opt.n_cost_k > 0) {
        tl_cli_error("bench", "%s computes embeddings only: --batch-cost needs a decoder", o->path);
        goto done;
    }
    if (tl_model_has_encoder(model) && opt.n_cost_k > 0) {
        tl_cli_error("bench", "%s is an encoder-decoder model: --batch-cost needs a decoder-only model", o->path);
        goto done;
    }
    if (!tl_model_has_decoder(model) && (opt.n_gen > 0 || opt.ttft)) {
        fprintf(stderr, "tinyllm bench: %s computes embeddings only: measuring pp (encoding) alone\n", o->path);
        opt.n_gen = 0;
        opt.ttft = false;
    }
    int32_t longest = o->n_prompt > o->n_gen ? o->n_prompt : o->n_gen;
    if (o->ttft && longest < TTFT_PROMPT_TOKENS) longest = TTFT_PROMPT_TOKENS;
    for (int i = 0; i < o->n_cost_k; i++)
        if (longest < COST_PROMPT_TOKENS + o->cost_k[i]) longest = COST_PROMPT_TOKENS + o->cost_k[i];
    /* An encoder's input takes exactly its tokens; a decoder one more. */
    const uint32_t needed = (uint32_t)longest + (tl_model_has_decoder(model) ? 1 : 0);
    if (cp.n_ctx == 0) {
        cp.n_ctx = needed;
    } else if (cp.n_ctx < needed) {
        tl_cli_error("bench", "-c %u is too small for the tests: they need %u tokens (or leave out -c)", cp.n_ctx,
                     needed);
        goto done;
    }
    if (tl_context_new(model, &cp, &b.ctx, &b.err) != TL_OK) {
        tl_cli_error("bench", "%s", b.err.message);
        goto done;
    }
    r.load_ms = tl_time_ms() - load_start;
    r.n_ctx = tl_context_size(b.ctx);

    b.model = model;
    b.n_vocab = tl_vocab_size(model);
    if (b.n_vocab <= 0) {
        tl_cli_error("bench", "%s: the model has no vocabulary", o->path);
        goto done;
    }
    tl_model_info info;
    tl_model_get_info(model, &info);
    r.model_name = base_name(o->path);
    r.type_name = weight_type_name(&info);
    r.file_size = info.file_size;
    r.bytes_per_token = info.bytes_per_token;
    r.threads = o->context.n_threads > 0 ? o->context.n_threads : tl_physical_cores();

    const size_t n = (size_t)o->reps;
    b.tokens = malloc((size_t)(o->n_batch > longest ? o->n_batch : longest) * sizeof *b.tokens);
    if (o->n_prompt > 0) r.pp = malloc(n * sizeof *r.pp);
    if (o->n_gen > 0) r.tg = malloc(n * sizeof *r.tg);
    if (o->ttft) r.ttft = malloc(n * sizeof *r.ttft);
    double *scratch = malloc(n * sizeof *scratch);
    if (!b.tokens || !scratch || (o->n_prompt > 0 && !r.pp) || (o->n_gen > 0 && !r.tg) || (o->ttft && !r.ttft)) {
        free(scratch);
        tl_cli_error("bench", "out of memory");
        goto done;
    }
    if ((r.pp && !measure(&b, o, 'p', r.pp)) || (r.tg && !measure(&b, o, 'g', r.tg)) ||
        (r.ttft && !measure(&b, o, 'f', r.ttft)) || (o->n_cost_k > 0 && !measure_cost(&b, o, &r, scratch))) {
        free(scratch);
        tl_cli_error("bench", "%s", b.err.message);
        goto done;
    }
    free(scratch);
    struct rusage usage;
    r.peak_rss_mb = getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss / 1024.0 : 0; /* KiB on Linux */
    if (o->json)
        print_json(o, &r);
    else
        print_text(o, &r);
    rc = 0;
done:
    free(r.pp);
    free(r.tg);
    free(r.ttft);
    free(b.tokens);
    tl_context_free(b.ctx);
    tl_model_free(model);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    bench_options o = {.n_prompt = 512, .n_gen = 128, .reps = 5};
    tl_opt opts[7 + CLI_CONTEXT_N_OPTS] = {
        {"-m", "--model", TL_OPT_STRING, &o.path, "FILE|NAME",
         "GGUF model file, or a model of the store (tinyllm list)", NULL, 0, 0},
        {"-p", "--n-prompt", TL_OPT_INT, &o.n_prompt, "N", "prompt tokens for pp (default 512, 0 = skip)", NULL, 0,
         BENCH_MAX_TOKENS},
        {"-n", "--n-gen", TL_OPT_INT, &o.n_gen, "N", "generated tokens for tg (default 128, 0 = skip)", NULL, 0,
         BENCH_MAX_TOKENS},
        {"-r", "--repetitions", TL_OPT_INT, &o.reps, "N", "timed runs of each test (default 5)", NULL, 1, 10000},
        {NULL, "--ttft", TL_OPT_FLAG, &o.ttft, "", "also time a 128-token prompt plus the first (greedy) token, in ms",
         NULL, 0, 0},
        {NULL, "--batch-cost", TL_OPT_STRING, &o.batch_cost, "K,K,...",
         "also time one decode of k tokens (all logits) after a 128-token prompt, for each k, against k = 1", NULL, 0,
         0},
        {NULL, "--json", TL_OPT_FLAG, &o.json, "", "print one JSON object", NULL, 0, 0},
    };
    cli_context_init(&o.context, opts + 7);
    /* The context fits the longest test unless -c says otherwise. */
    opts[7].help = "context size in tokens; 0 = just what the tests need (default 0)";
    const tl_command_spec spec = {
        "bench",
        "-m FILE [-p 512] [-n 128] [-r 5] [-c N] [-t N] [-b 512] [--cache-type-k/-v T] [--ttft] [--batch-cost "
        "1,2,4,8,16] [--json]",
        "Measure prompt processing (pp) and generation (tg) speed in tokens/s, as llama-bench does.", opts,
        (int)(sizeof opts / sizeof opts[0])};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 0, &n_pos);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (!o.path) {
        tl_cli_error("bench", "no model given: use -m FILE");
        return 1;
    }
    if (o.batch_cost && !parse_cost_list(&o)) return 1;
    if (o.n_prompt == 0 && o.n_gen == 0 && !o.ttft && o.n_cost_k == 0) {
        tl_cli_error("bench", "nothing to measure: -p and -n are both 0");
        return 1;
    }
    return run_bench(&o);
}
