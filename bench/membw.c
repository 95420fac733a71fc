/*
 * membw.c — sustained memory read bandwidth, the ceiling for token generation
 * (each generated token reads every weight matrix once). bench/compare builds
 * and runs it to put tg tokens/s × bytes per token next to what the machine
 * can read.
 *
 *   membw [MiB] [max_threads]  →  one JSON object: {"buffer_mib": N, "read_gbps": {"1": x, "2": y}}
 *
 * Each thread sums its own slice of a buffer much larger than the caches;
 * the best of several passes is reported, in GB/s (10^9 bytes per second).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slice {
    const uint64_t *words;
    size_t n_words;
    uint64_t sum; /* kept so the compiler cannot drop the reads */
} slice;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reads every word of the slice with eight independent accumulators, so the
 * loop is limited by memory, not by the adds' dependency chain. */
static void *read_slice(void *arg) {
    slice *s = arg;
    uint64_t a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= s->n_words; i += 8)
        for (int k = 0; k < 8; k++) a[k] += s->words[i + k];
    for (; i < s->n_words; i++) a[0] += s->words[i];
    s->sum = a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
    return NULL;
}

/* Best bandwidth, in GB/s, of `passes` passes over the buffer with n_threads threads. */
static double measure(const uint64_t *words, size_t n_words, int n_threads, int passes) {
    pthread_t threads[64];
    slice slices[64];
    double best = 0;
    for (int pass = 0; pass < passes; pass++) {
        double start = now_seconds();
        for (int t = 0; t < n_threads; t++) {
            size_t begin = n_words * (size_t)t / (size_t)n_threads;
            size_t end = n_words * (size_t)(t + 1) / (size_t)n_threads;
            slices[t] = (slice){words + begin, end - begin, 0};
            if (pthread_create(&threads[t], NULL, read_slice, &slices[t]) != 0) return -1;
        }
        uint64_t total = 0;
        for (int t = 0; t < n_threads; t++) {
            pthread_join(threads[t], NULL);
            total += slices[t].sum;
        }
        double seconds = now_seconds() - start;
        double gbps = (double)n_words * sizeof(uint64_t) / seconds / 1e9;
        if (gbps > best) best = gbps;
        if (total == 42) fputc(' ', stderr); /* uses the sum */
    }
    return best;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
    int max_threads = argc > 2 ? atoi(argv[2]) : 2;
    if (mib < 16 || max_threads < 1 || max_threads > 64) {
        fprintf(stderr, "usage: membw [MiB >= 16] [max_threads 1..64]\n");
        return 1;
    }
    size_t n_words = mib * 1024 * 1024 / sizeof(uint64_t);
    uint64_t *words = malloc(n_words * sizeof *words);
    if (!words) {
        fprintf(stderr, "membw: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n_words; i++) words[i] = i * 0x9E3779B97F4A7C15ull; /* touch every page */
    printf("{\"buffer_mib\": %zu, \"read_gbps\": {", mib);
    for (int t = 1; t <= max_threads; t++) {
        double gbps = measure(words, n_words, t, 5);
        printf("%s\"%d\": %.2f", t > 1 ? ", " : "", t, gbps);
    }
    printf("}}\n");
    free(words);
    return 0;
}
