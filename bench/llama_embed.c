/* llama_embed.c: llama.cpp's side of bench/search.sh's index throughput, in C. Embeds texts the way llama.cpp's
 * llama-embedding does (examples/embedding): each text tokenized with its special tokens and cut to the model's
 * context, texts packed as sequences (one seq_id each, positions from 0) into batches of up to -b tokens and
 * 64 sequences, one llama_decode per batch with embeddings on, mean pooling (or the model's), each vector read with
 * llama_get_embeddings_seq and L2-normalized. Through the prebuilt libraries node-llama-cpp ships.
 *
 *   llama_embed -m FILE --texts FILE [-t THREADS] [-b BATCH] [--backends DIR]
 *
 *   --texts: the texts, each ended by a NUL byte (bench/search.sh exports tinyllm's chunks so);
 *   prints one line: texts, tokens, seconds (tokenization excluded), texts/s, and the first values of the first
 *   vector (to compare with tinyllm's on the same text).
 *
 * Built by bench/search.sh with scripts/reference/build_llama_tool.sh. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml-backend.h"
#include "llama.h"

#ifndef LLAMA_BINS_DIR
#define LLAMA_BINS_DIR ""
#endif

#define MAX_SEQS 64

static void die(const char *what, const char *arg) {
    fprintf(stderr, "llama_embed: %s%s\n", what, arg ? arg : "");
    exit(1);
}

static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The whole file in a malloc'd buffer. */
static char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open ", path);
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die("cannot read ", path);
    fclose(f);
    buf[n] = 0;
    *size = (size_t)n;
    return buf;
}

/* Decodes the batch (n_seqs sequences) and stores their normalized embeddings from row `first`. */
static void decode_batch(struct llama_context *ctx, struct llama_batch *batch, int n_seqs, int n_embd, float *out) {
    llama_memory_t memory = llama_get_memory(ctx);
    if (memory) llama_memory_clear(memory, true);
    if (llama_decode(ctx, *batch) < 0) die("llama_decode failed", NULL);
    for (int s = 0; s < n_seqs; s++) {
        const float *e = llama_get_embeddings_seq(ctx, s);
        if (!e) die("no embeddings for a sequence", NULL);
        double sum = 0;
        for (int i = 0; i < n_embd; i++) sum += (double)e[i] * e[i];
        const float scale = sum > 0 ? (float)(1.0 / sqrt(sum)) : 0.0f;
        for (int i = 0; i < n_embd; i++) out[(size_t)s * n_embd + i] = e[i] * scale;
    }
    batch->n_tokens = 0;
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *texts_path = NULL, *backends = LLAMA_BINS_DIR;
    int threads = 2, n_batch = 2048;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) die("missing value after ", a);
        if (!strcmp(a, "-m"))
            model_path = argv[++i];
        else if (!strcmp(a, "--texts"))
            texts_path = argv[++i];
        else if (!strcmp(a, "-t"))
            threads = atoi(argv[++i]);
        else if (!strcmp(a, "-b"))
            n_batch = atoi(argv[++i]);
        else if (!strcmp(a, "--backends"))
            backends = argv[++i];
        else
            die("unknown option ", a);
    }
    if (!model_path || !texts_path) die("usage: llama_embed -m FILE --texts FILE [-t N] [-b N]", NULL);
    if (threads < 1 || n_batch < 1) die("-t and -b must be positive", NULL);

    llama_log_set(quiet_log, NULL);
    if (*backends)
        ggml_backend_load_all_from_path(backends);
    else
        ggml_backend_load_all();
    llama_backend_init();
    struct llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(model_path, mparams);
    if (!model) die("cannot load ", model_path);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    const int n_ctx_train = llama_model_n_ctx_train(model), n_embd = llama_model_n_embd(model);

    /* llama-embedding: batch = micro-batch (non-causal), context = batch, many sequences in a unified cache. */
    struct llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = (uint32_t)n_batch;
    cparams.n_batch = (uint32_t)n_batch;
    cparams.n_ubatch = (uint32_t)n_batch;
    cparams.n_seq_max = MAX_SEQS;
    cparams.kv_unified = true;
    cparams.n_threads = threads;
    cparams.n_threads_batch = threads;
    cparams.embeddings = true;
    cparams.pooling_type = LLAMA_POOLING_TYPE_MEAN;
    struct llama_context *ctx = llama_init_from_model(model, cparams);
    if (!ctx) die("cannot create a context for ", model_path);

    size_t size;
    char *texts = read_all(texts_path, &size);
    int n_texts = 0;
    for (size_t i = 0; i < size; i++) n_texts += texts[i] == 0;
    llama_token **tokens = calloc((size_t)n_texts + 1, sizeof *tokens);
    int *lens = calloc((size_t)n_texts + 1, sizeof *lens);
    const int max_len = n_ctx_train < n_batch ? n_ctx_train : n_batch;
    long total = 0;
    const char *p = texts;
    for (int t = 0; t < n_texts; t++) {
        const int len = (int)strlen(p);
        tokens[t] = malloc((size_t)(len + 8) * sizeof **tokens);
        int n = llama_tokenize(vocab, p, len, tokens[t], len + 8, true, false);
        if (n < 0) die("llama_tokenize failed", NULL);
        if (n > max_len) { /* cut, keeping the closing [SEP] as tinyllm does */
            tokens[t][max_len - 1] = tokens[t][n - 1];
            n = max_len;
        }
        lens[t] = n;
        total += n;
        p += len + 1;
    }

    float *out = malloc((size_t)MAX_SEQS * n_embd * sizeof *out);
    float first[8] = {0};
    struct llama_batch batch = llama_batch_init(n_batch, 0, 1);
    const double t0 = now_s();
    int n_seqs = 0;
    bool have_first = false;
    for (int t = 0; t <= n_texts; t++) {
        if (n_seqs > 0 && (t == n_texts || batch.n_tokens + lens[t] > n_batch || n_seqs == MAX_SEQS)) {
            decode_batch(ctx, &batch, n_seqs, n_embd, out);
            if (!have_first) memcpy(first, out, sizeof first);
            have_first = true;
            n_seqs = 0;
        }
        if (t == n_texts) break;
        for (int i = 0; i < lens[t]; i++) {
            const int j = batch.n_tokens++;
            batch.token[j] = tokens[t][i];
            batch.pos[j] = i;
            batch.n_seq_id[j] = 1;
            batch.seq_id[j][0] = n_seqs;
            batch.logits[j] = 1;
        }
        n_seqs++;
    }
    const double seconds = now_s() - t0;
    printf("texts %d tokens %ld seconds %.3f texts_per_s %.2f first %.5f %.5f %.5f %.5f\n", n_texts, total, seconds,
           n_texts / seconds, first[0], first[1], first[2], first[3]);
    llama_batch_free(batch);
    for (int t = 0; t < n_texts; t++) free(tokens[t]);
    free(tokens);
    free(lens);
    free(out);
    free(texts);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
