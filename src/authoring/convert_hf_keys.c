/*
 * convert_hf_keys.c — config.json to GGUF keys for `tinyllm convert`, as
 * each of llama.cpp's model classes writes them (TextModel's generic keys,
 * LlamaModel, GemmaModel/Gemma2Model, Gemma3Model, Phi3MiniModel,
 * StableLMModel), and the tensors computed from config.json: Llama 3's
 * rope_freqs and Phi-3's LongRoPE factors.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authoring/convert_hf_internal.h"
#include "authoring/synth_vocab.h"
#include "tensor/types.h"
#include "util/error.h"

const char *hf_arch_key(hf_converter *c, const char *suffix) {
    snprintf(c->key, sizeof c->key, "%s.%s", c->arch->gguf_arch, suffix);
    return c->key;
}

static const cJSON *config_item(const hf_converter *c, const char *name) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(c->config, name);
    return cJSON_IsNull(item) ? NULL : item;
}

static bool config_number(const cJSON *object, const char *name, double *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsNumber(item)) return false;
    *out = item->valuedouble;
    return true;
}

/* A positive config.json integer; `fallback` when absent (-1: required). */
tl_status hf_config_int(hf_converter *c, const char *name, int64_t fallback, int64_t *out) {
    const cJSON *item = config_item(c, name);
    if (!item) {
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

static double config_double(const hf_converter *c, const char *name, double fallback) {
    double v;
    return config_number(c->config, name, &v) ? v : fallback;
}

/* Other names of the same hyper-parameters (TextModel.find_hparam's lists):
 * copied under the first name when only another is given. */
static void alias_config_names(hf_converter *c) {
    static const char *const aliases[][2] = {
        {"hidden_size", "n_embd"},
        {"intermediate_size", "n_inner"},
        {"num_hidden_layers", "n_layer"},
        {"num_attention_heads", "n_head"},
        {"max_position_embeddings", "n_positions"},
        {"layer_norm_eps", "layer_norm_epsilon"},
        {"rope_theta", "rotary_emb_base"},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        const cJSON *other = cJSON_GetObjectItemCaseSensitive(c->config, aliases[i][1]);
        if (!config_item(c, aliases[i][0]) && cJSON_IsNumber(other))
            cJSON_AddItemToObject(c->config, aliases[i][0], cJSON_CreateNumber(other->valuedouble));
    }
    /* NomicBertModel: nomic-embed-text v1/v1.5 are trained for 2048 positions */
    double positions = 0, trained = 2048;
    if (c->arch->nomic && config_number(c->config, "n_positions", &positions) && positions == 8192 &&
        (!config_number(c->config, "max_trained_positions", &trained) || trained == 2048))
        cJSON_ReplaceItemInObjectCaseSensitive(c->config, "max_position_embeddings", cJSON_CreateNumber(2048));
}

tl_status hf_read_config(hf_converter *c) {
    const char *dir = c->params->hf_dir;
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
    if (c->arch->t5) return hf_t5_read_config(c);
    alias_config_names(c);
    hf_params *p = &c->hp;
    const bool gemma3 = c->arch->keys == KEYS_GEMMA3;
    TL_TRY(hf_config_int(c, "vocab_size", gemma3 ? 262208 : -1, &p->n_vocab));
    TL_TRY(hf_config_int(c, "hidden_size", -1, &p->n_embd));
    TL_TRY(hf_config_int(c, "intermediate_size", -1, &p->n_ff));
    TL_TRY(hf_config_int(c, "num_hidden_layers", -1, &p->n_layer));
    TL_TRY(hf_config_int(c, "num_attention_heads", gemma3 ? 8 : -1, &p->n_head));
    TL_TRY(hf_config_int(c, "num_key_value_heads", gemma3 ? 4 : p->n_head, &p->n_head_kv));
    TL_TRY(hf_config_int(c, "head_dim", gemma3 ? 256 : p->n_embd / p->n_head, &p->head_dim));
    TL_TRY(hf_config_int(c, "max_position_embeddings", gemma3 ? 131072 : 2048, &p->n_ctx));
    if (p->n_head % p->n_head_kv != 0 || p->head_dim % 2 != 0 || p->head_dim > 4096)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: %lld heads, %lld key/value heads, head size %lld", dir,
                       (long long)p->n_head, (long long)p->n_head_kv, (long long)p->head_dim);
    /* rotary dimensions: partial for StableLM (of a head) and Phi-3 (of the width) */
    const double partial = config_double(c, "partial_rotary_factor", config_double(c, "rope_pct", 1.0));
    p->n_rot = c->arch->keys == KEYS_PHI3       ? (int64_t)(partial * (double)p->n_embd) / p->n_head
               : c->arch->keys == KEYS_STABLELM ? (int64_t)(partial * (double)(p->n_embd / p->n_head))
                                                : p->head_dim;
    if (p->n_rot <= 0 || p->n_rot > p->head_dim || p->n_rot % 2)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: %lld rotary dimensions for heads of %lld", dir,
                       (long long)p->n_rot, (long long)p->head_dim);
    p->has_rope_theta = config_number(c->config, "rope_theta", &p->rope_theta);
    if (c->arch->layer_norm)
        p->norm_eps = config_double(c, "layer_norm_eps", config_double(c, "norm_eps", 1e-5));
    else
        p->norm_eps = config_double(c, "rms_norm_eps", 1e-6);
    TL_TRY(hf_config_int(c, "type_vocab_size", 1, &p->n_token_types));
    const cJSON *labels = config_item(c, "id2label");
    TL_TRY(hf_config_int(c, "num_labels", cJSON_IsObject(labels) ? cJSON_GetArraySize(labels) : 1, &p->n_labels));
    if (c->arch->classifier && (p->n_labels < 1 || p->n_labels > 4096))
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: %lld classifier labels (1 to 4096)", dir,
                       (long long)p->n_labels);
    const cJSON *tie = config_item(c, "tie_word_embeddings");
    p->tied_embeddings = cJSON_IsBool(tie) ? cJSON_IsTrue(tie) : true;
    return TL_OK;
}

/* Llama 3.1+ rope scaling: one divisor per rotated frequency (1 for short
 * wavelengths, `factor` for long ones, a smooth blend between), as
 * LlamaModel.generate_extra_tensors computes rope_freqs. */
static tl_status add_llama3_rope_freqs(hf_converter *c, const cJSON *scaling) {
    double factor = 8.0, low = 1.0, high = 4.0, original = 8192.0;
    config_number(scaling, "factor", &factor);
    config_number(scaling, "low_freq_factor", &low);
    config_number(scaling, "high_freq_factor", &high);
    config_number(scaling, "original_max_position_embeddings", &original);
    const int64_t head_dim = c->hp.head_dim, n = head_dim / 2;
    const double base = c->hp.has_rope_theta ? c->hp.rope_theta : 10000.0;
    if (high <= low || factor <= 0)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: bad llama3 rope_scaling", c->params->hf_dir);
    float factors[2048];
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

/* Phi-3 LongRoPE: the long and short factor lists as tensors, and the
 * attention factor. */
static tl_status add_longrope(hf_converter *c, const cJSON *scaling) {
    const double scale = (double)c->hp.n_ctx / config_double(c, "original_max_position_embeddings", 4096);
    const double original = config_double(c, "original_max_position_embeddings", 4096);
    gguf_writer_set_f32(c->w, hf_arch_key(c, "rope.scaling.attn_factor"),
                        scale > 1.0 ? (float)sqrt(1.0 + log(scale) / log(original)) : 1.0f);
    static const char *const lists[2] = {"long_factor", "short_factor"};
    static const char *const names[2] = {"rope_factors_long.weight", "rope_factors_short.weight"};
    for (int k = 0; k < 2; k++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(scaling, lists[k]);
        const int64_t n = c->hp.n_rot / 2;
        if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) != n)
            return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: rope_scaling.%s must list %lld numbers",
                           c->params->hf_dir, lists[k], (long long)n);
        float values[2048];
        int i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, list) {
            if (!cJSON_IsNumber(v))
                return tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: rope_scaling.%s[%d] is not a number",
                               c->params->hf_dir, lists[k], i);
            values[i++] = (float)v->valuedouble;
        }
        const int64_t ne[1] = {n};
        TL_TRY(gguf_writer_add_tensor(c->w, names[k], TL_TYPE_F32, 1, ne, values, c->err));
    }
    return TL_OK;
}

/* TextModel.set_gguf_parameters: what most classes write. */
static tl_status write_generic(hf_converter *c) {
    const hf_params *p = &c->hp;
    gguf_writer *w = c->w;
    gguf_writer_set_u32(w, hf_arch_key(c, "block_count"), (uint32_t)p->n_layer);
    gguf_writer_set_u32(w, hf_arch_key(c, "context_length"), (uint32_t)p->n_ctx);
    gguf_writer_set_u32(w, hf_arch_key(c, "embedding_length"), (uint32_t)p->n_embd);
    gguf_writer_set_u32(w, hf_arch_key(c, "feed_forward_length"), (uint32_t)p->n_ff);
    gguf_writer_set_u32(w, hf_arch_key(c, "attention.head_count"), (uint32_t)p->n_head);
    if (config_item(c, "num_key_value_heads"))
        gguf_writer_set_u32(w, hf_arch_key(c, "attention.head_count_kv"), (uint32_t)p->n_head_kv);
    const cJSON *scaling = config_item(c, "rope_scaling");
    if (cJSON_IsObject(scaling)) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(scaling, "rope_type");
        if (!cJSON_IsString(type)) type = cJSON_GetObjectItemCaseSensitive(scaling, "type");
        const char *kind = cJSON_IsString(type) ? type->valuestring : "";
        double factor = 0, original = 0;
        const bool has_factor = config_number(scaling, "factor", &factor);
        if (strcmp(kind, "linear") == 0 && has_factor) {
            gguf_writer_set_str(w, hf_arch_key(c, "rope.scaling.type"), "linear");
            gguf_writer_set_f32(w, hf_arch_key(c, "rope.scaling.factor"), (float)factor);
        } else if (strcmp(kind, "yarn") == 0 && has_factor) {
            gguf_writer_set_str(w, hf_arch_key(c, "rope.scaling.type"), "yarn");
            gguf_writer_set_f32(w, hf_arch_key(c, "rope.scaling.factor"), (float)factor);
            if (config_number(scaling, "original_max_position_embeddings", &original))
                gguf_writer_set_u32(w, hf_arch_key(c, "rope.scaling.original_context_length"), (uint32_t)original);
        } else if (strcmp(kind, "llama3") == 0 && c->arch->keys == KEYS_LLAMA) {
            TL_TRY(add_llama3_rope_freqs(c, scaling));
        } else if (kind[0] && strcmp(kind, "default") != 0) {
            return tl_fail(c->err, TL_ERR_UNSUPPORTED, "%s/config.json: rope_scaling type '%.40s' is not supported",
                           c->params->hf_dir, kind);
        }
    }
    if (p->has_rope_theta) gguf_writer_set_f32(w, hf_arch_key(c, "rope.freq_base"), (float)p->rope_theta);
    double local_theta;
    if (config_number(c->config, "rope_local_base_freq", &local_theta))
        gguf_writer_set_f32(w, hf_arch_key(c, "rope.freq_base_swa"), (float)local_theta);
    gguf_writer_set_f32(
        w, hf_arch_key(c, c->arch->layer_norm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon"),
        (float)p->norm_eps);
    if (config_item(c, "head_dim")) {
        gguf_writer_set_u32(w, hf_arch_key(c, "attention.key_length"), (uint32_t)p->head_dim);
        gguf_writer_set_u32(w, hf_arch_key(c, "attention.value_length"), (uint32_t)p->head_dim);
    }
    return TL_OK;
}

/* The keys every family writes in its own set_gguf_parameters. */
static void write_shape(hf_converter *c) {
    const hf_params *p = &c->hp;
    gguf_writer_set_u32(c->w, hf_arch_key(c, "context_length"), (uint32_t)p->n_ctx);
    gguf_writer_set_u32(c->w, hf_arch_key(c, "embedding_length"), (uint32_t)p->n_embd);
    gguf_writer_set_u32(c->w, hf_arch_key(c, "block_count"), (uint32_t)p->n_layer);
    gguf_writer_set_u32(c->w, hf_arch_key(c, "feed_forward_length"), (uint32_t)p->n_ff);
    gguf_writer_set_u32(c->w, hf_arch_key(c, "attention.head_count"), (uint32_t)p->n_head);
    gguf_writer_set_u32(c->w, hf_arch_key(c, "attention.head_count_kv"), (uint32_t)p->n_head_kv);
}

static void set_f32_from_config(hf_converter *c, const char *config_name, const char *suffix) {
    double v;
    if (config_number(c->config, config_name, &v)) gguf_writer_set_f32(c->w, hf_arch_key(c, suffix), (float)v);
}

/* A window pattern other than the architecture's default (2 for Gemma 2, 6
 * for Gemma 3), which llama.cpp's converter does not write: tinyllm reads
 * attention.sliding_window_pattern, so shrunk test models keep theirs. */
static void write_swa_pattern(hf_converter *c, int64_t usual) {
    double pattern;
    if (config_number(c->config, "sliding_window_pattern", &pattern) && pattern >= 1 && pattern != (double)usual)
        gguf_writer_set_u32(c->w, hf_arch_key(c, "attention.sliding_window_pattern"), (uint32_t)pattern);
}

/* sentence-transformers' pooling (modules.json -> the Pooling module's
 * config.json), as TextModel._try_set_pooling_type reads it: 1 mean,
 * 2 CLS, 3 last token. */
static tl_status write_pooling(hf_converter *c) {
    char path[4096];
    snprintf(path, sizeof path, "%s/modules.json", c->params->hf_dir);
    cJSON *modules = NULL, *pooling = NULL;
    TL_TRY(tl_hf_json_file(path, true, &modules, c->err));
    const char *module_path = NULL;
    const cJSON *module, *list = cJSON_IsArray(modules) ? modules : NULL;
    cJSON_ArrayForEach(module, list) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(module, "type");
        const cJSON *where = cJSON_GetObjectItemCaseSensitive(module, "path");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "sentence_transformers.models.Pooling") == 0 &&
            cJSON_IsString(where) && !strstr(where->valuestring, "..")) {
            module_path = where->valuestring;
            break;
        }
    }
    tl_status st = TL_OK;
    if (module_path) {
        snprintf(path, sizeof path, "%s/%s/config.json", c->params->hf_dir, module_path);
        st = tl_hf_json_file(path, false, &pooling, c->err);
    }
    if (st == TL_OK && pooling) {
        static const char *const modes[3] = {"pooling_mode_mean_tokens", "pooling_mode_cls_token",
                                             "pooling_mode_lasttoken"};
        uint32_t type = 0;
        for (uint32_t k = 0; k < 3 && !type; k++)
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pooling, modes[k]))) type = k + 1;
        if (type)
            gguf_writer_set_u32(c->w, hf_arch_key(c, "pooling_type"), type);
        else
            st = tl_fail(c->err, TL_ERR_UNSUPPORTED, "%s: only mean, CLS and last-token pooling are supported", path);
    }
    cJSON_Delete(pooling);
    cJSON_Delete(modules);
    return st;
}

/* A classifier's labels (id2label by index; "LABEL_<i>" where it names
 * none) and rank pooling, which llama-server's --reranking sets instead. */
static tl_status write_classifier(hf_converter *c) {
    const int64_t n = c->hp.n_labels;
    const cJSON *id2label = config_item(c, "id2label");
    const char **labels = calloc((size_t)n, sizeof *labels);
    char(*names)[32] = calloc((size_t)n, sizeof *names);
    if (!labels || !names) {
        free(labels);
        free(names);
        return tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "%d", (int)i);
        const cJSON *label = cJSON_IsObject(id2label) ? cJSON_GetObjectItemCaseSensitive(id2label, names[i]) : NULL;
        snprintf(names[i], sizeof names[i], "LABEL_%d", (int)i);
        labels[i] = cJSON_IsString(label) ? label->valuestring : names[i];
    }
    gguf_writer_set_arr_str(c->w, hf_arch_key(c, "classifier.output_labels"), labels, (uint64_t)n);
    gguf_writer_set_u32(c->w, hf_arch_key(c, "pooling_type"), 4);
    free(labels);
    free(names);
    return TL_OK;
}

tl_status hf_write_keys(hf_converter *c) {
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
    gguf_writer_set_u32(w, "general.quantization_version", 2);
    double window = 0;
    const bool has_window = config_number(c->config, "sliding_window", &window) && window >= 0;
    switch (c->arch->keys) {
    case KEYS_LLAMA:
        TL_TRY(write_generic(c));
        gguf_writer_set_u32(w, hf_arch_key(c, "vocab_size"), (uint32_t)p->n_vocab);
        gguf_writer_set_u32(w, hf_arch_key(c, "rope.dimension_count"), (uint32_t)p->head_dim);
        break;
    case KEYS_GENERIC: TL_TRY(write_generic(c)); break;
    case KEYS_GEMMA:
        write_shape(c);
        gguf_writer_set_f32(w, hf_arch_key(c, "attention.layer_norm_rms_epsilon"), (float)p->norm_eps);
        gguf_writer_set_u32(w, hf_arch_key(c, "attention.key_length"), (uint32_t)p->head_dim);
        gguf_writer_set_u32(w, hf_arch_key(c, "attention.value_length"), (uint32_t)p->head_dim);
        if (strcmp(c->arch->gguf_arch, "gemma2") == 0) {
            set_f32_from_config(c, "attn_logit_softcapping", "attn_logit_softcapping");
            set_f32_from_config(c, "final_logit_softcapping", "final_logit_softcapping");
            if (has_window) gguf_writer_set_u32(w, hf_arch_key(c, "attention.sliding_window"), (uint32_t)window);
            write_swa_pattern(c, 2);
        }
        break;
    case KEYS_GEMMA3: {
        TL_TRY(write_generic(c));
        gguf_writer_set_u32(w, hf_arch_key(c, "attention.key_length"), (uint32_t)p->head_dim);
        gguf_writer_set_u32(w, hf_arch_key(c, "attention.value_length"), (uint32_t)p->head_dim);
        gguf_writer_set_f32(w, hf_arch_key(c, "rope.freq_base"), p->has_rope_theta ? (float)p->rope_theta : 1e6f);
        set_f32_from_config(c, "final_logit_softcapping", "final_logit_softcapping");
        double pattern = 0;
        config_number(c->config, "sliding_window_pattern", &pattern);
        if (pattern != 1 && has_window)
            gguf_writer_set_u32(w, hf_arch_key(c, "attention.sliding_window"), (uint32_t)window);
        write_swa_pattern(c, 6);
        break;
    }
    case KEYS_PHI3: {
        write_shape(c);
        const double original = config_double(c, "original_max_position_embeddings", (double)p->n_ctx);
        gguf_writer_set_u32(w, hf_arch_key(c, "rope.scaling.original_context_length"), (uint32_t)original);
        gguf_writer_set_f32(w, hf_arch_key(c, "attention.layer_norm_rms_epsilon"), (float)p->norm_eps);
        gguf_writer_set_u32(w, hf_arch_key(c, "rope.dimension_count"), (uint32_t)p->n_rot);
        gguf_writer_set_f32(w, hf_arch_key(c, "rope.freq_base"), p->has_rope_theta ? (float)p->rope_theta : 10000.0f);
        gguf_writer_set_u32(w, hf_arch_key(c, "attention.sliding_window"), has_window ? (uint32_t)window : 0);
        const cJSON *scaling = config_item(c, "rope_scaling");
        if (cJSON_IsObject(scaling)) TL_TRY(add_longrope(c, scaling));
        break;
    }
    case KEYS_BERT:
        TL_TRY(write_generic(c));
        gguf_writer_set_bool(w, hf_arch_key(c, "attention.causal"), false);
        TL_TRY(c->arch->classifier ? write_classifier(c) : write_pooling(c));
        gguf_writer_set_u32(w, "tokenizer.ggml.token_type_count", (uint32_t)p->n_token_types);
        break;
    case KEYS_T5: hf_t5_write_keys(c); break;
    case KEYS_STABLELM: {
        write_shape(c);
        gguf_writer_set_u32(w, hf_arch_key(c, "rope.dimension_count"), (uint32_t)p->n_rot);
        const cJSON *parallel = config_item(c, "use_parallel_residual");
        gguf_writer_set_bool(w, hf_arch_key(c, "use_parallel_residual"), parallel ? cJSON_IsTrue(parallel) : true);
        gguf_writer_set_f32(w, hf_arch_key(c, "attention.layer_norm_epsilon"), (float)p->norm_eps);
        break;
    }
    }
    return TL_OK;
}
