/*
 * convert_hf.c — `tinyllm convert` (see convert_hf.h): read config.json,
 * open the safetensors file or shards, write the GGUF keys, the vocabulary
 * (synth_vocab.c's tokenizer.json importer) and every tensor under its GGUF
 * name, as llama.cpp's convert_hf_to_gguf.py does:
 *   - GGUF shapes are PyTorch's reversed (innermost first);
 *   - llama's q/k rows are permuted from Hugging Face's rotate-half layout
 *     back to interleaved pairs (LlamaModel.permute);
 *   - with --type f16/bf16/q8_0 the 2-D weight matrices take that type,
 *     1-D tensors and norms stay f32, and a matrix whose rows do not split
 *     into q8_0 blocks falls back to f16;
 *   - Llama 3 rope scaling becomes the rope_freqs.weight tensor.
 * The file is written to OUT.tmp and renamed, so a failure leaves nothing.
 */
#include "authoring/convert_hf.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authoring/convert_hf_internal.h"
#include "authoring/gguf_writer.h"
#include "authoring/safetensors.h"
#include "authoring/synth_vocab.h"
#include "tensor/types.h"
#include "util/error.h"

#define MAX_SHARDS 256

typedef struct converter {
    const tl_convert_params *params;
    const hf_arch *arch;
    hf_params hp;
    cJSON *config;
    tl_safetensors *shards[MAX_SHARDS];
    int n_shards;
    gguf_writer *w;
    uint32_t weight_type, file_type;
    tl_error *err;
    char key[160];
} converter;

static const struct {
    const char *name;
    uint32_t type, file_type;
} out_types[] = {
    {"f32", TL_TYPE_F32, 0}, {"f16", TL_TYPE_F16, 1}, {"bf16", TL_TYPE_BF16, 32}, {"q8_0", TL_TYPE_Q8_0, 7}};

const char *tl_convert_hf_architectures(void) {
    return hf_arch_list();
}

static char *join(const char *dir, const char *name) {
    const size_t n = strlen(dir) + strlen(name) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", dir, name);
    return out;
}

static const char *arch_key(converter *c, const char *suffix) {
    snprintf(c->key, sizeof c->key, "%s.%s", c->arch->gguf_arch, suffix);
    return c->key;
}

/* A config.json integer; `fallback` when absent (-1: required). */
static tl_status config_int(converter *c, const char *name, int64_t fallback, int64_t *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(c->config, name);
    if (!item || cJSON_IsNull(item)) {
        if (fallback < 0) return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: no \"%s\"", c->params->hf_dir, name);
        *out = fallback;
        return TL_OK;
    }
    if (!cJSON_IsNumber(item) || item->valuedouble < 1 || item->valuedouble > 1e9 ||
        item->valuedouble != (double)(int64_t)item->valuedouble)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: \"%s\" is not a positive integer", c->params->hf_dir,
                       name);
    *out = (int64_t)item->valuedouble;
    return TL_OK;
}

static bool config_number(const cJSON *object, const char *name, double *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsNumber(item)) return false;
    *out = item->valuedouble;
    return true;
}

static tl_status read_config(converter *c) {
    const char *dir = c->params->hf_dir;
    char *path = join(dir, "config.json");
    if (!path) return tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
    if (access(path, F_OK) != 0) {
        free(path);
        return tl_fail(c->err, TL_ERR_IO, "%s: no config.json (not a Hugging Face model folder)", dir);
    }
    tl_status st = tl_hf_json_file(path, false, &c->config, c->err);
    free(path);
    if (st != TL_OK) return st;
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(c->config, "architectures");
    const cJSON *first = cJSON_IsArray(archs) ? cJSON_GetArrayItem(archs, 0) : NULL;
    if (!cJSON_IsString(first))
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: no \"architectures\" list (supported: %s)", dir,
                       hf_arch_list());
    c->arch = hf_arch_find(first->valuestring);
    if (!c->arch)
        return tl_fail(c->err, TL_ERR_UNSUPPORTED,
                       "%s/config.json: architecture %.80s is not supported (supported: %s)", dir, first->valuestring,
                       hf_arch_list());
    hf_params *p = &c->hp;
    TL_TRY(config_int(c, "vocab_size", -1, &p->n_vocab));
    TL_TRY(config_int(c, "hidden_size", -1, &p->n_embd));
    TL_TRY(config_int(c, "intermediate_size", -1, &p->n_ff));
    TL_TRY(config_int(c, "num_hidden_layers", -1, &p->n_layer));
    TL_TRY(config_int(c, "num_attention_heads", -1, &p->n_head));
    TL_TRY(config_int(c, "num_key_value_heads", p->n_head, &p->n_head_kv));
    TL_TRY(config_int(c, "head_dim", p->n_embd / p->n_head, &p->head_dim));
    TL_TRY(config_int(c, "max_position_embeddings", 2048, &p->n_ctx));
    if (p->n_head % p->n_head_kv != 0 || p->head_dim % 2 != 0)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: %lld heads, %lld key/value heads, head size %lld", dir,
                       (long long)p->n_head, (long long)p->n_head_kv, (long long)p->head_dim);
    p->has_rope_theta = config_number(c->config, "rope_theta", &p->rope_theta);
    if (!config_number(c->config, "rms_norm_eps", &p->norm_eps)) p->norm_eps = 1e-6;
    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(c->config, "tie_word_embeddings");
    p->tied_embeddings = cJSON_IsBool(tie) ? cJSON_IsTrue(tie) : true;
    return TL_OK;
}

/* Opens model.safetensors, or the shards model.safetensors.index.json
 * names. */
static tl_status open_weights(converter *c) {
    const char *dir = c->params->hf_dir;
    char *index_path = join(dir, "model.safetensors.index.json");
    if (!index_path) return tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
    cJSON *index = NULL;
    tl_status st = tl_hf_json_file(index_path, true, &index, c->err);
    free(index_path);
    if (st != TL_OK) return st;
    if (!index) {
        char *path = join(dir, "model.safetensors");
        if (!path) return tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
        if (access(path, F_OK) != 0)
            st = tl_fail(c->err, TL_ERR_IO, "%s: neither model.safetensors nor model.safetensors.index.json", dir);
        else
            st = tl_safetensors_open(path, &c->shards[0], c->err);
        free(path);
        if (st == TL_OK) c->n_shards = 1;
        return st;
    }
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(index, "weight_map");
    if (!cJSON_IsObject(map))
        st = tl_fail(c->err, TL_ERR_FORMAT, "%s/model.safetensors.index.json: no \"weight_map\" object", dir);
    for (const cJSON *e = map ? map->child : NULL; e && st == TL_OK; e = e->next) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/') || e->valuestring[0] == '.' || !e->valuestring[0]) {
            st = tl_fail(c->err, TL_ERR_FORMAT,
                         "%s/model.safetensors.index.json: tensor '%.100s': not a file name in the folder", dir,
                         e->string);
            break;
        }
        bool seen = false;
        for (int i = 0; i < c->n_shards && !seen; i++) {
            const char *slash = strrchr(c->shards[i]->path, '/');
            seen = strcmp(slash + 1, e->valuestring) == 0;
        }
        if (seen) continue;
        if (c->n_shards == MAX_SHARDS) {
            st = tl_fail(c->err, TL_ERR_UNSUPPORTED, "%s: more than %d shards", dir, MAX_SHARDS);
            break;
        }
        char *path = join(dir, e->valuestring);
        if (!path) st = tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
        if (st == TL_OK) st = tl_safetensors_open(path, &c->shards[c->n_shards], c->err);
        if (st == TL_OK) c->n_shards++;
        free(path);
    }
    if (st == TL_OK && c->n_shards == 0)
        st = tl_fail(c->err, TL_ERR_FORMAT, "%s/model.safetensors.index.json: names no shard", dir);
    cJSON_Delete(index);
    return st;
}

/* Llama 3.1+ rope scaling: one divisor per rotated frequency (1 for short
 * wavelengths, `factor` for long ones, a smooth blend between), as
 * LlamaModel.generate_extra_tensors computes rope_freqs. */
static tl_status add_llama3_rope_freqs(converter *c, const cJSON *scaling) {
    double factor = 8.0, low = 1.0, high = 4.0, original = 8192.0;
    config_number(scaling, "factor", &factor);
    config_number(scaling, "low_freq_factor", &low);
    config_number(scaling, "high_freq_factor", &high);
    config_number(scaling, "original_max_position_embeddings", &original);
    const int64_t head_dim = c->hp.head_dim, n = head_dim / 2;
    const double base = c->hp.has_rope_theta ? c->hp.rope_theta : 10000.0;
    if (n > 4096 || high <= low)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: bad rope_scaling", c->params->hf_dir);
    float factors[4096];
    const double low_wavelen = original / low, high_wavelen = original / high;
    for (int64_t i = 0; i < n; i++) {
        const double freq = 1.0 / pow(base, (double)(2 * i) / (double)head_dim);
        const double wavelen = 2.0 * M_PI / freq;
        if (wavelen < high_wavelen) {
            factors[i] = 1.0f;
        } else if (wavelen > low_wavelen) {
            factors[i] = (float)factor;
        } else {
            const double smooth = (original / wavelen - low) / (high - low);
            factors[i] = (float)(1.0 / ((1.0 - smooth) / factor + smooth));
        }
    }
    const int64_t ne[1] = {n};
    return gguf_writer_add_tensor(c->w, "rope_freqs.weight", TL_TYPE_F32, 1, ne, factors, c->err);
}

static tl_status write_keys(converter *c) {
    const hf_params *p = &c->hp;
    gguf_writer *w = c->w;
    gguf_writer_set_str(w, "general.architecture", c->arch->gguf_arch);
    const char *dir = c->params->hf_dir;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/') start--;
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(len - start), dir + start);
    gguf_writer_set_str(w, "general.name", name);
    gguf_writer_set_u32(w, "general.file_type", c->file_type);
    gguf_writer_set_u32(w, arch_key(c, "vocab_size"), (uint32_t)p->n_vocab);
    gguf_writer_set_u32(w, arch_key(c, "context_length"), (uint32_t)p->n_ctx);
    gguf_writer_set_u32(w, arch_key(c, "embedding_length"), (uint32_t)p->n_embd);
    gguf_writer_set_u32(w, arch_key(c, "block_count"), (uint32_t)p->n_layer);
    gguf_writer_set_u32(w, arch_key(c, "feed_forward_length"), (uint32_t)p->n_ff);
    gguf_writer_set_u32(w, arch_key(c, "attention.head_count"), (uint32_t)p->n_head);
    gguf_writer_set_u32(w, arch_key(c, "attention.head_count_kv"), (uint32_t)p->n_head_kv);
    if (cJSON_GetObjectItemCaseSensitive(c->config, "head_dim")) {
        gguf_writer_set_u32(w, arch_key(c, "attention.key_length"), (uint32_t)p->head_dim);
        gguf_writer_set_u32(w, arch_key(c, "attention.value_length"), (uint32_t)p->head_dim);
    }
    if (c->arch->permute_qk) gguf_writer_set_u32(w, arch_key(c, "rope.dimension_count"), (uint32_t)p->head_dim);
    if (p->has_rope_theta) gguf_writer_set_f32(w, arch_key(c, "rope.freq_base"), (float)p->rope_theta);
    gguf_writer_set_f32(w, arch_key(c, "attention.layer_norm_rms_epsilon"), (float)p->norm_eps);
    const cJSON *scaling = cJSON_GetObjectItemCaseSensitive(c->config, "rope_scaling");
    if (cJSON_IsObject(scaling)) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(scaling, "rope_type");
        if (!cJSON_IsString(type)) type = cJSON_GetObjectItemCaseSensitive(scaling, "type");
        const char *kind = cJSON_IsString(type) ? type->valuestring : "";
        double factor = 1.0;
        config_number(scaling, "factor", &factor);
        if (strcmp(kind, "llama3") == 0) {
            TL_TRY(add_llama3_rope_freqs(c, scaling));
        } else if (strcmp(kind, "linear") == 0) {
            gguf_writer_set_str(w, arch_key(c, "rope.scaling.type"), "linear");
            gguf_writer_set_f32(w, arch_key(c, "rope.scaling.factor"), (float)factor);
        } else if (strcmp(kind, "yarn") == 0) {
            double original = 0;
            gguf_writer_set_str(w, arch_key(c, "rope.scaling.type"), "yarn");
            gguf_writer_set_f32(w, arch_key(c, "rope.scaling.factor"), (float)factor);
            if (config_number(scaling, "original_max_position_embeddings", &original))
                gguf_writer_set_u32(w, arch_key(c, "rope.scaling.original_context_length"), (uint32_t)original);
        } else if (kind[0] && strcmp(kind, "default") != 0) {
            return tl_fail(c->err, TL_ERR_UNSUPPORTED, "%s/config.json: rope_scaling type '%.40s' is not supported",
                           c->params->hf_dir, kind);
        }
    }
    return TL_OK;
}

/* The vocabulary first (alone in the writer, so that a byte-level one can be
 * written and tried for its pre-tokenizer), as llama.cpp's converter writes
 * it for the model's vocab_size. */
static tl_status write_vocab(converter *c) {
    char *tokenizer = join(c->params->hf_dir, "tokenizer.json");
    char *scratch = malloc(strlen(c->params->out_path) + 5);
    tl_status st = tokenizer && scratch ? TL_OK : tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
    if (st == TL_OK && access(tokenizer, F_OK) != 0)
        st = tl_fail(c->err, TL_ERR_IO, "%s: no tokenizer.json", c->params->hf_dir);
    const tl_hf_vocab_options options = {
        .byte_level = true, .n_vocab = (uint64_t)c->hp.n_vocab, .model_config = c->config};
    tl_hf_vocab_info info = {0};
    if (st == TL_OK) st = tl_hf_vocab_import(c->w, tokenizer, &options, &info, c->err);
    if (st == TL_OK && info.n_vocab != (uint64_t)c->hp.n_vocab)
        st = tl_fail(c->err, TL_ERR_UNSUPPORTED, "%s: tokenizer.json has %llu tokens, config.json's vocab_size is %lld",
                     c->params->hf_dir, (unsigned long long)info.n_vocab, (long long)c->hp.n_vocab);
    if (st == TL_OK && info.byte_level) {
        snprintf(scratch, strlen(c->params->out_path) + 5, "%s.tmp", c->params->out_path);
        st = hf_detect_pre(c->w, scratch, c->params->hf_dir, c->err);
    }
    free(scratch);
    free(tokenizer);
    return st;
}

/* LlamaModel.permute: within each head, rows (i, j) of the rotate-half
 * layout (i = half, j < head_dim/2) go to row (j, i). */
static void permute_rows(float *data, int64_t rows, int64_t cols, int64_t n_heads, float *scratch) {
    const int64_t head = rows / n_heads, half = head / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *block = data + h * head * cols;
        memcpy(scratch, block, (size_t)(head * cols) * sizeof *scratch);
        for (int64_t i = 0; i < 2; i++)
            for (int64_t j = 0; j < half; j++)
                memcpy(block + (j * 2 + i) * cols, scratch + (i * half + j) * cols, (size_t)cols * sizeof *scratch);
    }
}

/* The GGUF type of a tensor: as the converter chooses it. */
static uint32_t tensor_type(const converter *c, const char *name, uint32_t n_dims, int64_t ne0) {
    const size_t n = strlen(name);
    if (n_dims <= 1 || (n > 12 && strcmp(name + n - 12, "_norm.weight") == 0)) return TL_TYPE_F32;
    if (c->weight_type == TL_TYPE_Q8_0 && ne0 % 32 != 0) return TL_TYPE_F16;
    return c->weight_type;
}

typedef struct planned {
    const tl_st_tensor *src;
    char name[96];
    hf_role role;
} planned;

/* Converts and adds one tensor. */
static tl_status add_tensor(converter *c, const planned *t, int index, int count) {
    const tl_st_tensor *src = t->src;
    const int64_t rows = src->n_dims ? src->shape[0] : 1;
    const int64_t cols = src->n_dims ? src->n_elements / (rows ? rows : 1) : 1;
    float *values = malloc((size_t)(src->n_elements ? src->n_elements : 1) * sizeof *values);
    if (!values) return tl_fail(c->err, TL_ERR_NOMEM, "out of memory for tensor %s", src->name);
    tl_st_to_float(src, values);
    if (c->arch->permute_qk && t->role != ROLE_OTHER) {
        const int64_t heads = t->role == ROLE_Q ? c->hp.n_head : c->hp.n_head_kv;
        float *scratch = malloc((size_t)(rows / heads * cols) * sizeof *scratch);
        if (!scratch) {
            free(values);
            return tl_fail(c->err, TL_ERR_NOMEM, "out of memory for tensor %s", src->name);
        }
        permute_rows(values, rows, cols, heads, scratch);
        free(scratch);
    }
    int64_t ne[TL_ST_MAX_DIMS];
    const uint32_t n_dims = src->n_dims ? src->n_dims : 1;
    for (uint32_t d = 0; d < n_dims; d++) ne[d] = src->n_dims ? src->shape[src->n_dims - 1 - d] : 1;
    const uint32_t type = tensor_type(c, t->name, n_dims, ne[0]);
    const tl_type_traits *traits = tl_type_traits_of(type);
    tl_status st = TL_OK;
    void *data = values;
    if (type != TL_TYPE_F32) {
        data = malloc(tl_type_row_bytes(type, ne[0]) * (size_t)(src->n_elements / ne[0]));
        if (!data)
            st = tl_fail(c->err, TL_ERR_NOMEM, "out of memory for tensor %s", src->name);
        else
            for (int64_t r = 0; r < src->n_elements / ne[0]; r++)
                traits->from_float(values + r * ne[0], (uint8_t *)data + r * tl_type_row_bytes(type, ne[0]), ne[0]);
    }
    if (st == TL_OK && c->params->progress) {
        tl_convert_progress pr = {
            .name = t->name, .n_dims = n_dims, .type = traits->name, .index = index, .count = count};
        for (uint32_t d = 0; d < n_dims && d < 4; d++) pr.ne[d] = ne[d];
        c->params->progress(c->params->user, &pr);
    }
    if (st == TL_OK) st = gguf_writer_add_tensor(c->w, t->name, type, n_dims, ne, data, c->err);
    if (data != values) free(data);
    free(values);
    return st;
}

/* Maps every tensor, checks names, shapes and completeness, then adds them. */
static tl_status write_tensors(converter *c) {
    size_t total = 0;
    for (int s = 0; s < c->n_shards; s++) total += c->shards[s]->n_tensors;
    planned *plan = calloc(total ? total : 1, sizeof *plan);
    if (!plan) return tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
    int count = 0;
    tl_status st = TL_OK;
    for (int s = 0; s < c->n_shards && st == TL_OK; s++) {
        for (size_t i = 0; i < c->shards[s]->n_tensors && st == TL_OK; i++) {
            const tl_st_tensor *src = &c->shards[s]->tensors[i];
            planned *t = &plan[count];
            bool skip;
            if (!hf_map_name(src->name, t->name, sizeof t->name, &skip, &t->role)) {
                st = tl_fail(c->err, TL_ERR_UNSUPPORTED, "%s: tensor '%.100s' is not one of %s's", c->shards[s]->path,
                             src->name, c->arch->hf_class);
                break;
            }
            if (skip) continue;
            int64_t rows, cols;
            if (hf_expected_shape(t->name, &c->hp, &rows, &cols)) {
                const bool ok = cols ? (src->n_dims == 2 && src->shape[0] == rows && src->shape[1] == cols)
                                     : (src->n_dims == 1 && src->shape[0] == rows);
                if (!ok) {
                    char shape[64] = "";
                    for (uint32_t d = 0; d < src->n_dims; d++)
                        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? ", " : "",
                                 (long long)src->shape[d]);
                    if (cols)
                        st = tl_fail(c->err, TL_ERR_FORMAT,
                                     "%s: tensor '%s' has shape [%s], config.json implies [%lld, %lld]",
                                     c->shards[s]->path, src->name, shape, (long long)rows, (long long)cols);
                    else
                        st =
                            tl_fail(c->err, TL_ERR_FORMAT, "%s: tensor '%s' has shape [%s], config.json implies [%lld]",
                                    c->shards[s]->path, src->name, shape, (long long)rows);
                    break;
                }
            }
            t->src = src;
            count++;
        }
    }
    /* A tied checkpoint saved with only lm_head.weight (safetensors keeps one
     * of two shared tensors; __metadata__ names the other): that matrix is
     * the embedding table, and the output reuses it. */
    if (st == TL_OK && c->hp.tied_embeddings) {
        int embd = -1, output = -1;
        for (int i = 0; i < count; i++) {
            if (strcmp(plan[i].name, "token_embd.weight") == 0) embd = i;
            if (strcmp(plan[i].name, "output.weight") == 0) output = i;
        }
        if (embd < 0 && output >= 0) snprintf(plan[output].name, sizeof plan[output].name, "token_embd.weight");
    }
    /* What every layer must have. */
    const char *required[16];
    int n_required = 0;
    static const char *const base[] = {"attn_norm.weight", "attn_q.weight",      "attn_k.weight",
                                       "attn_v.weight",    "attn_output.weight", "ffn_norm.weight",
                                       "ffn_gate.weight",  "ffn_up.weight",      "ffn_down.weight"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) required[n_required++] = base[i];
    if (c->arch->qkv_bias) {
        required[n_required++] = "attn_q.bias";
        required[n_required++] = "attn_k.bias";
        required[n_required++] = "attn_v.bias";
    }
    if (c->arch->qk_norm) {
        required[n_required++] = "attn_q_norm.weight";
        required[n_required++] = "attn_k_norm.weight";
    }
    char name[96];
    for (int64_t il = -1; il < c->hp.n_layer && st == TL_OK; il++) {
        const int n = il < 0 ? (c->hp.tied_embeddings ? 2 : 3) : n_required;
        static const char *const globals[] = {"token_embd.weight", "output_norm.weight", "output.weight"};
        for (int k = 0; k < n && st == TL_OK; k++) {
            if (il < 0)
                snprintf(name, sizeof name, "%s", globals[k]);
            else
                snprintf(name, sizeof name, "blk.%lld.%s", (long long)il, required[k]);
            bool found = false;
            for (int i = 0; i < count && !found; i++) found = strcmp(plan[i].name, name) == 0;
            if (!found)
                st = tl_fail(c->err, TL_ERR_FORMAT, "%s: no tensor for %s in the safetensors file%s", c->params->hf_dir,
                             name, c->n_shards > 1 ? "s" : "");
        }
    }
    for (int i = 0; i < count && st == TL_OK; i++) st = add_tensor(c, &plan[i], i + 1, count);
    free(plan);
    return st;
}

tl_status tl_convert_hf(const tl_convert_params *params, tl_error *err) {
    converter c = {.params = params, .err = err};
    const char *type = params->type ? params->type : "f16";
    bool known = false;
    for (size_t i = 0; i < sizeof out_types / sizeof out_types[0]; i++)
        if (strcmp(out_types[i].name, type) == 0) {
            c.weight_type = out_types[i].type;
            c.file_type = out_types[i].file_type;
            known = true;
        }
    if (!known) return tl_fail(err, TL_ERR_ARGUMENT, "unknown --type '%s' (f32, f16, bf16 or q8_0)", type);
    tl_status st = read_config(&c);
    if (st == TL_OK) st = open_weights(&c);
    if (st == TL_OK && !(c.w = gguf_writer_new())) st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (st == TL_OK) st = write_vocab(&c);
    if (st == TL_OK) st = write_keys(&c);
    if (st == TL_OK) st = write_tensors(&c);
    char *tmp = NULL;
    if (st == TL_OK) {
        const size_t n = strlen(params->out_path) + 5;
        if (!(tmp = malloc(n)))
            st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
        else
            snprintf(tmp, n, "%s.tmp", params->out_path);
    }
    if (st == TL_OK) {
        st = gguf_writer_write(c.w, tmp, err);
        if (st == TL_OK && rename(tmp, params->out_path) != 0)
            st = tl_fail(err, TL_ERR_IO, "%s: cannot rename %s to it", params->out_path, tmp);
        if (st != TL_OK) unlink(tmp);
    }
    free(tmp);
    gguf_writer_free(c.w);
    for (int i = 0; i < c.n_shards; i++) tl_safetensors_close(c.shards[i]);
    cJSON_Delete(c.config);
    return st;
}
