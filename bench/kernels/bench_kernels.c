/*
 * bench_kernels.c — micro-benchmark of the matrix kernels at the shapes of
 * real tiny models, for each kernel level this CPU runs (single thread).
 *
 * For n_tokens = 1 (generation) the weights are cycled through a buffer much
 * larger than the caches, so the figure is the streaming speed (GB/s of
 * weights); for batches (prompt processing) one matrix is reused, and the
 * figure is GFLOP/s (2 * rows * cols * tokens). Quantizing the activations is
 * timed separately.
 *
 * usage: bench_kernels [type ...]      (default: q8_0 q4_0 f16 bf16 q4_1 q5_0)
 *        types without a quantizer (iq3_s, iq2_xs) get random blocks with a
 *        small scale d (their first field)
 * env:   BENCH_TOKENS=512 BENCH_LEVELS=avx2,avx512 BENCH_SECONDS=0.3
 *        BENCH_SHAPES="smol135 down 576x1536" (only the shapes whose names are
 *        substrings of it; shapes whose rows the type cannot split are skipped)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tensor/kernels.h"
#include "tensor/types.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: robust on a busy machine */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

typedef struct shape {
    const char *name;
    int64_t rows, cols;
} shape;

static const shape shapes[] = {
    {"smol135 qkv/o 576x576", 576, 576},      {"smol135 up 1536x576", 1536, 576},
    {"smol135 down 576x1536", 576, 1536},     {"qwen05 up 4864x896", 4864, 896},
    {"qwen05 down 896x4864", 896, 4864},      {"smol135 head 49152x576", 49152, 576},
    {"tinyllama qkv 2048x2048", 2048, 2048},  {"tinyllama up 5632x2048", 5632, 2048},
    {"tinyllama down 2048x5632", 2048, 5632}, {"llama32 up 8192x2048", 8192, 2048},
    {"llama32 down 2048x8192", 2048, 8192},
};

static int level_wanted(const char *name) {
    const char *want = getenv("BENCH_LEVELS");
    if (!want) return 1;
    const size_t n = strlen(name);
    for (const char *p = want; (p = strstr(p, name)) != NULL; p += n)
        if ((p == want || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

static void bench_type(uint32_t type, int64_t batch, double seconds) {
    const tl_type_traits *tt = tl_type_traits_of(type);
    const uint32_t xtype = tt->vec_dot_type;
    const tl_kernel_set *ref = tl_kernels_named("scalar");
    unsigned seed = 1;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        if (s->cols % tt->block_size != 0) continue; /* K-quants: rows of 256 multiples only */
        if (getenv("BENCH_SHAPES") && !strstr(getenv("BENCH_SHAPES"), s->name)) continue;
        const size_t wrow = tl_type_row_bytes(type, s->cols), xrow = tl_type_row_bytes(xtype, s->cols);
        const size_t wbytes = wrow * (size_t)s->rows;
        /* enough copies to exceed the caches when streaming */
        const size_t stream_bytes =
            getenv("BENCH_STREAM_MB") ? (size_t)atoll(getenv("BENCH_STREAM_MB")) << 20 : (size_t)256 << 20;
        const size_t copies = wbytes >= stream_bytes ? 1 : stream_bytes / wbytes;
        uint8_t *w = malloc(wbytes * copies);
        float *xf = malloc(sizeof(float) * (size_t)(s->cols * batch));
        uint8_t *x = malloc(xrow * (size_t)batch);
        float *y = malloc(sizeof(float) * (size_t)(s->rows * batch));
        float *row = malloc(sizeof(float) * (size_t)s->cols);
        for (int64_t r = 0; r < s->rows; r++) {
            uint8_t *wr = w + (size_t)r * wrow;
            if (!ref->quantize[type]) {
                for (size_t i = 0; i < wrow; i++) {
                    frand(&seed);
                    wr[i] = (uint8_t)(seed >> 24);
                }
                for (size_t at = 0; at < wrow; at += tt->block_bytes) wr[at] = 0, wr[at + 1] = 0x20; /* d = 2^-7 */
                continue;
            }
            for (int64_t c = 0; c < s->cols; c++) row[c] = 0.05f * frand(&seed);
            ref->quantize[type](row, wr, s->cols);
        }
        for (size_t c = 1; c < copies; c++) memcpy(w + c * wbytes, w, wbytes);
        for (int64_t i = 0; i < s->cols * batch; i++) xf[i] = frand(&seed);
        printf("%-6s %-24s", tt->name, s->name);
        for (const char *const *lv = tl_kernel_level_names(); *lv; lv++) {
            const tl_kernel_set *k = tl_kernels_named(*lv);
            if (!k || !level_wanted(*lv)) continue;
            /* quantize the batch */
            double t0 = now();
            int reps = 0;
            do {
                for (int64_t t = 0; t < batch; t++) k->quantize[xtype](xf + t * s->cols, x + t * xrow, s->cols);
                reps++;
            } while (now() - t0 < seconds * 0.2);
            const double quant_ns = (now() - t0) / reps / (double)(s->cols * batch) * 1e9;
            /* generation: one token, streaming weights */
            t0 = now();
            reps = 0;
            do {
                tl_kernels_gemm(k, type, s->cols, w + (size_t)(reps % (int)copies) * wbytes, wrow, 0, s->rows, x, xrow,
                                1, y, s->rows);
                reps++;
            } while (now() - t0 < seconds);
            const double gbs = (double)wbytes * reps / (now() - t0) / 1e9;
            /* batch: one matrix reused; scalar runs a slice of the batch */
            const int64_t n = strcmp(*lv, "scalar") == 0 && batch > 16 ? 16 : batch;
            t0 = now();
            reps = 0;
            do {
                tl_kernels_gemm(k, type, s->cols, w, wrow, 0, s->rows, x, xrow, n, y, s->rows);
                reps++;
            } while (now() - t0 < seconds);
            const double gflops = 2.0 * (double)s->rows * (double)s->cols * (double)n * reps / (now() - t0) / 1e9;
            printf(" | %s: tg %6.1f GB/s pp %6.1f GF/s q %.2f ns/el", *lv, gbs, gflops, quant_ns);
        }
        printf("\n");
        fflush(stdout);
        free(w);
        free(xf);
        free(x);
        free(y);
        free(row);
    }
}

int main(int argc, char **argv) {
    const char *default_types[] = {"q8_0", "q4_0", "f16", "bf16", "q4_1", "q5_0"};
    const char *env_tokens = getenv("BENCH_TOKENS"), *env_seconds = getenv("BENCH_SECONDS");
    const int64_t batch = env_tokens ? atoll(env_tokens) : 512;
    const double seconds = env_seconds ? atof(env_seconds) : 0.3;
    const int n_types = argc > 1 ? argc - 1 : (int)(sizeof default_types / sizeof default_types[0]);
    for (int i = 0; i < n_types; i++) {
        const char *name = argc > 1 ? argv[i + 1] : default_types[i];
        uint32_t type = TL_TYPE_COUNT;
        for (uint32_t t = 0; t < TL_TYPE_COUNT; t++)
            if (tl_type_traits_of(t) && strcmp(tl_type_traits_of(t)->name, name) == 0) type = t;
        if (type == TL_TYPE_COUNT || !tl_type_is_supported(type)) {
            fprintf(stderr, "unknown or unsupported type %s\n", name);
            return 1;
        }
        bench_type(type, batch, seconds);
    }
    return 0;
}
