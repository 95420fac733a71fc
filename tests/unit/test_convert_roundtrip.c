/*
 * test_convert_roundtrip.c — `tinyllm convert` on every decoder
 * architecture: a random-weight model written by tl_synth (tiny, f32, the
 * TinyStories-656K tokenizer.json as vocabulary) is written back in Hugging
 * Face's layout by this test (config.json, model.safetensors with HF's names
 * and conventions: llama's rotate-half q/k rows, Gemma's norms minus one,
 * StableLM's per-head q/k norms, Llama 3 and LongRoPE scaling in
 * config.json), converted, and must give the same logits and greedy tokens
 * as the original. This checks the name mapping, the tensor transforms and
 * the keys of each family against the files the runtime already runs (and
 * that tests/unit/test_golden.c checks against llama.cpp).
 *
 * BERT the same way, with llama.cpp's bge WordPiece vocabulary written back
 * as a tokenizer.json (and a sentence-transformers pooling module): the
 * converted encoder gives the same embeddings, and its vocabulary the same
 * tokens as llama.cpp's on the whole corpus tests/data/hf-corpus.json. A
 * reranker (BertForSequenceClassification: pooler and classifier) also
 * gives the same rerank scores.
 *
 * T5 (FLAN-T5) the same way, with the project's Unigram vocabulary written
 * back as a Unigram tokenizer.json (pieces, scores, base64 charsmap,
 * sentinels): the converted model gives the same encoder output, logits and
 * greedy tokens, its vocabulary the same tokens on the corpus; bad T5
 * configs and Unigram files are refused in one line.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authoring/authoring.h"
#include "authoring/convert_hf.h"
#include "format/gguf.h"
#include "test_support.h"
#include "tinyllm.h"

#define TOKENIZER_DIR "models/TinyStories-656K"

typedef struct roundtrip_case {
    const char *preset;
    const char *hf_class;
} roundtrip_case;

/* ---- writing the Hugging Face folder ------------------------------------- */

typedef struct hf_tensor {
    char name[160];
    int n_dims;
    int64_t shape[4]; /* PyTorch order */
    float *data;
} hf_tensor;

typedef struct hf_folder {
    hf_tensor tensors[512];
    int count;
} hf_folder;

static hf_tensor *add(hf_folder *f, const char *name, int n_dims, const int64_t *shape) {
    assert_true(f->count < 512);
    hf_tensor *t = &f->tensors[f->count++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    int64_t n = 1;
    for (int d = 0; d < n_dims; d++) n *= (t->shape[d] = shape[d]);
    t->data = malloc((size_t)n * sizeof(float));
    assert_non_null(t->data);
    return t;
}

static void write_safetensors(const hf_folder *f, const char *path) {
    cJSON *header = cJSON_CreateObject();
    uint64_t offset = 0;
    for (int i = 0; i < f->count; i++) {
        const hf_tensor *t = &f->tensors[i];
        cJSON *entry = cJSON_AddObjectToObject(header, t->name);
        cJSON_AddStringToObject(entry, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
        uint64_t n = 1;
        for (int d = 0; d < t->n_dims; d++) {
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
            n *= (uint64_t)t->shape[d];
        }
        cJSON *offsets = cJSON_AddArrayToObject(entry, "data_offsets");
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
        offset += n * 4;
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
    }
    char *text = cJSON_PrintUnformatted(header);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    const uint64_t len = strlen(text);
    uint8_t len_bytes[8];
    for (int i = 0; i < 8; i++) len_bytes[i] = (uint8_t)(len >> (8 * i));
    assert_int_equal(fwrite(len_bytes, 1, 8, out), 8);
    assert_int_equal(fwrite(text, 1, len, out), len);
    for (int i = 0; i < f->count; i++) {
        const hf_tensor *t = &f->tensors[i];
        int64_t n = 1;
        for (int d = 0; d < t->n_dims; d++) n *= t->shape[d];
        assert_int_equal(fwrite(t->data, 4, (size_t)n, out), (size_t)n); /* little-endian hosts */
    }
    fclose(out);
    free(text);
    cJSON_Delete(header);
}

/* GGUF names inside "blk.N." to Hugging Face's inside "model.layers.N.". */
static const char *hf_layer_name(const char *gguf, const char *arch) {
    const bool post_norms = strcmp(arch, "gemma2") == 0 || strcmp(arch, "gemma3") == 0;
    static const char *const map[][2] = {
        {"attn_norm", "input_layernorm"},
        {"attn_q", "self_attn.q_proj"},
        {"attn_k", "self_attn.k_proj"},
        {"attn_v", "self_attn.v_proj"},
        {"attn_qkv", "self_attn.qkv_proj"},
        {"attn_output", "self_attn.o_proj"},
        {"attn_q_norm", "self_attn.q_norm"},
        {"attn_k_norm", "self_attn.k_norm"},
        {"post_attention_norm", "post_attention_layernorm"},
        {"post_ffw_norm", "post_feedforward_layernorm"},
        {"ffn_gate", "mlp.gate_proj"},
        {"ffn_down", "mlp.down_proj"},
    };
    if (strcmp(gguf, "ffn_norm") == 0) return post_norms ? "pre_feedforward_layernorm" : "post_attention_layernorm";
    if (strcmp(gguf, "ffn_up") == 0) return strcmp(arch, "phi3") == 0 ? "mlp.gate_up_proj" : "mlp.up_proj";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], gguf) == 0) return map[i][1];
    fail_msg("no Hugging Face name for %s", gguf);
    return NULL;
}

/* HF's rotate-half layout from llama.cpp's interleaved pairs: the inverse
 * of LlamaModel.permute. */
static void unpermute(float *data, int64_t rows, int64_t cols, int64_t n_heads) {
    const int64_t head = rows / n_heads, half = head / 2;
    float *scratch = malloc((size_t)(head * cols) * sizeof *scratch);
    assert_non_null(scratch);
    for (int64_t h = 0; h < n_heads; h++) {
        float *block = data + h * head * cols;
        memcpy(scratch, block, (size_t)(head * cols) * sizeof *scratch);
        for (int64_t i = 0; i < 2; i++)
            for (int64_t j = 0; j < half; j++)
                memcpy(block + (i * half + j) * cols, scratch + (j * 2 + i) * cols, (size_t)cols * sizeof *scratch);
    }
    free(scratch);
}

static uint32_t key_u32(const gguf_file *g, const char *arch, const char *suffix, uint32_t fallback) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint32_t v = fallback;
    gguf_get_u32(g, key, &v);
    return v;
}

static bool key_f32(const gguf_file *g, const char *arch, const char *suffix, float *v) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return gguf_get_f32(g, key, v);
}

static void add_list(cJSON *object, const char *name, const gguf_tensor *t) {
    cJSON *list = cJSON_AddArrayToObject(object, name);
    for (uint64_t i = 0; i < t->n_elements; i++)
        cJSON_AddItemToArray(list, cJSON_CreateNumber(((const float *)t->data)[i]));
}

/* config.json from the GGUF's keys (the values synth wrote). */
static void write_config(const gguf_file *g, const char *hf_class, const char *path) {
    const char *arch = gguf_get_str(g, "general.architecture");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "architectures"), cJSON_CreateString(hf_class));
    uint64_t n_vocab;
    gguf_value_type type;
    assert_true(gguf_get_arr_info(g, "tokenizer.ggml.tokens", &type, &n_vocab));
    const uint32_t n_embd = key_u32(g, arch, "embedding_length", 0),
                   n_head = key_u32(g, arch, "attention.head_count", 0);
    cJSON_AddNumberToObject(c, "vocab_size", (double)n_vocab);
    cJSON_AddNumberToObject(c, "hidden_size", n_embd);
    cJSON_AddNumberToObject(c, "intermediate_size", key_u32(g, arch, "feed_forward_length", 0));
    cJSON_AddNumberToObject(c, "num_hidden_layers", key_u32(g, arch, "block_count", 0));
    cJSON_AddNumberToObject(c, "num_attention_heads", n_head);
    cJSON_AddNumberToObject(c, "num_key_value_heads", key_u32(g, arch, "attention.head_count_kv", 0));
    cJSON_AddNumberToObject(c, "max_position_embeddings", key_u32(g, arch, "context_length", 0));
    const uint32_t head_dim = key_u32(g, arch, "attention.key_length", 0);
    if (head_dim) cJSON_AddNumberToObject(c, "head_dim", head_dim);
    const uint32_t real_head_dim = head_dim ? head_dim : n_embd / n_head;
    float v;
    if (key_f32(g, arch, "rope.freq_base", &v)) cJSON_AddNumberToObject(c, "rope_theta", v);
    if (key_f32(g, arch, "attention.layer_norm_rms_epsilon", &v)) cJSON_AddNumberToObject(c, "rms_norm_eps", v);
    if (key_f32(g, arch, "attention.layer_norm_epsilon", &v)) cJSON_AddNumberToObject(c, "layer_norm_eps", v);
    if (key_f32(g, arch, "rope.freq_base_swa", &v)) cJSON_AddNumberToObject(c, "rope_local_base_freq", v);
    if (key_f32(g, arch, "attn_logit_softcapping", &v)) cJSON_AddNumberToObject(c, "attn_logit_softcapping", v);
    if (key_f32(g, arch, "final_logit_softcapping", &v)) cJSON_AddNumberToObject(c, "final_logit_softcapping", v);
    const uint32_t window = key_u32(g, arch, "attention.sliding_window", 0);
    if (window) cJSON_AddNumberToObject(c, "sliding_window", window);
    const uint32_t pattern = key_u32(g, arch, "attention.sliding_window_pattern", 0);
    if (pattern) cJSON_AddNumberToObject(c, "sliding_window_pattern", pattern);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", gguf_find_tensor(g, "output.weight") == NULL);
    const uint32_t n_rot = key_u32(g, arch, "rope.dimension_count", real_head_dim);
    if (strcmp(arch, "stablelm") == 0) {
        cJSON_AddNumberToObject(c, "partial_rotary_factor", (double)n_rot / real_head_dim);
        /* (synth leaves the key out: no feed-forward norm means parallel) */
        cJSON_AddBoolToObject(c, "use_parallel_residual", gguf_find_tensor(g, "blk.0.ffn_norm.weight") == NULL);
    }
    if (strcmp(arch, "phi3") == 0) {
        cJSON_AddNumberToObject(c, "partial_rotary_factor", (double)n_rot * n_head / n_embd);
        cJSON_AddNumberToObject(c, "original_max_position_embeddings",
                                key_u32(g, arch, "rope.scaling.original_context_length", 0));
        cJSON *scaling = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddStringToObject(scaling, "type", "longrope");
        add_list(scaling, "long_factor", gguf_find_tensor(g, "rope_factors_long.weight"));
        add_list(scaling, "short_factor", gguf_find_tensor(g, "rope_factors_short.weight"));
    }
    if (gguf_find_tensor(g, "rope_freqs.weight")) { /* llama3.2-1b's scaling (synth.c) */
        cJSON *scaling = cJSON_AddObjectToObject(c, "rope_scaling");
        cJSON_AddStringToObject(scaling, "rope_type", "llama3");
        cJSON_AddNumberToObject(scaling, "factor", 32.0);
        cJSON_AddNumberToObject(scaling, "low_freq_factor", 1.0);
        cJSON_AddNumberToObject(scaling, "high_freq_factor", 4.0);
        cJSON_AddNumberToObject(scaling, "original_max_position_embeddings", 8192);
    }
    char *text = cJSON_Print(c);
    assert_true(tl_test_write_file(path, text, strlen(text)));
    free(text);
    cJSON_Delete(c);
}

/* The tensors of the GGUF under Hugging Face's names and conventions. */
static void collect_tensors(const gguf_file *g, hf_folder *f) {
    const char *arch = gguf_get_str(g, "general.architecture");
    const bool gemma = strncmp(arch, "gemma", 5) == 0, llama = strcmp(arch, "llama") == 0;
    const uint32_t n_head = key_u32(g, arch, "attention.head_count", 0),
                   n_kv = key_u32(g, arch, "attention.head_count_kv", 0);
    for (int64_t i = 0; i < gguf_tensor_count(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        assert_int_equal(t->type, 0);                    /* f32 */
        if (strncmp(t->name, "rope_", 5) == 0) continue; /* in config.json */
        char base[96], name[160];
        const char *suffix = strrchr(t->name, '.');
        int64_t shape[4];
        for (uint32_t d = 0; d < t->n_dims; d++) shape[d] = t->ne[t->n_dims - 1 - d];
        unsigned layer = 0;
        if (sscanf(t->name, "blk.%u.%95[^.]", &layer, base) == 2) {
            if (strcmp(arch, "stablelm") == 0 &&
                (strcmp(base, "attn_q_norm") == 0 || strcmp(base, "attn_k_norm") == 0)) {
                /* one LayerNorm per head (synth writes a single head's as 1-D) */
                const int64_t heads = t->n_dims == 2 ? shape[0] : 1, width = t->ne[0];
                for (int64_t h = 0; h < heads; h++) {
                    snprintf(name, sizeof name, "model.layers.%u.self_attn.%s_layernorm.norms.%lld.weight", layer,
                             base[5] == 'q' ? "q" : "k", (long long)h);
                    hf_tensor *out = add(f, name, 1, &width);
                    memcpy(out->data, (const float *)t->data + h * width, (size_t)width * sizeof(float));
                }
                continue;
            }
            snprintf(name, sizeof name, "model.layers.%u.%s%s", layer, hf_layer_name(base, arch), suffix);
        } else {
            const char *hf = strncmp(t->name, "token_embd", 10) == 0    ? "model.embed_tokens"
                             : strncmp(t->name, "output_norm", 11) == 0 ? "model.norm"
                                                                        : "lm_head";
            snprintf(name, sizeof name, "%s%s", hf, suffix);
            snprintf(base, sizeof base, "%.*s", (int)(suffix - t->name), t->name);
        }
        hf_tensor *out = add(f, name, (int)t->n_dims, shape);
        memcpy(out->data, t->data, t->n_elements * sizeof(float));
        if (llama && strcmp(base, "attn_q") == 0 && strcmp(suffix, ".weight") == 0)
            unpermute(out->data, shape[0], shape[1], n_head);
        if (llama && strcmp(base, "attn_k") == 0 && strcmp(suffix, ".weight") == 0)
            unpermute(out->data, shape[0], shape[1], n_kv);
        const size_t n = strlen(base);
        if (gemma && n >= 4 && strcmp(base + n - 4, "norm") == 0 && strcmp(suffix, ".weight") == 0)
            for (uint64_t k = 0; k < t->n_elements; k++) out->data[k] -= 1.0f;
    }
}

/* ---- comparing ----------------------------------------------------------- */

static tl_model *load(const char *path) {
    tl_model *m = NULL;
    tl_error err = {0};
    if (tl_model_load(path, NULL, &m, &err) != TL_OK) fail_msg("%s", err.message);
    return m;
}

/* Logits after a prompt and 8 greedy steps: equal within float rounding. */
static void compare_models(const char *label, const char *a_path, const char *b_path) {
    tl_model *a = load(a_path), *b = load(b_path);
    const int32_t n_vocab = tl_vocab_size(a);
    assert_int_equal(tl_vocab_size(b), n_vocab);
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 128;
    p.n_threads = 2;
    p.type_k = p.type_v = 0;
    tl_context *ca = NULL, *cb = NULL;
    tl_error err = {0};
    if (tl_context_new(a, &p, &ca, &err) != TL_OK || tl_context_new(b, &p, &cb, &err) != TL_OK)
        fail_msg("%s", err.message);
    /* past the tiny models' 16-token windows, so local and global layers differ */
    tl_token tokens[40];
    for (int i = 0; i < 40; i++) tokens[i] = (tl_token)(1 + (i * 37) % (n_vocab - 1));
    assert_int_equal(tl_decode(ca, tokens, 40, 0, false, &err), TL_OK);
    assert_int_equal(tl_decode(cb, tokens, 40, 0, false, &err), TL_OK);
    double worst = 0;
    for (int step = 0; step < 8; step++) {
        const float *la = tl_get_logits(ca, -1), *lb = tl_get_logits(cb, -1);
        tl_token best = 0;
        for (int32_t i = 0; i < n_vocab; i++) {
            const double diff = fabs(la[i] - lb[i]) / (1.0 + fabs(la[i]));
            if (diff > worst) worst = diff;
            if (la[i] > la[best]) best = i;
        }
        if (worst > 1e-4) fail_msg("%s: step %d: logits differ by %g (relative)", label, step, worst);
        assert_int_equal(tl_decode(ca, &best, 1, tl_context_used(ca), false, &err), TL_OK);
        assert_int_equal(tl_decode(cb, &best, 1, tl_context_used(cb), false, &err), TL_OK);
    }
    print_message("%s: converted model equals the original (worst relative logit difference %.2g)\n", label, worst);
    tl_context_free(ca);
    tl_context_free(cb);
    tl_model_free(a);
    tl_model_free(b);
}

/* ---- BERT ----------------------------------------------------------------- */

#define BGE_VOCAB "tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf"

/* Element i of a float array of a GGUF mapping, whatever its alignment. */
static float score_at(const char *array, uint64_t i) {
    float v;
    memcpy(&v, array + i * sizeof v, sizeof v);
    return v;
}

/* An entry of tokenizer.json's added_tokens: a special token. */
static void add_special_token(cJSON *added, uint64_t id, const char *text) {
    cJSON *token = cJSON_CreateObject();
    cJSON_AddNumberToObject(token, "id", (double)id);
    cJSON_AddStringToObject(token, "content", text);
    cJSON_AddBoolToObject(token, "special", true);
    cJSON_AddItemToArray(added, token);
}

/* Writes root as DIR/tokenizer.json and frees it. */
static void write_tokenizer_json(const char *dir, cJSON *root) {
    char path[4200];
    char *json = cJSON_PrintUnformatted(root);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    assert_true(tl_test_write_file(path, json, strlen(json)));
    free(json);
    cJSON_Delete(root);
}

/* tokenizer.json and tokenizer_config.json of the GGUF's WordPiece
 * vocabulary: llama.cpp's phantom-space texts back to "##x" / "x". */
static void write_word_piece_files(const gguf_file *g, const char *dir) {
    cJSON *root = cJSON_CreateObject(), *added = cJSON_AddArrayToObject(root, "added_tokens");
    cJSON *normalizer = cJSON_AddObjectToObject(root, "normalizer");
    cJSON_AddStringToObject(normalizer, "type", "BertNormalizer");
    cJSON_AddBoolToObject(normalizer, "lowercase", true);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "pre_tokenizer"), "type", "BertPreTokenizer");
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "WordPiece");
    cJSON_AddStringToObject(model, "unk_token", "[UNK]");
    cJSON_AddStringToObject(model, "continuing_subword_prefix", "##");
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    uint64_t n;
    gguf_value_type type;
    assert_true(gguf_get_arr_info(g, "tokenizer.ggml.tokens", &type, &n));
    char text[512];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len;
        const char *t = gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &len);
        int64_t kind;
        assert_true(gguf_get_arr_i64(g, "tokenizer.ggml.token_type", i, &kind));
        if (kind == 3 || (len > 1 && t[0] == '[' && t[len - 1] == ']')) /* control, [unusedN] */
            snprintf(text, sizeof text, "%.*s", (int)len, t);
        else if (len >= 3 && memcmp(t, "\xE2\x96\x81", 3) == 0)
            snprintf(text, sizeof text, "%.*s", (int)len - 3, t + 3);
        else
            snprintf(text, sizeof text, "##%.*s", (int)len, t);
        cJSON_AddNumberToObject(vocab, text, (double)i);
        if (kind == 3) add_special_token(added, i, text);
    }
    write_tokenizer_json(dir, root);
    char path[4200];
    static const char config[] = "{\"cls_token\": \"[CLS]\", \"sep_token\": \"[SEP]\", \"unk_token\": \"[UNK]\", "
                                 "\"pad_token\": \"[PAD]\", \"mask_token\": \"[MASK]\", \"do_lower_case\": true}";
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    assert_true(tl_test_write_file(path, config, sizeof config - 1));
    /* sentence-transformers: mean pooling, as all-MiniLM */
    static const char modules[] = "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
                                  "\"sentence_transformers.models.Transformer\"}, {\"idx\": 1, \"name\": \"1\", "
                                  "\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]";
    snprintf(path, sizeof path, "%s/modules.json", dir);
    assert_true(tl_test_write_file(path, modules, sizeof modules - 1));
    snprintf(path, sizeof path, "%s/1_Pooling", dir);
    mkdir(path, 0777);
    static const char pooling[] = "{\"pooling_mode_cls_token\": false, \"pooling_mode_mean_tokens\": true}";
    snprintf(path, sizeof path, "%s/1_Pooling/config.json", dir);
    assert_true(tl_test_write_file(path, pooling, sizeof pooling - 1));
}

/* The encoders of the round trip: BERT, nomic-bert, a BERT reranker. */
typedef enum { ENCODER_BERT, ENCODER_NOMIC, ENCODER_RERANKER } encoder_kind;

/* BERT's config.json, or nomic-bert's (its own names, as nomic-ai's), or a
 * sequence classifier's (one label, as ms-marco-MiniLM's). */
static void write_bert_config(const gguf_file *g, encoder_kind kind, const char *path) {
    const bool nomic = kind == ENCODER_NOMIC;
    const char *arch = nomic ? "nomic-bert" : "bert";
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "architectures"),
                         cJSON_CreateString(nomic                      ? "NomicBertModel"
                                            : kind == ENCODER_RERANKER ? "BertForSequenceClassification"
                                                                       : "BertModel"));
    if (kind == ENCODER_RERANKER) cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "id2label"), "0", "LABEL_0");
    uint64_t n_vocab;
    gguf_value_type type;
    assert_true(gguf_get_arr_info(g, "tokenizer.ggml.tokens", &type, &n_vocab));
    uint32_t types = 0;
    assert_true(gguf_get_u32(g, "tokenizer.ggml.token_type_count", &types));
    float eps = 0;
    assert_true(key_f32(g, arch, "attention.layer_norm_epsilon", &eps));
    cJSON_AddNumberToObject(c, "vocab_size", (double)n_vocab);
    cJSON_AddNumberToObject(c, nomic ? "n_embd" : "hidden_size", key_u32(g, arch, "embedding_length", 0));
    cJSON_AddNumberToObject(c, nomic ? "n_inner" : "intermediate_size", key_u32(g, arch, "feed_forward_length", 0));
    cJSON_AddNumberToObject(c, nomic ? "n_layer" : "num_hidden_layers", key_u32(g, arch, "block_count", 0));
    cJSON_AddNumberToObject(c, nomic ? "n_head" : "num_attention_heads", key_u32(g, arch, "attention.head_count", 0));
    cJSON_AddNumberToObject(c, "type_vocab_size", types);
    cJSON_AddNumberToObject(c, nomic ? "layer_norm_epsilon" : "layer_norm_eps", eps);
    if (nomic) { /* 8192 positions, trained for 2048: the converter writes 2048 */
        assert_int_equal(key_u32(g, arch, "context_length", 0), 2048);
        cJSON_AddNumberToObject(c, "n_positions", 8192);
        cJSON_AddNumberToObject(c, "max_trained_positions", 2048);
        float theta = 0;
        assert_true(key_f32(g, arch, "rope.freq_base", &theta));
        cJSON_AddNumberToObject(c, "rotary_emb_base", theta);
        cJSON_AddStringToObject(c, "activation_function", "swiglu");
    } else {
        cJSON_AddNumberToObject(c, "max_position_embeddings", key_u32(g, arch, "context_length", 0));
    }
    cJSON_AddNumberToObject(c, "pad_token_id", 0);
    char *text = cJSON_Print(c);
    assert_true(tl_test_write_file(path, text, strlen(text)));
    free(text);
    cJSON_Delete(c);
}

/* BERT's names, without the optional "bert." prefix (but for the pooler),
 * or nomic-bert's; a reranker's head as BertForSequenceClassification's. */
static void collect_bert_tensors(const gguf_file *g, encoder_kind kind, hf_folder *f) {
    const bool nomic = kind == ENCODER_NOMIC;
    const char *const globals[][2] = {{"token_embd", "embeddings.word_embeddings"},
                                      {"position_embd", "embeddings.position_embeddings"},
                                      {"token_types", "embeddings.token_type_embeddings"},
                                      {"token_embd_norm", nomic ? "emb_ln" : "embeddings.LayerNorm"},
                                      {"cls", "bert.pooler.dense"},
                                      {"cls.output", "classifier"}};
    static const char *const nomic_layers[][2] = {{"attn_qkv", "attn.Wqkv"},     {"attn_output", "attn.out_proj"},
                                                  {"attn_output_norm", "norm1"}, {"ffn_up", "mlp.fc11"},
                                                  {"ffn_gate", "mlp.fc12"},      {"ffn_down", "mlp.fc2"},
                                                  {"layer_output_norm", "norm2"}};
    static const char *const layers[][2] = {{"attn_q", "attention.self.query"},
                                            {"attn_k", "attention.self.key"},
                                            {"attn_v", "attention.self.value"},
                                            {"attn_output", "attention.output.dense"},
                                            {"attn_output_norm", "attention.output.LayerNorm"},
                                            {"ffn_up", "intermediate.dense"},
                                            {"ffn_down", "output.dense"},
                                            {"layer_output_norm", "output.LayerNorm"}};
    for (int64_t i = 0; i < gguf_tensor_count(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        assert_int_equal(t->type, 0);
        const char *suffix = strrchr(t->name, '.');
        char base[96], name[160];
        unsigned layer;
        const char *hf = NULL;
        if (sscanf(t->name, "blk.%u.%95[^.]", &layer, base) == 2) {
            for (size_t k = 0; !nomic && k < sizeof layers / sizeof layers[0]; k++)
                if (strcmp(layers[k][0], base) == 0) hf = layers[k][1];
            for (size_t k = 0; nomic && k < sizeof nomic_layers / sizeof nomic_layers[0]; k++)
                if (strcmp(nomic_layers[k][0], base) == 0) hf = nomic_layers[k][1];
            if (!hf) fail_msg("no Hugging Face name for %s", t->name);
            snprintf(name, sizeof name, nomic ? "encoder.layers.%u.%s%s" : "encoder.layer.%u.%s%s", layer, hf, suffix);
        } else {
            snprintf(base, sizeof base, "%.*s", (int)(suffix - t->name), t->name);
            for (size_t k = 0; k < sizeof globals / sizeof globals[0]; k++)
                if (strcmp(globals[k][0], base) == 0) hf = globals[k][1];
            assert_non_null(hf);
            snprintf(name, sizeof name, "%s%s", hf, suffix);
        }
        int64_t shape[4];
        for (uint32_t d = 0; d < t->n_dims; d++) shape[d] = t->ne[t->n_dims - 1 - d];
        /* the classifier's one row: [1, d] in PyTorch, [d] as synth writes it */
        const bool one_row = strcmp(t->name, "cls.output.weight") == 0 && t->n_dims == 1;
        const int64_t row[2] = {1, t->ne[0]};
        hf_tensor *out = add(f, name, one_row ? 2 : (int)t->n_dims, one_row ? row : shape);
        memcpy(out->data, t->data, t->n_elements * sizeof(float));
    }
    if (kind == ENCODER_RERANKER) return; /* its pooler is the head's cls */
    /* a pooler the converter drops, as BertModel does */
    const int64_t d = key_u32(g, nomic ? "nomic-bert" : "bert", "embedding_length", 0), shape[2] = {d, d};
    hf_tensor *pooler = add(f, "pooler.dense.weight", 2, shape);
    memset(pooler->data, 0, (size_t)(d * d) * sizeof(float));
}

/* A 128-token context with 2 threads for an encoder. */
static tl_context *encoder_context(tl_model *m) {
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 128;
    p.n_threads = 2;
    tl_context *ctx = NULL;
    tl_error err = {0};
    if (tl_context_new(m, &p, &ctx, &err) != TL_OK) fail_msg("%s", err.message);
    return ctx;
}

static void embed_text(tl_model *m, const char *text, float *out) {
    tl_token tokens[128];
    const int32_t n = tl_tokenize(m, text, strlen(text), true, false, tokens, 128);
    assert_true(n > 2);
    tl_context *ctx = encoder_context(m);
    tl_error err = {0};
    if (tl_embed(ctx, tokens, n, TL_POOLING_MEAN, true, out, &err) != TL_OK) fail_msg("%s", err.message);
    tl_context_free(ctx);
}

/* A reranker's scores of a few documents for one query. */
static void rerank_texts(tl_model *m, float *scores) {
    static const char *const docs[] = {"a cat sat on the mat", "the weather is nice", "cats are small animals"};
    tl_context *ctx = encoder_context(m);
    tl_error err = {0};
    if (tl_rerank(ctx, "what is a cat?", docs, 3, scores, NULL, &err) != TL_OK) fail_msg("%s", err.message);
    tl_context_free(ctx);
}

static void encoder_round_trip(const char *preset, encoder_kind kind) {
    if (!tl_test_have_shared(BGE_VOCAB)) {
        print_message("%s absent, skipped\n", BGE_VOCAB);
        skip();
    }
    const bool nomic = kind == ENCODER_NOMIC;
    const char *arch = nomic ? "nomic-bert" : "bert";
    char dir[2048], synth_path[4096], out_path[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", tl_test_tmp_path(arch));
    mkdir(dir, 0777);
    snprintf(synth_path, sizeof synth_path, "%s.synth.gguf", dir);
    snprintf(out_path, sizeof out_path, "%s.converted.gguf", dir);
    const tl_synth_params sp = {
        .preset = preset, .weight_type = "f32", .seed = 7, .vocab_path = tl_test_shared_path(BGE_VOCAB), .tiny = true};
    tl_error err = {0};
    if (tl_synth(&sp, synth_path, &err) != TL_OK) fail_msg("synth: %s", err.message);
    gguf_file *g = NULL;
    if (gguf_open(synth_path, &g, &err) != TL_OK) fail_msg("%s", err.message);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_bert_config(g, kind, path);
    write_word_piece_files(g, dir);
    static hf_folder folder;
    folder.count = 0;
    collect_bert_tensors(g, kind, &folder);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_safetensors(&folder, path);
    for (int i = 0; i < folder.count; i++) free(folder.tensors[i].data);
    gguf_close(g);
    const tl_convert_params params = {.hf_dir = dir, .out_path = out_path, .type = "f32"};
    if (tl_convert_hf(&params, &err) != TL_OK) fail_msg("convert: %s", err.message);

    gguf_file *converted = NULL;
    if (gguf_open(out_path, &converted, &err) != TL_OK) fail_msg("%s", err.message);
    assert_string_equal(gguf_get_str(converted, "tokenizer.ggml.model"), "bert");
    assert_string_equal(gguf_get_str(converted, "tokenizer.ggml.pre"), "jina-v2-en");
    uint32_t pooling = 0;
    char key[64];
    snprintf(key, sizeof key, "%s.pooling_type", arch);
    assert_true(gguf_get_u32(converted, key, &pooling));
    assert_int_equal(pooling, kind == ENCODER_RERANKER ? 4 : 1); /* rank, or the pooling module's mean */
    if (kind == ENCODER_RERANKER) {
        uint64_t n_labels = 0, len = 0;
        gguf_value_type type;
        assert_true(gguf_get_arr_info(converted, "bert.classifier.output_labels", &type, &n_labels));
        assert_int_equal(n_labels, 1);
        const char *label = gguf_get_arr_str(converted, "bert.classifier.output_labels", 0, &len);
        assert_true(len == 7 && memcmp(label, "LABEL_0", 7) == 0);
    }
    gguf_close(converted);

    tl_model *a = load(synth_path), *b = load(out_path);
    /* the same tokens as llama.cpp's vocabulary on the whole corpus */
    char *corpus_text = tl_test_read_file(tl_test_source_path("tests/data/hf-corpus.json"), NULL);
    cJSON *corpus = cJSON_Parse(corpus_text);
    assert_non_null(corpus);
    const cJSON *item;
    int strings = 0;
    static tl_token ta[4096], tb[4096];
    cJSON_ArrayForEach(item, corpus) {
        const size_t len = strlen(item->valuestring);
        const int32_t na = tl_tokenize(a, item->valuestring, len, true, true, ta, 4096);
        const int32_t nb = tl_tokenize(b, item->valuestring, len, true, true, tb, 4096);
        if (na != nb || memcmp(ta, tb, (size_t)(na > 0 ? na : 0) * sizeof *ta) != 0)
            fail_msg("corpus string %d \"%s\": %d tokens, llama.cpp's vocabulary %d", strings, item->valuestring, nb,
                     na);
        strings++;
    }
    assert_true(strings >= 300);
    cJSON_Delete(corpus);
    free(corpus_text);
    /* the same embeddings */
    const int32_t d = tl_model_embedding_size(a);
    float *ea = malloc((size_t)d * sizeof *ea), *eb = malloc((size_t)d * sizeof *eb);
    embed_text(a, "The quick brown fox jumps over the lazy dog.", ea);
    embed_text(b, "The quick brown fox jumps over the lazy dog.", eb);
    double worst = 0;
    for (int32_t i = 0; i < d; i++)
        if (fabs(ea[i] - eb[i]) > worst) worst = fabs(ea[i] - eb[i]);
    if (worst > 1e-5) fail_msg("embeddings differ by %g", worst);
    if (kind == ENCODER_RERANKER) {
        float sa[3], sb[3];
        rerank_texts(a, sa);
        rerank_texts(b, sb);
        for (int i = 0; i < 3; i++)
            if (fabsf(sa[i] - sb[i]) > 1e-5f) fail_msg("rerank score %d: %g, converted %g", i, sa[i], sb[i]);
    }
    print_message("%s: %d corpus strings tokenized alike, embeddings equal (worst difference %.2g)\n", arch, strings,
                  worst);
    free(ea);
    free(eb);
    tl_model_free(a);
    tl_model_free(b);
    remove(synth_path);
    remove(out_path);
}

static void bert_word_piece(void **state) {
    (void)state;
    encoder_round_trip("all-minilm-l6-v2", ENCODER_BERT);
}

static void nomic_bert_rotary_swiglu(void **state) {
    (void)state;
    encoder_round_trip("nomic-embed-text-v1.5", ENCODER_NOMIC);
}

static void bert_reranker_head(void **state) {
    (void)state;
    encoder_round_trip("ms-marco-minilm-l6-v2", ENCODER_RERANKER);
}

/* ---- T5 ------------------------------------------------------------------- */

/* Standard base64 with padding, as tokenizer.json stores the charsmap. */
static char *base64(const uint8_t *data, size_t n) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *p = out;
    assert_non_null(out);
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t v =
            (uint32_t)data[i] << 16 | (i + 1 < n ? (uint32_t)data[i + 1] << 8 : 0) | (i + 2 < n ? data[i + 2] : 0);
        *p++ = alphabet[v >> 18];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *p++ = i + 2 < n ? alphabet[v & 63] : '=';
    }
    *p = '\0';
    return out;
}

/* tokenizer.json (Unigram, as transformers' T5 converter writes it) and
 * tokenizer_config.json of the GGUF's "t5" vocabulary. `collapse` spells
 * the whitespace rule the newer way (a Replace of " {2,}" in the normalizer
 * and a lone Metaspace) instead of a WhitespaceSplit pre-tokenizer. */
static void write_unigram_files(const gguf_file *g, const char *dir, bool collapse) {
    cJSON *root = cJSON_CreateObject(), *added = cJSON_AddArrayToObject(root, "added_tokens");
    gguf_value_type type;
    uint64_t n_blob = 0, n = 0;
    assert_true(gguf_get_arr_info(g, "tokenizer.ggml.precompiled_charsmap", &type, &n_blob));
    char *blob = base64(gguf_get_arr_data(g, "tokenizer.ggml.precompiled_charsmap"), (size_t)n_blob);
    cJSON *precompiled = cJSON_CreateObject();
    cJSON_AddStringToObject(precompiled, "type", "Precompiled");
    cJSON_AddStringToObject(precompiled, "precompiled_charsmap", blob);
    free(blob);
    cJSON *metaspace = cJSON_CreateObject();
    cJSON_AddStringToObject(metaspace, "type", "Metaspace");
    cJSON_AddStringToObject(metaspace, "replacement", "\xE2\x96\x81");
    cJSON_AddStringToObject(metaspace, "prepend_scheme", "always");
    cJSON_AddBoolToObject(metaspace, "split", true);
    if (collapse) {
        cJSON *normalizer = cJSON_AddObjectToObject(root, "normalizer");
        cJSON_AddStringToObject(normalizer, "type", "Sequence");
        cJSON *list = cJSON_AddArrayToObject(normalizer, "normalizers");
        cJSON_AddItemToArray(list, precompiled);
        cJSON_AddItemToArray(list, cJSON_Parse("{\"type\": \"Strip\", \"strip_left\": false, \"strip_right\": true}"));
        cJSON_AddItemToArray(list, cJSON_Parse("{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" {2,}\"}, "
                                               "\"content\": \"\xE2\x96\x81\"}"));
        cJSON_AddItemToObject(root, "pre_tokenizer", metaspace);
    } else {
        cJSON_AddItemToObject(root, "normalizer", precompiled);
        cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
        cJSON_AddStringToObject(pre, "type", "Sequence");
        cJSON *list = cJSON_AddArrayToObject(pre, "pretokenizers");
        cJSON_AddItemToArray(list, cJSON_Parse("{\"type\": \"WhitespaceSplit\"}"));
        cJSON_AddItemToArray(list, metaspace);
    }
    cJSON_AddItemToObject(root, "post_processor",
                          cJSON_Parse("{\"type\": \"TemplateProcessing\", \"single\": [{\"Sequence\": {\"id\": \"A\", "
                                      "\"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"</s>\", \"type_id\": 0}}]}"));
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "Unigram");
    cJSON_AddNumberToObject(model, "unk_id", 2);
    cJSON *vocab = cJSON_AddArrayToObject(model, "vocab");
    assert_true(gguf_get_arr_info(g, "tokenizer.ggml.tokens", &type, &n));
    const char *scores = gguf_get_arr_data(g, "tokenizer.ggml.scores"); /* any alignment: score_at */
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len;
        const char *t = gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &len);
        char text[512];
        snprintf(text, sizeof text, "%.*s", (int)len, t);
        int64_t kind;
        assert_true(gguf_get_arr_i64(g, "tokenizer.ggml.token_type", i, &kind));
        /* sentinels: in the vocabulary with score 0, as transformers adds them */
        const bool sentinel = strncmp(text, "<extra_id_", 10) == 0;
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(text));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(sentinel ? 0.0 : score_at(scores, i)));
        cJSON_AddItemToArray(vocab, pair);
        if (kind != 1) add_special_token(added, i, text); /* control, unknown, user-defined */
    }
    write_tokenizer_json(dir, root);
    char path[4200];
    static const char config[] = "{\"eos_token\": \"</s>\", \"unk_token\": \"<unk>\", \"pad_token\": \"<pad>\", "
                                 "\"extra_ids\": 100, \"model_max_length\": 512}";
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    assert_true(tl_test_write_file(path, config, sizeof config - 1));
}

/* FLAN-T5's config.json (T5's names); `edit` changes it for the refusals. */
static void write_t5_config(const gguf_file *g, const char *path, const char *edit_key, cJSON *edit_value) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "architectures"), cJSON_CreateString("T5ForConditionalGeneration"));
    uint64_t n_vocab;
    gguf_value_type type;
    assert_true(gguf_get_arr_info(g, "tokenizer.ggml.tokens", &type, &n_vocab));
    float eps = 0;
    assert_true(key_f32(g, "t5", "attention.layer_norm_rms_epsilon", &eps));
    cJSON_AddNumberToObject(c, "vocab_size", (double)n_vocab);
    cJSON_AddNumberToObject(c, "d_model", key_u32(g, "t5", "embedding_length", 0));
    cJSON_AddNumberToObject(c, "d_ff", key_u32(g, "t5", "feed_forward_length", 0));
    cJSON_AddNumberToObject(c, "d_kv", key_u32(g, "t5", "attention.key_length", 0));
    cJSON_AddNumberToObject(c, "num_layers", key_u32(g, "t5", "block_count", 0));
    cJSON_AddNumberToObject(c, "num_decoder_layers", key_u32(g, "t5", "decoder_block_count", 0));
    cJSON_AddNumberToObject(c, "num_heads", key_u32(g, "t5", "attention.head_count", 0));
    cJSON_AddNumberToObject(c, "relative_attention_num_buckets",
                            key_u32(g, "t5", "attention.relative_buckets_count", 0));
    cJSON_AddNumberToObject(c, "relative_attention_max_distance", 128);
    cJSON_AddNumberToObject(c, "layer_norm_epsilon", eps);
    cJSON_AddNumberToObject(c, "n_positions", key_u32(g, "t5", "context_length", 0));
    cJSON_AddNumberToObject(c, "decoder_start_token_id", key_u32(g, "t5", "decoder_start_token_id", 99));
    cJSON_AddNumberToObject(c, "eos_token_id", 1);
    cJSON_AddNumberToObject(c, "pad_token_id", 0);
    cJSON_AddStringToObject(c, "feed_forward_proj", "gated-gelu");
    cJSON_AddBoolToObject(c, "is_encoder_decoder", true);
    cJSON_AddBoolToObject(c, "tie_word_embeddings", gguf_find_tensor(g, "output.weight") == NULL);
    if (edit_key) {
        cJSON_DeleteItemFromObjectCaseSensitive(c, edit_key);
        if (edit_value) cJSON_AddItemToObject(c, edit_key, edit_value);
    }
    char *text = cJSON_Print(c);
    assert_true(tl_test_write_file(path, text, strlen(text)));
    free(text);
    cJSON_Delete(c);
}

/* T5's names: the shared embedding saved twice (shared and the encoder's
 * copy, as some checkpoints have it), blocks, final norms, lm_head. */
static void collect_t5_tensors(const gguf_file *g, hf_folder *f, bool relu_tied) {
    static const char *const enc[][2] = {
        {"attn_norm", "layer.0.layer_norm"},       {"attn_q", "layer.0.SelfAttention.q"},
        {"attn_k", "layer.0.SelfAttention.k"},     {"attn_v", "layer.0.SelfAttention.v"},
        {"attn_o", "layer.0.SelfAttention.o"},     {"attn_rel_b", "layer.0.SelfAttention.relative_attention_bias"},
        {"ffn_norm", "layer.1.layer_norm"},        {"ffn_gate", "layer.1.DenseReluDense.wi_0"},
        {"ffn_up", "layer.1.DenseReluDense.wi_1"}, {"ffn_down", "layer.1.DenseReluDense.wo"}};
    static const char *const dec[][2] = {
        {"attn_norm", "layer.0.layer_norm"},           {"attn_q", "layer.0.SelfAttention.q"},
        {"attn_k", "layer.0.SelfAttention.k"},         {"attn_v", "layer.0.SelfAttention.v"},
        {"attn_o", "layer.0.SelfAttention.o"},         {"attn_rel_b", "layer.0.SelfAttention.relative_attention_bias"},
        {"cross_attn_norm", "layer.1.layer_norm"},     {"cross_attn_q", "layer.1.EncDecAttention.q"},
        {"cross_attn_k", "layer.1.EncDecAttention.k"}, {"cross_attn_v", "layer.1.EncDecAttention.v"},
        {"cross_attn_o", "layer.1.EncDecAttention.o"}, {"ffn_norm", "layer.2.layer_norm"},
        {"ffn_gate", "layer.2.DenseReluDense.wi_0"},   {"ffn_up", "layer.2.DenseReluDense.wi_1"},
        {"ffn_down", "layer.2.DenseReluDense.wo"}};
    for (int64_t i = 0; i < gguf_tensor_count(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        assert_int_equal(t->type, 0);
        /* original T5's layout: wi/wo without a gate, lm_head tied to shared */
        if (relu_tied && (strstr(t->name, "ffn_gate") || strcmp(t->name, "output.weight") == 0)) continue;
        char stack[8], base[96], name[160];
        unsigned layer;
        const char *hf = NULL;
        if (sscanf(t->name, "%3[a-z].blk.%u.%95[^.]", stack, &layer, base) == 3) {
            const bool decoder = strcmp(stack, "dec") == 0;
            const size_t count = decoder ? sizeof dec / sizeof dec[0] : sizeof enc / sizeof enc[0];
            for (size_t k = 0; k < count; k++)
                if (strcmp((decoder ? dec : enc)[k][0], base) == 0) hf = (decoder ? dec : enc)[k][1];
            if (!hf) fail_msg("no Hugging Face name for %s", t->name);
            snprintf(name, sizeof name, "%s.block.%u.%s.weight", decoder ? "decoder" : "encoder", layer, hf);
            if (relu_tied && strcmp(base, "ffn_up") == 0)
                snprintf(name, sizeof name, "%s.block.%u.layer.%d.DenseReluDense.wi.weight",
                         decoder ? "decoder" : "encoder", layer, decoder ? 2 : 1);
        } else {
            hf = strcmp(t->name, "token_embd.weight") == 0        ? "shared.weight"
                 : strcmp(t->name, "enc.output_norm.weight") == 0 ? "encoder.final_layer_norm.weight"
                 : strcmp(t->name, "dec.output_norm.weight") == 0 ? "decoder.final_layer_norm.weight"
                 : strcmp(t->name, "output.weight") == 0          ? "lm_head.weight"
                                                                  : NULL;
            if (!hf) fail_msg("no Hugging Face name for %s", t->name);
            snprintf(name, sizeof name, "%s", hf);
        }
        int64_t shape[4];
        for (uint32_t d = 0; d < t->n_dims; d++) shape[d] = t->ne[t->n_dims - 1 - d];
        for (int copy = 0; copy < (strcmp(hf, "shared.weight") == 0 ? 2 : 1); copy++) {
            hf_tensor *out = add(f, copy ? "encoder.embed_tokens.weight" : name, (int)t->n_dims, shape);
            memcpy(out->data, t->data, t->n_elements * sizeof(float));
        }
    }
}

/* A tiny FLAN-T5 (synth, the project's Unigram vocabulary) in a Hugging
 * Face folder; returns the synth GGUF's path in synth_path. */
static void write_t5_folder(const char *dir, char *synth_path, size_t size, bool collapse) {
    mkdir(dir, 0777);
    snprintf(synth_path, size, "%s.synth.gguf", dir);
    const tl_synth_params sp = {
        .preset = "flan-t5-small", .weight_type = "f32", .seed = 7, .vocab_path = "@unigram", .tiny = true};
    tl_error err = {0};
    if (tl_synth(&sp, synth_path, &err) != TL_OK) fail_msg("synth: %s", err.message);
    gguf_file *g = NULL;
    if (gguf_open(synth_path, &g, &err) != TL_OK) fail_msg("%s", err.message);
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_t5_config(g, path, NULL, NULL);
    write_unigram_files(g, dir, collapse);
    static hf_folder folder;
    folder.count = 0;
    collect_t5_tensors(g, &folder, false);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_safetensors(&folder, path);
    for (int i = 0; i < folder.count; i++) free(folder.tensors[i].data);
    gguf_close(g);
}

/* The converted vocabulary: llama.cpp's "t5" keys, the same tokens, types,
 * scores and charsmap as the original. */
static void compare_unigram_keys(const char *a_path, const char *b_path) {
    gguf_file *a = NULL, *b = NULL;
    tl_error err = {0};
    if (gguf_open(a_path, &a, &err) != TL_OK || gguf_open(b_path, &b, &err) != TL_OK) fail_msg("%s", err.message);
    assert_string_equal(gguf_get_str(b, "tokenizer.ggml.model"), "t5");
    bool flag = false;
    assert_true(gguf_get_bool(b, "tokenizer.ggml.add_space_prefix", &flag) && flag);
    assert_true(gguf_get_bool(b, "tokenizer.ggml.remove_extra_whitespaces", &flag) && flag);
    assert_true(gguf_get_bool(b, "tokenizer.ggml.add_eos_token", &flag) && flag);
    static const char *const ids[] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                                      "tokenizer.ggml.padding_token_id", "t5.decoder_start_token_id"};
    for (int k = 0; k < 4; k++) {
        uint32_t ua = 1000, ub = 2000;
        assert_true(gguf_get_u32(a, ids[k], &ua) && gguf_get_u32(b, ids[k], &ub));
        assert_int_equal(ua, ub);
    }
    gguf_value_type type;
    uint64_t na = 0, nb = 0;
    assert_true(gguf_get_arr_info(a, "tokenizer.ggml.precompiled_charsmap", &type, &na));
    assert_true(gguf_get_arr_info(b, "tokenizer.ggml.precompiled_charsmap", &type, &nb));
    assert_int_equal(na, nb);
    assert_memory_equal(gguf_get_arr_data(a, "tokenizer.ggml.precompiled_charsmap"),
                        gguf_get_arr_data(b, "tokenizer.ggml.precompiled_charsmap"), (size_t)na);
    assert_true(gguf_get_arr_info(a, "tokenizer.ggml.tokens", &type, &na));
    assert_true(gguf_get_arr_info(b, "tokenizer.ggml.tokens", &type, &nb));
    assert_int_equal(na, nb);
    /* the score arrays need not be 4-byte aligned in the mapping: read with memcpy */
    const char *sa = gguf_get_arr_data(a, "tokenizer.ggml.scores"), *sb = gguf_get_arr_data(b, "tokenizer.ggml.scores");
    int sentinels = 0;
    for (uint64_t i = 0; i < na; i++) {
        uint64_t la, lb;
        const char *ta = gguf_get_arr_str(a, "tokenizer.ggml.tokens", i, &la);
        const char *tb = gguf_get_arr_str(b, "tokenizer.ggml.tokens", i, &lb);
        int64_t ka, kb;
        assert_true(gguf_get_arr_i64(a, "tokenizer.ggml.token_type", i, &ka));
        assert_true(gguf_get_arr_i64(b, "tokenizer.ggml.token_type", i, &kb));
        if (la != lb || memcmp(ta, tb, la) != 0 || ka != kb)
            fail_msg("token %llu: '%.*s' type %lld, converted '%.*s' type %lld", (unsigned long long)i, (int)la, ta,
                     (long long)ka, (int)lb, tb, (long long)kb);
        if (ka == 4) { /* user-defined sentinels: llama.cpp's added-token score */
            sentinels++;
            assert_float_equal(score_at(sb, i), -1000.0f, 0);
        } else {
            assert_float_equal(score_at(sa, i), score_at(sb, i), 0);
        }
    }
    assert_true(sentinels > 0);
    gguf_close(a);
    gguf_close(b);
}

/* The same tokens on the whole corpus (and on sentinels in text). */
static int compare_corpus(tl_model *a, tl_model *b) {
    char *corpus_text = tl_test_read_file(tl_test_source_path("tests/data/hf-corpus.json"), NULL);
    cJSON *corpus = cJSON_Parse(corpus_text);
    assert_non_null(corpus);
    cJSON_AddItemToArray(corpus, cJSON_CreateString("Fill <extra_id_0> in  the   blank <extra_id_1>.</s>"));
    const cJSON *item;
    int strings = 0;
    static tl_token ta[4096], tb[4096];
    cJSON_ArrayForEach(item, corpus) {
        const size_t len = strlen(item->valuestring);
        const int32_t na = tl_tokenize(a, item->valuestring, len, true, true, ta, 4096);
        const int32_t nb = tl_tokenize(b, item->valuestring, len, true, true, tb, 4096);
        if (na != nb || memcmp(ta, tb, (size_t)(na > 0 ? na : 0) * sizeof *ta) != 0)
            fail_msg("corpus string %d \"%s\": %d tokens, the original %d", strings, item->valuestring, nb, na);
        strings++;
    }
    cJSON_Delete(corpus);
    free(corpus_text);
    return strings;
}

/* The same encoder output for a sentence, then the same logits and greedy
 * tokens for 8 decoder steps from the decoder start token. */
static void compare_t5(tl_model *a, tl_model *b) {
    tl_token tokens[64];
    const char *text = "translate English to German: The quick brown fox jumps over the lazy dog.";
    const int32_t n = tl_tokenize(a, text, strlen(text), true, false, tokens, 64);
    assert_true(n > 4);
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 128;
    p.n_threads = 2;
    tl_context *ca = NULL, *cb = NULL;
    tl_error err = {0};
    if (tl_context_new(a, &p, &ca, &err) != TL_OK || tl_context_new(b, &p, &cb, &err) != TL_OK)
        fail_msg("%s", err.message);
    assert_int_equal(tl_encode(ca, tokens, n, &err), TL_OK);
    assert_int_equal(tl_encode(cb, tokens, n, &err), TL_OK);
    int32_t ra = 0, rb = 0;
    const float *ea = tl_get_encoder_output(ca, &ra), *eb = tl_get_encoder_output(cb, &rb);
    assert_int_equal(ra, n);
    assert_int_equal(rb, n);
    const int32_t d = tl_model_embedding_size(a);
    double worst_enc = 0;
    for (int64_t i = 0; i < (int64_t)n * d; i++)
        if (fabs(ea[i] - eb[i]) > worst_enc) worst_enc = fabs(ea[i] - eb[i]);
    if (worst_enc > 1e-5) fail_msg("encoder outputs differ by %g", worst_enc);
    tl_token next = tl_model_decoder_start_token(a);
    assert_int_equal(tl_model_decoder_start_token(b), next);
    const int32_t n_vocab = tl_vocab_size(a);
    double worst = 0;
    for (int step = 0; step < 8; step++) {
        assert_int_equal(tl_decode(ca, &next, 1, tl_context_used(ca), false, &err), TL_OK);
        assert_int_equal(tl_decode(cb, &next, 1, tl_context_used(cb), false, &err), TL_OK);
        const float *la = tl_get_logits(ca, -1), *lb = tl_get_logits(cb, -1);
        tl_token best = 0, best_b = 0;
        for (int32_t i = 0; i < n_vocab; i++) {
            const double diff = fabs(la[i] - lb[i]) / (1.0 + fabs(la[i]));
            if (diff > worst) worst = diff;
            if (la[i] > la[best]) best = i;
            if (lb[i] > lb[best_b]) best_b = i;
        }
        if (worst > 1e-5) fail_msg("step %d: logits differ by %g (relative)", step, worst);
        assert_int_equal(best, best_b);
        next = best;
    }
    print_message("t5: encoder outputs equal (worst %.2g), logits and greedy ids equal (worst relative %.2g)\n",
                  worst_enc, worst);
    tl_context_free(ca);
    tl_context_free(cb);
}

static void t5_round_trip(bool collapse, const char *label) {
    char dir[2048], synth_path[4096], out_path[4096];
    snprintf(dir, sizeof dir, "%s", tl_test_tmp_path(label));
    write_t5_folder(dir, synth_path, sizeof synth_path, collapse);
    snprintf(out_path, sizeof out_path, "%s.converted.gguf", dir);
    const tl_convert_params params = {.hf_dir = dir, .out_path = out_path, .type = "f32"};
    tl_error err = {0};
    if (tl_convert_hf(&params, &err) != TL_OK) fail_msg("convert: %s", err.message);
    compare_unigram_keys(synth_path, out_path);
    tl_model *a = load(synth_path), *b = load(out_path);
    const int strings = compare_corpus(a, b);
    assert_true(strings >= 300);
    compare_t5(a, b);
    print_message("%s: %d corpus strings tokenized alike\n", label, strings);
    tl_model_free(a);
    tl_model_free(b);
    /* q8_0: matrices quantized, norms f32, the relative attention bias f16 */
    const tl_convert_params q8 = {.hf_dir = dir, .out_path = out_path, .type = "q8_0"};
    if (tl_convert_hf(&q8, &err) != TL_OK) fail_msg("convert q8_0: %s", err.message);
    gguf_file *g = NULL;
    if (gguf_open(out_path, &g, &err) != TL_OK) fail_msg("%s", err.message);
    static const struct {
        const char *name;
        uint32_t type;
    } types[] = {
        {"token_embd.weight", 8},           {"enc.blk.0.attn_q.weight", 8},     {"dec.blk.0.cross_attn_o.weight", 8},
        {"enc.blk.0.attn_rel_b.weight", 1}, {"dec.blk.0.attn_rel_b.weight", 1}, {"enc.output_norm.weight", 0},
        {"dec.blk.0.ffn_norm.weight", 0}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        const gguf_tensor *t = gguf_find_tensor(g, types[i].name);
        if (!t || t->type != types[i].type)
            fail_msg("q8_0: %s has type %d, want %u", types[i].name, t ? (int)t->type : -1, types[i].type);
    }
    gguf_close(g);
    tl_model_free(load(out_path));
    remove(synth_path);
    remove(out_path);
}

static void t5_flan_unigram(void **state) {
    (void)state;
    t5_round_trip(false, "t5-roundtrip");
}

static void t5_unigram_collapsed_spaces(void **state) {
    (void)state;
    t5_round_trip(true, "t5-roundtrip-collapse");
}

/* Original T5's layout (ReLU feed-forward: wi/wo; lm_head tied, not
 * saved): no ffn_gate and no output.weight in the file, which loads and
 * encodes. */
static void t5_relu_tied(void **state) {
    (void)state;
    char dir[2048], synth_path[4096], out_path[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", tl_test_tmp_path("t5-relu"));
    write_t5_folder(dir, synth_path, sizeof synth_path, false);
    snprintf(out_path, sizeof out_path, "%s.converted.gguf", dir);
    gguf_file *g = NULL;
    tl_error err = {0};
    if (gguf_open(synth_path, &g, &err) != TL_OK) fail_msg("%s", err.message);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_t5_config(g, path, "tie_word_embeddings", NULL); /* T5Config's default: tied */
    char *config = tl_test_read_file(path, NULL), *gated = strstr(config, "\"gated-gelu\"");
    assert_non_null(gated);
    memcpy(gated, "\"relu\"      ", 12); /* same length: "gated-gelu" is 12 bytes with its quotes */
    assert_true(tl_test_write_file(path, config, strlen(config)));
    free(config);
    static hf_folder folder;
    folder.count = 0;
    collect_t5_tensors(g, &folder, true);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_safetensors(&folder, path);
    for (int i = 0; i < folder.count; i++) free(folder.tensors[i].data);
    gguf_close(g);
    const tl_convert_params params = {.hf_dir = dir, .out_path = out_path, .type = "f16"};
    if (tl_convert_hf(&params, &err) != TL_OK) fail_msg("convert: %s", err.message);
    if (gguf_open(out_path, &g, &err) != TL_OK) fail_msg("%s", err.message);
    assert_null(gguf_find_tensor(g, "output.weight"));
    assert_null(gguf_find_tensor(g, "enc.blk.0.ffn_gate.weight"));
    assert_non_null(gguf_find_tensor(g, "enc.blk.0.ffn_up.weight"));
    assert_non_null(gguf_find_tensor(g, "dec.blk.0.ffn_up.weight"));
    gguf_close(g);
    tl_model *m = load(out_path);
    tl_context_params p = tl_context_default_params();
    p.n_ctx = 64;
    p.n_threads = 2;
    tl_context *ctx = NULL;
    if (tl_context_new(m, &p, &ctx, &err) != TL_OK) fail_msg("%s", err.message);
    const tl_token tokens[] = {5, 6, 7, 1};
    assert_int_equal(tl_encode(ctx, tokens, 4, &err), TL_OK);
    const tl_token start = tl_model_decoder_start_token(m);
    assert_int_equal(tl_decode(ctx, &start, 1, 0, false, &err), TL_OK);
    assert_non_null(tl_get_logits(ctx, -1));
    tl_context_free(ctx);
    tl_model_free(m);
    remove(synth_path);
    remove(out_path);
}

/* Bad T5 configs and tokenizers: one line naming the file and the key. */
static void t5_refusals(void **state) {
    (void)state;
    char dir[2048], synth_path[4096], out_path[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", tl_test_tmp_path("t5-bad"));
    write_t5_folder(dir, synth_path, sizeof synth_path, false);
    snprintf(out_path, sizeof out_path, "%s.converted.gguf", dir);
    gguf_file *g = NULL;
    tl_error err = {0};
    if (gguf_open(synth_path, &g, &err) != TL_OK) fail_msg("%s", err.message);
    snprintf(path, sizeof path, "%s/config.json", dir);
    const struct {
        const char *key;
        const char *value; /* JSON, NULL: removed */
        const char *message;
    } cases[] = {
        {"d_model", NULL, "no \"d_model\""},
        {"num_heads", "0", "\"num_heads\" is not a positive integer"},
        {"relative_attention_num_buckets", "2", "relative_attention_num_buckets 2 is out of range"},
        {"relative_attention_max_distance", "64", "relative_attention_max_distance must be 128"},
        {"layer_norm_epsilon", NULL, "\"layer_norm_epsilon\" is missing"},
        {"decoder_start_token_id", NULL, "\"decoder_start_token_id\" is missing"},
        {"decoder_start_token_id", "-1", "\"decoder_start_token_id\" is not a token id"},
        {"feed_forward_proj", "\"gated-silu\"", "feed_forward_proj 'gated-silu' is not supported"},
        {"d_ff", "12345", "has shape"},
        {"tie_word_embeddings", "true", NULL}, /* accepted: lm_head.weight is kept */
        {"num_decoder_layers", "99", "no tensor for dec.blk."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_t5_config(g, path, cases[i].key, cases[i].value ? cJSON_Parse(cases[i].value) : NULL);
        const tl_convert_params params = {.hf_dir = dir, .out_path = out_path, .type = "f32"};
        memset(&err, 0, sizeof err);
        const tl_status st = tl_convert_hf(&params, &err);
        if (!cases[i].message) {
            assert_int_equal(st, TL_OK);
            remove(out_path);
            continue;
        }
        if (st == TL_OK || !strstr(err.message, cases[i].message) || strchr(err.message, '\n'))
            fail_msg("%s=%s: got '%s', want '%s'", cases[i].key, cases[i].value ? cases[i].value : "(none)",
                     err.message, cases[i].message);
        assert_int_equal(access(out_path, F_OK), -1);
    }
    write_t5_config(g, path, NULL, NULL);
    /* a broken charsmap, a Unigram vocabulary that is not [piece, score] pairs */
    static const struct {
        const char *json, *message;
    } tokenizers[] = {
        {"{\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"@@@\"}, \"model\": {\"type\": "
         "\"Unigram\", \"vocab\": [[\"a\", 0]]}}",
         "precompiled_charsmap is not base64"},
        {"{\"normalizer\": {\"type\": \"Precompiled\", \"precompiled_charsmap\": \"AAAA\"}, \"model\": {\"type\": "
         "\"Unigram\", \"vocab\": [[\"a\", 0]]}}",
         "precompiled_charsmap"},
        {"{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", \"x\"]]}}", "model.vocab[0] is not"},
        {"{\"model\": {\"type\": \"Unigram\", \"unk_id\": 5, \"vocab\": [[\"a\", 0]]}}", "model.unk_id"},
        {"{\"normalizer\": {\"type\": \"Lowercase\"}, \"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0]]}}",
         "normalizer 'Lowercase' is not supported"},
    };
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    for (size_t i = 0; i < sizeof tokenizers / sizeof tokenizers[0]; i++) {
        assert_true(tl_test_write_file(path, tokenizers[i].json, strlen(tokenizers[i].json)));
        const tl_convert_params params = {.hf_dir = dir, .out_path = out_path, .type = "f32"};
        memset(&err, 0, sizeof err);
        if (tl_convert_hf(&params, &err) == TL_OK || !strstr(err.message, tokenizers[i].message))
            fail_msg("tokenizer %zu: got '%s', want '%s'", i, err.message, tokenizers[i].message);
        assert_int_equal(access(out_path, F_OK), -1);
    }
    gguf_close(g);
    remove(synth_path);
}

static void round_trip(const roundtrip_case *rc) {
    if (!tl_test_have_shared(TOKENIZER_DIR "/tokenizer.json")) {
        print_message("%s: %s absent, skipped\n", rc->preset, TOKENIZER_DIR);
        skip();
    }
    char dir[2048], synth_path[4096], out_path[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", tl_test_tmp_path(rc->preset));
    mkdir(dir, 0777);
    snprintf(synth_path, sizeof synth_path, "%s.synth.gguf", dir);
    snprintf(out_path, sizeof out_path, "%s.converted.gguf", dir);
    const tl_synth_params sp = {.preset = rc->preset,
                                .weight_type = "f32",
                                .seed = 7,
                                .vocab_path = tl_test_shared_path(TOKENIZER_DIR "/tokenizer.json"),
                                .tiny = true};
    tl_error err = {0};
    if (tl_synth(&sp, synth_path, &err) != TL_OK) fail_msg("synth %s: %s", rc->preset, err.message);
    gguf_file *g = NULL;
    if (gguf_open(synth_path, &g, &err) != TL_OK) fail_msg("%s", err.message);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_config(g, rc->hf_class, path);
    static hf_folder folder;
    folder.count = 0;
    collect_tensors(g, &folder);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_safetensors(&folder, path);
    for (int i = 0; i < folder.count; i++) free(folder.tensors[i].data);
    gguf_close(g);
    static const char *const files[] = {"tokenizer.json", "tokenizer_config.json"};
    for (int i = 0; i < 2; i++) {
        char target[512];
        snprintf(target, sizeof target, TOKENIZER_DIR "/%s", files[i]);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
        assert_int_equal(symlink(tl_test_shared_path(target), path), 0);
    }
    const tl_convert_params params = {.hf_dir = dir, .out_path = out_path, .type = "f32"};
    if (tl_convert_hf(&params, &err) != TL_OK) fail_msg("convert %s: %s", rc->preset, err.message);
    compare_models(rc->preset, synth_path, out_path);
    remove(synth_path);
    remove(out_path);
}

#define ROUND_TRIP(fn, preset, hf_class)                                                                               \
    static void fn(void **state) {                                                                                     \
        (void)state;                                                                                                   \
        round_trip(&(roundtrip_case){preset, hf_class});                                                               \
    }

ROUND_TRIP(smollm2_tied_llama, "smollm2-135m", "LlamaForCausalLM")
ROUND_TRIP(tinyllama_untied_gqa, "tinyllama-1.1b", "LlamaForCausalLM")
ROUND_TRIP(llama3_rope_scaling, "llama3.2-1b", "LlamaForCausalLM")
ROUND_TRIP(qwen2_biases, "qwen2.5-0.5b", "Qwen2ForCausalLM")
ROUND_TRIP(qwen3_qk_norms, "qwen3-0.6b", "Qwen3ForCausalLM")
ROUND_TRIP(phi3_fused_longrope, "phi3-mini", "Phi3ForCausalLM")
ROUND_TRIP(gemma_norms_plus_one, "gemma-2b", "GemmaForCausalLM")
ROUND_TRIP(gemma2_post_norms_softcaps, "gemma2-2b", "Gemma2ForCausalLM")
ROUND_TRIP(gemma3_local_layers, "gemma3-270m", "Gemma3ForCausalLM")
ROUND_TRIP(stablelm_layernorm_partial_rotary, "stablelm2-1.6b", "StableLmForCausalLM")
ROUND_TRIP(stablelm_per_head_norms_parallel, "stablelm2-12b", "StableLmForCausalLM")

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smollm2_tied_llama),
        cmocka_unit_test(tinyllama_untied_gqa),
        cmocka_unit_test(llama3_rope_scaling),
        cmocka_unit_test(qwen2_biases),
        cmocka_unit_test(qwen3_qk_norms),
        cmocka_unit_test(phi3_fused_longrope),
        cmocka_unit_test(gemma_norms_plus_one),
        cmocka_unit_test(gemma2_post_norms_softcaps),
        cmocka_unit_test(gemma3_local_layers),
        cmocka_unit_test(stablelm_layernorm_partial_rotary),
        cmocka_unit_test(stablelm_per_head_norms_parallel),
        cmocka_unit_test(bert_word_piece),
        cmocka_unit_test(nomic_bert_rotary_swiglu),
        cmocka_unit_test(bert_reranker_head),
        cmocka_unit_test(t5_flan_unigram),
        cmocka_unit_test(t5_unigram_collapsed_spaces),
        cmocka_unit_test(t5_relu_tied),
        cmocka_unit_test(t5_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
