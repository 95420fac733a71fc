/*
 * test_t5.c — the T5 encoder-decoder family (src/model/t5*.c, synth_t5.c).
 *
 * Models are the tiny flan-t5-small that `tinyllm synth` writes (seed 42,
 * the project's Unigram vocabulary). Checked:
 *   - against llama.cpp (tests/reference/t5-tiny-{f32,q8_0}.json, made by
 *     scripts/reference/make_reference.sh): encoder output rows, the top-20
 *     logits after the decoder start token, 32 greedy ids (a near-tie within
 *     the q8_0 noise continues from llama.cpp's token);
 *   - against a plain, unthreaded implementation written here from the
 *     model's definition, for the variants llama.cpp's reference files do
 *     not cover: ReLU feed-forward (original T5) and a tied output matrix;
 *   - decoding in batches equals token by token; KV cache types agree;
 *   - the API's errors (decode before encode, inputs too long...) and the
 *     loader's (missing tensors and keys) are single-line messages;
 *   - the file synth writes has llama.cpp's layout.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/authoring.h"
#include "format/gguf.h"
#include "model/t5.h"
#include "tensor/ops.h"
#include "tensor/types.h"
#include "test_support.h"
#include "tinyllm.h"

/* ---- helpers ------------------------------------------------------------- */

/* Writes the tiny flan-t5-small of `type` to a scratch file; returns its path. */
static const char *build_tiny(const char *type, char *path, size_t size) {
    char name[64];
    snprintf(name, sizeof name, "t5-tiny-%s.gguf", type);
    snprintf(path, size, "%s", tl_test_tmp_path(name));
    tl_error err = {0};
    const tl_synth_params params = {
        .preset = "flan-t5-small", .weight_type = type, .seed = 42, .vocab_path = "@unigram", .tiny = true};
    if (tl_synth(&params, path, &err) != TL_OK) fail_msg("synth %s: %s", type, err.message);
    return path;
}

static tl_model *load(const char *path) {
    tl_model *m = NULL;
    tl_error err = {0};
    if (tl_model_load(path, NULL, &m, &err) != TL_OK) fail_msg("%s", err.message);
    return m;
}

static tl_context *new_context(const tl_model *m, uint32_t n_ctx, uint32_t n_threads, uint32_t n_batch,
                               uint32_t cache_type) {
    tl_context_params p = tl_context_default_params();
    p.n_ctx = n_ctx;
    p.n_threads = n_threads;
    p.n_batch = n_batch;
    p.type_k = p.type_v = cache_type;
    tl_context *ctx = NULL;
    tl_error err = {0};
    if (tl_context_new(m, &p, &ctx, &err) != TL_OK) fail_msg("%s", err.message);
    return ctx;
}

static tl_token argmax(const float *x, int32_t n) {
    tl_token best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static void encode_ok(tl_context *ctx, const tl_token *tokens, int32_t n) {
    tl_error err = {0};
    if (tl_encode(ctx, tokens, n, &err) != TL_OK) fail_msg("encode: %s", err.message);
}

static void decode_ok(tl_context *ctx, const tl_token *tokens, int32_t n, bool all) {
    tl_error err = {0};
    if (tl_decode(ctx, tokens, n, tl_context_used(ctx), all, &err) != TL_OK) fail_msg("decode: %s", err.message);
}

/* Copies a file, replacing every occurrence of the `len` bytes at `from` by
 * those at `to` (renaming tensors or keys in the header); returns the count. */
static int copy_patched(const char *src, const char *dst, const char *from, const char *to, size_t len) {
    size_t size;
    char *data = tl_test_read_file(src, &size);
    assert_non_null(data);
    int hits = 0;
    for (size_t at = 0; at + len <= size; at++)
        if (memcmp(data + at, from, len) == 0) {
            memcpy(data + at, to, len);
            hits++;
        }
    if (hits == 0) fail_msg("%s: nothing to patch", src);
    assert_true(tl_test_write_file(dst, data, size));
    free(data);
    return hits;
}

/* ---- against llama.cpp --------------------------------------------------- */

/* How close tinyllm must be to llama.cpp: a row's largest error relative to
 * its largest value, the row's cosine similarity, a logit's error relative
 * to max(1, |logit|). f32 weights: 1e-3 (the worst seen is 7e-5). q8_0:
 * both sides quantize activations to 8 bits, and ggml's GELU rounds through
 * f16; float differences of one ulp (summation order) now and then round an
 * activation to the neighbouring step, which moves a few rows and logits by
 * up to 1e-2 (llama.cpp's own CPU variants differ from each other the same
 * way).
 *
 * Greedy ids: a step where two tokens' logits are closer than that noise is
 * a coin toss between the two implementations, so an id that differs from
 * llama.cpp's passes only if, in tinyllm's own logits, llama.cpp's token is
 * within logit_rel of the top (relative to max(1, |top|)); decoding then
 * continues from llama.cpp's token (teacher forcing), so the later steps are
 * still compared with the reference. At most MAX_GREEDY_TIES steps of a case
 * may be decided that way; any other difference fails. Why: the reference
 * files come from llama.cpp's zen4 (AVX-512) CPU variant. On a machine
 * without AVX-512, llama.cpp loads its haswell (AVX2) variant, whose q8_0
 * case 3 (136 input tokens) differs from zen4's by ~8e-3 in every encoder
 * row and picks 8702 over 28903 at greedy step 13 (14.793694 against
 * 14.790428); tinyllm's avx2 level gives exactly those rows, logits and 32
 * ids there. Against the zen4 file that case ties at steps 13, 16 and 24
 * (llama.cpp's token 0.003, 0.041 and 0.008 below the top of about 15). */
#define MAX_GREEDY_TIES 4
typedef struct tolerance {
    double row_rel, row_cos, logit_rel;
} tolerance;

/* One reference case: encoder rows, top-20 logits, 32 greedy ids (exact but
 * for near-ties, see above). */
static void check_reference_case(const tl_model *m, const cJSON *c, uint32_t n_threads, tolerance tol,
                                 const char *label) {
    const cJSON *ref_tokens = cJSON_GetObjectItem(c, "tokens");
    const int32_t n = cJSON_GetArraySize(ref_tokens);
    tl_token *tokens = calloc((size_t)n, sizeof *tokens);
    for (int32_t i = 0; i < n; i++) tokens[i] = cJSON_GetArrayItem(ref_tokens, i)->valueint;
    tl_context *ctx = new_context(m, 256, n_threads, 0, TL_TYPE_F32);
    encode_ok(ctx, tokens, n);

    int32_t n_rows = 0;
    const float *rows = tl_get_encoder_output(ctx, &n_rows);
    assert_non_null(rows);
    assert_int_equal(n_rows, n);
    const int64_t d = tl_model_embedding_size(m);
    const cJSON *enc = cJSON_GetObjectItem(c, "encoder"), *which = cJSON_GetObjectItem(c, "encoder_rows");
    assert_int_equal(cJSON_GetArraySize(enc), cJSON_GetArraySize(which));
    double worst_rel = 0, worst_cos = 1;
    for (int i = 0; i < cJSON_GetArraySize(enc); i++) {
        const int r = cJSON_GetArrayItem(which, i)->valueint;
        const cJSON *want = cJSON_GetArrayItem(enc, i);
        assert_int_equal(cJSON_GetArraySize(want), d);
        double dot = 0, na = 0, nb = 0, max_diff = 0, max_want = 0;
        for (int64_t j = 0; j < d; j++) {
            const double a = rows[(size_t)r * d + j], b = cJSON_GetArrayItem(want, (int)j)->valuedouble;
            dot += a * b, na += a * a, nb += b * b;
            if (fabs(a - b) > max_diff) max_diff = fabs(a - b);
            if (fabs(b) > max_want) max_want = fabs(b);
        }
        const double cosine = dot / sqrt(na * nb), rel = max_diff / max_want;
        if (rel > worst_rel) worst_rel = rel;
        if (cosine < worst_cos) worst_cos = cosine;
        if (rel > tol.row_rel || cosine < tol.row_cos)
            fail_msg("%s: encoder row %d: relative error %.2e, cosine %.6f", label, r, rel, cosine);
    }

    const tl_token start = tl_model_decoder_start_token(m);
    decode_ok(ctx, &start, 1, false);
    const float *logits = tl_get_logits(ctx, -1);
    const cJSON *top = cJSON_GetObjectItem(c, "top");
    double worst_logit = 0;
    for (int i = 0; i < cJSON_GetArraySize(top); i++) {
        const cJSON *pair = cJSON_GetArrayItem(top, i);
        const int id = cJSON_GetArrayItem(pair, 0)->valueint;
        const double want = cJSON_GetArrayItem(pair, 1)->valuedouble;
        const double rel = fabs(logits[id] - want) / fmax(1.0, fabs(want));
        if (rel > worst_logit) worst_logit = rel;
        if (rel > tol.logit_rel) fail_msg("%s: logit of %d is %.6f, llama.cpp %.6f", label, id, logits[id], want);
    }
    const cJSON *greedy = cJSON_GetObjectItem(c, "greedy");
    const int32_t n_vocab = tl_vocab_size(m);
    int ties = 0;
    for (int i = 0; i < cJSON_GetArraySize(greedy); i++) {
        const tl_token want = cJSON_GetArrayItem(greedy, i)->valueint;
        const float *step = tl_get_logits(ctx, -1);
        const tl_token got = argmax(step, n_vocab);
        if (got != want) {
            assert_true(want >= 0 && want < n_vocab);
            const double gap = ((double)step[got] - step[want]) / fmax(1.0, fabs(step[got]));
            if (gap > tol.logit_rel)
                fail_msg("%s: greedy id %d is %d (logit %.6f), llama.cpp %d (logit here %.6f)", label, i, got,
                         step[got], want, step[want]);
            if (++ties > MAX_GREEDY_TIES)
                fail_msg("%s: greedy id %d is %d, llama.cpp %d: more than %d near-ties", label, i, got, want,
                         MAX_GREEDY_TIES);
            print_message("%s: greedy id %d: %d (%.6f) and llama.cpp's %d (%.6f) tie within %.0e; continuing "
                          "from llama.cpp's\n",
                          label, i, got, step[got], want, step[want], tol.logit_rel);
        }
        decode_ok(ctx, &want, 1, false);
    }
    print_message("%s: ok (encoder worst relative %.1e, cosine %.7f; logits worst relative %.1e; %d greedy "
                  "ties)\n",
                  label, worst_rel, worst_cos, worst_logit, ties);
    tl_context_free(ctx);
    free(tokens);
}

static void matches_llama_cpp(void **state) {
    (void)state;
    static const char *const types[] = {"f32", "q8_0"};
    static const tolerance tolerances[] = {{1e-3, 0.9999, 1e-3}, {2e-2, 0.9999, 1e-2}};
    for (int t = 0; t < 2; t++) {
        char path[4096], ref[256], label[128];
        build_tiny(types[t], path, sizeof path);
        snprintf(ref, sizeof ref, "tests/reference/t5-tiny-%s.json", types[t]);
        char *text = tl_test_read_file(tl_test_source_path(ref), NULL);
        if (!text) fail_msg("cannot read %s", ref);
        cJSON *root = cJSON_Parse(text);
        assert_non_null(root);
        tl_model *m = load(path);
        assert_int_equal(tl_model_decoder_start_token(m), cJSON_GetObjectItem(root, "decoderStartToken")->valueint);
        const cJSON *cases = cJSON_GetObjectItem(root, "cases");
        assert_true(cJSON_GetArraySize(cases) > 0);
        for (int i = 0; i < cJSON_GetArraySize(cases); i++) {
            snprintf(label, sizeof label, "%s case %d", types[t], i);
            check_reference_case(m, cJSON_GetArrayItem(cases, i), i == 0 ? 1 : 2, tolerances[t], label);
        }
        tl_model_free(m);
        cJSON_Delete(root);
        free(text);
        remove(path);
    }
}

/* ---- a plain implementation ------------------------------------------------ */

/* Straight from the definition, one token and one head at a time, sums in
 * double, weights read by name from the file as floats. */
typedef struct plain_t5 {
    gguf_file *f;
    int d, ff, n_head, head_dim, inner, n_buckets, n_enc, n_dec, n_vocab;
    float eps;
} plain_t5;

static float *plain_tensor(const plain_t5 *p, const char *name) {
    const gguf_tensor *t = gguf_find_tensor(p->f, name);
    if (!t) return NULL;
    float *out = malloc(t->n_elements * sizeof *out);
    tl_type_traits_of(t->type)->to_float(t->data, out, (int64_t)t->n_elements);
    return out;
}

static float *plain_layer_tensor(const plain_t5 *p, const char *stack, int il, const char *what) {
    char name[128];
    snprintf(name, sizeof name, "%s.blk.%d.%s.weight", stack, il, what);
    return plain_tensor(p, name);
}

static void plain_rms(const float *x, const float *w, int d, float eps, float *out) {
    double sum = 0;
    for (int i = 0; i < d; i++) sum += (double)x[i] * x[i];
    const double scale = 1.0 / sqrt(sum / d + eps);
    for (int i = 0; i < d; i++) out[i] = (float)(x[i] * scale * w[i]);
}

/* y[r] = W[r]·x for a [rows][cols] matrix; y += when accumulate. */
static void plain_matvec(const float *w, const float *x, int cols, int rows, float *y, bool accumulate) {
    for (int r = 0; r < rows; r++) {
        double sum = 0;
        for (int c = 0; c < cols; c++) sum += (double)w[(size_t)r * cols + c] * x[c];
        y[r] = accumulate ? y[r] + (float)sum : (float)sum;
    }
}

/* Attention of nq queries over nk keys (rows of inner floats); rel_bias NULL
 * for cross-attention; causal queries sit at positions 0..nq-1 like the keys. */
static void plain_attention(const plain_t5 *p, const float *q, int nq, const float *k, const float *v, int nk,
                            const float *rel_bias, bool bidirectional, bool causal, float *out) {
    double *s = malloc((size_t)nk * sizeof *s);
    for (int i = 0; i < nq; i++)
        for (int h = 0; h < p->n_head; h++) {
            const int seen = causal ? i + 1 : nk;
            double max = -INFINITY, total = 0;
            for (int j = 0; j < seen; j++) {
                double dot = 0;
                for (int e = 0; e < p->head_dim; e++)
                    dot += (double)q[(size_t)i * p->inner + h * p->head_dim + e] *
                           k[(size_t)j * p->inner + h * p->head_dim + e];
                if (rel_bias) dot += rel_bias[t5_relative_bucket(j, i, p->n_buckets, bidirectional) * p->n_head + h];
                s[j] = dot;
                if (dot > max) max = dot;
            }
            for (int j = 0; j < seen; j++) total += s[j] = exp(s[j] - max);
            for (int e = 0; e < p->head_dim; e++) {
                double o = 0;
                for (int j = 0; j < seen; j++) o += s[j] / total * v[(size_t)j * p->inner + h * p->head_dim + e];
                out[(size_t)i * p->inner + h * p->head_dim + e] = (float)o;
            }
        }
    free(s);
}

/* One stack over n tokens; x ([n][d]) is the input and becomes the output
 * after the stack's final norm. Decoder layers also attend to enc ([n_enc][d]). */
static void plain_stack(const plain_t5 *p, const char *stack, float *x, int n, const float *enc, int n_enc) {
    const bool decoder = strcmp(stack, "dec") == 0;
    const int d = p->d, inner = p->inner, ff = p->ff;
    float *xn = malloc((size_t)n * d * sizeof *xn), *q = malloc((size_t)n * inner * sizeof *q);
    float *k = malloc((size_t)(n > n_enc ? n : n_enc) * inner * sizeof *k);
    float *v = malloc((size_t)(n > n_enc ? n : n_enc) * inner * sizeof *v);
    float *o = malloc((size_t)n * inner * sizeof *o), *g = malloc((size_t)ff * sizeof *g);
    float *u = malloc((size_t)ff * sizeof *u);
    float *rel0 = plain_layer_tensor(p, stack, 0, "attn_rel_b");
    const int n_layer = decoder ? p->n_dec : p->n_enc;
    for (int il = 0; il < n_layer; il++) {
        float *w = plain_layer_tensor(p, stack, il, "attn_norm");
        float *wq = plain_layer_tensor(p, stack, il, "attn_q"), *wk = plain_layer_tensor(p, stack, il, "attn_k");
        float *wv = plain_layer_tensor(p, stack, il, "attn_v"), *wo = plain_layer_tensor(p, stack, il, "attn_o");
        float *rel = plain_layer_tensor(p, stack, il, "attn_rel_b");
        for (int t = 0; t < n; t++) {
            plain_rms(x + t * d, w, d, p->eps, xn + t * d);
            plain_matvec(wq, xn + t * d, d, inner, q + t * inner, false);
            plain_matvec(wk, xn + t * d, d, inner, k + t * inner, false);
            plain_matvec(wv, xn + t * d, d, inner, v + t * inner, false);
        }
        plain_attention(p, q, n, k, v, n, rel ? rel : rel0, !decoder, decoder, o);
        for (int t = 0; t < n; t++) plain_matvec(wo, o + t * inner, inner, d, x + t * d, true);
        free(w), free(wq), free(wk), free(wv), free(wo), free(rel);
        if (decoder) {
            w = plain_layer_tensor(p, stack, il, "cross_attn_norm");
            wq = plain_layer_tensor(p, stack, il, "cross_attn_q"),
            wk = plain_layer_tensor(p, stack, il, "cross_attn_k");
            wv = plain_layer_tensor(p, stack, il, "cross_attn_v"),
            wo = plain_layer_tensor(p, stack, il, "cross_attn_o");
            for (int t = 0; t < n; t++) {
                plain_rms(x + t * d, w, d, p->eps, xn + t * d);
                plain_matvec(wq, xn + t * d, d, inner, q + t * inner, false);
            }
            for (int t = 0; t < n_enc; t++) {
                plain_matvec(wk, enc + t * d, d, inner, k + t * inner, false);
                plain_matvec(wv, enc + t * d, d, inner, v + t * inner, false);
            }
            plain_attention(p, q, n, k, v, n_enc, NULL, false, false, o);
            for (int t = 0; t < n; t++) plain_matvec(wo, o + t * inner, inner, d, x + t * d, true);
            free(w), free(wq), free(wk), free(wv), free(wo);
        }
        w = plain_layer_tensor(p, stack, il, "ffn_norm");
        float *wg = plain_layer_tensor(p, stack, il, "ffn_gate"), *wu = plain_layer_tensor(p, stack, il, "ffn_up");
        float *wd = plain_layer_tensor(p, stack, il, "ffn_down");
        for (int t = 0; t < n; t++) {
            plain_rms(x + t * d, w, d, p->eps, xn + t * d);
            plain_matvec(wu, xn + t * d, d, ff, u, false);
            if (wg) {
                plain_matvec(wg, xn + t * d, d, ff, g, false);
                tl_gelu(g, ff); /* ggml's GELU, as llama.cpp computes it */
                for (int i = 0; i < ff; i++) u[i] *= g[i];
            } else {
                for (int i = 0; i < ff; i++) u[i] = u[i] > 0 ? u[i] : 0;
            }
            plain_matvec(wd, u, ff, d, x + t * d, true);
        }
        free(w), free(wg), free(wu), free(wd);
    }
    char name[64];
    snprintf(name, sizeof name, "%s.output_norm.weight", stack);
    float *w = plain_tensor(p, name);
    for (int t = 0; t < n; t++) {
        memcpy(xn + t * d, x + t * d, (size_t)d * sizeof *xn);
        plain_rms(xn + t * d, w, d, p->eps, x + t * d);
    }
    free(w), free(rel0), free(xn), free(q), free(k), free(v), free(o), free(g), free(u);
}

static void plain_embed(const plain_t5 *p, const tl_token *tokens, int n, float *x) {
    const gguf_tensor *t = gguf_find_tensor(p->f, "token_embd.weight");
    const size_t row_bytes = tl_type_row_bytes(t->type, p->d);
    for (int i = 0; i < n; i++)
        tl_type_traits_of(t->type)->to_float((const uint8_t *)t->data + (size_t)tokens[i] * row_bytes,
                                             x + (size_t)i * p->d, p->d);
}

static void plain_open(const char *path, const tl_model *m, plain_t5 *p) {
    tl_error err = {0};
    if (gguf_open(path, &p->f, &err) != TL_OK) fail_msg("%s", err.message);
    tl_model_info info;
    tl_model_get_info(m, &info);
    p->d = (int)info.n_embd;
    p->ff = (int)info.n_ff;
    p->n_head = (int)info.n_head;
    uint32_t u;
    assert_true(gguf_get_u32(p->f, "t5.attention.key_length", &u));
    p->head_dim = (int)u;
    p->inner = p->n_head * p->head_dim;
    assert_true(gguf_get_u32(p->f, "t5.attention.relative_buckets_count", &u));
    p->n_buckets = (int)u;
    p->n_enc = (int)info.n_layer;
    assert_true(gguf_get_u32(p->f, "t5.decoder_block_count", &u));
    p->n_dec = (int)u;
    assert_true(gguf_get_f32(p->f, "t5.attention.layer_norm_rms_epsilon", &p->eps));
    p->n_vocab = info.n_vocab;
}

/* tinyllm's encoder output and the logits of every decoder position must
 * agree with the plain implementation. */
static void check_against_plain(const char *path, const char *label) {
    tl_model *m = load(path);
    plain_t5 p;
    plain_open(path, m, &p);
    const tl_token input[] = {191, 41, 9, 85, 163, 558, 63, 103, 1866, 1138, 3, 639, 1};
    const int n = (int)(sizeof input / sizeof input[0]);
    const tl_token dec[] = {tl_model_decoder_start_token(m), 1379, 28868, 2447, 5};
    const int n_dec = (int)(sizeof dec / sizeof dec[0]);

    float *enc = malloc((size_t)n * p.d * sizeof *enc);
    plain_embed(&p, input, n, enc);
    plain_stack(&p, "enc", enc, n, NULL, 0);
    float *x = malloc((size_t)n_dec * p.d * sizeof *x);
    plain_embed(&p, dec, n_dec, x);
    plain_stack(&p, "dec", x, n_dec, enc, n);
    float *out = plain_tensor(&p, "output.weight");
    if (!out) out = plain_tensor(&p, "token_embd.weight");

    tl_context *ctx = new_context(m, 64, 2, 0, TL_TYPE_F32);
    encode_ok(ctx, input, n);
    int32_t rows = 0;
    const float *got = tl_get_encoder_output(ctx, &rows);
    assert_int_equal(rows, n);
    /* 1e-3: the f16-rounded GELU (below) also turns last-bit differences of
     * the encoder's float sums into steps of about 1e-3 of a value. */
    for (int i = 0; i < n * p.d; i++)
        if (fabsf(got[i] - enc[i]) > 1e-3f * (1 + fabsf(enc[i])))
            fail_msg("%s: encoder output %d is %.6f, plain %.6f", label, i, got[i], enc[i]);
    decode_ok(ctx, dec, n_dec, true);
    /* Errors relative to the row's largest logit: ggml's f16-rounded GELU
     * turns the last-bit differences of float sums into 1e-3 steps. */
    double worst = 0;
    float *logits = malloc((size_t)p.n_vocab * sizeof *logits);
    for (int t = 0; t < n_dec; t++) {
        plain_matvec(out, x + t * p.d, p.d, p.n_vocab, logits, false);
        const float *mine = tl_get_logits(ctx, t);
        double scale = 0;
        for (int i = 0; i < p.n_vocab; i++) scale = fmax(scale, fabs(logits[i]));
        for (int i = 0; i < p.n_vocab; i++) {
            const double rel = fabs(mine[i] - logits[i]) / scale;
            if (rel > worst) worst = rel;
            if (rel > 1e-3) fail_msg("%s: position %d logit %d is %.6f, plain %.6f", label, t, i, mine[i], logits[i]);
        }
    }
    print_message("%s: ok (worst logit error %.1e of the largest)\n", label, worst);
    free(logits), free(out), free(x), free(enc);
    tl_context_free(ctx);
    gguf_close(p.f);
    tl_model_free(m);
}

static void variants_match_plain_implementation(void **state) {
    (void)state;
    char path[4096], relu[4096], tied[4096];
    build_tiny("f32", path, sizeof path);
    snprintf(relu, sizeof relu, "%s", tl_test_tmp_path("t5-relu.gguf"));
    snprintf(tied, sizeof tied, "%s", tl_test_tmp_path("t5-tied.gguf"));
    /* Original T5: no ffn_gate tensors, so ReLU feed-forward. */
    assert_int_equal(copy_patched(path, relu, "ffn_gate.weight", "ffn_gatX.weight", 15), 4);
    /* No output.weight: the GGUF string "output.weight" with its 8-byte length. */
    static const char output[] = "\x0d\x00\x00\x00\x00\x00\x00\x00output.weight";
    static const char renamed[] = "\x0d\x00\x00\x00\x00\x00\x00\x00outpuX.weight";
    assert_int_equal(copy_patched(path, tied, output, renamed, sizeof output - 1), 1);
    check_against_plain(path, "gated GELU, separate output");
    check_against_plain(relu, "ReLU feed-forward");
    check_against_plain(tied, "tied output");
    remove(path), remove(relu), remove(tied);
}

/* ---- batches, caches, threads ------------------------------------------- */

static void batches_caches_and_threads_agree(void **state) {
    (void)state;
    char path[4096];
    tl_model *m = load(build_tiny("f32", path, sizeof path));
    const tl_token input[] = {3, 7922, 15841, 23760, 31679, 7598, 15517, 23436, 31355, 7274, 1};
    const int32_t n = 11;
    const tl_token dec[] = {0, 1379, 28868, 2447, 31625, 26106, 2348, 5852, 6285, 11570};
    const int32_t n_dec = 10, n_vocab = tl_vocab_size(m);
    float *ref = malloc((size_t)n_dec * n_vocab * sizeof *ref);

    /* One pass with every row of logits. */
    tl_context *ctx = new_context(m, 64, 2, 0, TL_TYPE_F32);
    encode_ok(ctx, input, n);
    decode_ok(ctx, dec, n_dec, true);
    memcpy(ref, tl_get_logits(ctx, 0), (size_t)n_dec * n_vocab * sizeof *ref);
    tl_context_free(ctx);

    /* Two tokens at a time in batches of 1, 3 and 4 tokens, on 1, 3 and 2
     * threads: the same numbers up to float rounding (which ggml's
     * f16-rounded GELU can turn into 1e-3 steps of single activations). */
    double worst_batch = 0;
    const uint32_t threads[] = {1, 3, 2}, batches[] = {1, 3, 4};
    for (int c = 0; c < 3; c++) {
        ctx = new_context(m, 64, threads[c], batches[c], TL_TYPE_F32);
        encode_ok(ctx, input, n);
        for (int32_t t = 0; t < n_dec; t += 2) {
            decode_ok(ctx, dec + t, 2, true);
            for (int r = 0; r < 2; r++) {
                const float *row = tl_get_logits(ctx, r), *want = ref + (size_t)(t + r) * n_vocab;
                double scale = 0;
                for (int32_t i = 0; i < n_vocab; i++) scale = fmax(scale, fabs(want[i]));
                for (int32_t i = 0; i < n_vocab; i++) {
                    const double rel = fabs(row[i] - want[i]) / scale;
                    if (rel > worst_batch) worst_batch = rel;
                    if (rel > 3e-4)
                        fail_msg("threads %u batch %u: position %d logit %d differs: %.6f vs %.6f", threads[c],
                                 batches[c], t + r, i, row[i], want[i]);
                }
            }
        }
        tl_context_free(ctx);
    }
    print_message("batches and threads: worst logit difference %.1e of the largest\n", worst_batch);

    /* f16 and q8_0 caches: close to f32 (relative to each row's largest
     * logit: f16 within 2e-3 and the same argmax everywhere; q8_0 within
     * 2e-2, its keys and values carry 8 bits). */
    const uint32_t types[] = {TL_TYPE_F16, TL_TYPE_Q8_0};
    const double limits[] = {2e-3, 2e-2};
    for (int c = 0; c < 2; c++) {
        ctx = new_context(m, 64, 2, 0, types[c]);
        encode_ok(ctx, input, n);
        decode_ok(ctx, dec, n_dec, true);
        double worst = 0;
        for (int32_t t = 0; t < n_dec; t++) {
            const float *row = tl_get_logits(ctx, t), *want = ref + (size_t)t * n_vocab;
            double scale = 0;
            for (int32_t i = 0; i < n_vocab; i++) scale = fmax(scale, fabs(want[i]));
            for (int32_t i = 0; i < n_vocab; i++) worst = fmax(worst, fabs(row[i] - want[i]) / scale);
            if (types[c] == TL_TYPE_F16) assert_int_equal(argmax(row, n_vocab), argmax(want, n_vocab));
        }
        print_message("%s cache: worst logit difference to f32 %.1e of the largest\n", tl_type_name(types[c]), worst);
        assert_true(worst < limits[c]);
        tl_context_free(ctx);
    }
    free(ref);
    tl_model_free(m);
    remove(path);
}

/* Encoding again forgets the previous input and the decoder's cache. */
static void encoding_again_starts_over(void **state) {
    (void)state;
    char path[4096];
    tl_model *m = load(build_tiny("q8_0", path, sizeof path));
    const int32_t n_vocab = tl_vocab_size(m);
    const tl_token a[] = {191, 41, 9, 85, 1}, b[] = {5, 6, 7, 8, 9, 10, 11, 1};
    const tl_token start = tl_model_decoder_start_token(m), next[] = {77, 88, 99};
    tl_context *ctx = new_context(m, 32, 2, 0, TL_TYPE_F16);
    encode_ok(ctx, a, 5);
    decode_ok(ctx, &start, 1, false);
    float *first = malloc((size_t)n_vocab * sizeof *first);
    memcpy(first, tl_get_logits(ctx, -1), (size_t)n_vocab * sizeof *first);
    decode_ok(ctx, next, 3, false);
    encode_ok(ctx, b, 8);
    assert_int_equal(tl_context_used(ctx), 0);
    assert_null(tl_get_logits(ctx, -1));
    decode_ok(ctx, &start, 1, false);
    encode_ok(ctx, a, 5);
    decode_ok(ctx, &start, 1, false);
    assert_memory_equal(first, tl_get_logits(ctx, -1), (size_t)n_vocab * sizeof *first);
    free(first);
    tl_context_free(ctx);
    tl_model_free(m);
    remove(path);
}

/* ---- the API ------------------------------------------------------------- */

static void api_reports_misuse(void **state) {
    (void)state;
    char path[4096];
    tl_model *m = load(build_tiny("q8_0", path, sizeof path));
    assert_true(tl_model_has_encoder(m));
    assert_true(tl_model_has_decoder(m));
    assert_int_equal(tl_model_decoder_start_token(m), 0);
    tl_model_info info;
    tl_model_get_info(m, &info);
    assert_string_equal(info.architecture, "t5");
    assert_int_equal(info.n_embd, 96);
    assert_int_equal(info.n_layer, 2);

    tl_context *ctx = new_context(m, 16, 2, 0, TL_TYPE_F16);
    tl_error err = {0};
    const tl_token start = 0;
    int32_t rows = 123;
    assert_null(tl_get_encoder_output(ctx, &rows));
    assert_int_equal(rows, 0);
    /* Decoding needs an encoded input. */
    assert_int_equal(tl_decode(ctx, &start, 1, 0, false, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "encode"));
    assert_null(strchr(err.message, '\n'));

    tl_token long_input[17];
    for (int i = 0; i < 17; i++) long_input[i] = 100 + i;
    assert_int_equal(tl_encode(ctx, long_input, 17, &err), TL_ERR_CONTEXT_FULL);
    assert_non_null(strstr(err.message, "16"));
    assert_int_equal(tl_encode(ctx, long_input, 0, &err), TL_ERR_ARGUMENT);
    const tl_token bad[] = {5, 40000};
    assert_int_equal(tl_encode(ctx, bad, 2, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "40000"));
    assert_null(tl_get_encoder_output(ctx, &rows));

    /* The whole context is usable by the encoder and by the decoder. */
    encode_ok(ctx, long_input, 16);
    assert_non_null(tl_get_encoder_output(ctx, &rows));
    assert_int_equal(rows, 16);
    for (int i = 0; i < 16; i++) decode_ok(ctx, &start, 1, false);
    assert_int_equal(tl_decode(ctx, &start, 1, 16, false, &err), TL_ERR_CONTEXT_FULL);
    assert_int_equal(tl_decode(ctx, &start, 1, 3, false, &err), TL_ERR_ARGUMENT);

    /* Embeddings from the encoder: mean of the output rows, normalized. */
    float *embedding = malloc(96 * sizeof *embedding);
    assert_int_equal(tl_embed(ctx, long_input, 4, TL_POOLING_MEAN, true, embedding, &err), TL_OK);
    const float *out = tl_get_encoder_output(ctx, &rows);
    assert_int_equal(rows, 4);
    double norm = 0, mean0 = 0;
    for (int i = 0; i < 96; i++) norm += (double)embedding[i] * embedding[i];
    for (int t = 0; t < 4; t++) mean0 += out[t * 96] / 4.0;
    assert_true(fabs(norm - 1.0) < 1e-4);
    double mean_norm = 0;
    for (int i = 0; i < 96; i++) {
        double mean = 0;
        for (int t = 0; t < 4; t++) mean += out[t * 96 + i] / 4.0;
        mean_norm += mean * mean;
    }
    assert_true(fabs(embedding[0] - mean0 / sqrt(mean_norm)) < 1e-5);
    free(embedding);
    tl_context_free(ctx);
    tl_model_free(m);
    remove(path);
}

/* Broken files fail to load with one line naming the file and what is wrong. */
static void loader_reports_broken_files(void **state) {
    (void)state;
    char path[4096], broken[4096];
    build_tiny("q8_0", path, sizeof path);
    snprintf(broken, sizeof broken, "%s", tl_test_tmp_path("t5-broken.gguf"));
    static const struct {
        const char *from, *to, *expect;
        tl_status status;
    } cases[] = {
        {"enc.blk.0.attn_rel_b.weight", "enc.blk.0.attn_rel_X.weight", "enc.blk.0.attn_rel_b.weight", TL_ERR_FORMAT},
        {"dec.blk.1.cross_attn_k.weight", "dec.blk.1.cross_attn_X.weight", "dec.blk.1.cross_attn_k.weight",
         TL_ERR_FORMAT},
        {"dec.output_norm.weight", "dec.outpuX_norm.weight", "dec.output_norm.weight", TL_ERR_FORMAT},
        {"t5.attention.relative_buckets_count", "t5.attention.relative_buckets_counX",
         "t5.attention.relative_buckets_count", TL_ERR_FORMAT},
        {"t5.attention.layer_norm_rms_epsilon", "t5.attention.layer_norm_rms_epsiloX",
         "t5.attention.layer_norm_rms_epsilon", TL_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        copy_patched(path, broken, cases[i].from, cases[i].to, strlen(cases[i].from));
        tl_model *m = NULL;
        tl_error err = {0};
        assert_int_equal(tl_model_load(broken, NULL, &m, &err), cases[i].status);
        assert_null(m);
        if (!strstr(err.message, cases[i].expect) || !strstr(err.message, broken) || strchr(err.message, '\n'))
            fail_msg("case %zu: unexpected message: %s", i, err.message);
    }
    remove(broken);
    remove(path);
}

/* ---- the writer ---------------------------------------------------------- */

static void synth_writes_llama_cpp_layout(void **state) {
    (void)state;
    char path[4096];
    build_tiny("q8_0", path, sizeof path);
    gguf_file *f = NULL;
    tl_error err = {0};
    assert_int_equal(gguf_open(path, &f, &err), TL_OK);
    assert_string_equal(gguf_get_str(f, "general.architecture"), "t5");
    assert_string_equal(gguf_get_str(f, "tokenizer.ggml.model"), "t5");
    uint32_t u = 99;
    assert_true(gguf_get_u32(f, "t5.decoder_start_token_id", &u));
    assert_int_equal(u, 0);
    assert_true(gguf_get_u32(f, "t5.decoder_block_count", &u));
    assert_int_equal(u, 2);
    assert_true(gguf_get_u32(f, "t5.attention.relative_buckets_count", &u));
    assert_int_equal(u, 32);
    assert_true(gguf_get_u32(f, "t5.attention.key_length", &u));
    assert_int_equal(u, 32);
    /* The relative bias: layer 0 of each stack only, f16 in a q8_0 file. */
    const gguf_tensor *t = gguf_find_tensor(f, "enc.blk.0.attn_rel_b.weight");
    assert_non_null(t);
    assert_int_equal(t->type, TL_TYPE_F16);
    assert_int_equal(t->ne[0], 4);
    assert_int_equal(t->ne[1], 32);
    assert_non_null(gguf_find_tensor(f, "dec.blk.0.attn_rel_b.weight"));
    assert_null(gguf_find_tensor(f, "enc.blk.1.attn_rel_b.weight"));
    assert_null(gguf_find_tensor(f, "dec.blk.1.attn_rel_b.weight"));
    t = gguf_find_tensor(f, "dec.blk.1.cross_attn_q.weight");
    assert_non_null(t);
    assert_int_equal(t->type, TL_TYPE_Q8_0);
    assert_int_equal(t->ne[0], 96);
    assert_int_equal(t->ne[1], 128); /* 4 heads of 32: wider than the model */
    assert_non_null(gguf_find_tensor(f, "enc.blk.1.ffn_gate.weight"));
    assert_non_null(gguf_find_tensor(f, "output.weight"));
    assert_non_null(gguf_find_tensor(f, "enc.output_norm.weight"));
    assert_int_equal(gguf_find_tensor(f, "dec.output_norm.weight")->type, TL_TYPE_F32);
    gguf_close(f);
    remove(path);
}

/* The bucket function at the boundaries of its exact and log ranges. */
static void relative_buckets(void **state) {
    (void)state;
    /* Unidirectional (decoder), 32 buckets: distances 0..15 exact, then log
     * up to 128, then the last bucket; keys after the query count as 0. */
    assert_int_equal(t5_relative_bucket(5, 5, 32, false), 0);
    assert_int_equal(t5_relative_bucket(0, 15, 32, false), 15);
    assert_int_equal(t5_relative_bucket(0, 16, 32, false), 16);
    assert_int_equal(t5_relative_bucket(0, 127, 32, false), 31);
    assert_int_equal(t5_relative_bucket(0, 1000, 32, false), 31);
    assert_int_equal(t5_relative_bucket(9, 5, 32, false), 0);
    /* Bidirectional (encoder): keys before the query in 0..15, after in 16..31. */
    assert_int_equal(t5_relative_bucket(3, 5, 32, true), 2);
    assert_int_equal(t5_relative_bucket(5, 3, 32, true), 18);
    assert_int_equal(t5_relative_bucket(0, 7, 32, true), 7);
    assert_int_equal(t5_relative_bucket(0, 8, 32, true), 8);
    assert_int_equal(t5_relative_bucket(0, 500, 32, true), 15);
    assert_int_equal(t5_relative_bucket(500, 0, 32, true), 31);
    /* Monotone in the distance. */
    for (int dist = 1; dist < 300; dist++) {
        assert_true(t5_relative_bucket(0, dist, 32, false) >= t5_relative_bucket(0, dist - 1, 32, false));
        assert_true(t5_relative_bucket(dist, 0, 32, true) >= t5_relative_bucket(dist - 1, 0, 32, true));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relative_buckets),
        cmocka_unit_test(synth_writes_llama_cpp_layout),
        cmocka_unit_test(matches_llama_cpp),
        cmocka_unit_test(variants_match_plain_implementation),
        cmocka_unit_test(batches_caches_and_threads_agree),
        cmocka_unit_test(encoding_again_starts_over),
        cmocka_unit_test(api_reports_misuse),
        cmocka_unit_test(loader_reports_broken_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
