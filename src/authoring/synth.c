/*
 * synth.c — random-weight GGUF models with real shapes (see synth.h): the
 * presets, their test-sized variants, the vocabulary, and the general.*
 * keys; each family's writer (synth_decoder.c, synth_bert.c, synth_t5.c)
 * adds its hyper-parameters and tensors.
 */
#include "authoring/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authoring/authoring.h"
#include "authoring/synth_internal.h"
#include "authoring/synth_vocab.h"
#include "model/arch.h"
#include "tensor/types.h"
#include "util/error.h"

#define VOCAB(file) "llama.cpp-vocab/" file

/* Real shapes: hyper-parameters as in each model's config.json. Vocabularies
 * are the real ones where a file is at hand; otherwise a stand-in of the same
 * kind (noted). */
// clang-format off
static const tl_synth_preset presets[] = {
    {.name = "smollm2-135m", .arch = "llama", .vocab = VOCAB("ggml-vocab-smollm.gguf"), .n_embd = 576,
     .n_layer = 30, .n_ff = 1536, .n_head = 9, .n_head_kv = 3, .n_ctx = 8192, .rope_theta = 100000.0f,
     .norm_eps = 1e-5f, .tied_output = true},
    {.name = "smollm2-360m", .arch = "llama", .vocab = VOCAB("ggml-vocab-smollm.gguf"), .n_embd = 960,
     .n_layer = 32, .n_ff = 2560, .n_head = 15, .n_head_kv = 5, .n_ctx = 8192, .rope_theta = 100000.0f,
     .norm_eps = 1e-5f, .tied_output = true},
    {.name = "qwen2.5-0.5b", .arch = "qwen2", .vocab = VOCAB("ggml-vocab-qwen2.gguf"), .n_embd = 896,
     .n_layer = 24, .n_ff = 4864, .n_head = 14, .n_head_kv = 2, .n_ctx = 32768, .rope_theta = 1000000.0f,
     .norm_eps = 1e-6f, .tied_output = true},
    {.name = "tinyllama-1.1b", .arch = "llama", .vocab = VOCAB("ggml-vocab-llama-spm.gguf"),
     .n_embd = 2048, .n_layer = 22, .n_ff = 5632, .n_head = 32, .n_head_kv = 4, .n_ctx = 2048,
     .rope_theta = 10000.0f, .norm_eps = 1e-5f},
    {.name = "llama3.2-1b", .arch = "llama", .vocab = VOCAB("ggml-vocab-llama-bpe.gguf"), .n_embd = 2048,
     .n_layer = 16, .n_ff = 8192, .n_head = 32, .n_head_kv = 8, .n_ctx = 131072, .rope_theta = 500000.0f,
     .norm_eps = 1e-5f, .tied_output = true, .llama3_rope = true, .rope_factor = 32.0f,
     .low_freq_factor = 1.0f, .high_freq_factor = 4.0f, .original_ctx = 8192},
    /* Phi-3.5-mini: fused projections, LongRoPE (the converter's long/short
     * factor tensors and attention factor). Its
     * sliding_window is written but, as in llama.cpp, not applied. */
    {.name = "phi3-mini", .arch = "phi3", .vocab = VOCAB("ggml-vocab-phi-3.gguf"), .n_embd = 3072,
     .n_layer = 32, .n_ff = 8192, .n_head = 32, .n_head_kv = 32, .n_ctx = 131072, .rope_theta = 10000.0f,
     .norm_eps = 1e-5f, .fused_qkv = true, .fused_gate_up = true, .longrope = true,
     .original_ctx = 4096, .n_swa = 262144},
    /* Gemma 3 270M: 256-wide heads, q/k norms, 5 local (window 512, base
     * 10000) layers per global one. */
    {.name = "gemma3-270m", .arch = "gemma3", .vocab = "gemma3/tokenizer.json", .n_embd = 640,
     .n_layer = 18, .n_ff = 2048, .n_head = 4, .n_head_kv = 1, .head_dim = 256, .n_ctx = 32768,
     .rope_theta = 1000000.0f, .rope_theta_swa = 10000.0f, .norm_eps = 1e-6f, .tied_output = true,
     .n_swa = 512, .swa_pattern = 6},
    /* Qwen3 0.6B and 1.7B: per-head q/k RMS norms, no biases, 128-wide
     * heads (16 x 128 is not the width), tied embeddings. Vocabulary:
     * llama.cpp's ggml-vocab-qwen2.gguf holds Qwen3's (the tokens, merges,
     * added tokens and chat template of its tokenizer.json), 151,669 tokens,
     * padded to config.json's 151,936 as the converter does. */
    {.name = "qwen3-0.6b", .arch = "qwen3", .vocab = VOCAB("ggml-vocab-qwen2.gguf"), .n_vocab = 151936, .n_embd = 1024,
     .n_layer = 28, .n_ff = 3072, .n_head = 16, .n_head_kv = 8, .head_dim = 128, .n_ctx = 40960,
     .rope_theta = 1000000.0f, .norm_eps = 1e-6f, .tied_output = true},
    {.name = "qwen3-1.7b", .arch = "qwen3", .vocab = VOCAB("ggml-vocab-qwen2.gguf"), .n_vocab = 151936, .n_embd = 2048,
     .n_layer = 28, .n_ff = 6144, .n_head = 16, .n_head_kv = 8, .head_dim = 128, .n_ctx = 40960,
     .rope_theta = 1000000.0f, .norm_eps = 1e-6f, .tied_output = true},
    /* Gemma 2 2B and Gemma 2B (vocabulary: Gemma 3's stands in for their
     * 256000-token one). */
    {.name = "gemma2-2b", .arch = "gemma2", .vocab = "gemma3/tokenizer.json", .n_embd = 2304,
     .n_layer = 26, .n_ff = 9216, .n_head = 8, .n_head_kv = 4, .head_dim = 256, .n_ctx = 8192,
     .rope_theta = 10000.0f, .norm_eps = 1e-6f, .tied_output = true, .n_swa = 4096, .swa_pattern = 2,
     .attn_softcap = 50.0f, .final_softcap = 30.0f},
    {.name = "gemma-2b", .arch = "gemma", .vocab = "gemma3/tokenizer.json", .n_embd = 2048,
     .n_layer = 18, .n_ff = 16384, .n_head = 8, .n_head_kv = 1, .head_dim = 256, .n_ctx = 8192,
     .rope_theta = 10000.0f, .norm_eps = 1e-6f, .tied_output = true},
    /* StableLM 2 1.6B: LayerNorm with bias, 25% rotary, q/k/v biases
     * (vocabulary: GPT-2's stands in for its 100352-token Arcade100k). */
    {.name = "stablelm2-1.6b", .arch = "stablelm", .vocab = VOCAB("ggml-vocab-gpt-2.gguf"),
     .n_embd = 2048, .n_layer = 24, .n_ff = 5632, .n_head = 32, .n_head_kv = 32, .n_rot = 16,
     .n_ctx = 4096, .rope_theta = 10000.0f, .norm_eps = 1e-5f, .qkv_bias = true},
    /* StableLM 2 12B: per-head q/k LayerNorms, parallel residual, GQA (for
     * --tiny tests of those paths; far above tinyllm's size range). */
    {.name = "stablelm2-12b", .arch = "stablelm", .vocab = VOCAB("ggml-vocab-gpt-2.gguf"),
     .n_embd = 5120, .n_layer = 40, .n_ff = 13824, .n_head = 32, .n_head_kv = 8, .n_rot = 40,
     .n_ctx = 4096, .rope_theta = 10000.0f, .norm_eps = 1e-5f, .qk_norm = true, .parallel_residual = true},
    /* all-MiniLM-L6-v2: BERT encoder, mean pooling (uncased BERT vocabulary). */
    {.name = "all-minilm-l6-v2", .arch = "bert", .vocab = VOCAB("ggml-vocab-bert-bge.gguf"),
     .n_embd = 384, .n_layer = 6, .n_ff = 1536, .n_head = 12, .n_head_kv = 12, .n_ctx = 512,
     .norm_eps = 1e-12f, .qkv_bias = true, .n_token_types = 2, .pooling = 1},
    /* ms-marco-MiniLM-L-6-v2 (cross-encoder): the same encoder with rank
     * pooling and a classification head of one output. */
    {.name = "ms-marco-minilm-l6-v2", .arch = "bert", .vocab = VOCAB("ggml-vocab-bert-bge.gguf"),
     .n_embd = 384, .n_layer = 6, .n_ff = 1536, .n_head = 12, .n_head_kv = 12, .n_ctx = 512,
     .norm_eps = 1e-12f, .qkv_bias = true, .n_token_types = 2, .pooling = 4, .n_cls_out = 1},
    /* nomic-embed-text v1.5 (and v1, the same shape): rotary positions (base
     * 1000), fused q/k/v, SwiGLU, no biases, mean pooling, uncased BERT
     * vocabulary. */
    {.name = "nomic-embed-text-v1.5", .arch = "nomic-bert", .vocab = VOCAB("ggml-vocab-bert-bge.gguf"),
     .n_embd = 768, .n_layer = 12, .n_ff = 3072, .n_head = 12, .n_head_kv = 12, .n_ctx = 2048,
     .rope_theta = 1000.0f, .norm_eps = 1e-12f, .fused_qkv = true, .n_token_types = 2, .pooling = 1},
    /* FLAN-T5-small: 8+8 layers, 6 heads of 64, gated GELU, 32 buckets. */
    {.name = "flan-t5-small", .arch = "t5", .vocab = "@unigram", .n_embd = 512, .n_layer = 8,
     .n_layer_dec = 8, .n_ff = 1024, .n_head = 6, .n_head_kv = 6, .head_dim = 64, .n_ctx = 512,
     .norm_eps = 1e-6f, .n_rel_buckets = 32},
    /* Tiny shapes with real vocabularies, for tests against llama.cpp. */
    {.name = "qwen2-test", .arch = "qwen2", .vocab = VOCAB("ggml-vocab-qwen2.gguf"), .n_embd = 64,
     .n_layer = 2, .n_ff = 160, .n_head = 4, .n_head_kv = 2, .n_ctx = 4096, .rope_theta = 1000000.0f,
     .norm_eps = 1e-6f, .tied_output = true},
    {.name = "llama3-test", .arch = "llama", .vocab = VOCAB("ggml-vocab-llama-bpe.gguf"), .n_embd = 64,
     .n_layer = 2, .n_ff = 160, .n_head = 4, .n_head_kv = 1, .n_ctx = 4096, .rope_theta = 500000.0f,
     .norm_eps = 1e-5f, .llama3_rope = true, .rope_factor = 32.0f, .low_freq_factor = 1.0f,
     .high_freq_factor = 4.0f, .original_ctx = 8192},
    /* 32-wide heads, so every KV cache type (q8_0 too) can be tested. */
    {.name = "llama-test-hd32", .arch = "llama", .vocab = VOCAB("ggml-vocab-llama-spm.gguf"),
     .n_embd = 128, .n_layer = 2, .n_ff = 256, .n_head = 4, .n_head_kv = 2, .n_ctx = 2048,
     .rope_theta = 10000.0f, .norm_eps = 1e-5f},
};
// clang-format on

const tl_synth_preset *tl_synth_find_preset(const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].name, name) == 0) return &presets[i];
    return NULL;
}

int tl_synth_preset_count(void) {
    return (int)(sizeof presets / sizeof presets[0]);
}
const tl_synth_preset *tl_synth_preset_at(int i) {
    return &presets[i];
}

tl_synth_preset tl_synth_shrink(const tl_synth_preset *p) {
    tl_synth_preset t = *p;
    const uint32_t group = p->n_head / p->n_head_kv;
    t.n_head = 4;
    t.n_head_kv = group >= 4 ? 1 : group >= 2 ? 2 : 4;
    /* 32-wide heads (whole q8_0 blocks); a preset whose head size is not
     * n_embd / n_head keeps that property. */
    t.n_embd = p->head_dim ? 96 : 128;
    t.head_dim = p->head_dim ? 32 : 0;
    t.n_ff = 256;
    t.n_layer = 2;
    if (p->n_layer_dec) t.n_layer_dec = 2;
    if (p->n_rot) t.n_rot = 8; /* partial rotary stays partial */
    /* Short windows, so test prompts cross them; one local and one global layer. */
    if (p->n_swa) t.n_swa = 16;
    if (p->swa_pattern) t.swa_pattern = 2;
    if (p->longrope) t.original_ctx = 128; /* test contexts are longer: the long factors apply */
    return t;
}

/* ---- vocabulary ---------------------------------------------------------- */

/* Copies the array `key` of n elements, extended to n_total: strings with
 * "[PAD<id>]", token types with UNUSED (5), other numbers with 0 — the
 * converter's padding of the token list to config.json's vocab_size. */
static tl_status copy_array(synth_writer *s, const gguf_file *f, const char *key, gguf_value_type elem, uint64_t n,
                            uint64_t n_total) {
    if (elem != GGUF_TYPE_STRING && n_total == n) {
        gguf_writer_set_arr(s->w, key, elem, gguf_get_arr_data(f, key), n);
        return TL_OK;
    }
    if (elem != GGUF_TYPE_STRING) { /* per-token types and scores: 32-bit */
        const size_t size = 4;
        if (elem != GGUF_TYPE_INT32 && elem != GGUF_TYPE_UINT32 && elem != GGUF_TYPE_FLOAT32)
            return tl_fail(s->err, TL_ERR_FORMAT, "'%s' is not an array of 32-bit values", key);
        uint8_t *data = malloc(n_total * size + 1);
        if (!data) return tl_fail(s->err, TL_ERR_NOMEM, "out of memory copying '%s'", key);
        memcpy(data, gguf_get_arr_data(f, key), n * size);
        memset(data + n * size, 0, (n_total - n) * size);
        if (elem == GGUF_TYPE_INT32 && strcmp(key, "tokenizer.ggml.token_type") == 0)
            for (uint64_t j = n; j < n_total; j++) ((int32_t *)data)[j] = 5;
        gguf_writer_set_arr(s->w, key, elem, data, n_total);
        free(data);
        return TL_OK;
    }
    char **strs = calloc(n_total ? n_total : 1, sizeof *strs);
    bool ok = strs != NULL;
    for (uint64_t j = 0; ok && j < n_total; j++) {
        uint64_t len = 0;
        const char *str = j < n ? gguf_get_arr_str(f, key, j, &len) : NULL;
        if ((strs[j] = malloc(j < n ? len + 1 : 32)) == NULL)
            ok = false;
        else if (j >= n)
            snprintf(strs[j], 32, "[PAD%llu]", (unsigned long long)j);
        else {
            memcpy(strs[j], str, len);
            strs[j][len] = 0;
        }
    }
    if (ok) gguf_writer_set_arr_str(s->w, key, (const char *const *)strs, n_total);
    for (uint64_t j = 0; strs && j < n_total; j++) free(strs[j]);
    free(strs);
    return ok ? TL_OK : tl_fail(s->err, TL_ERR_NOMEM, "out of memory copying '%s'", key);
}

/* Copies every tokenizer.* key of the vocabulary file; per-token arrays are
 * padded to the preset's n_vocab (s->n_vocab becomes the padded count). */
static tl_status copy_vocab(synth_writer *s, const gguf_file *f) {
    const uint64_t n_tokens = s->n_vocab;
    const uint64_t n_padded = s->preset->n_vocab > n_tokens ? s->preset->n_vocab : n_tokens;
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
        case GGUF_TYPE_ARRAY: {
            gguf_get_arr_info(f, key, &elem, &count);
            const bool per_token = count == n_tokens && (strcmp(key, "tokenizer.ggml.tokens") == 0 ||
                                                         strcmp(key, "tokenizer.ggml.token_type") == 0 ||
                                                         strcmp(key, "tokenizer.ggml.scores") == 0);
            tl_status st = copy_array(s, f, key, elem, count, per_token ? n_padded : count);
            if (st != TL_OK) return st;
            break;
        }
        default:
            if (gguf_get_u32(f, key, &u32)) gguf_writer_set_u32(s->w, key, u32);
            break;
        }
    }
    s->n_vocab = n_padded;
    return TL_OK;
}

/* Writes the tokenizer.* keys from the vocabulary source (see tl_synth_preset.vocab). */
static tl_status write_vocab(synth_writer *s, const char *path) {
    if (strcmp(path, "@unigram") == 0) {
        s->n_vocab = 32128;
        return tl_synth_vocab_unigram(s->w, (uint32_t)s->n_vocab, s->err);
    }
    const size_t len = strlen(path);
    if (len >= 5 && strcmp(path + len - 5, ".json") == 0)
        return tl_synth_vocab_from_hf(s->w, path, &s->n_vocab, s->err);
    gguf_file *vocab = NULL;
    tl_status st = gguf_open(path, &vocab, s->err);
    if (st != TL_OK) return st;
    gguf_value_type elem;
    if (!gguf_get_arr_info(vocab, "tokenizer.ggml.tokens", &elem, &s->n_vocab) || s->n_vocab == 0)
        st = tl_fail(s->err, TL_ERR_FORMAT, "%s: no tokenizer.ggml.tokens to copy", path);
    else
        st = copy_vocab(s, vocab);
    gguf_close(vocab);
    return st;
}

/* ---- the file ------------------------------------------------------------ */

tl_status tl_synth_write(const tl_synth_preset *preset, const tl_synth_options *opts, const char *out_path,
                         tl_error *err) {
    const type_plan *plan = NULL;
    for (const synth_plan_entry *e = synth_plans; e->name; e++)
        if (strcasecmp(e->name, opts->type_name) == 0) plan = &e->plan; /* "Q4_K_M" as llama-quantize writes it */
    if (!plan)
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "unknown weight type '%s' (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, "
                       "q3_k_m, q4_k_m, q5_k_m, q6_k, iq4_nl, iq4_xs)",
                       opts->type_name);
    const tl_arch *arch = tl_arch_find(preset->arch);
    if (!arch)
        return tl_fail(err, TL_ERR_ARGUMENT, "%s: unknown architecture '%s' (supported: %s)", preset->name,
                       preset->arch, tl_arch_supported_list());
    tl_synth_preset p = opts->tiny ? tl_synth_shrink(preset) : *preset;
    if (opts->n_layer) {
        if (opts->n_layer > p.n_layer || p.n_layer_dec)
            return tl_fail(err, TL_ERR_ARGUMENT, "%s: --layers must be between 1 and %u (a decoder-only preset)",
                           p.name, p.n_layer);
        p.n_layer = opts->n_layer;
    }
    const int64_t block = tl_type_traits_of(plan->base)->block_size;
    if (block == 32 && (p.n_embd % 32 || p.n_ff % 32))
        return tl_fail(err, TL_ERR_ARGUMENT, "%s: rows of %u and %u elements do not fit %s blocks of 32", p.name,
                       p.n_embd, p.n_ff, opts->type_name);

    synth_writer s = {.w = gguf_writer_new(), .opts = opts, .preset = &p, .arch = arch, .plan = *plan, .err = err};
    if (!s.w) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    char name[160];
    gguf_writer_set_str(s.w, "general.architecture", p.arch);
    char layers[32] = "";
    if (opts->n_layer) snprintf(layers, sizeof layers, ", first %u layers", opts->n_layer);
    snprintf(name, sizeof name, "%s%s (random weights, seed %llu%s)", p.name, opts->tiny ? " tiny" : "",
             (unsigned long long)opts->seed, layers);
    gguf_writer_set_str(s.w, "general.name", name);
    gguf_writer_set_u32(s.w, "general.file_type", plan->file_type);
    tl_status st = write_vocab(&s, opts->vocab_path);
    if (st == TL_OK) { /* the writer of the architecture's kind */
        switch (arch->kind) {
        case TL_KIND_DECODER: st = synth_write_decoder(&s); break;
        case TL_KIND_ENCODER: st = synth_write_bert(&s); break;
        case TL_KIND_ENCODER_DECODER: st = synth_write_t5(&s); break;
        }
    }
    if (st == TL_OK) st = gguf_writer_write(s.w, out_path, err);
    gguf_writer_free(s.w);
    return st;
}

/* --- public wrappers --------------------------------------------------- */

tl_status tl_synth(const tl_synth_params *params, const char *out_path, tl_error *err) {
    const tl_synth_preset *p = params->preset ? tl_synth_find_preset(params->preset) : NULL;
    if (!p) return tl_fail(err, TL_ERR_ARGUMENT, "unknown preset '%s'", params->preset ? params->preset : "");
    if (!params->vocab_path) return tl_fail(err, TL_ERR_ARGUMENT, "%s: no vocabulary given", p->name);
    tl_synth_options opts = {.type_name = params->weight_type ? params->weight_type : "",
                             .seed = params->seed,
                             .vocab_path = params->vocab_path,
                             .tiny = params->tiny,
                             .n_layer = params->n_layer};
    return tl_synth_write(p, &opts, out_path, err);
}

tl_status tl_synth_model(const char *preset, const char *weight_type, uint64_t seed, const char *vocab_path,
                         const char *out_path, tl_error *err) {
    tl_synth_params params = {
        .preset = preset, .weight_type = weight_type, .seed = seed, .vocab_path = vocab_path, .tiny = false};
    return tl_synth(&params, out_path, err);
}

const char *tl_synth_preset_name(int i, const char **vocab) {
    if (i < 0 || i >= tl_synth_preset_count()) return NULL;
    if (vocab) *vocab = presets[i].vocab;
    return presets[i].name;
}

const char *tl_synth_preset_arch(int i) {
    return i < 0 || i >= tl_synth_preset_count() ? NULL : presets[i].arch;
}

/* Every kind of row has a writer above, so synth writes every architecture
 * of the table. */
const char *tl_synth_architectures(void) {
    return tl_arch_supported_list();
}
