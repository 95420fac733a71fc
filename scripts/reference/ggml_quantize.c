/*
 * ggml_quantize.c — writes a GGUF model whose weight matrices are quantized by ggml itself (the prebuilt libraries of
 * node-llama-cpp) to an i-quant or ternary type that `tinyllm synth` cannot write: test and benchmark files made by
 * llama.cpp's own quantizer. Built and run by scripts/reference/ggml_quantize.sh, which documents the rules (which
 * tensors keep a higher precision, the importance matrix) in its header; this file implements them.
 *
 *   ggml_quantize --type TYPE [--threads N] [--imatrix-text FILE] [--no-imatrix] [-v] INPUT.gguf OUTPUT.gguf
 *
 * INPUT is a float model (f32, f16 or bf16 weights, e.g. `tinyllm synth --type f32`). The importance matrix is the
 * mean square of each input column of every weight matrix, measured by llama.cpp running INPUT on a short text
 * (the eval callback sees every MUL_MAT, as llama.cpp's imatrix tool does). Quantization: ggml_quantize_chunk per
 * tensor, rows split over the threads, each chunk checked by ggml_validate_row_data. Output: gguf_* from
 * libggml-base, metadata copied, general.file_type set; written to a temporary name then renamed. Errors: one line on
 * stderr, exit 1.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "gguf.h"
#include "llama.h"

#define TOOL "ggml_quantize"
#define MAX_THREADS 64
#define IMATRIX_CTX 512

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(TOOL ": ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* The types this tool writes. ftype: llama.cpp's file type whose main type this is (IQ2_S is the main type of
 * llama.cpp's IQ2_M mixture; its IQ2_S mixture uses IQ2_XS). embd: the type llama.cpp gives an untied token
 * embedding in that mixture. big_output: the mixtures whose output matrix llama.cpp keeps in Q5_K (else Q6_K). */
typedef struct {
    const char *name;
    enum ggml_type type;
    enum llama_ftype ftype;
    enum ggml_type embd;
    bool q5k_output;
} quant_type;

static const quant_type TYPES[] = {
    {"iq4_nl", GGML_TYPE_IQ4_NL, LLAMA_FTYPE_MOSTLY_IQ4_NL, GGML_TYPE_IQ4_NL, false},
    {"iq4_xs", GGML_TYPE_IQ4_XS, LLAMA_FTYPE_MOSTLY_IQ4_XS, GGML_TYPE_IQ4_XS, false},
    {"iq3_xxs", GGML_TYPE_IQ3_XXS, LLAMA_FTYPE_MOSTLY_IQ3_XXS, GGML_TYPE_IQ3_S, true},
    {"iq3_s", GGML_TYPE_IQ3_S, LLAMA_FTYPE_MOSTLY_IQ3_S, GGML_TYPE_IQ3_S, false},
    {"iq2_xxs", GGML_TYPE_IQ2_XXS, LLAMA_FTYPE_MOSTLY_IQ2_XXS, GGML_TYPE_Q2_K, true},
    {"iq2_xs", GGML_TYPE_IQ2_XS, LLAMA_FTYPE_MOSTLY_IQ2_XS, GGML_TYPE_Q2_K, true},
    {"iq2_s", GGML_TYPE_IQ2_S, LLAMA_FTYPE_MOSTLY_IQ2_M, GGML_TYPE_IQ3_S, true},
    {"iq1_s", GGML_TYPE_IQ1_S, LLAMA_FTYPE_MOSTLY_IQ1_S, GGML_TYPE_Q2_K, true},
    {"iq1_m", GGML_TYPE_IQ1_M, LLAMA_FTYPE_MOSTLY_IQ1_M, GGML_TYPE_Q2_K, true},
    {"tq1_0", GGML_TYPE_TQ1_0, LLAMA_FTYPE_MOSTLY_TQ1_0, GGML_TYPE_Q4_K, false},
    {"tq2_0", GGML_TYPE_TQ2_0, LLAMA_FTYPE_MOSTLY_TQ2_0, GGML_TYPE_Q4_K, false},
};
#define N_TYPES (sizeof TYPES / sizeof TYPES[0])

typedef struct {
    const quant_type *qt;
    const char *input, *output, *text_path;
    int threads;
    bool imatrix, verbose;
} options;

/* Text the importance matrix is measured on when --imatrix-text is not given: plain English prose. */
static const char DEFAULT_TEXT[] =
    "Once upon a time, in a small village at the edge of a great forest, there lived an old clockmaker and his "
    "granddaughter. Every morning the girl opened the shutters of the workshop, swept the floor and wound the "
    "clocks on the wall, one after another, until the whole room ticked like rain on a roof. Travellers who came "
    "through the village stopped to listen, and some of them brought broken watches from far-away cities. The "
    "clockmaker would turn each one over in his hands, open the back with a thin blade and study the wheels for a "
    "long time before he said a word. \"Every machine tells you what is wrong with it,\" he told the girl, \"if "
    "you are patient enough to listen.\" In the winter the river froze and the roads were closed for weeks. The "
    "two of them spent the evenings by the stove, reading books about astronomy, mathematics and the history of "
    "navigation, and drawing plans for a clock that would show the phases of the moon, the tides of the distant "
    "sea and the positions of five planets. Question: how many gears would such a clock need? Answer: more than "
    "three hundred, the girl guessed, and she began to count them in her notebook: 12, 24, 36, 60, 365.\n"
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n";

/* ---- importance matrix: sum of squares of every weight matrix's input columns, collected in the eval callback */

typedef struct {
    char name[GGML_MAX_NAME];
    int64_t n_cols;
    double *sum;
    int64_t rows;
} imatrix_entry;

typedef struct {
    imatrix_entry *entries;
    int n, cap;
    const struct gguf_context *model; /* only tensors of the input file are weights */
} imatrix;

static imatrix_entry *imatrix_find(imatrix *im, const char *name) {
    for (int i = 0; i < im->n; i++)
        if (strcmp(im->entries[i].name, name) == 0) return &im->entries[i];
    return NULL;
}

static bool collect(struct ggml_tensor *t, bool ask, void *user_data) {
    imatrix *im = user_data;
    if (t->op != GGML_OP_MUL_MAT) return !ask; /* other ops: not asked for, and evaluation goes on */
    const struct ggml_tensor *w = t->src[0], *x = t->src[1];
    if (ask) return gguf_find_tensor(im->model, ggml_get_name(w)) >= 0;
    if (gguf_find_tensor(im->model, ggml_get_name(w)) < 0 || x->type != GGML_TYPE_F32 || x->ne[0] != w->ne[0])
        return true;
    imatrix_entry *e = imatrix_find(im, ggml_get_name(w));
    if (!e) {
        if (im->n == im->cap) {
            im->cap = im->cap ? 2 * im->cap : 64;
            im->entries = realloc(im->entries, sizeof *im->entries * (size_t)im->cap);
            if (!im->entries) die("out of memory");
        }
        e = &im->entries[im->n++];
        snprintf(e->name, sizeof e->name, "%s", ggml_get_name(w));
        e->n_cols = x->ne[0];
        e->sum = calloc((size_t)e->n_cols, sizeof *e->sum);
        e->rows = 0;
        if (!e->sum) die("out of memory");
    }
    const bool host = !x->buffer || ggml_backend_buffer_is_host(x->buffer);
    float *row = malloc(sizeof(float) * (size_t)x->ne[0]);
    if (!row) die("out of memory");
    for (int64_t i3 = 0; i3 < x->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < x->ne[2]; i2++)
            for (int64_t i1 = 0; i1 < x->ne[1]; i1++) {
                const size_t offset = (size_t)(i1 * x->nb[1] + i2 * x->nb[2] + i3 * x->nb[3]);
                if (host)
                    memcpy(row, (const char *)x->data + offset, sizeof(float) * (size_t)x->ne[0]);
                else
                    ggml_backend_tensor_get(x, row, offset, sizeof(float) * (size_t)x->ne[0]);
                for (int64_t c = 0; c < x->ne[0]; c++) e->sum[c] += (double)row[c] * row[c];
                e->rows++;
            }
    free(row);
    return true;
}

static char last_error[512];

static void log_callback(enum ggml_log_level level, const char *text, void *user_data) {
    const options *o = user_data;
    if (level == GGML_LOG_LEVEL_ERROR && !last_error[0]) {
        snprintf(last_error, sizeof last_error, "%s", text);
        last_error[strcspn(last_error, "\n")] = 0;
    }
    if (o->verbose) fputs(text, stderr);
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap);
    if (!text) die("out of memory");
    size_t got;
    while ((got = fread(text + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            text = realloc(text, cap);
            if (!text) die("out of memory");
        }
    }
    if (ferror(f)) die("%s: read error", path);
    fclose(f);
    text[n] = 0;
    if (n == 0) die("%s: empty file", path);
    return text;
}

/* Runs INPUT through llama.cpp on the text (at most IMATRIX_CTX tokens, one batch, every position an output so that
 * the last layer sees every token too) and fills im with each weight matrix's sum of squared inputs. */
static void compute_imatrix(const options *o, imatrix *im) {
    struct llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(o->input, mparams);
    if (!model) die("%s: llama.cpp cannot load the model: %s", o->input, last_error);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    char *text = o->text_path ? read_text(o->text_path) : strdup(DEFAULT_TEXT);
    if (!text) die("out of memory");
    const int32_t len = (int32_t)strlen(text);
    int n = -llama_tokenize(vocab, text, len, NULL, 0, true, false); /* how many tokens the whole text gives */
    if (n < 2) die("%s: the importance-matrix text gives %d token(s)", o->text_path ? o->text_path : "default", n);
    llama_token *tokens = malloc(sizeof(llama_token) * (size_t)n);
    if (!tokens || llama_tokenize(vocab, text, len, tokens, n, true, false) != n) die("cannot tokenize the text");
    if (n > IMATRIX_CTX) n = IMATRIX_CTX; /* the first IMATRIX_CTX tokens */

    struct llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = cparams.n_batch = cparams.n_ubatch = IMATRIX_CTX;
    cparams.n_seq_max = 1;
    cparams.n_threads = cparams.n_threads_batch = o->threads;
    cparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cparams.cb_eval = collect;
    cparams.cb_eval_user_data = im;
    struct llama_context *ctx = llama_init_from_model(model, cparams);
    if (!ctx) die("%s: llama.cpp cannot create a context: %s", o->input, last_error);
    struct llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = tokens[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch) != 0) die("%s: llama_decode failed: %s", o->input, last_error);
    if (o->verbose) fprintf(stderr, "importance matrix: %d tokens, %d weight matrices\n", n, im->n);
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    free(tokens);
    free(text);
}

/* ---- which type each tensor gets (llama.cpp's rules, src/llama-quant.cpp; see ggml_quantize.sh) */

static bool allows_quantization(const struct ggml_tensor *t) {
    const char *name = ggml_get_name(t);
    const size_t len = strlen(name);
    if (ggml_n_dims(t) < 2 || len < 6 || strcmp(name + len - 6, "weight") != 0) return false;
    static const char *const keep[] = {"_norm.weight",        "ffn_gate_inp.weight", "position_embd", "token_types",
                                       "attn_rel_b.weight",   "ssm_conv1d",          "altup",         "laurel",
                                       "per_layer_model_proj"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (strstr(name, keep[i])) return false;
    return true;
}

/* tensor_type_fallback: a row length the type's block does not divide. */
static enum ggml_type fallback(enum ggml_type type, int64_t n_cols) {
    if (n_cols % ggml_blck_size(type) == 0) return type;
    switch (type) {
    case GGML_TYPE_IQ1_S:
    case GGML_TYPE_IQ1_M:
    case GGML_TYPE_IQ2_XXS:
    case GGML_TYPE_IQ2_XS:
    case GGML_TYPE_IQ2_S:
    case GGML_TYPE_IQ3_XXS:
    case GGML_TYPE_IQ3_S:
    case GGML_TYPE_IQ4_XS: type = GGML_TYPE_IQ4_NL; break;
    case GGML_TYPE_Q2_K:
    case GGML_TYPE_Q3_K:
    case GGML_TYPE_TQ1_0:
    case GGML_TYPE_TQ2_0: type = GGML_TYPE_Q4_0; break;
    case GGML_TYPE_Q4_K: type = GGML_TYPE_Q5_0; break;
    case GGML_TYPE_Q5_K: type = GGML_TYPE_Q5_1; break;
    case GGML_TYPE_Q6_K: type = GGML_TYPE_Q8_0; break;
    default: break;
    }
    return n_cols % ggml_blck_size(type) == 0 ? type : GGML_TYPE_F16;
}

static enum ggml_type tensor_type(const quant_type *qt, const struct ggml_tensor *t, bool tied) {
    if (!allows_quantization(t)) return t->type;
    const char *name = ggml_get_name(t);
    enum ggml_type type = qt->type;
    const bool output = strcmp(name, "output.weight") == 0, embd = strcmp(name, "token_embd.weight") == 0;
    if (output || (tied && embd)) {
        if (t->ne[0] % ggml_blck_size(qt->type) != 0)
            type = GGML_TYPE_Q8_0;
        else
            type = qt->q5k_output ? GGML_TYPE_Q5_K : GGML_TYPE_Q6_K;
    } else if (embd) {
        type = qt->embd;
    }
    return fallback(type, t->ne[0]);
}

/* ---- quantization, rows split over threads */

typedef struct {
    enum ggml_type type;
    const float *src;
    char *dst;
    int64_t first, rows, n_cols;
    const float *imatrix;
    bool valid;
} chunk;

static void *quantize_chunk(void *arg) {
    chunk *c = arg;
    const size_t row_size = ggml_row_size(c->type, c->n_cols);
    void *dst = c->dst + (size_t)c->first * row_size;
    size_t size = ggml_quantize_chunk(c->type, c->src + c->first * c->n_cols, dst, 0, c->rows, c->n_cols, c->imatrix);
    c->valid = size == (size_t)c->rows * row_size && ggml_validate_row_data(c->type, dst, size);
    return NULL;
}

/* The tensor's values as floats (a new buffer). */
static float *to_float(const struct ggml_tensor *t) {
    const int64_t n = ggml_nelements(t);
    float *f = malloc(sizeof(float) * (size_t)n);
    if (!f) die("out of memory");
    switch (t->type) {
    case GGML_TYPE_F32: memcpy(f, t->data, sizeof(float) * (size_t)n); break;
    case GGML_TYPE_F16: ggml_fp16_to_fp32_row(t->data, f, n); break;
    case GGML_TYPE_BF16: ggml_bf16_to_fp32_row(t->data, f, n); break;
    default:
        die("tensor %s is %s: the input must be a float model (f32, f16 or bf16)", ggml_get_name(t),
            ggml_type_name(t->type));
    }
    return f;
}

static void *quantize_tensor(const options *o, const struct ggml_tensor *t, enum ggml_type type, const float *imatrix) {
    float *src = to_float(t);
    const int64_t n_cols = t->ne[0], rows = ggml_nrows(t);
    char *dst = malloc(ggml_row_size(type, n_cols) * (size_t)rows);
    if (!dst) die("out of memory");
    int threads = o->threads < rows ? o->threads : (int)rows;
    pthread_t ids[MAX_THREADS];
    chunk chunks[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        const int64_t first = rows * i / threads, end = rows * (i + 1) / threads;
        chunks[i] = (chunk){type, src, dst, first, end - first, n_cols, imatrix, false};
        if (pthread_create(&ids[i], NULL, quantize_chunk, &chunks[i]) != 0) die("cannot start a thread");
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        if (!chunks[i].valid) die("%s: ggml's %s data failed validation", ggml_get_name(t), ggml_type_name(type));
    }
    free(src);
    return dst;
}

static void usage(FILE *out) {
    fputs("usage: " TOOL " --type TYPE [--threads N] [--imatrix-text FILE] [--no-imatrix] [-v] INPUT.gguf "
          "OUTPUT.gguf\ntypes:",
          out);
    for (size_t i = 0; i < N_TYPES; i++) fprintf(out, " %s", TYPES[i].name);
    fputc('\n', out);
}

static void parse_options(int argc, char **argv, options *o) {
    *o = (options){.threads = 2, .imatrix = true};
    const char *files[2];
    int n_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "-v") == 0) {
            o->verbose = true;
        } else if (strcmp(a, "--no-imatrix") == 0) {
            o->imatrix = false;
        } else if (strcmp(a, "--type") == 0 || strcmp(a, "--threads") == 0 || strcmp(a, "--imatrix-text") == 0) {
            if (i + 1 >= argc) die("%s needs a value", a);
            const char *v = argv[++i];
            if (strcmp(a, "--type") == 0) {
                for (size_t k = 0; k < N_TYPES; k++)
                    if (strcmp(v, TYPES[k].name) == 0) o->qt = &TYPES[k];
                if (!o->qt) die("unknown --type '%s' (see --help)", v);
            } else if (strcmp(a, "--threads") == 0) {
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || n < 1 || n > MAX_THREADS) die("--threads must be 1..%d, got '%s'", MAX_THREADS, v);
                o->threads = (int)n;
            } else {
                o->text_path = v;
            }
        } else if (a[0] == '-' && a[1]) {
            die("unknown option '%s' (see --help)", a);
        } else if (n_files < 2) {
            files[n_files++] = a;
        } else {
            die("unexpected argument '%s' (see --help)", a);
        }
    }
    if (!o->qt) die("--type is required (see --help)");
    if (n_files != 2) die("needs INPUT.gguf and OUTPUT.gguf (see --help)");
    o->input = files[0];
    o->output = files[1];
}

int main(int argc, char **argv) {
    options o;
    parse_options(argc, argv, &o);
    llama_log_set(log_callback, &o);
    ggml_backend_load_all_from_path(LLAMA_BINS_DIR);
    if (!ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU)) die("no CPU backend in %s", LLAMA_BINS_DIR);
    llama_backend_init();

    struct ggml_context *data = NULL;
    struct gguf_context *in = gguf_init_from_file(o.input, (struct gguf_init_params){.no_alloc = false, .ctx = &data});
    if (!in) die("%s: not a GGUF file ggml can read%s%s", o.input, last_error[0] ? ": " : "", last_error);
    const int64_t n_tensors = gguf_get_n_tensors(in);
    const bool tied = gguf_find_tensor(in, "output.weight") < 0;

    imatrix im = {.model = in};
    bool needs_imatrix = false;
    for (int64_t i = 0; i < n_tensors; i++) {
        const struct ggml_tensor *t = ggml_get_tensor(data, gguf_get_tensor_name(in, i));
        needs_imatrix |= ggml_quantize_requires_imatrix(tensor_type(o.qt, t, tied));
    }
    if (needs_imatrix && !o.imatrix) die("--type %s needs an importance matrix: drop --no-imatrix", o.qt->name);
    if (o.imatrix) compute_imatrix(&o, &im);

    struct gguf_context *out = gguf_init_empty();
    gguf_set_kv(out, in);
    gguf_set_val_u32(out, "general.file_type", (uint32_t)o.qt->ftype);
    gguf_set_val_u32(out, "general.quantization_version", GGML_QNT_VERSION);
    void **buffers = calloc((size_t)n_tensors, sizeof *buffers);
    if (!buffers) die("out of memory");
    int counts[GGML_TYPE_COUNT] = {0};
    for (int64_t i = 0; i < n_tensors; i++) {
        const char *name = gguf_get_tensor_name(in, i);
        const struct ggml_tensor *t = ggml_get_tensor(data, name);
        gguf_add_tensor(out, t);
        const enum ggml_type type = tensor_type(o.qt, t, tied);
        counts[type]++;
        if (type == t->type) continue;
        const imatrix_entry *e = imatrix_find(&im, name);
        float *weights = NULL;
        if (e && e->rows > 0 && e->n_cols == t->ne[0]) {
            weights = malloc(sizeof(float) * (size_t)e->n_cols);
            if (!weights) die("out of memory");
            for (int64_t c = 0; c < e->n_cols; c++) weights[c] = (float)(e->sum[c] / (double)e->rows);
        } else if (ggml_quantize_requires_imatrix(type)) {
            die("%s: llama.cpp's graph never multiplied by this tensor: no importance matrix for %s", name,
                ggml_type_name(type));
        }
        if (type == GGML_TYPE_F16) {
            float *f = to_float(t);
            buffers[i] = malloc(sizeof(ggml_fp16_t) * (size_t)ggml_nelements(t));
            if (!buffers[i]) die("out of memory");
            ggml_fp32_to_fp16_row(f, buffers[i], ggml_nelements(t));
            free(f);
        } else {
            buffers[i] = quantize_tensor(&o, t, type, weights);
        }
        const bool used_imatrix = weights != NULL;
        free(weights);
        gguf_set_tensor_type(out, name, type);
        gguf_set_tensor_data(out, name, buffers[i]);
        if (o.verbose)
            fprintf(stderr, "%-32s %-6s -> %-7s%s\n", name, ggml_type_name(t->type), ggml_type_name(type),
                    used_imatrix ? " (imatrix)" : "");
    }

    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", o.output, (long)getpid()) >= (int)sizeof tmp)
        die("%s: path too long", o.output);
    if (!gguf_write_to_file(out, tmp, false)) {
        unlink(tmp);
        die("%s: cannot write", tmp);
    }
    if (rename(tmp, o.output) != 0) {
        unlink(tmp);
        die("%s: cannot rename %s to it: %s", o.output, tmp, strerror(errno));
    }
    fprintf(stderr, "%s: %s, %lld tensors:", o.output, o.qt->name, (long long)n_tensors);
    for (int k = 0; k < GGML_TYPE_COUNT; k++)
        if (counts[k]) fprintf(stderr, " %d %s", counts[k], ggml_type_name((enum ggml_type)k));
    fprintf(stderr, "%s\n", o.imatrix ? "; importance matrix from llama.cpp's activations" : "; no importance matrix");

    for (int64_t i = 0; i < n_tensors; i++) free(buffers[i]);
    free(buffers);
    for (int i = 0; i < im.n; i++) free(im.entries[i].sum);
    free(im.entries);
    gguf_free(out);
    gguf_free(in);
    ggml_free(data);
    llama_backend_free();
    return 0;
}
