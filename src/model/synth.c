/*
 * synth.c — random-weight GGUF models with real shapes (see synth.h).
 *
 * Weights are uniform pseudo-random numbers scaled like a trained network's
 * (std ≈ 1/sqrt(fan-in)), so activations and logits have realistic ranges.
 * Each tensor's generator is seeded from the seed and the tensor's name, so
 * a tensor's values do not depend on which other tensors exist.
 */
#include "model/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/gguf.h"
#include "tensor/types.h"
#include "util/error.h"

static const tl_synth_preset presets[] = {
    /* Real shapes (hyper-parameters as in the models' config.json). */
    {"smollm2-135m", "llama", "ggml-vocab-smollm.gguf", 576, 30, 1536, 9, 3, 8192, 100000.0f, 1e-5f,
     true, false, 0, 0, 0, 0},
    {"smollm2-360m", "llama", "ggml-vocab-smollm.gguf", 960, 32, 2560, 15, 5, 8192, 100000.0f, 1e-5f,
     true, false, 0, 0, 0, 0},
    {"qwen2.5-0.5b", "qwen2", "ggml-vocab-qwen2.gguf", 896, 24, 4864, 14, 2, 32768, 1000000.0f, 1e-6f,
     true, false, 0, 0, 0, 0},
    {"tinyllama-1.1b", "llama", "ggml-vocab-llama-spm.gguf", 2048, 22, 5632, 32, 4, 2048, 10000.0f,
     1e-5f, false, false, 0, 0, 0, 0},
    {"llama3.2-1b", "llama", "ggml-vocab-llama-bpe.gguf", 2048, 16, 8192, 32, 8, 131072, 500000.0f,
     1e-5f, true, true, 32.0f, 1.0f, 4.0f, 8192},
    /* Tiny shapes with real vocabularies, for tests against llama.cpp. */
    {"qwen2-test", "qwen2", "ggml-vocab-qwen2.gguf", 64, 2, 160, 4, 2, 4096, 1000000.0f, 1e-6f, true,
     false, 0, 0, 0, 0},
    {"llama3-test", "llama", "ggml-vocab-llama-bpe.gguf", 64, 2, 160, 4, 1, 4096, 500000.0f, 1e-5f,
     false, true, 32.0f, 1.0f, 4.0f, 8192},
    /* 32-wide heads, so every KV cache type (q8_0 too) can be tested. */
    {"llama-test-hd32", "llama", "ggml-vocab-llama-spm.gguf", 128, 2, 256, 4, 2, 2048, 10000.0f, 1e-5f,
     false, false, 0, 0, 0, 0},
};

const tl_synth_preset *tl_synth_find_preset(const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0) return &presets[i];
    return NULL;
}

int tl_synth_preset_count(void) { return (int)(sizeof presets / sizeof presets[0]); }
const tl_synth_preset *tl_synth_preset_at(int i) { return &presets[i]; }

/* splitmix64: tiny, fast, and identical everywhere. */
static uint64_t next_u64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t name_seed(uint64_t seed, const char *name) {
    uint64_t h = 1469598103934665603ull ^ seed; /* FNV-1a over the name */
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

/* n values uniform in [center - spread, center + spread). */
static void fill_uniform(float *x, size_t n, uint64_t seed, const char *name, float center,
                         float spread) {
    uint64_t state = name_seed(seed, name);
    for (size_t i = 0; i < n; i++) {
        float u = (float)(next_u64(&state) >> 40) * (1.0f / 16777216.0f); /* [0, 1) */
        x[i] = center + spread * (2.0f * u - 1.0f);
    }
}

/* ---- which type each tensor gets ---------------------------------------- */

/* The file types llama-quantize writes, by the name users give them: a base
 * type plus llama.cpp's rules for which tensors get more bits. */
typedef enum mix_kind { MIX_PLAIN, MIX_Q2_K, MIX_Q3_K_M, MIX_Q4_K_M, MIX_Q5_K_M, MIX_Q6_K } mix_kind;

typedef struct type_plan {
    mix_kind mix;
    uint32_t base;      /* ggml type of ordinary matrices */
    uint32_t file_type; /* general.file_type (llama_ftype) */
} type_plan;

static const struct {
    const char *name;
    type_plan plan;
} plans[] = {
    {"f32", {MIX_PLAIN, TL_TYPE_F32, 0}},    {"f16", {MIX_PLAIN, TL_TYPE_F16, 1}},
    {"bf16", {MIX_PLAIN, TL_TYPE_BF16, 32}}, {"q4_0", {MIX_PLAIN, TL_TYPE_Q4_0, 2}},
    {"q4_1", {MIX_PLAIN, TL_TYPE_Q4_1, 3}},  {"q8_0", {MIX_PLAIN, TL_TYPE_Q8_0, 7}},
    {"q5_0", {MIX_PLAIN, TL_TYPE_Q5_0, 8}},  {"q5_1", {MIX_PLAIN, TL_TYPE_Q5_1, 9}},
    {"q2_k", {MIX_Q2_K, TL_TYPE_Q2_K, 10}},  {"q3_k_m", {MIX_Q3_K_M, TL_TYPE_Q3_K, 12}},
    {"q4_k_m", {MIX_Q4_K_M, TL_TYPE_Q4_K, 15}}, {"q5_k_m", {MIX_Q5_K_M, TL_TYPE_Q5_K, 17}},
    {"q6_k", {MIX_Q6_K, TL_TYPE_Q6_K, 18}},
};

typedef enum tensor_role {
    ROLE_TOKEN_EMBD, ROLE_OUTPUT, ROLE_ATTN_Q, ROLE_ATTN_K, ROLE_ATTN_V, ROLE_ATTN_OUTPUT,
    ROLE_FFN_GATE, ROLE_FFN_UP, ROLE_FFN_DOWN
} tensor_role;

/* llama.cpp's "use more bits" layers: the first and last eighth, and every
 * third layer between. */
static bool more_bits(uint32_t layer, uint32_t n_layer) {
    const int i = (int)layer, n = (int)n_layer;
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

/* A K type whose 256-element blocks do not fit the rows falls back to a
 * 32-element type, as llama-quantize does. */
static uint32_t fit_rows(uint32_t type, int64_t n_cols) {
    if (n_cols % tl_type_traits_of(type)->block_size == 0) return type;
    switch (type) {
    case TL_TYPE_Q2_K:
    case TL_TYPE_Q3_K: return TL_TYPE_Q4_0;
    case TL_TYPE_Q4_K: return TL_TYPE_Q5_0;
    case TL_TYPE_Q5_K: return TL_TYPE_Q5_1;
    case TL_TYPE_Q6_K: return TL_TYPE_Q8_0;
    default: return TL_TYPE_F16;
    }
}

/* The type of one matrix, following llama.cpp's llama_tensor_get_type for
 * these mixtures (dense models, no experts). */
static uint32_t tensor_type(const type_plan *plan, tensor_role role, uint32_t layer,
                            uint32_t n_layer, uint32_t n_gqa, bool tied, int64_t n_cols) {
    uint32_t t = plan->base;
    if (plan->mix == MIX_PLAIN) return t;
    if (role == ROLE_OUTPUT || (tied && role == ROLE_TOKEN_EMBD))
        return n_cols % 256 != 0 ? TL_TYPE_Q8_0 : TL_TYPE_Q6_K;
    switch (role) {
    case ROLE_ATTN_V:
        if (plan->mix == MIX_Q2_K) t = n_gqa >= 4 ? TL_TYPE_Q4_K : TL_TYPE_Q3_K;
        else if (plan->mix == MIX_Q3_K_M) t = layer < 2 ? TL_TYPE_Q5_K : TL_TYPE_Q4_K;
        else if ((plan->mix == MIX_Q4_K_M || plan->mix == MIX_Q5_K_M) && more_bits(layer, n_layer))
            t = TL_TYPE_Q6_K;
        break;
    case ROLE_FFN_DOWN:
        if (plan->mix == MIX_Q2_K) t = TL_TYPE_Q3_K;
        else if (plan->mix == MIX_Q3_K_M) t = layer < n_layer / 16 ? TL_TYPE_Q5_K : TL_TYPE_Q4_K;
        else if ((plan->mix == MIX_Q4_K_M || plan->mix == MIX_Q5_K_M) && more_bits(layer, n_layer))
            t = TL_TYPE_Q6_K;
        break;
    case ROLE_ATTN_OUTPUT:
        if (plan->mix == MIX_Q2_K) t = TL_TYPE_Q3_K;
        else if (plan->mix == MIX_Q3_K_M) t = TL_TYPE_Q4_K;
        break;
    default: break;
    }
    return fit_rows(t, n_cols);
}

typedef struct synth_writer {
    gguf_writer *w;
    const tl_synth_options *opts;
    const tl_synth_preset *preset;
    type_plan plan;
    tl_error *err;
} synth_writer;

static tl_status add_tensor(synth_writer *s, const char *name, uint32_t type, int64_t n_cols,
                            int64_t n_rows, float center, float spread) {
    const size_t n = (size_t)(n_cols * n_rows);
    float *values = malloc(n * sizeof *values);
    if (!values) return tl_fail(s->err, TL_ERR_NOMEM, "out of memory generating '%s'", name);
    fill_uniform(values, n, s->opts->seed, name, center, spread);
    const tl_type_traits *t = tl_type_traits_of(type);
    if (!t->from_float) {
        free(values);
        return tl_fail(s->err, TL_ERR_UNSUPPORTED, "tensor type %s cannot be written", t->name);
    }
    void *data = values;
    if (type != TL_TYPE_F32) {
        data = malloc(tl_type_row_bytes(type, n_cols) * (size_t)n_rows);
        if (!data) {
            free(values);
            return tl_fail(s->err, TL_ERR_NOMEM, "out of memory quantizing '%s'", name);
        }
        for (int64_t r = 0; r < n_rows; r++)
            t->from_float(values + r * n_cols, (uint8_t *)data + r * tl_type_row_bytes(type, n_cols),
                          n_cols);
    }
    int64_t ne[2] = {n_cols, n_rows};
    tl_status st = gguf_writer_add_tensor(s->w, name, type, n_rows > 1 ? 2 : 1, ne, data, s->err);
    if (data != values) free(data);
    free(values);
    return st;
}

static tl_status add_matrix(synth_writer *s, const char *name, tensor_role role, uint32_t layer,
                            int64_t n_cols, int64_t n_rows, float gain) {
    const tl_synth_preset *p = s->preset;
    const uint32_t type = tensor_type(&s->plan, role, layer, p->n_layer, p->n_head / p->n_head_kv,
                                      p->tied_output, n_cols);
    /* uniform(-a, a) has std a/sqrt(3): a = gain*sqrt(3/fan_in) gives std gain/sqrt(fan_in). */
    return add_tensor(s, name, type, n_cols, n_rows, 0.0f, gain * sqrtf(3.0f / (float)n_cols));
}

/* Copies every tokenizer.* key of the vocabulary file. */
static tl_status copy_vocab(synth_writer *s, const gguf_file *f) {
    for (int64_t i = 0; i < gguf_kv_count(f); i++) {
        const char *key = gguf_kv_key(f, i);
        if (strncmp(key, "tokenizer.", 10) != 0) continue;
        gguf_value_type type = gguf_kv_type(f, i), elem;
        uint64_t count, u64;
        uint32_t u32;
        int32_t i32;
        float f32;
        bool b;
        switch (type) {
        case GGUF_TYPE_STRING: gguf_writer_set_str(s->w, key, gguf_get_str(f, key)); break;
        case GGUF_TYPE_BOOL:
            if (gguf_get_bool(f, key, &b)) gguf_writer_set_bool(s->w, key, b);
            break;
        case GGUF_TYPE_FLOAT32:
        case GGUF_TYPE_FLOAT64:
            if (gguf_get_f32(f, key, &f32)) gguf_writer_set_f32(s->w, key, f32);
            break;
        case GGUF_TYPE_INT8:
        case GGUF_TYPE_INT16:
        case GGUF_TYPE_INT32:
        case GGUF_TYPE_INT64:
            if (gguf_get_i32(f, key, &i32)) gguf_writer_set_i32(s->w, key, i32);
            break;
        case GGUF_TYPE_UINT64:
            if (gguf_get_u64(f, key, &u64)) gguf_writer_set_u64(s->w, key, u64);
            break;
        case GGUF_TYPE_ARRAY:
            gguf_get_arr_info(f, key, &elem, &count);
            if (elem != GGUF_TYPE_STRING) {
                gguf_writer_set_arr(s->w, key, elem, gguf_get_arr_data(f, key), count);
                break;
            }
            {
                char **strs = calloc(count ? count : 1, sizeof *strs);
                bool ok = strs != NULL;
                for (uint64_t j = 0; ok && j < count; j++) {
                    uint64_t len;
                    const char *str = gguf_get_arr_str(f, key, j, &len);
                    if ((strs[j] = malloc(len + 1)) == NULL) ok = false;
                    else {
                        memcpy(strs[j], str, len);
                        strs[j][len] = 0;
                    }
                }
                if (ok) gguf_writer_set_arr_str(s->w, key, (const char *const *)strs, count);
                for (uint64_t j = 0; strs && j < count; j++) free(strs[j]);
                free(strs);
                if (!ok) return tl_fail(s->err, TL_ERR_NOMEM, "out of memory copying '%s'", key);
            }
            break;
        default:
            if (gguf_get_u32(f, key, &u32)) gguf_writer_set_u32(s->w, key, u32);
            break;
        }
    }
    return TL_OK;
}

/* Llama 3.1+ RoPE scaling as the Hugging Face converter writes it: one
 * divisor per rotated frequency, 1 for short wavelengths, `factor` for long
 * ones, and a smooth blend between. */
static tl_status add_llama3_rope_factors(synth_writer *s, const tl_synth_preset *p, int head_dim) {
    const int n = head_dim / 2;
    float factors[512];
    const double low_wavelen = p->original_ctx / p->low_freq_factor;
    const double high_wavelen = p->original_ctx / p->high_freq_factor;
    for (int i = 0; i < n; i++) {
        const double freq = 1.0 / pow((double)p->rope_theta, (2.0 * i) / head_dim);
        const double wavelen = 2.0 * M_PI / freq;
        if (wavelen < high_wavelen) factors[i] = 1.0f;
        else if (wavelen > low_wavelen) factors[i] = p->rope_factor;
        else {
            const double smooth = (p->original_ctx / wavelen - p->low_freq_factor) /
                                  (p->high_freq_factor - p->low_freq_factor);
            factors[i] = (float)(1.0 / ((1.0 - smooth) / p->rope_factor + smooth));
        }
    }
    int64_t ne[1] = {n};
    return gguf_writer_add_tensor(s->w, "rope_freqs.weight", TL_TYPE_F32, 1, ne, factors, s->err);
}

#define TRY(expr)                                 \
    do {                                          \
        tl_status try_status_ = (expr);           \
        if (try_status_ != TL_OK) goto done;      \
    } while (0)

tl_status tl_synth_write(const tl_synth_preset *p, const tl_synth_options *opts,
                         const char *out_path, tl_error *err) {
    const type_plan *plan = NULL;
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++)
        if (strcmp(plans[i].name, opts->type_name) == 0) plan = &plans[i].plan;
    if (!plan)
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "unknown weight type '%s' (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, "
                       "q3_k_m, q4_k_m, q5_k_m, q6_k)", opts->type_name);
    const int64_t head_dim = p->n_embd / p->n_head;
    const int64_t kv_dim = head_dim * p->n_head_kv;
    const int64_t block = tl_type_traits_of(plan->base)->block_size;
    if (block == 32 && (p->n_embd % 32 || p->n_ff % 32))
        return tl_fail(err, TL_ERR_ARGUMENT, "%s: rows of %u and %u elements do not fit %s blocks of 32",
                       p->name, p->n_embd, p->n_ff, opts->type_name);
    if (head_dim > 1024) return tl_fail(err, TL_ERR_ARGUMENT, "%s: head size too large", p->name);

    gguf_file *vocab = NULL;
    tl_status st = gguf_open(opts->vocab_path, &vocab, err);
    if (st != TL_OK) return st;
    gguf_value_type elem;
    uint64_t n_vocab = 0;
    if (!gguf_get_arr_info(vocab, "tokenizer.ggml.tokens", &elem, &n_vocab) || n_vocab == 0) {
        gguf_close(vocab);
        return tl_fail(err, TL_ERR_FORMAT, "%s: no tokenizer.ggml.tokens to copy", opts->vocab_path);
    }

    synth_writer s = {.w = gguf_writer_new(), .opts = opts, .preset = p, .plan = *plan, .err = err};
    if (!s.w) {
        gguf_close(vocab);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    char key[128], name[128];
    gguf_writer_set_str(s.w, "general.architecture", p->arch);
    snprintf(name, sizeof name, "%s (random weights, seed %llu)", p->name, (unsigned long long)opts->seed);
    gguf_writer_set_str(s.w, "general.name", name);
    gguf_writer_set_u32(s.w, "general.file_type", plan->file_type);
#define ARCH_KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, p->arch), key)
    gguf_writer_set_u32(s.w, ARCH_KEY("context_length"), p->n_ctx);
    gguf_writer_set_u32(s.w, ARCH_KEY("embedding_length"), p->n_embd);
    gguf_writer_set_u32(s.w, ARCH_KEY("block_count"), p->n_layer);
    gguf_writer_set_u32(s.w, ARCH_KEY("feed_forward_length"), p->n_ff);
    gguf_writer_set_u32(s.w, ARCH_KEY("attention.head_count"), p->n_head);
    gguf_writer_set_u32(s.w, ARCH_KEY("attention.head_count_kv"), p->n_head_kv);
    gguf_writer_set_u32(s.w, ARCH_KEY("rope.dimension_count"), (uint32_t)head_dim);
    gguf_writer_set_f32(s.w, ARCH_KEY("rope.freq_base"), p->rope_theta);
    gguf_writer_set_f32(s.w, ARCH_KEY("attention.layer_norm_rms_epsilon"), p->norm_eps);
#undef ARCH_KEY
    TRY(st = copy_vocab(&s, vocab));

    const int64_t d = p->n_embd, ff = p->n_ff;
    const uint32_t embd_type = tensor_type(plan, ROLE_TOKEN_EMBD, 0, p->n_layer, p->n_head / p->n_head_kv,
                                           p->tied_output, d);
    TRY(st = add_tensor(&s, "token_embd.weight", embd_type, d, (int64_t)n_vocab, 0.0f, 1.0f));
    TRY(st = add_tensor(&s, "output_norm.weight", TL_TYPE_F32, d, 1, 1.0f, 0.1f));
    if (!p->tied_output) TRY(st = add_matrix(&s, "output.weight", ROLE_OUTPUT, 0, d, (int64_t)n_vocab, 4.0f));
    if (p->llama3_rope) TRY(st = add_llama3_rope_factors(&s, p, (int)head_dim));
    const bool qkv_bias = strcmp(p->arch, "qwen2") == 0;
    for (uint32_t il = 0; il < p->n_layer; il++) {
#define LAYER(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
        TRY(st = add_tensor(&s, LAYER("attn_norm.weight"), TL_TYPE_F32, d, 1, 1.0f, 0.1f));
        TRY(st = add_matrix(&s, LAYER("attn_q.weight"), ROLE_ATTN_Q, il, d, d, 1.0f));
        TRY(st = add_matrix(&s, LAYER("attn_k.weight"), ROLE_ATTN_K, il, d, kv_dim, 1.0f));
        TRY(st = add_matrix(&s, LAYER("attn_v.weight"), ROLE_ATTN_V, il, d, kv_dim, 1.0f));
        if (qkv_bias) {
            TRY(st = add_tensor(&s, LAYER("attn_q.bias"), TL_TYPE_F32, d, 1, 0.0f, 0.5f));
            TRY(st = add_tensor(&s, LAYER("attn_k.bias"), TL_TYPE_F32, kv_dim, 1, 0.0f, 0.5f));
            TRY(st = add_tensor(&s, LAYER("attn_v.bias"), TL_TYPE_F32, kv_dim, 1, 0.0f, 0.5f));
        }
        TRY(st = add_matrix(&s, LAYER("attn_output.weight"), ROLE_ATTN_OUTPUT, il, d, d, 1.0f));
        TRY(st = add_tensor(&s, LAYER("ffn_norm.weight"), TL_TYPE_F32, d, 1, 1.0f, 0.1f));
        TRY(st = add_matrix(&s, LAYER("ffn_gate.weight"), ROLE_FFN_GATE, il, d, ff, 1.0f));
        TRY(st = add_matrix(&s, LAYER("ffn_up.weight"), ROLE_FFN_UP, il, d, ff, 1.0f));
        TRY(st = add_matrix(&s, LAYER("ffn_down.weight"), ROLE_FFN_DOWN, il, ff, d, 1.0f));
#undef LAYER
    }
    st = gguf_writer_write(s.w, out_path, err);
done:
    gguf_writer_free(s.w);
    gguf_close(vocab);
    return st;
}

/* --- public wrappers --------------------------------------------------- */

tl_status tl_synth_model(const char *preset, const char *weight_type, uint64_t seed,
                         const char *vocab_path, const char *out_path, tl_error *err) {
    const tl_synth_preset *p = preset ? tl_synth_find_preset(preset) : NULL;
    if (!p) return tl_fail(err, TL_ERR_ARGUMENT, "unknown preset '%s'", preset ? preset : "");
    tl_synth_options opts = {.type_name = weight_type ? weight_type : "", .seed = seed,
                             .vocab_path = vocab_path};
    return tl_synth_write(p, &opts, out_path, err);
}

const char *tl_synth_preset_name(int i, const char **vocab_file) {
    if (i < 0 || i >= tl_synth_preset_count()) return NULL;
    if (vocab_file) *vocab_file = presets[i].vocab_file;
    return presets[i].name;
}
