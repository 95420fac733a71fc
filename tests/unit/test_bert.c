/*
 * test_bert.c — BERT encoders (src/model/bert.c) and embeddings (embed.c).
 *
 * Two kinds of models:
 *  - tiny BERTs written here from scratch (a 12-token WordPiece vocabulary,
 *    f32 weights derived from each tensor's name), to check loading and its
 *    errors, the encoder against a plain scalar implementation written out
 *    below, fused q/k/v, grouped heads, pooling, normalization and the
 *    context limits, tl_embed_batch against tl_embed, without any shared
 *    file;
 *  - the tiny all-minilm-l6-v2 and nomic-embed-text-v1.5 presets written by
 *    tl_synth with the real BERT vocabulary, compared with what llama.cpp
 *    computed on the same files (tests/reference/{bert,nomic}-tiny-<type>-
 *    <pooling>.json, made by scripts/reference/make_reference.sh): the same
 *    token ids, and every vector (every token row for pooling none) within
 *    cosine 0.9999.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/authoring.h"
#include "authoring/gguf_writer.h"
#include "format/gguf.h"
#include "tensor/ops.h"
#include "test_support.h"
#include "tinyllm.h"

/* ---- a tiny BERT written from scratch ------------------------------------ */

enum { N_VOCAB = 12, N_TYPES = 2 };

typedef struct tiny_spec {
    uint32_t n_embd, n_head, n_head_kv, n_ff, n_layer, n_ctx;
    int32_t pooling;       /* -1: no pooling_type key */
    bool fused_qkv;        /* attn_qkv.weight instead of q/k/v */
    bool fused_split_bias; /* ... with the three separate biases */
    bool no_token_types;
    bool nomic;               /* nomic-bert: rotary positions (base 1000), SwiGLU with ffn_gate */
    const char *omit_tensor;  /* leave this tensor out */
    const char *omit_key;     /* leave this key out */
    const char *short_tensor; /* write this tensor one row (element) short */
    const char *set_key;      /* write this u32 key ... */
    uint32_t set_value;       /* ... with this value */
} tiny_spec;

static tiny_spec tiny_default(void) {
    return (tiny_spec){.n_embd = 32, .n_head = 2, .n_head_kv = 2, .n_ff = 64, .n_layer = 2, .n_ctx = 80, .pooling = 1};
}

/* Deterministic values for a tensor, from its name: weights ~ scale, norm
 * weights around 1. */
static float *values_of(const char *name, int64_t n, float scale, float center) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    tl_test_rng_seed(h);
    float *v = malloc((size_t)n * sizeof *v);
    tl_test_fill_random(v, n, scale);
    for (int64_t i = 0; i < n; i++) v[i] += center;
    return v;
}

/* Kinds of tensors, for their value ranges. */
typedef enum { MATRIX, NORM, BIAS, EMBEDDING } tensor_kind;

static float *tensor_values(const char *name, int64_t n_cols, int64_t n_rows, tensor_kind kind) {
    switch (kind) {
    case MATRIX: return values_of(name, n_cols * n_rows, 1.0f / sqrtf((float)n_cols), 0.0f);
    case NORM: return values_of(name, n_cols, 0.1f, 1.0f);
    case BIAS: return values_of(name, n_cols, 0.1f, 0.0f);
    default: return values_of(name, n_cols * n_rows, 0.5f, 0.0f);
    }
}

static void add_tensor(gguf_writer *w, const tiny_spec *s, const char *name, int64_t n_cols, int64_t n_rows,
                       tensor_kind kind) {
    if (s->omit_tensor && strcmp(name, s->omit_tensor) == 0) return;
    float *v = tensor_values(name, n_cols, n_rows, kind);
    int64_t ne[2] = {n_cols, n_rows};
    if (s->short_tensor && strcmp(name, s->short_tensor) == 0) {
        if (n_rows > 1)
            ne[1]--;
        else
            ne[0]--;
    }
    tl_error err = {0};
    assert_int_equal(gguf_writer_add_tensor(w, name, TL_TYPE_F32, n_rows > 1 ? 2 : 1, ne, v, &err), TL_OK);
    free(v);
}

/* "<arch>.<suffix>" for the spec's architecture (a static buffer). */
static const char *arch_key(const tiny_spec *s, const char *suffix) {
    static char key[128];
    snprintf(key, sizeof key, "%s.%s", s->nomic ? "nomic-bert" : "bert", suffix);
    return key;
}

static void set_u32(gguf_writer *w, const tiny_spec *s, const char *suffix, uint32_t v) {
    const char *key = arch_key(s, suffix);
    if (s->omit_key && strcmp(key, s->omit_key) == 0) return;
    gguf_writer_set_u32(w, key, v);
}

/* The vocabulary: [PAD] [UNK] [CLS] [SEP] and eight words (phantom-space
 * WordPiece pieces, as llama.cpp's converter writes them). */
static void write_vocab(gguf_writer *w) {
#define P "\xe2\x96\x81" /* U+2581, the phantom space */
    static const char *const tokens[N_VOCAB] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", P "hello", P "world",
                                                P "the", P "cat", P "sat", P "on",  P "mat",   "s"};
#undef P
    int32_t types[N_VOCAB];
    for (int i = 0; i < N_VOCAB; i++) types[i] = i < 4 ? 3 : 1;
    gguf_writer_set_str(w, "tokenizer.ggml.model", "bert");
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "default");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, N_VOCAB);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, N_VOCAB);
    gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 1);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 2);
    gguf_writer_set_u32(w, "tokenizer.ggml.seperator_token_id", 3);
    gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", 0);
    gguf_writer_set_u32(w, "tokenizer.ggml.token_type_count", N_TYPES);
}

static const char *write_tiny(const char *file, const tiny_spec *s) {
    gguf_writer *w = gguf_writer_new();
    const int64_t d = s->n_embd, ff = s->n_ff, kv = d / s->n_head * s->n_head_kv;
    gguf_writer_set_str(w, "general.architecture", s->nomic ? "nomic-bert" : "bert");
    gguf_writer_set_str(w, "general.name", "tiny test bert");
    set_u32(w, s, "block_count", s->n_layer);
    set_u32(w, s, "context_length", s->n_ctx);
    set_u32(w, s, "embedding_length", s->n_embd);
    set_u32(w, s, "feed_forward_length", s->n_ff);
    set_u32(w, s, "attention.head_count", s->n_head);
    if (s->n_head_kv != s->n_head) set_u32(w, s, "attention.head_count_kv", s->n_head_kv);
    if (!s->omit_key || strcmp(s->omit_key, arch_key(s, "attention.layer_norm_epsilon")) != 0)
        gguf_writer_set_f32(w, arch_key(s, "attention.layer_norm_epsilon"), 1e-12f);
    gguf_writer_set_bool(w, arch_key(s, "attention.causal"), false);
    if (s->nomic) gguf_writer_set_f32(w, arch_key(s, "rope.freq_base"), 1000.0f);
    if (s->pooling >= 0) set_u32(w, s, "pooling_type", (uint32_t)s->pooling);
    write_vocab(w);
    if (s->set_key) gguf_writer_set_u32(w, s->set_key, s->set_value);

    add_tensor(w, s, "token_embd.weight", d, N_VOCAB, EMBEDDING);
    if (!s->no_token_types) add_tensor(w, s, "token_types.weight", d, N_TYPES, EMBEDDING);
    if (!s->nomic) add_tensor(w, s, "position_embd.weight", d, s->n_ctx, EMBEDDING);
    add_tensor(w, s, "token_embd_norm.weight", d, 1, NORM);
    add_tensor(w, s, "token_embd_norm.bias", d, 1, BIAS);
    char name[96], q[96], k[96], v[96];
    for (uint32_t il = 0; il < s->n_layer; il++) {
#define LAYER(buf, suffix) (snprintf(buf, sizeof buf, "blk.%u." suffix, il), buf)
        if (s->fused_qkv) {
            /* The fused matrix holds the separate ones' values, so the model
             * computes exactly what the unfused one does. */
            float *wq = tensor_values(LAYER(q, "attn_q.weight"), d, d, MATRIX);
            float *wk = tensor_values(LAYER(k, "attn_k.weight"), d, kv, MATRIX);
            float *wv = tensor_values(LAYER(v, "attn_v.weight"), d, kv, MATRIX);
            float *fused = malloc((size_t)(d * (d + 2 * kv)) * sizeof *fused);
            memcpy(fused, wq, (size_t)(d * d) * sizeof *fused);
            memcpy(fused + d * d, wk, (size_t)(d * kv) * sizeof *fused);
            memcpy(fused + d * (d + kv), wv, (size_t)(d * kv) * sizeof *fused);
            int64_t ne[2] = {d, d + 2 * kv};
            tl_error err = {0};
            assert_int_equal(gguf_writer_add_tensor(w, LAYER(name, "attn_qkv.weight"), TL_TYPE_F32, 2, ne, fused, &err),
                             TL_OK);
            free(wq), free(wk), free(wv);
            if (s->fused_split_bias) {
                add_tensor(w, s, LAYER(name, "attn_q.bias"), d, 1, BIAS);
                add_tensor(w, s, LAYER(name, "attn_k.bias"), kv, 1, BIAS);
                add_tensor(w, s, LAYER(name, "attn_v.bias"), kv, 1, BIAS);
            } else {
                float *bq = tensor_values(LAYER(q, "attn_q.bias"), d, 1, BIAS);
                float *bk = tensor_values(LAYER(k, "attn_k.bias"), kv, 1, BIAS);
                float *bv = tensor_values(LAYER(v, "attn_v.bias"), kv, 1, BIAS);
                memcpy(fused, bq, (size_t)d * sizeof *fused);
                memcpy(fused + d, bk, (size_t)kv * sizeof *fused);
                memcpy(fused + d + kv, bv, (size_t)kv * sizeof *fused);
                int64_t nb[1] = {d + 2 * kv};
                assert_int_equal(
                    gguf_writer_add_tensor(w, LAYER(name, "attn_qkv.bias"), TL_TYPE_F32, 1, nb, fused, &err), TL_OK);
                free(bq), free(bk), free(bv);
            }
            free(fused);
        } else {
            add_tensor(w, s, LAYER(name, "attn_q.weight"), d, d, MATRIX);
            add_tensor(w, s, LAYER(name, "attn_q.bias"), d, 1, BIAS);
            add_tensor(w, s, LAYER(name, "attn_k.weight"), d, kv, MATRIX);
            add_tensor(w, s, LAYER(name, "attn_k.bias"), kv, 1, BIAS);
            add_tensor(w, s, LAYER(name, "attn_v.weight"), d, kv, MATRIX);
            add_tensor(w, s, LAYER(name, "attn_v.bias"), kv, 1, BIAS);
        }
        add_tensor(w, s, LAYER(name, "attn_output.weight"), d, d, MATRIX);
        add_tensor(w, s, LAYER(name, "attn_output.bias"), d, 1, BIAS);
        add_tensor(w, s, LAYER(name, "attn_output_norm.weight"), d, 1, NORM);
        add_tensor(w, s, LAYER(name, "attn_output_norm.bias"), d, 1, BIAS);
        add_tensor(w, s, LAYER(name, "ffn_up.weight"), d, ff, MATRIX);
        add_tensor(w, s, LAYER(name, "ffn_up.bias"), ff, 1, BIAS);
        if (s->nomic) add_tensor(w, s, LAYER(name, "ffn_gate.weight"), d, ff, MATRIX);
        add_tensor(w, s, LAYER(name, "ffn_down.weight"), ff, d, MATRIX);
        add_tensor(w, s, LAYER(name, "ffn_down.bias"), d, 1, BIAS);
        add_tensor(w, s, LAYER(name, "layer_output_norm.weight"), d, 1, NORM);
        add_tensor(w, s, LAYER(name, "layer_output_norm.bias"), d, 1, BIAS);
#undef LAYER
    }
    const char *path = tl_test_tmp_path(file);
    tl_error err = {0};
    if (gguf_writer_write(w, path, &err) != TL_OK) fail_msg("%s", err.message);
    gguf_writer_free(w);
    return path;
}

static tl_model *load_ok(const char *path) {
    tl_model *m = NULL;
    tl_error err = {0};
    if (tl_model_load(path, NULL, &m, &err) != TL_OK) fail_msg("%s", err.message);
    return m;
}

/* A context (0: the defaults); n_batch beyond n_ctx packs inputs for tl_embed_batch. */
static tl_context *context_batch(const tl_model *m, uint32_t n_ctx, uint32_t n_batch, uint32_t n_threads) {
    tl_context_params p = tl_context_default_params();
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    p.n_threads = n_threads;
    tl_context *ctx = NULL;
    tl_error err = {0};
    if (tl_context_new(m, &p, &ctx, &err) != TL_OK) fail_msg("%s", err.message);
    return ctx;
}

static tl_context *context(const tl_model *m, uint32_t n_ctx, uint32_t n_threads) {
    return context_batch(m, n_ctx, 0, n_threads);
}

/* ---- the encoder written out plainly ------------------------------------- */

static void layer_norm(float *x, const char *prefix, int64_t d) {
    char name[96];
    snprintf(name, sizeof name, "%s.weight", prefix);
    float *w = tensor_values(name, d, 1, NORM);
    snprintf(name, sizeof name, "%s.bias", prefix);
    float *b = tensor_values(name, d, 1, BIAS);
    tl_layer_norm(x, x, w, b, d, 1e-12f);
    free(w), free(b);
}

/* out[t] = W·x[t] + b for n tokens (W: n_out rows of n_in); no b for "ffn_gate". */
static void linear(float *out, const float *x, int n, const char *layer_prefix, const char *what, int64_t n_in,
                   int64_t n_out) {
    char name[96];
    snprintf(name, sizeof name, "%s.%s.weight", layer_prefix, what);
    float *w = tensor_values(name, n_in, n_out, MATRIX);
    snprintf(name, sizeof name, "%s.%s.bias", layer_prefix, what);
    float *b = tensor_values(name, n_out, 1, BIAS);
    if (strcmp(what, "ffn_gate") == 0) memset(b, 0, (size_t)n_out * sizeof *b);
    for (int t = 0; t < n; t++)
        for (int64_t r = 0; r < n_out; r++) {
            double sum = b[r];
            for (int64_t c = 0; c < n_in; c++) sum += (double)w[r * n_in + c] * x[t * n_in + c];
            out[t * n_out + r] = (float)sum;
        }
    free(w), free(b);
}

/* Rotary positions, NeoX layout (dimension i pairs with i + hd/2), base
 * 1000: n_heads heads of token t (at position t) in place. */
static void plain_rope(float *x, int t, int n_heads, int64_t hd) {
    for (int head = 0; head < n_heads; head++)
        for (int64_t i = 0; i < hd / 2; i++) {
            const double angle = t * pow(1000.0, -2.0 * (double)i / (double)hd);
            float *a = x + head * hd + i, *b = a + hd / 2;
            const double x0 = *a, x1 = *b;
            *a = (float)(x0 * cos(angle) - x1 * sin(angle));
            *b = (float)(x0 * sin(angle) + x1 * cos(angle));
        }
}

/* The encoder output rows for tokens, from the tensors' defining values. */
static void plain_encode(const tiny_spec *s, const tl_token *tokens, int n, float *x) {
    const int64_t d = s->n_embd, ff = s->n_ff, hd = d / s->n_head, kv = hd * s->n_head_kv;
    const int group = (int)(s->n_head / s->n_head_kv);
    float *tok = tensor_values("token_embd.weight", d, N_VOCAB, EMBEDDING);
    float *types = tensor_values("token_types.weight", d, N_TYPES, EMBEDDING);
    float *pos = tensor_values("position_embd.weight", d, s->n_ctx, EMBEDDING);
    for (int t = 0; t < n; t++) {
        for (int64_t i = 0; i < d; i++)
            x[t * d + i] =
                (s->nomic ? 0.0f : pos[t * d + i]) + (tok[tokens[t] * d + i] + (s->no_token_types ? 0.0f : types[i]));
        layer_norm(x + t * d, "token_embd_norm", d);
    }
    free(tok), free(types), free(pos);
    float *q = malloc((size_t)(n * d) * sizeof *q), *k = malloc((size_t)(n * kv) * sizeof *k);
    float *v = malloc((size_t)(n * kv) * sizeof *v), *attn = malloc((size_t)(n * d) * sizeof *attn);
    float *h = malloc((size_t)(n * d) * sizeof *h), *up = malloc((size_t)(n * ff) * sizeof *up);
    float *gate = malloc((size_t)(n * ff) * sizeof *gate);
    float *scores = malloc((size_t)n * sizeof *scores);
    for (uint32_t il = 0; il < s->n_layer; il++) {
        char L[32], norm[64];
        snprintf(L, sizeof L, "blk.%u", il);
        linear(q, x, n, L, "attn_q", d, d);
        linear(k, x, n, L, "attn_k", d, kv);
        linear(v, x, n, L, "attn_v", d, kv);
        for (int t = 0; s->nomic && t < n; t++) {
            plain_rope(q + t * d, t, (int)s->n_head, hd);
            plain_rope(k + t * kv, t, (int)s->n_head_kv, hd);
        }
        for (int head = 0; head < (int)s->n_head; head++) {
            const int g = head / group;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) { /* every token sees every token */
                    double dot = 0;
                    for (int64_t c = 0; c < hd; c++) dot += (double)q[i * d + head * hd + c] * k[j * kv + g * hd + c];
                    scores[j] = (float)dot / sqrtf((float)hd);
                }
                tl_softmax(scores, n);
                for (int64_t c = 0; c < hd; c++) {
                    double sum = 0;
                    for (int j = 0; j < n; j++) sum += (double)scores[j] * v[j * kv + g * hd + c];
                    attn[i * d + head * hd + c] = (float)sum;
                }
            }
        }
        linear(h, attn, n, L, "attn_output", d, d);
        snprintf(norm, sizeof norm, "%s.attn_output_norm", L);
        for (int t = 0; t < n; t++) {
            for (int64_t i = 0; i < d; i++) h[t * d + i] += x[t * d + i];
            layer_norm(h + t * d, norm, d);
        }
        linear(up, h, n, L, "ffn_up", d, ff);
        if (s->nomic) { /* silu(gate) * up */
            linear(gate, h, n, L, "ffn_gate", d, ff);
            for (int64_t i = 0; i < (int64_t)n * ff; i++) up[i] *= gate[i] / (1.0f + expf(-gate[i]));
        } else {
            tl_gelu(up, (int64_t)n * ff);
        }
        linear(x, up, n, L, "ffn_down", ff, d);
        snprintf(norm, sizeof norm, "%s.layer_output_norm", L);
        for (int t = 0; t < n; t++) {
            for (int64_t i = 0; i < d; i++) x[t * d + i] += h[t * d + i];
            layer_norm(x + t * d, norm, d);
        }
    }
    free(q), free(k), free(v), free(attn), free(h), free(up), free(gate), free(scores);
}

static double cosine(const float *a, const float *b, int64_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb);
}

static void fill_tokens(tl_token *tokens, int n) {
    tokens[0] = 2; /* [CLS] */
    for (int i = 1; i < n - 1; i++) tokens[i] = 4 + (i * 5) % 8;
    tokens[n - 1] = 3; /* [SEP] */
}

/* Every row of the encoder output matches the plain implementation, for
 * inputs shorter and longer than an attention block (32 queries). */
static void check_against_plain(const tiny_spec *s, const char *file) {
    tl_model *m = load_ok(write_tiny(file, s));
    const int64_t d = s->n_embd;
    const int lengths[] = {1, 5, 33, 80};
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const int n = lengths[li];
        tl_token tokens[80];
        fill_tokens(tokens, n);
        if (n == 1) tokens[0] = 5;
        float *want = malloc((size_t)(n * d) * sizeof *want);
        plain_encode(s, tokens, n, want);
        for (uint32_t threads = 1; threads <= 3; threads += 2) {
            tl_context *ctx = context(m, 0, threads);
            tl_error err = {0};
            assert_int_equal(tl_encode(ctx, tokens, n, &err), TL_OK);
            int32_t rows = 0;
            const float *got = tl_get_encoder_output(ctx, &rows);
            assert_non_null(got);
            assert_int_equal(rows, n);
            for (int t = 0; t < n; t++) {
                const double c = cosine(got + t * d, want + t * d, d);
                if (c < 0.99999) fail_msg("%s: %d tokens, %u threads: row %d cosine %.7f", file, n, threads, t, c);
            }
            tl_context_free(ctx);
        }
        free(want);
    }
    tl_model_free(m);
}

static void encoder_matches_plain_implementation(void **state) {
    (void)state;
    tiny_spec s = tiny_default();
    check_against_plain(&s, "bert-plain.gguf");
}

static void fused_qkv_and_grouped_heads_match(void **state) {
    (void)state;
    tiny_spec s = tiny_default();
    s.fused_qkv = true;
    check_against_plain(&s, "bert-fused.gguf");
    s.fused_split_bias = true;
    check_against_plain(&s, "bert-fused-split-bias.gguf");
    s = tiny_default();
    s.n_head = 4;
    s.n_head_kv = 1; /* grouped-query attention: four query heads share one key/value head */
    check_against_plain(&s, "bert-gqa.gguf");
    s.fused_qkv = true;
    check_against_plain(&s, "bert-gqa-fused.gguf");
    s = tiny_default();
    s.no_token_types = true; /* token types are optional, as in llama.cpp */
    check_against_plain(&s, "bert-no-types.gguf");
}

/* nomic-bert: the same encoder with rotary positions and a SwiGLU
 * feed-forward, fused and grouped too. */
static void nomic_encoder_matches_plain_implementation(void **state) {
    (void)state;
    tiny_spec s = tiny_default();
    s.nomic = true;
    check_against_plain(&s, "nomic-plain.gguf");
    s.fused_qkv = true;
    s.n_head = 4;
    s.n_head_kv = 2;
    check_against_plain(&s, "nomic-fused-gqa.gguf");
}

static void model_describes_itself(void **state) {
    (void)state;
    tiny_spec s = tiny_default();
    tl_model *m = load_ok(write_tiny("bert-info.gguf", &s));
    assert_true(tl_model_has_encoder(m));
    assert_false(tl_model_has_decoder(m));
    assert_int_equal(tl_model_pooling(m), TL_POOLING_MEAN);
    assert_int_equal(tl_model_embedding_size(m), 32);
    tl_model_info info;
    tl_model_get_info(m, &info);
    assert_string_equal(info.architecture, "bert");
    assert_int_equal(info.n_layer, 2);
    assert_int_equal(info.n_head, 2);
    assert_int_equal(info.n_ff, 64);
    assert_int_equal(info.context_length, 80);
    tl_model_free(m);
    s.pooling = -1; /* no pooling_type key: none, as llama.cpp */
    m = load_ok(write_tiny("bert-no-pooling.gguf", &s));
    assert_int_equal(tl_model_pooling(m), TL_POOLING_NONE);
    tl_model_free(m);
}

/* ---- bad files ----------------------------------------------------------- */

typedef struct bad_case {
    const char *what;
    tiny_spec spec;
    tl_status status;
    const char *message; /* a part of the one-line error */
} bad_case;

static void bad_models_are_refused_with_one_line(void **state) {
    (void)state;
    const tiny_spec ok = tiny_default();
    bad_case cases[20];
    int n = 0;
#define BAD(label, field, value, st, msg)                                                                              \
    do {                                                                                                               \
        cases[n] = (bad_case){label, ok, st, msg};                                                                     \
        cases[n].spec.field = value;                                                                                   \
        n++;                                                                                                           \
    } while (0)
    BAD("missing ffn_up", omit_tensor, "blk.1.ffn_up.weight", TL_ERR_FORMAT,
        "missing required tensor 'blk.1.ffn_up.weight'");
    BAD("missing position_embd", omit_tensor, "position_embd.weight", TL_ERR_FORMAT,
        "missing required tensor 'position_embd.weight'");
    BAD("missing embedding norm bias", omit_tensor, "token_embd_norm.bias", TL_ERR_FORMAT,
        "missing required tensor 'token_embd_norm.bias'");
    BAD("missing layer_output_norm", omit_tensor, "blk.0.layer_output_norm.weight", TL_ERR_FORMAT,
        "missing required tensor 'blk.0.layer_output_norm.weight'");
    BAD("missing attn_k", omit_tensor, "blk.0.attn_k.weight", TL_ERR_FORMAT,
        "missing required tensor 'blk.0.attn_k.weight'");
    BAD("short attn_q", short_tensor, "blk.0.attn_q.weight", TL_ERR_FORMAT,
        "tensor 'blk.0.attn_q.weight' has shape [32, 31], expected [32, 32]");
    BAD("short norm", short_tensor, "blk.1.attn_output_norm.bias", TL_ERR_FORMAT,
        "tensor 'blk.1.attn_output_norm.bias' has shape [31], expected [32]");
    BAD("short position_embd", short_tensor, "position_embd.weight", TL_ERR_FORMAT,
        "tensor 'position_embd.weight' has shape [32, 79], expected [32, 80]");
    BAD("missing epsilon", omit_key, "bert.attention.layer_norm_epsilon", TL_ERR_FORMAT,
        "missing required key 'bert.attention.layer_norm_epsilon'");
    BAD("missing block_count", omit_key, "bert.block_count", TL_ERR_FORMAT, "missing required key 'bert.block_count'");
    BAD("heads do not divide", n_head, 3, TL_ERR_FORMAT, "attention.head_count (3) is not a multiple of head_count_kv");
    BAD("unknown pooling", pooling, 5, TL_ERR_UNSUPPORTED, "pooling_type 5 is not supported");
    BAD("token types disagree", set_key, "tokenizer.ggml.token_type_count", TL_ERR_FORMAT,
        "tensor 'token_types.weight' has shape [32, 2], expected [32, 3]");
    cases[n - 1].spec.set_value = 3;
    BAD("zero layers", set_key, "bert.block_count", TL_ERR_FORMAT, "hyper-parameters must be positive");
    cases[n - 1].spec.set_value = 0;
    /* nomic-bert: its gate is required, its rotary dimensions are checked */
    BAD("nomic without ffn_gate", omit_tensor, "blk.1.ffn_gate.weight", TL_ERR_FORMAT,
        "missing required tensor 'blk.1.ffn_gate.weight'");
    cases[n - 1].spec.nomic = true;
    BAD("nomic with odd rotary dimensions", set_key, "nomic-bert.rope.dimension_count", TL_ERR_FORMAT,
        "rope.dimension_count 7 must be even");
    cases[n - 1].spec.set_value = 7;
    cases[n - 1].spec.nomic = true;
#undef BAD
    for (int i = 0; i < n; i++) {
        char file[64];
        snprintf(file, sizeof file, "bert-bad-%d.gguf", i);
        const char *path = write_tiny(file, &cases[i].spec);
        tl_model *m = NULL;
        tl_error err = {0};
        const tl_status st = tl_model_load(path, NULL, &m, &err);
        if (st == TL_OK) fail_msg("%s: loaded", cases[i].what);
        assert_null(m);
        if (st != cases[i].status || !strstr(err.message, cases[i].message) || strchr(err.message, '\n'))
            fail_msg("%s: status %d, message '%s'", cases[i].what, st, err.message);
        if (!strstr(err.message, path))
            fail_msg("%s: the message does not name the file: %s", cases[i].what, err.message);
    }
}

/* ---- contexts, pooling, normalization ------------------------------------ */

static void context_limits(void **state) {
    (void)state;
    tiny_spec s = tiny_default();
    tl_model *m = load_ok(write_tiny("bert-limits.gguf", &s));
    tl_context *ctx = NULL;
    tl_error err = {0};
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 81; /* more positions than the model learned */
    assert_int_equal(tl_context_new(m, &p, &ctx, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "longer than the model's 80 positions"));
    assert_null(ctx);

    ctx = context(m, 0, 2);
    assert_int_equal(tl_context_size(ctx), 80); /* the default is the model's */
    tl_token tokens[81];
    fill_tokens(tokens, 81);
    float *out = malloc(81 * 32 * sizeof *out);
    /* Exactly n_ctx tokens fit; one more does not. */
    assert_int_equal(tl_embed(ctx, tokens, 80, TL_POOLING_NONE, false, out, &err), TL_OK);
    assert_int_equal(tl_embed(ctx, tokens, 81, TL_POOLING_MEAN, true, out, &err), TL_ERR_CONTEXT_FULL);
    assert_int_equal(tl_encode(ctx, tokens, 0, &err), TL_ERR_ARGUMENT);
    tokens[3] = N_VOCAB;
    assert_int_equal(tl_encode(ctx, tokens, 5, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "outside the vocabulary"));
    /* An encoder does not decode. */
    assert_int_equal(tl_decode(ctx, tokens, 1, 0, false, &err), TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "embeddings only"));
    tl_context_free(ctx);

    ctx = context(m, 16, 1);
    fill_tokens(tokens, 17);
    assert_null(tl_get_encoder_output(ctx, &(int32_t){0}));
    assert_int_equal(tl_embed(ctx, tokens, 16, TL_POOLING_CLS, true, out, &err), TL_OK);
    assert_int_equal(tl_embed(ctx, tokens, 17, TL_POOLING_CLS, true, out, &err), TL_ERR_CONTEXT_FULL);
    tl_context_free(ctx);
    free(out);
    tl_model_free(m);
}

/* tl_embed_batch gives what tl_embed gives for each input alone, whether the
 * inputs share passes (a batch of 200 tokens packs several of them, cut
 * where the next does not fit) or not (the default batch, n_ctx), for every
 * pooling, learned and rotary positions, fused and grouped heads. Tolerance:
 * 1e-5 absolute on every value (the packed passes take the same kernels per
 * row; only a gemm's tiling of other row counts may round differently). */
static void check_batch_matches_single(const tiny_spec *s, const char *file) {
    tl_model *m = load_ok(write_tiny(file, s));
    const int64_t d = s->n_embd;
    enum { N_SEQS = 8 };
    const int32_t lens[N_SEQS] = {1, 5, 33, 80, 7, 40, 2, 64};
    tl_token store[N_SEQS][80];
    const tl_token *seqs[N_SEQS];
    int32_t total = 0;
    for (int i = 0; i < N_SEQS; i++) {
        fill_tokens(store[i], lens[i]);
        for (int t = 1; t < lens[i] - 1; t++) store[i][t] = 4 + (t * 5 + i * 3) % 8;
        if (lens[i] == 1) store[i][0] = 5;
        seqs[i] = store[i];
        total += lens[i];
    }
    const tl_pooling poolings[] = {TL_POOLING_MEAN, TL_POOLING_CLS, TL_POOLING_LAST, TL_POOLING_NONE};
    float *want = malloc((size_t)(total * d) * sizeof *want), *got = malloc((size_t)(total * d) * sizeof *got);
    for (uint32_t batch = 0; batch <= 200; batch += 200)
        for (uint32_t threads = 1; threads <= 2; threads++) {
            tl_context *ctx = context_batch(m, 0, batch, threads);
            tl_error err = {0};
            for (size_t pi = 0; pi < sizeof poolings / sizeof poolings[0]; pi++) {
                const bool normalize = pi % 2 == 0;
                int64_t n_values = 0;
                for (int i = 0; i < N_SEQS; i++) {
                    assert_int_equal(tl_embed(ctx, seqs[i], lens[i], poolings[pi], normalize, want + n_values, &err),
                                     TL_OK);
                    n_values += poolings[pi] == TL_POOLING_NONE ? lens[i] * d : d;
                }
                memset(got, 0, (size_t)n_values * sizeof *got);
                assert_int_equal(tl_embed_batch(ctx, seqs, lens, N_SEQS, poolings[pi], normalize, got, &err), TL_OK);
                /* The same sums in another order where the level's tiled kernels take a longer
                 * batch (NEON: up to 2.1e-4 seen under qemu); x86's agree to 1e-5. */
                const float tolerance = tl_test_x86_activations() ? 1e-5f : 1e-3f;
                for (int64_t i = 0; i < n_values; i++)
                    if (!(fabsf(got[i] - want[i]) <= tolerance))
                        fail_msg("%s: batch %u, %u threads, pooling %s: value %lld is %.7f alone, %.7f batched", file,
                                 batch, threads, tl_pooling_name(poolings[pi]), (long long)i, want[i], got[i]);
            }
            tl_context_free(ctx);
        }
    free(want);
    free(got);
    tl_model_free(m);
}

static void embed_batch_matches_each_alone(void **state) {
    (void)state;
    tiny_spec s = tiny_default();
    check_batch_matches_single(&s, "bert-batch.gguf");
    s.fused_qkv = true;
    s.n_head = 4;
    s.n_head_kv = 1;
    check_batch_matches_single(&s, "bert-batch-gqa.gguf");
    s = tiny_default();
    s.nomic = true;
    check_batch_matches_single(&s, "nomic-batch.gguf");
}

static void embed_batch_errors(void **state) {
    (void)state;
    tiny_spec s = tiny_default();
    tl_model *m = load_ok(write_tiny("bert-batch-errors.gguf", &s));
    tl_context *ctx = context_batch(m, 40, 100, 1);
    tl_error err = {0};
    tl_token a[41], b[3] = {2, 5, 3};
    fill_tokens(a, 41);
    const tl_token *seqs[] = {b, a};
    float out[2 * 32] = {0};
    /* Each input must fit the context, even when the batch is larger. */
    assert_int_equal(tl_embed_batch(ctx, seqs, (const int32_t[]){3, 41}, 2, TL_POOLING_MEAN, true, out, &err),
                     TL_ERR_CONTEXT_FULL);
    assert_int_equal(tl_embed_batch(ctx, seqs, (const int32_t[]){3, 0}, 2, TL_POOLING_MEAN, true, out, &err),
                     TL_ERR_ARGUMENT);
    a[2] = N_VOCAB;
    assert_int_equal(tl_embed_batch(ctx, seqs, (const int32_t[]){3, 5}, 2, TL_POOLING_MEAN, true, out, &err),
                     TL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "outside the vocabulary"));
    assert_int_equal(tl_embed_batch(ctx, seqs, (const int32_t[]){3, 5}, 2, TL_POOLING_RANK, true, out, &err),
                     TL_ERR_ARGUMENT);
    assert_int_equal(tl_embed_batch(ctx, seqs, NULL, 0, TL_POOLING_MEAN, true, out, &err), TL_OK);
    tl_context_free(ctx);
    tl_model_free(m);
}

static void pooling_and_normalization(void **state) {
    (void)state;
    tiny_spec s = tiny_default();
    tl_model *m = load_ok(write_tiny("bert-pooling.gguf", &s));
    tl_context *ctx = context(m, 0, 2);
    const int n = 9, d = 32;
    tl_token tokens[9];
    fill_tokens(tokens, n);
    float rows[9 * 32], normed_rows[9 * 32], v[32], w[32];
    tl_error err = {0};
    assert_int_equal(tl_embed(ctx, tokens, n, TL_POOLING_NONE, false, rows, &err), TL_OK);
    assert_int_equal(tl_embed(ctx, tokens, n, TL_POOLING_NONE, true, normed_rows, &err), TL_OK);
    for (int t = 0; t < n; t++) {
        double norm = 0;
        for (int i = 0; i < d; i++) norm += (double)rows[t * d + i] * rows[t * d + i];
        norm = sqrt(norm);
        for (int i = 0; i < d; i++) assert_float_equal(normed_rows[t * d + i], rows[t * d + i] / norm, 1e-6);
    }
    /* mean */
    assert_int_equal(tl_embed(ctx, tokens, n, TL_POOLING_MEAN, false, v, &err), TL_OK);
    for (int i = 0; i < d; i++) {
        double sum = 0;
        for (int t = 0; t < n; t++) sum += rows[t * d + i];
        assert_float_equal(v[i], sum / n, 1e-5);
    }
    /* the model's own pooling (mean) is the default, and normalizing gives unit length */
    assert_int_equal(tl_embed(ctx, tokens, n, TL_POOLING_DEFAULT, true, w, &err), TL_OK);
    double norm = 0, vnorm = 0;
    for (int i = 0; i < d; i++) norm += (double)w[i] * w[i], vnorm += (double)v[i] * v[i];
    assert_float_equal(norm, 1.0, 1e-5);
    for (int i = 0; i < d; i++) assert_float_equal(w[i], v[i] / sqrt(vnorm), 1e-6);
    /* cls and last */
    assert_int_equal(tl_embed(ctx, tokens, n, TL_POOLING_CLS, false, v, &err), TL_OK);
    assert_memory_equal(v, rows, d * sizeof(float));
    assert_int_equal(tl_embed(ctx, tokens, n, TL_POOLING_LAST, false, v, &err), TL_OK);
    assert_memory_equal(v, rows + (n - 1) * d, d * sizeof(float));
    assert_int_equal(tl_embed(ctx, tokens, n, (tl_pooling)7, false, v, &err), TL_ERR_ARGUMENT);
    /* Attention is bidirectional: the last token changes the first row. */
    const tl_token saved = tokens[n - 2];
    tokens[n - 2] = saved == 4 ? 5 : 4;
    assert_int_equal(tl_embed(ctx, tokens, n, TL_POOLING_CLS, false, v, &err), TL_OK);
    assert_true(memcmp(v, rows, d * sizeof(float)) != 0);
    /* The same input again gives the same output: nothing carries over. */
    tokens[n - 2] = saved;
    assert_int_equal(tl_embed(ctx, tokens, 3, TL_POOLING_NONE, false, normed_rows, &err), TL_OK);
    assert_int_equal(tl_embed(ctx, tokens, n, TL_POOLING_CLS, false, v, &err), TL_OK);
    assert_memory_equal(v, rows, d * sizeof(float));
    /* names */
    assert_string_equal(tl_pooling_name(TL_POOLING_MEAN), "mean");
    assert_int_equal(tl_pooling_from_name("cls"), TL_POOLING_CLS);
    assert_int_equal(tl_pooling_from_name("max"), -2);
    tl_context_free(ctx);
    tl_model_free(m);
}

/* ---- llama.cpp references ------------------------------------------------- */

static const char *bge_vocab(void) {
    const char *rel = "tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf";
    return tl_test_have_shared(rel) ? tl_test_shared_path(rel) : NULL;
}

/* Compares one reference file: tokens of every prompt, then every vector. */
static void check_reference(tl_model *m, const char *ref_name, tl_pooling pooling) {
    char rel[128];
    snprintf(rel, sizeof rel, "tests/reference/%s.json", ref_name);
    char *text = tl_test_read_file(tl_test_source_path(rel), NULL);
    if (!text) fail_msg("cannot read %s", rel);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "pooling")), tl_pooling_name(pooling));
    const int d = (int)tl_model_embedding_size(m);
    assert_int_equal(cJSON_GetObjectItem(root, "n_embd")->valueint, d);
    tl_context *ctx = context(m, 0, 2);
    const cJSON *cases = cJSON_GetObjectItem(root, "cases");
    double worst = 1.0;
    for (int ci = 0; ci < cJSON_GetArraySize(cases); ci++) {
        const cJSON *c = cJSON_GetArrayItem(cases, ci);
        const cJSON *ref_tokens = cJSON_GetObjectItem(c, "tokens");
        const int n = cJSON_GetArraySize(ref_tokens);
        tl_token *tokens = malloc((size_t)n * sizeof *tokens);
        for (int i = 0; i < n; i++) tokens[i] = cJSON_GetArrayItem(ref_tokens, i)->valueint;
        const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(c, "prompt"));
        if (prompt) {
            tl_token mine[1024];
            const int32_t got = tl_tokenize(m, prompt, strlen(prompt), true, false, mine, 1024);
            if (got != n) fail_msg("%s case %d: %d tokens, llama.cpp %d", ref_name, ci, got, n);
            for (int i = 0; i < n; i++)
                if (mine[i] != tokens[i])
                    fail_msg("%s case %d: token %d is %d, llama.cpp %d", ref_name, ci, i, mine[i], tokens[i]);
        }
        const int n_rows = pooling == TL_POOLING_NONE ? n : 1;
        const cJSON *want =
            pooling == TL_POOLING_NONE ? cJSON_GetObjectItem(c, "embeddings") : cJSON_GetObjectItem(c, "embedding");
        assert_int_equal(cJSON_GetArraySize(want), pooling == TL_POOLING_NONE ? n : d);
        float *out = malloc((size_t)n_rows * d * sizeof *out), *ref = malloc((size_t)d * sizeof *ref);
        tl_error err = {0};
        if (tl_embed(ctx, tokens, n, pooling, true, out, &err) != TL_OK) fail_msg("%s", err.message);
        for (int r = 0; r < n_rows; r++) {
            const cJSON *row = pooling == TL_POOLING_NONE ? cJSON_GetArrayItem(want, r) : want;
            assert_int_equal(cJSON_GetArraySize(row), d);
            for (int i = 0; i < d; i++) ref[i] = (float)cJSON_GetArrayItem(row, i)->valuedouble;
            const double cos = cosine(out + (size_t)r * d, ref, d);
            if (cos < worst) worst = cos;
            if (cos < 0.9999) fail_msg("%s case %d row %d: cosine %.7f with llama.cpp", ref_name, ci, r, cos);
        }
        free(out), free(ref), free(tokens);
    }
    print_message("  %s: %d cases, worst cosine %.9f\n", ref_name, cJSON_GetArraySize(cases), worst);
    tl_context_free(ctx);
    cJSON_Delete(root);
    free(text);
}

/* Tiny encoders (seed 42) against llama.cpp; keep the presets, types,
 * poolings and seed in sync with scripts/reference/make_reference.sh. The
 * last case of each cases file fills the context exactly (all-minilm: 512
 * learned positions; nomic-embed-text: 2048 rotary ones). */
typedef struct encoder_reference {
    const char *prefix, *preset; /* tests/reference/<prefix>-<type>-<pooling>.json */
    const char *types[2];
    tl_pooling poolings[4];
    int n_poolings;
} encoder_reference;

static const encoder_reference encoder_references[] = {
    {"bert-tiny",
     "all-minilm-l6-v2",
     {"q8_0", "f16"},
     {TL_POOLING_MEAN, TL_POOLING_CLS, TL_POOLING_LAST, TL_POOLING_NONE},
     4},
    {"nomic-tiny", "nomic-embed-text-v1.5", {"f32", "q8_0"}, {TL_POOLING_MEAN, TL_POOLING_NONE}, 2},
};

static void synth_models_match_llama_cpp(void **state) {
    (void)state;
    if (!bge_vocab()) skip();
    char vocab[4096]; /* a copy: the path helpers share one buffer */
    snprintf(vocab, sizeof vocab, "%s", bge_vocab());
    for (size_t ri = 0; ri < sizeof encoder_references / sizeof encoder_references[0]; ri++) {
        const encoder_reference *r = &encoder_references[ri];
        for (size_t ti = 0; ti < 2; ti++) {
            char file[64];
            snprintf(file, sizeof file, "%s-%s.gguf", r->prefix, r->types[ti]);
            const char *path = tl_test_tmp_path(file);
            const tl_synth_params params = {
                .preset = r->preset, .weight_type = r->types[ti], .seed = 42, .vocab_path = vocab, .tiny = true};
            tl_error err = {0};
            if (tl_synth(&params, path, &err) != TL_OK) fail_msg("synth: %s", err.message);
            tl_model *m = load_ok(path);
            assert_int_equal(tl_model_pooling(m), TL_POOLING_MEAN); /* the preset's, from <arch>.pooling_type */
            for (int pi = 0; pi < r->n_poolings; pi++) {
                char ref_name[64];
                snprintf(ref_name, sizeof ref_name, "%s-%s-%s", r->prefix, r->types[ti],
                         tl_pooling_name(r->poolings[pi]));
                check_reference(m, ref_name, r->poolings[pi]);
            }
            tl_model_free(m);
            remove(path);
        }
    }
}

/* The synthesized file has the keys and tensors llama.cpp's converter writes. */
static void synth_writes_converter_layout(void **state) {
    (void)state;
    const char *vocab = bge_vocab();
    if (!vocab) skip();
    const char *path = tl_test_tmp_path("bert-layout.gguf");
    const tl_synth_params params = {
        .preset = "all-minilm-l6-v2", .weight_type = "q8_0", .seed = 7, .vocab_path = vocab, .tiny = true};
    tl_error err = {0};
    assert_int_equal(tl_synth(&params, path, &err), TL_OK);
    gguf_file *f = NULL;
    assert_int_equal(gguf_open(path, &f, &err), TL_OK);
    uint32_t u = 0;
    bool b = true;
    float eps = 0;
    assert_true(gguf_get_u32(f, "bert.pooling_type", &u) && u == 1);
    assert_true(gguf_get_u32(f, "tokenizer.ggml.token_type_count", &u) && u == 2);
    assert_true(gguf_get_bool(f, "bert.attention.causal", &b) && !b);
    assert_true(gguf_get_f32(f, "bert.attention.layer_norm_epsilon", &eps) && eps == 1e-12f);
    assert_true(gguf_get_u32(f, "bert.context_length", &u) && u == 512);
    const struct {
        const char *name;
        uint32_t type;
        int64_t ne0, ne1;
    } want[] = {
        {"token_embd.weight", TL_TYPE_Q8_0, 128, 30522},         {"token_types.weight", TL_TYPE_F32, 128, 2},
        {"position_embd.weight", TL_TYPE_F32, 128, 512},         {"token_embd_norm.bias", TL_TYPE_F32, 128, 1},
        {"blk.1.attn_q.weight", TL_TYPE_Q8_0, 128, 128},         {"blk.1.attn_v.bias", TL_TYPE_F32, 128, 1},
        {"blk.0.ffn_up.weight", TL_TYPE_Q8_0, 128, 256},         {"blk.0.ffn_down.bias", TL_TYPE_F32, 128, 1},
        {"blk.1.layer_output_norm.weight", TL_TYPE_F32, 128, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const gguf_tensor *t = gguf_find_tensor(f, want[i].name);
        if (!t) fail_msg("no tensor %s", want[i].name);
        assert_int_equal(t->type, want[i].type);
        assert_int_equal(t->ne[0], want[i].ne0);
        assert_int_equal(t->ne[1], want[i].ne1);
    }
    assert_int_equal(gguf_tensor_count(f), 5 + 2 * 16);
    gguf_close(f);
    remove(path);
}

/* nomic-embed-text as llama.cpp's converter writes it: rotary positions
 * (rope.freq_base, no position_embd), fused q/k/v, a SwiGLU gate, no biases. */
static void nomic_synth_writes_converter_layout(void **state) {
    (void)state;
    if (!bge_vocab()) skip();
    const char *path = tl_test_tmp_path("nomic-layout.gguf");
    const tl_synth_params params = {
        .preset = "nomic-embed-text-v1.5", .weight_type = "q8_0", .seed = 7, .vocab_path = bge_vocab(), .tiny = true};
    tl_error err = {0};
    assert_int_equal(tl_synth(&params, path, &err), TL_OK);
    gguf_file *f = NULL;
    assert_int_equal(gguf_open(path, &f, &err), TL_OK);
    uint32_t u = 0;
    float base = 0;
    assert_string_equal(gguf_get_str(f, "general.architecture"), "nomic-bert");
    assert_true(gguf_get_u32(f, "nomic-bert.pooling_type", &u) && u == 1);
    assert_true(gguf_get_u32(f, "nomic-bert.context_length", &u) && u == 2048);
    assert_true(gguf_get_f32(f, "nomic-bert.rope.freq_base", &base) && base == 1000.0f);
    assert_true(gguf_get_u32(f, "tokenizer.ggml.token_type_count", &u) && u == 2);
    assert_non_null(gguf_find_tensor(f, "blk.1.attn_qkv.weight"));
    assert_int_equal(gguf_find_tensor(f, "blk.1.attn_qkv.weight")->ne[1], 3 * 128);
    assert_non_null(gguf_find_tensor(f, "blk.0.ffn_gate.weight"));
    assert_non_null(gguf_find_tensor(f, "token_types.weight"));
    const char *absent[] = {"position_embd.weight",   "blk.0.attn_q.weight", "blk.0.attn_qkv.bias",
                            "blk.0.attn_output.bias", "blk.0.ffn_up.bias",   "blk.0.ffn_down.bias"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        if (gguf_find_tensor(f, absent[i])) fail_msg("unexpected tensor %s", absent[i]);
    /* per layer: qkv, output, 2 norms x 2, up, gate, down */
    assert_int_equal(gguf_tensor_count(f), 4 + 2 * 9);
    gguf_close(f);
    /* It loads as an encoder with the preset's pooling. */
    tl_model *m = load_ok(path);
    assert_false(tl_model_has_decoder(m));
    assert_int_equal(tl_model_pooling(m), TL_POOLING_MEAN);
    tl_model_free(m);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encoder_matches_plain_implementation),
        cmocka_unit_test(fused_qkv_and_grouped_heads_match),
        cmocka_unit_test(nomic_encoder_matches_plain_implementation),
        cmocka_unit_test(model_describes_itself),
        cmocka_unit_test(bad_models_are_refused_with_one_line),
        cmocka_unit_test(context_limits),
        cmocka_unit_test(pooling_and_normalization),
        cmocka_unit_test(embed_batch_matches_each_alone),
        cmocka_unit_test(embed_batch_errors),
        cmocka_unit_test(synth_writes_converter_layout),
        cmocka_unit_test(nomic_synth_writes_converter_layout),
        cmocka_unit_test(synth_models_match_llama_cpp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
