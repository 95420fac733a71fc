/*
 * test_ops.c — the forward pass's numeric building blocks (ops.c) and the
 * softmax of every kernel level, against straightforward double-precision
 * references.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/kernels.h"
#include "tensor/ops.h"
#include "test_support.h"

static uint64_t rng_state = 12345;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

static void rms_norm_matches_reference(void **state) {
    (void)state;
    float x[77], w[77], out[77];
    for (int i = 0; i < 77; i++) x[i] = 3.0f * frand(), w[i] = 1.0f + frand();
    tl_rms_norm(out, x, w, 77, 1e-5f);
    double ss = 0;
    for (int i = 0; i < 77; i++) ss += (double)x[i] * x[i];
    const double scale = 1.0 / sqrt(ss / 77 + 1e-5);
    for (int i = 0; i < 77; i++) assert_true(fabs(out[i] - x[i] * scale * w[i]) < 1e-5);
}

static void layer_norm_has_zero_mean_unit_variance(void **state) {
    (void)state;
    float x[64], out[64];
    for (int i = 0; i < 64; i++) x[i] = 5.0f + 2.0f * frand();
    tl_layer_norm(out, x, NULL, NULL, 64, 0.0f);
    double mean = 0, var = 0;
    for (int i = 0; i < 64; i++) mean += out[i];
    mean /= 64;
    for (int i = 0; i < 64; i++) var += (out[i] - mean) * (out[i] - mean);
    assert_true(fabs(mean) < 1e-5);
    assert_true(fabs(var / 64 - 1.0) < 1e-4);
}

/* Every level's softmax agrees with the double-precision definition, for
 * lengths around the vector width and with large negative entries. */
static void softmax_levels_match_reference(void **state) {
    (void)state;
    const int64_t sizes[] = {1, 2, 7, 8, 9, 31, 64, 333, 4097};
    for (const char *const *level = tl_kernel_level_names(); *level; level++) {
        const tl_kernel_set *k = tl_kernels_named(*level);
        if (!k) continue;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const int64_t n = sizes[s];
            float *x = malloc((size_t)n * sizeof *x);
            double *ref = malloc((size_t)n * sizeof *ref);
            for (int64_t i = 0; i < n; i++) x[i] = 20.0f * frand() - (i % 5 == 0 ? 90.0f : 0.0f);
            double max = -INFINITY, sum = 0;
            for (int64_t i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
            for (int64_t i = 0; i < n; i++) sum += ref[i] = exp(x[i] - max);
            k->softmax(x, n);
            for (int64_t i = 0; i < n; i++)
                if (fabs(x[i] - ref[i] / sum) > 2e-6 * (ref[i] / sum) + 1e-12)
                    fail_msg("%s n=%lld i=%lld: %g vs %g", *level, (long long)n, (long long)i, x[i], ref[i] / sum);
            free(x);
            free(ref);
        }
    }
}

/* RoPE rotates pairs: norms are kept, position 0 is the identity, and the
 * two layouts pair different elements. */
static void rope_rotates_the_right_pairs(void **state) {
    (void)state;
    float c[4], s[4];
    for (int neox = 0; neox < 2; neox++) {
        tl_rope_params p = {.n_rot = 8, .theta_base = 10000.0f, .freq_scale = 1.0f, .neox = neox};
        float x[16], y[16];
        for (int i = 0; i < 16; i++) x[i] = frand();
        memcpy(y, x, sizeof x);
        tl_rope_cache(&p, 0.0f, c, s);
        tl_rope_apply(&p, c, s, y, 1, 16);
        assert_memory_equal(x, y, sizeof x);
        tl_rope_cache(&p, 3.0f, c, s);
        tl_rope_apply(&p, c, s, y, 1, 16);
        for (int i = 0; i < 4; i++) {
            const int a = neox ? i : 2 * i, b = neox ? i + 4 : 2 * i + 1;
            assert_true(fabsf(x[a] * x[a] + x[b] * x[b] - (y[a] * y[a] + y[b] * y[b])) < 1e-5f);
            /* angle of pair i is 3 * 10000^(-2i/8) */
            const float angle = 3.0f * powf(10000.0f, -2.0f * i / 8.0f);
            assert_true(fabsf(y[a] - (x[a] * cosf(angle) - x[b] * sinf(angle))) < 1e-5f);
        }
        for (int i = 8; i < 16; i++) assert_true(x[i] == y[i]); /* beyond n_rot: untouched */
    }
    /* Frequency factors divide the angle. */
    const float factors[4] = {1, 2, 4, 8};
    tl_rope_params p = {.n_rot = 8, .theta_base = 10000.0f, .freq_scale = 1.0f, .freq_factors = factors};
    tl_rope_cache(&p, 5.0f, c, s);
    for (int i = 0; i < 4; i++)
        assert_true(fabsf(c[i] - cosf(5.0f * powf(10000.0f, -2.0f * i / 8.0f) / factors[i])) < 1e-5f);
}

static void swiglu_and_geglu(void **state) {
    (void)state;
    float g[3] = {-2.0f, 0.0f, 1.5f}, u[3] = {1.0f, 3.0f, -2.0f}, g2[3];
    memcpy(g2, g, sizeof g);
    tl_swiglu(g, u, 3);
    tl_geglu(g2, u, 3);
    for (int i = 0; i < 3; i++) {
        const double x = (double[]){-2.0, 0.0, 1.5}[i];
        assert_true(fabs(g[i] - x / (1 + exp(-x)) * u[i]) < 1e-6);
        const double gelu = 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
        /* ggml rounds the input and the result to f16: within ~1e-3 relative. */
        assert_true(fabs(g2[i] - gelu * u[i]) <= 2e-3 * fabs(gelu * u[i]) + 1e-6);
    }
    /* The f16 rounding itself (values llama.cpp computes) and the ±10 limits. */
    float h[4] = {0.1f, 1.0001f, 12.5f, -11.0f};
    tl_gelu(h, 4);
    assert_true(h[0] == tl_fp16_to_fp32(tl_fp32_to_fp16(h[0])));
    assert_true(fabsf(h[1] - 0.8413f) < 1e-3f && h[1] == tl_fp16_to_fp32(tl_fp32_to_fp16(h[1])));
    assert_true(h[2] == 12.5f && h[3] == 0.0f);
}

/* Row bands cover every row exactly once, in aligned chunks. */
static void split_rows_covers_everything(void **state) {
    (void)state;
    for (int64_t n = 0; n < 200; n += 7)
        for (int nth = 1; nth <= 5; nth++) {
            int64_t next = 0;
            for (int ith = 0; ith < nth; ith++) {
                int64_t b, e;
                tl_split_rows(n, 16, ith, nth, &b, &e);
                assert_true(b == next || (b == e && b == n));
                if (e < n) assert_int_equal(e % 16, 0);
                if (b < e) next = e;
            }
            assert_int_equal(next, n);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rms_norm_matches_reference),
        cmocka_unit_test(layer_norm_has_zero_mean_unit_variance),
        cmocka_unit_test(softmax_levels_match_reference),
        cmocka_unit_test(rope_rotates_the_right_pairs),
        cmocka_unit_test(swiglu_and_geglu),
        cmocka_unit_test(split_rows_covers_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
