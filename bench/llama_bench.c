/* llama_bench.c: llama.cpp's side of bench/compare, in C. A minimal llama-bench: measures pp and tg on a GGUF file
 * the way llama.cpp's tools/llama-bench does (persistent CPU threadpool attached to the context, llama_batch_get_one
 * chunks, random token ids from rand()), through the prebuilt libraries node-llama-cpp ships, and prints one JSON
 * object in the shape of `tinyllm bench --json` / bench/llama_bench.mjs --json.
 *
 *   llama_bench -m FILE [-p 512] [-n 128] [-t N] [-r 5] [-b 512] [--flash-attn off|on|auto]
 *               [--cache-type f16|f32|q8_0] [--ttft] [--json] [--backends DIR] [-v]
 *
 *   pp:   P random ids (BOS first when the vocabulary adds one) decoded from an empty memory in -b chunks;
 *   tg:   N ids decoded one llama_decode at a time from an empty memory;
 *   ttft: a 128-token prompt from an empty memory, then the argmax of its last logits;
 *   one warm-up run of each (whole prompt; one generated token; whole 128-token prompt), then R timed runs.
 *
 * Built by bench/build_llama_bench.sh (headers from the llama.cpp source node-llama-cpp bundles). */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "llama_cpu_backend.h"
#include "ggml.h"
#include "gguf.h"
#include "llama.h"
#include "../scripts/reference/llama_driver_common.h"

#ifndef LLAMA_BINS_DIR
#define LLAMA_BINS_DIR ""
#endif
#ifndef LLAMA_CPP_RELEASE
#define LLAMA_CPP_RELEASE "?"
#endif
#ifndef NODE_LLAMA_CPP_VERSION
#define NODE_LLAMA_CPP_VERSION "?"
#endif

#define TTFT_TOKENS 128

typedef struct {
    const char *model_path;
    const char *backends_dir;
    int n_prompt, n_gen, threads, reps, n_batch;
    enum llama_flash_attn_type flash_attn;
    const char *flash_attn_name;
    enum ggml_type cache_type;
    bool ttft, json, verbose;
} options;

typedef struct {
    double median, min, max;
} stats;

static void die(const char *fmt, const char *arg) {
    fprintf(stderr, "llama_bench: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int int_arg(const char *name, const char *value, int min) {
    char *end = NULL;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *value == '\0' || *end != '\0' || v < min || v > 1000000) die("bad value for %s", name);
    return (int)v;
}

static void usage(void) {
    fputs("usage: llama_bench -m FILE [-p 512] [-n 128] [-t N] [-r 5] [-b 512] [--flash-attn off|on|auto]\n"
          "                   [--cache-type f16|f32|q8_0] [--ttft] [--json] [--backends DIR] [-v]\n",
          stderr);
}

static void parse_options(int argc, char **argv, options *o) {
    *o = (options){.backends_dir = LLAMA_BINS_DIR,
                   .n_prompt = 512,
                   .n_gen = 128,
                   .threads = 0,
                   .reps = 5,
                   .n_batch = 512,
                   .flash_attn = LLAMA_FLASH_ATTN_TYPE_DISABLED,
                   .flash_attn_name = "off",
                   .cache_type = GGML_TYPE_F16};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-m")) {
            if (!v) die("%s needs a value", a);
            o->model_path = v;
            i++;
        } else if (!strcmp(a, "-p")) {
            o->n_prompt = int_arg(a, v, 0);
            i++;
        } else if (!strcmp(a, "-n")) {
            o->n_gen = int_arg(a, v, 0);
            i++;
        } else if (!strcmp(a, "-t")) {
            o->threads = int_arg(a, v, 0);
            i++;
        } else if (!strcmp(a, "-r")) {
            o->reps = int_arg(a, v, 1);
            i++;
        } else if (!strcmp(a, "-b")) {
            o->n_batch = int_arg(a, v, 1);
            i++;
        } else if (!strcmp(a, "--backends")) {
            if (!v) die("%s needs a value", a);
            o->backends_dir = v;
            i++;
        } else if (!strcmp(a, "--flash-attn")) {
            if (!v) die("%s needs a value", a);
            if (!strcmp(v, "off"))
                o->flash_attn = LLAMA_FLASH_ATTN_TYPE_DISABLED;
            else if (!strcmp(v, "on"))
                o->flash_attn = LLAMA_FLASH_ATTN_TYPE_ENABLED;
            else if (!strcmp(v, "auto"))
                o->flash_attn = LLAMA_FLASH_ATTN_TYPE_AUTO;
            else
                die("--flash-attn must be off, on or auto, got '%s'", v);
            o->flash_attn_name = v;
            i++;
        } else if (!strcmp(a, "--cache-type") || !strcmp(a, "--kv-type")) {
            if (!v) die("%s needs a value", a);
            if (!strcasecmp(v, "f16"))
                o->cache_type = GGML_TYPE_F16;
            else if (!strcasecmp(v, "f32"))
                o->cache_type = GGML_TYPE_F32;
            else if (!strcasecmp(v, "q8_0"))
                o->cache_type = GGML_TYPE_Q8_0;
            else
                die("--cache-type must be f16, f32 or q8_0, got '%s'", v);
            i++;
        } else if (!strcmp(a, "--ttft"))
            o->ttft = true;
        else if (!strcmp(a, "--json"))
            o->json = true;
        else if (!strcmp(a, "-v"))
            o->verbose = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage();
            exit(0);
        } else {
            usage();
            die("unknown option '%s'", a);
        }
    }
    if (!o->model_path) die("%s", "no model given: use -m FILE");
    if (o->n_prompt == 0 && o->n_gen == 0 && !o->ttft) die("%s", "nothing to measure: -p and -n are both 0");
}

/* From the GGUF header: the weight type (most common among 2-D tensors) and the bytes of weights one generated token
 * reads: every 2-D matrix except the token embedding (one row of it is read), unless there is no output.weight (then
 * the embedding is the tied output matrix, read once). Same definition as bench/llama_bench.mjs. */
static void describe_weights(const char *path, char *type_out, size_t type_size, double *bytes_out) {
    struct ggml_context *meta = NULL;
    struct gguf_init_params params = {.no_alloc = true, .ctx = &meta};
    struct gguf_context *gguf = gguf_init_from_file(path, params);
    if (!gguf) die("%s: not a readable GGUF file", path);
    int counts[GGML_TYPE_COUNT] = {0};
    double bytes = 0, embedding_bytes = 0;
    bool has_output = false;
    for (int64_t i = 0; i < gguf_get_n_tensors(gguf); i++) {
        const char *name = gguf_get_tensor_name(gguf, i);
        struct ggml_tensor *t = ggml_get_tensor(meta, name);
        if (!t || ggml_n_dims(t) < 2) continue;
        counts[t->type]++;
        double size = (double)gguf_get_tensor_size(gguf, i);
        if (!strcmp(name, "token_embd.weight")) {
            embedding_bytes = size;
            continue;
        }
        if (!strcmp(name, "output.weight")) has_output = true;
        bytes += size;
    }
    if (!has_output) bytes += embedding_bytes;
    int best = -1;
    for (int t = 0; t < GGML_TYPE_COUNT; t++)
        if (counts[t] > 0 && (best < 0 || counts[t] > counts[best])) best = t;
    snprintf(type_out, type_size, "%s", best >= 0 ? ggml_type_name((enum ggml_type)best) : "?");
    for (char *c = type_out; *c; c++) *c = (char)tolower((unsigned char)*c);
    *bytes_out = bytes;
    gguf_free(gguf);
    ggml_free(meta);
}

/* Whether the model's attention is causal (<arch>.attention.causal, true when
 * absent; BERT-style encoders say false, or are "bert" architectures). */
static bool model_is_causal(const struct llama_model *model) {
    char arch[64], key[128], value[16];
    if (llama_model_meta_val_str(model, "general.architecture", arch, sizeof arch) < 0) return true;
    if (strstr(arch, "bert")) return false;
    snprintf(key, sizeof key, "%s.attention.causal", arch);
    return llama_model_meta_val_str(model, key, value, sizeof value) < 0 || strcmp(value, "false") != 0;
}

/* llama-bench's test_prompt: n_prompt random ids in n_batch chunks, BOS first when the vocabulary adds one. */
static void run_prompt(struct llama_context *ctx, int n_prompt, int n_batch, int threads, llama_token *tokens) {
    llama_set_n_threads(ctx, threads, threads);
    const struct llama_model *model = llama_get_model(ctx);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    if (llama_model_has_encoder(model) || !llama_model_has_decoder(model) || !model_is_causal(model)) {
        /* Encoders (T5's, BERT) take the whole input in one pass. */
        tokens[0] = llama_vocab_get_add_bos(vocab) ? llama_vocab_bos(vocab) : rand() % n_vocab;
        for (int i = 1; i < n_prompt; i++) tokens[i] = rand() % n_vocab;
        int rc = llama_model_has_encoder(model) ? llama_encode(ctx, llama_batch_get_one(tokens, n_prompt))
                                                : llama_decode(ctx, llama_batch_get_one(tokens, n_prompt));
        if (rc != 0) die("%s", "llama.cpp failed to encode a prompt");
        llama_synchronize(ctx);
        return;
    }
    for (int done = 0; done < n_prompt;) {
        int n = n_prompt - done < n_batch ? n_prompt - done : n_batch;
        tokens[0] = done == 0 && llama_vocab_get_add_bos(vocab) ? llama_vocab_bos(vocab) : rand() % n_vocab;
        for (int i = 1; i < n; i++) tokens[i] = rand() % n_vocab;
        if (llama_decode(ctx, llama_batch_get_one(tokens, n)) != 0) die("%s", "llama_decode failed on a prompt batch");
        done += n;
    }
    llama_synchronize(ctx);
}

/* llama-bench's test_gen: n_gen single-token decodes, each synchronized. */
static void run_generation(struct llama_context *ctx, int n_gen, int threads) {
    llama_set_n_threads(ctx, threads, threads);
    const struct llama_vocab *vocab = llama_model_get_vocab(llama_get_model(ctx));
    const int n_vocab = llama_vocab_n_tokens(vocab);
    llama_token token = llama_vocab_get_add_bos(vocab) ? llama_vocab_bos(vocab) : rand() % n_vocab;
    const struct llama_model *model = llama_get_model(ctx);
    if (llama_model_has_encoder(model)) { /* encoder-decoder: a one-token input, then the decoder */
        if (llama_encode(ctx, llama_batch_get_one(&token, 1)) != 0) die("%s", "llama_encode failed");
        token = llama_model_decoder_start_token(model);
        if (token < 0) token = llama_vocab_bos(vocab);
    }
    for (int i = 0; i < n_gen; i++) {
        if (llama_decode(ctx, llama_batch_get_one(&token, 1)) != 0) die("%s", "llama_decode failed on a token");
        llama_synchronize(ctx);
        token = rand() % n_vocab;
    }
}

/* Greedy pick over the last logits: the sampling step tinyllm's time to first token includes. */
static llama_token argmax_last(struct llama_context *ctx) {
    const float *logits = llama_get_logits_ith(ctx, -1);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
    llama_token best = 0;
    for (int i = 1; i < n_vocab; i++)
        if (logits[i] > logits[best]) best = i;
    return best;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static stats summarize(const double *values, int n) {
    double *sorted = malloc(sizeof(double) * (size_t)n);
    if (!sorted) die("%s", "out of memory");
    memcpy(sorted, values, sizeof(double) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(double), compare_doubles);
    stats s = {n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2, sorted[0], sorted[n - 1]};
    free(sorted);
    return s;
}

static void print_run(const char *kind, int tokens, const double *samples, int n) {
    stats s = summarize(samples, n);
    printf(",\"%s\":{\"tokens\":%d,\"tokens_per_s\":{\"median\":%.6f,\"min\":%.6f,\"max\":%.6f},\"samples\":[", kind,
           tokens, s.median, s.min, s.max);
    for (int i = 0; i < n; i++) printf("%s%.6f", i ? "," : "", samples[i]);
    printf("]}");
}

/* Writes s as a JSON string (the few characters file names and system info may need escaped). */
static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static double peak_rss_mb(void) {
    struct rusage usage;
    return getrusage(RUSAGE_SELF, &usage) == 0 ? usage.ru_maxrss / 1024.0 : 0; /* KiB on Linux */
}

static void quiet_log(enum ggml_log_level level, const char *text, void *user_data) {
    (void)level, (void)text, (void)user_data;
}

int main(int argc, char **argv) {
    options o;
    parse_options(argc, argv, &o);
    struct stat st;
    if (stat(o.model_path, &st) != 0) die("%s: no such file", o.model_path);
    char type[32];
    double weights_bytes;
    describe_weights(o.model_path, type, sizeof type, &weights_bytes);

    if (!o.verbose) llama_log_set(quiet_log, NULL);
    threadpool_new_fn threadpool_new;
    threadpool_free_fn threadpool_free;
    const char *missing = load_cpu_backend(o.backends_dir, &threadpool_new, &threadpool_free);
    if (missing) die("%s", missing);
    ggml_backend_dev_t cpu_dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    llama_backend_init();
    llama_numa_init(GGML_NUMA_STRATEGY_DISABLED);
    if (o.threads == 0) { /* llama-bench's default is the number of math cores; the online CPUs are near enough */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = cpus > 0 ? (int)cpus : 1;
    }

    const double baseline_rss = peak_rss_mb();
    const double load_start = now_ms();
    struct llama_model_params mparams = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(o.model_path, mparams);
    if (!model) die("%s: llama.cpp failed to load the model (run with -v)", o.model_path);
    /* Embedding-only models: pp alone, the whole input in one batch, as tinyllm bench does. */
    const bool embeddings_only = !llama_model_has_decoder(model) || !model_is_causal(model);
    if (embeddings_only) {
        o.n_gen = 0;
        o.ttft = false;
    }
    if ((embeddings_only || llama_model_has_encoder(model)) && o.n_batch < o.n_prompt) o.n_batch = o.n_prompt;
    int needed = o.n_prompt > o.n_gen ? o.n_prompt : o.n_gen;
    if (needed < TTFT_TOKENS && o.ttft) needed = TTFT_TOKENS;
    struct llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = (uint32_t)needed + (embeddings_only ? 0 : 1);
    cparams.n_batch = (uint32_t)o.n_batch;
    cparams.n_ubatch = (uint32_t)o.n_batch;
    cparams.n_threads = o.threads;
    cparams.n_threads_batch = o.threads;
    cparams.type_k = o.cache_type;
    cparams.type_v = o.cache_type;
    cparams.flash_attn_type = o.flash_attn;
    cparams.offload_kqv = true;
    cparams.op_offload = true;
    cparams.embeddings = embeddings_only;
    cparams.swa_full = false;
    struct llama_context *ctx = llama_init_from_model(model, cparams);
    if (!ctx) die("%s: llama.cpp failed to create a context (run with -v)", o.model_path);
    const double load_ms = now_ms() - load_start;

    /* The persistent threadpool, as llama-bench makes it (default cpumask, not strict, poll 50, normal priority). */
    struct ggml_threadpool_params tpp = ggml_threadpool_params_default(o.threads);
    tpp.strict_cpu = false;
    tpp.poll = 50;
    tpp.prio = GGML_SCHED_PRIO_NORMAL;
    struct ggml_threadpool *threadpool = threadpool_new(&tpp);
    if (!threadpool) die("%s", "ggml_threadpool_new failed");
    llama_attach_threadpool(ctx, threadpool, NULL);

    int batch_capacity = o.n_batch > TTFT_TOKENS ? o.n_batch : TTFT_TOKENS;
    llama_token *tokens = malloc(sizeof(llama_token) * (size_t)batch_capacity);
    double *samples = malloc(sizeof(double) * (size_t)o.reps);
    if (!tokens || !samples) die("%s", "out of memory");
    llama_memory_t memory = llama_get_memory(ctx);

    if (o.json) {
        printf("{\"model\":");
        print_json_string(strrchr(o.model_path, '/') ? strrchr(o.model_path, '/') + 1 : o.model_path);
        printf(",\"type\":\"%s\",\"threads\":%d,\"n_batch\":%d,\"repetitions\":%d", type, o.threads, o.n_batch, o.reps);
    }
    /* pp, then tg: a warm-up run each, then the timed ones, each from an empty memory (llama-bench clears the cells
     * without zeroing the buffers: llama_memory_clear(mem, false)). */
    for (int kind = 0; kind < 2; kind++) {
        const int count = kind == 0 ? o.n_prompt : o.n_gen;
        if (count == 0) continue;
        for (int rep = -1; rep < o.reps; rep++) {
            llama_memory_clear(memory, false);
            const double start = now_ms();
            if (kind == 0)
                run_prompt(ctx, count, o.n_batch, o.threads, tokens);
            else
                run_generation(ctx, rep < 0 ? 1 : count, o.threads);
            const double ms = now_ms() - start;
            if (rep >= 0) samples[rep] = count * 1000.0 / ms;
        }
        if (o.json)
            print_run(kind == 0 ? "pp" : "tg", count, samples, o.reps);
        else {
            stats s = summarize(samples, o.reps);
            printf("%s %s t=%d %s%d: %.2f t/s (min %.2f, max %.2f)\n", o.model_path, type, o.threads,
                   kind == 0 ? "pp" : "tg", count, s.median, s.min, s.max);
        }
    }
    double ttft_ms = -1;
    if (o.ttft) {
        /* Time to first token: a 128-token prompt (in -b chunks) from an empty memory, then a greedy pick. */
        volatile llama_token sink = 0;
        for (int rep = -1; rep < o.reps; rep++) {
            llama_memory_clear(memory, false);
            const double start = now_ms();
            run_prompt(ctx, TTFT_TOKENS, o.n_batch, o.threads, tokens);
            if (llama_model_has_encoder(model)) { /* the first logits come from the decoder start token */
                llama_token start = llama_model_decoder_start_token(model);
                if (start < 0) start = llama_vocab_bos(llama_model_get_vocab(model));
                if (llama_decode(ctx, llama_batch_get_one(&start, 1)) != 0) die("%s", "llama_decode failed");
            }
            sink = argmax_last(ctx);
            if (rep >= 0) samples[rep] = now_ms() - start;
        }
        (void)sink;
        ttft_ms = summarize(samples, o.reps).median;
    }

    if (o.json) {
        if (ttft_ms >= 0) printf(",\"ttft_ms_128\":%.6f", ttft_ms);
        printf(",\"load_ms\":%.6f,\"peak_rss_mb\":%.6f,\"baseline_rss_mb\":%.6f,\"file_size\":%lld", load_ms,
               peak_rss_mb(), baseline_rss, (long long)st.st_size);
        printf(",\"weights_bytes\":%.0f,\"binding_overhead_us\":null", weights_bytes);
        printf(",\"source\":{\"driver\":\"bench/llama_bench.c\",\"nodeLlamaCpp\":\"%s\","
               "\"llamaCpp\":\"ggml-org/llama.cpp %s\",\"cpuBackend\":",
               NODE_LLAMA_CPP_VERSION, LLAMA_CPP_RELEASE);
        print_json_string(ggml_backend_dev_description(cpu_dev));
        char variant[64];
        cpu_variant(variant, sizeof variant);
        printf(",\"cpuVariant\":");
        print_json_string(variant);
        printf(",\"cpuFeatures\":");
        char features[4096];
        snprintf(features, sizeof features, "%s", llama_print_system_info());
        for (size_t n = strlen(features); n > 0 && isspace((unsigned char)features[n - 1]); n--) features[n - 1] = 0;
        print_json_string(features);
        const char *kv = ggml_type_name(o.cache_type);
        char kv_upper[16];
        snprintf(kv_upper, sizeof kv_upper, "%s", kv);
        for (char *c = kv_upper; *c; c++) *c = (char)toupper((unsigned char)*c);
        printf(",\"kvCache\":{\"key\":\"%s\",\"value\":\"%s\"},\"flashAttention\":", kv_upper, kv_upper);
        if (o.flash_attn == LLAMA_FLASH_ATTN_TYPE_AUTO)
            printf("\"auto\"");
        else
            printf(o.flash_attn == LLAMA_FLASH_ATTN_TYPE_ENABLED ? "true" : "false");
        printf(",\"threadpool\":{\"n_threads\":%d,\"poll\":%d},\"contextSize\":%u,\"batchSize\":%u}}\n", tpp.n_threads,
               (int)tpp.poll, llama_n_ctx(ctx), llama_n_batch(ctx));
    } else {
        if (ttft_ms >= 0) printf("ttft (128-token prompt): %.2f ms\n", ttft_ms);
        printf("load %.1f ms, peak RSS %.1f MiB\n", load_ms, peak_rss_mb());
    }

    free(samples);
    free(tokens);
    llama_free(ctx);
    threadpool_free(threadpool);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
