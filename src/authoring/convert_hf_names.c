/*
 * convert_hf_names.c — the Hugging Face architectures `tinyllm convert`
 * accepts and the tensor names of their checkpoints mapped to the GGUF names
 * llama.cpp's converter writes (gguf-py's tensor_mapping.py), with the shape
 * each must have and the tensors every layer needs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/convert_hf_internal.h"

static const hf_arch arch_table[] = {
    /* Llama 1-3, SmolLM/SmolLM2, TinyLlama, Mistral-style checkpoints. */
    {.hf_class = "LlamaForCausalLM", .gguf_arch = "llama", .keys = KEYS_LLAMA, .permute_qk = true},
    {.hf_class = "MistralForCausalLM", .gguf_arch = "llama", .keys = KEYS_LLAMA, .permute_qk = true},
    {.hf_class = "Qwen2ForCausalLM", .gguf_arch = "qwen2", .keys = KEYS_GENERIC, .qkv_bias = true},
    {.hf_class = "Qwen3ForCausalLM", .gguf_arch = "qwen3", .keys = KEYS_GENERIC, .qk_norm = true},
    {.hf_class = "Phi3ForCausalLM", .gguf_arch = "phi3", .keys = KEYS_PHI3, .fused = true},
    {.hf_class = "GemmaForCausalLM",
     .gguf_arch = "gemma",
     .keys = KEYS_GEMMA,
     .norm_plus_one = true,
     .no_lm_head = true},
    {.hf_class = "Gemma2ForCausalLM",
     .gguf_arch = "gemma2",
     .keys = KEYS_GEMMA,
     .norm_plus_one = true,
     .post_norms = true,
     .no_lm_head = true},
    {.hf_class = "Gemma3ForCausalLM",
     .gguf_arch = "gemma3",
     .keys = KEYS_GEMMA3,
     .qk_norm = true,
     .norm_plus_one = true,
     .post_norms = true},
    /* BERT sentence encoders (all-MiniLM, bge): llama.cpp's BertModel classes. */
    {.hf_class = "BertModel", .gguf_arch = "bert", .keys = KEYS_BERT, .layer_norm = true, .encoder = true},
    {.hf_class = "BertForMaskedLM", .gguf_arch = "bert", .keys = KEYS_BERT, .layer_norm = true, .encoder = true},
    /* Cross-encoder rerankers (ms-marco-MiniLM): rank pooling on [CLS]. */
    {.hf_class = "BertForSequenceClassification",
     .gguf_arch = "bert",
     .keys = KEYS_BERT,
     .layer_norm = true,
     .encoder = true,
     .classifier = true},
    /* nomic-embed-text v1/v1.5 */
    {.hf_class = "NomicBertModel",
     .gguf_arch = "nomic-bert",
     .keys = KEYS_BERT,
     .layer_norm = true,
     .encoder = true,
     .nomic = true},
    /* T5, FLAN-T5: encoder-decoder, Unigram vocabulary */
    {.hf_class = "T5ForConditionalGeneration", .gguf_arch = "t5", .keys = KEYS_T5, .t5 = true},
    {.hf_class = "StableLmForCausalLM", .gguf_arch = "stablelm", .keys = KEYS_STABLELM, .layer_norm = true},
    {.hf_class = "StableLMEpochForCausalLM", .gguf_arch = "stablelm", .keys = KEYS_STABLELM, .layer_norm = true},
};

const hf_arch *hf_arch_find(const char *hf_class) {
    if (!hf_class) return NULL;
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (strcmp(arch_table[i].hf_class, hf_class) == 0) return &arch_table[i];
    return NULL;
}

static char arch_list[1024];
static pthread_once_t arch_list_once = PTHREAD_ONCE_INIT;

static void build_arch_list(void) {
    size_t used = 0;
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++) {
        const int n = snprintf(arch_list + used, sizeof arch_list - used, "%s%s (%s)", i ? ", " : "",
                               arch_table[i].hf_class, arch_table[i].gguf_arch);
        if (n < 0 || (size_t)n >= sizeof arch_list - used) break;
        used += (size_t)n;
    }
}

const char *hf_arch_list(void) {
    pthread_once(&arch_list_once, build_arch_list);
    return arch_list;
}

/* Names outside the layers. */
static const struct {
    const char *hf, *gguf;
} global_names[] = {
    {"model.embed_tokens", "token_embd"},
    {"model.norm", "output_norm"},
    {"lm_head", "output"},
};

/* Names inside "model.layers.N.", mapped to names inside "blk.N.". The
 * post-attention norm is the feed-forward norm, except in architectures
 * with post-norms (Gemma 2/3), whose feed-forward norm comes before it. */
static const struct {
    const char *hf, *gguf;
    hf_role role;
} layer_names[] = {
    {"input_layernorm", "attn_norm", ROLE_NORM},
    {"self_attn.q_proj", "attn_q", ROLE_Q},
    {"self_attn.k_proj", "attn_k", ROLE_K},
    {"self_attn.v_proj", "attn_v", ROLE_OTHER},
    {"self_attn.qkv_proj", "attn_qkv", ROLE_OTHER},
    {"self_attn.o_proj", "attn_output", ROLE_OTHER},
    {"self_attn.q_norm", "attn_q_norm", ROLE_NORM},
    {"self_attn.k_norm", "attn_k_norm", ROLE_NORM},
    {"post_attention_layernorm", "ffn_norm", ROLE_NORM},
    {"pre_feedforward_layernorm", "ffn_norm", ROLE_NORM},
    {"post_feedforward_layernorm", "post_ffw_norm", ROLE_NORM},
    {"mlp.gate_proj", "ffn_gate", ROLE_OTHER},
    {"mlp.up_proj", "ffn_up", ROLE_OTHER},
    {"mlp.gate_up_proj", "ffn_up", ROLE_OTHER},
    {"mlp.down_proj", "ffn_down", ROLE_OTHER},
};

/* BERT's names (after an optional "bert." prefix), outside and inside
 * "encoder.layer.N.". */
static const struct {
    const char *hf, *gguf;
} bert_global_names[] = {
    {"embeddings.word_embeddings", "token_embd"},
    {"embeddings.position_embeddings", "position_embd"},
    {"embeddings.token_type_embeddings", "token_types"},
    {"embeddings.LayerNorm", "token_embd_norm"},
};
static const struct {
    const char *hf, *gguf;
} bert_layer_names[] = {
    {"attention.self.query", "attn_q"},
    {"attention.self.key", "attn_k"},
    {"attention.self.value", "attn_v"},
    {"attention.output.dense", "attn_output"},
    {"attention.output.LayerNorm", "attn_output_norm"},
    {"intermediate.dense", "ffn_up"},
    {"output.dense", "ffn_down"},
    {"output.LayerNorm", "layer_output_norm"},
};
/* nomic-bert's (contrib/bert.py of nomic-ai), inside "encoder.layers.N.". */
static const struct {
    const char *hf, *gguf;
} nomic_layer_names[] = {
    {"attn.Wqkv", "attn_qkv"}, {"attn.out_proj", "attn_output"}, {"norm1", "attn_output_norm"},  {"mlp.fc11", "ffn_up"},
    {"mlp.fc12", "ffn_gate"},  {"mlp.fc2", "ffn_down"},          {"norm2", "layer_output_norm"},
};

/* "<prefix>N." at the start of name: N and what follows, or false. */
static bool numbered(const char *name, const char *prefix, unsigned long *n, const char **rest) {
    const size_t len = strlen(prefix);
    if (strncmp(name, prefix, len) != 0) return false;
    const char *p = name + len;
    if (*p < '0' || *p > '9') return false;
    char *end;
    *n = strtoul(p, &end, 10);
    if (*end != '.' || *n > 100000) return false;
    *rest = end + 1;
    return true;
}

/* A sequence classifier's head, as llama.cpp's rank pooling reads it:
 * classifier -> cls.output, and the pooler's dense -> cls (tanh(W·x + b)
 * on [CLS]). llama.cpp's converter drops the pooler (BertModel.filter_
 * tensors); kept here, the file computes what the checkpoint was trained
 * to compute, and llama.cpp's graph runs it too (cls is optional there). */
static bool map_classifier_name(const char *hf_name, char *out, size_t out_size) {
    static const char *const names[][2] = {{"pooler.dense.weight", "cls.weight"},
                                           {"pooler.dense.bias", "cls.bias"},
                                           {"classifier.weight", "cls.output.weight"},
                                           {"classifier.bias", "cls.output.bias"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(hf_name, names[i][0]) == 0) {
            snprintf(out, out_size, "%s", names[i][1]);
            return true;
        }
    return false;
}

/* BertModel.filter_tensors: the "bert." prefix, gamma/beta, and the heads
 * and buffers an embedding model does not use. */
static bool map_bert_name(const hf_arch *arch, const char *hf_name, char *out, size_t out_size, bool *skip) {
    const bool nomic = arch->nomic;
    if (strncmp(hf_name, "bert.", 5) == 0) hf_name += 5;
    if (arch->classifier && map_classifier_name(hf_name, out, out_size)) return true;
    if (strcmp(hf_name, "embeddings.position_ids") == 0 || strncmp(hf_name, "pooler.", 7) == 0 ||
        strncmp(hf_name, "cls.", 4) == 0) {
        *skip = true;
        return true;
    }
    const char *dot = strrchr(hf_name, '.');
    if (!dot) return false;
    const char *suffix = strcmp(dot, ".weight") == 0 || strcmp(dot, ".gamma") == 0 ? ".weight"
                         : strcmp(dot, ".bias") == 0 || strcmp(dot, ".beta") == 0  ? ".bias"
                                                                                   : NULL;
    if (!suffix) return false;
    const size_t base_len = (size_t)(dot - hf_name);
    if (nomic && base_len == 6 && strncmp(hf_name, "emb_ln", 6) == 0) {
        snprintf(out, out_size, "token_embd_norm%s", suffix);
        return true;
    }
    for (size_t i = 0; i < sizeof bert_global_names / sizeof bert_global_names[0]; i++)
        if (strlen(bert_global_names[i].hf) == base_len && strncmp(hf_name, bert_global_names[i].hf, base_len) == 0) {
            snprintf(out, out_size, "%s%s", bert_global_names[i].gguf, suffix);
            return true;
        }
    unsigned long layer;
    const char *inner;
    if (nomic) {
        if (!numbered(hf_name, "encoder.layers.", &layer, &inner)) return false;
        const size_t inner_len = (size_t)(dot - inner);
        for (size_t i = 0; i < sizeof nomic_layer_names / sizeof nomic_layer_names[0]; i++)
            if (strlen(nomic_layer_names[i].hf) == inner_len &&
                strncmp(inner, nomic_layer_names[i].hf, inner_len) == 0) {
                snprintf(out, out_size, "blk.%lu.%s%s", layer, nomic_layer_names[i].gguf, suffix);
                return true;
            }
        return false;
    }
    if (!numbered(hf_name, "encoder.layer.", &layer, &inner)) return false;
    const size_t inner_len = (size_t)(dot - inner);
    for (size_t i = 0; i < sizeof bert_layer_names / sizeof bert_layer_names[0]; i++)
        if (strlen(bert_layer_names[i].hf) == inner_len && strncmp(inner, bert_layer_names[i].hf, inner_len) == 0) {
            snprintf(out, out_size, "blk.%lu.%s%s", layer, bert_layer_names[i].gguf, suffix);
            return true;
        }
    return false;
}

/* Splits "<base>.weight" / "<base>.bias": the suffix, or NULL. */
static const char *param_suffix(const char *name, size_t *base_len) {
    const char *dot = strrchr(name, '.');
    if (!dot || (strcmp(dot, ".weight") != 0 && strcmp(dot, ".bias") != 0)) return NULL;
    *base_len = (size_t)(dot - name);
    return dot;
}

/* StableLM's per-head q/k LayerNorms: "self_attn.q_layernorm.norms.H". */
static bool stacked_norm(const char *inner, size_t inner_len, const char **gguf, int *part) {
    static const struct {
        const char *hf, *gguf;
    } stacks[] = {{"self_attn.q_layernorm.norms.", "attn_q_norm"}, {"self_attn.k_layernorm.norms.", "attn_k_norm"}};
    for (size_t i = 0; i < 2; i++) {
        const size_t n = strlen(stacks[i].hf);
        if (inner_len <= n || strncmp(inner, stacks[i].hf, n) != 0) continue;
        int head = 0;
        for (size_t k = n; k < inner_len; k++) {
            if (inner[k] < '0' || inner[k] > '9' || head > 100000) return false;
            head = head * 10 + (inner[k] - '0');
        }
        *gguf = stacks[i].gguf;
        *part = head;
        return true;
    }
    return false;
}

bool hf_map_name(const hf_arch *arch, const char *hf_name, char *out, size_t out_size, bool *skip, hf_role *role,
                 int *part) {
    *skip = false;
    *role = ROLE_OTHER;
    *part = -1;
    if (strstr(hf_name, "rotary_emb.inv_freq") || (arch->no_lm_head && strcmp(hf_name, "lm_head.weight") == 0)) {
        *skip = true;
        return true;
    }
    if (arch->encoder) return map_bert_name(arch, hf_name, out, out_size, skip);
    if (arch->t5) return hf_t5_map_name(hf_name, out, out_size, role);
    size_t base_len;
    const char *suffix = param_suffix(hf_name, &base_len);
    if (!suffix) return false;
    for (size_t i = 0; i < sizeof global_names / sizeof global_names[0]; i++)
        if (strlen(global_names[i].hf) == base_len && strncmp(hf_name, global_names[i].hf, base_len) == 0) {
            snprintf(out, out_size, "%s%s", global_names[i].gguf, suffix);
            if (strcmp(global_names[i].gguf, "output_norm") == 0) *role = ROLE_NORM;
            return true;
        }
    unsigned long layer;
    const char *inner;
    if (!numbered(hf_name, "model.layers.", &layer, &inner)) return false;
    const size_t inner_len = base_len - (size_t)(inner - hf_name);
    const char *gguf = NULL;
    if (arch->layer_norm && stacked_norm(inner, inner_len, &gguf, part)) {
        snprintf(out, out_size, "blk.%lu.%s%s", layer, gguf, suffix);
        return true;
    }
    for (size_t i = 0; i < sizeof layer_names / sizeof layer_names[0]; i++) {
        if (strlen(layer_names[i].hf) != inner_len || strncmp(inner, layer_names[i].hf, inner_len) != 0) continue;
        gguf = layer_names[i].gguf;
        if (arch->post_norms && strcmp(layer_names[i].hf, "post_attention_layernorm") == 0)
            gguf = "post_attention_norm";
        else if (!arch->post_norms && strcmp(layer_names[i].hf, "pre_feedforward_layernorm") == 0)
            return false;
        snprintf(out, out_size, "blk.%lu.%s%s", layer, gguf, suffix);
        *role = layer_names[i].role;
        return true;
    }
    return false;
}

bool hf_expected_shape(const hf_arch *arch, const char *gguf_name, const hf_params *p, int64_t *rows, int64_t *cols) {
    if (arch->t5) return hf_t5_expected_shape(gguf_name, p, rows, cols);
    const int64_t d = p->n_embd, q = p->n_head * p->head_dim, kv = p->n_head_kv * p->head_dim;
    const bool bias = strstr(gguf_name, ".bias") != NULL;
    const char *base = gguf_name;
    if (strncmp(base, "blk.", 4) == 0) {
        base = strchr(base + 4, '.');
        if (!base) return false;
        base++;
    }
    const struct {
        const char *name;
        int64_t rows, cols;
    } shapes[] = {
        {"token_embd", p->n_vocab, d},
        {"position_embd", p->n_ctx, d},
        {"token_types", p->n_token_types, d},
        {"token_embd_norm", d, 0},
        {"cls.output", p->n_labels, d}, /* before "cls", which it starts with */
        {"cls", d, d},
        {"attn_output_norm", d, 0},
        {"layer_output_norm", d, 0},
        {"output", p->n_vocab, d},
        {"output_norm", d, 0},
        {"attn_norm", d, 0},
        {"attn_q", q, d},
        {"attn_k", kv, d},
        {"attn_v", kv, d},
        {"attn_qkv", q + 2 * kv, d},
        {"attn_output", d, q},
        {"ffn_norm", d, 0},
        {"post_attention_norm", d, 0},
        {"post_ffw_norm", d, 0},
        {"ffn_gate", p->n_ff, d},
        {"ffn_up", arch->fused ? 2 * p->n_ff : p->n_ff, d},
        {"ffn_down", d, p->n_ff},
        /* per head (stablelm: one row per head, stacked) or shared */
        {"attn_q_norm", arch->layer_norm ? p->n_head : p->head_dim, arch->layer_norm ? p->head_dim : 0},
        {"attn_k_norm", arch->layer_norm ? p->n_head_kv : p->head_dim, arch->layer_norm ? p->head_dim : 0},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const size_t n = strlen(shapes[i].name);
        if (strncmp(base, shapes[i].name, n) == 0 && base[n] == '.') {
            *rows = shapes[i].rows;
            *cols = bias ? 0 : shapes[i].cols;
            return true;
        }
    }
    return false;
}

int hf_required_layer_tensors(const hf_arch *arch, bool has_ffn_norm, const char **names, int max) {
    const char *list[24];
    int n = 0;
    if (arch->nomic) {
        static const char *const nomic[] = {
            "attn_qkv.weight",       "attn_output.weight", "attn_output_norm.weight", "attn_output_norm.bias",
            "ffn_up.weight",         "ffn_gate.weight",    "ffn_down.weight",         "layer_output_norm.weight",
            "layer_output_norm.bias"};
        n = (int)(sizeof nomic / sizeof nomic[0]) < max ? (int)(sizeof nomic / sizeof nomic[0]) : max;
        memcpy(names, nomic, (size_t)n * sizeof *names);
        return n;
    }
    if (arch->encoder) {
        static const char *const bert[] = {
            "attn_q.weight",         "attn_k.weight",           "attn_v.weight",
            "attn_output.weight",    "attn_output_norm.weight", "attn_output_norm.bias",
            "ffn_up.weight",         "ffn_down.weight",         "layer_output_norm.weight",
            "layer_output_norm.bias"};
        n = (int)(sizeof bert / sizeof bert[0]) < max ? (int)(sizeof bert / sizeof bert[0]) : max;
        memcpy(names, bert, (size_t)n * sizeof *names);
        return n;
    }
    list[n++] = "attn_norm.weight";
    if (arch->layer_norm) list[n++] = "attn_norm.bias";
    if (arch->fused) {
        list[n++] = "attn_qkv.weight";
    } else {
        list[n++] = "attn_q.weight";
        list[n++] = "attn_k.weight";
        list[n++] = "attn_v.weight";
        list[n++] = "ffn_gate.weight";
    }
    list[n++] = "attn_output.weight";
    list[n++] = "ffn_up.weight";
    list[n++] = "ffn_down.weight";
    if (has_ffn_norm) list[n++] = "ffn_norm.weight";
    if (has_ffn_norm && arch->layer_norm) list[n++] = "ffn_norm.bias";
    if (arch->qkv_bias) {
        list[n++] = "attn_q.bias";
        list[n++] = "attn_k.bias";
        list[n++] = "attn_v.bias";
    }
    if (arch->qk_norm) {
        list[n++] = "attn_q_norm.weight";
        list[n++] = "attn_k_norm.weight";
    }
    if (arch->post_norms) {
        list[n++] = "post_attention_norm.weight";
        list[n++] = "post_ffw_norm.weight";
    }
    if (n > max) n = max;
    memcpy(names, list, (size_t)n * sizeof *names);
    return n;
}
