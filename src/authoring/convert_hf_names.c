/*
 * convert_hf_names.c — the Hugging Face architectures `tinyllm convert`
 * accepts and the tensor names of their checkpoints mapped to the GGUF names
 * llama.cpp's converter writes (gguf-py's tensor_mapping.py), with the shape
 * each must have.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/convert_hf_internal.h"

static const hf_arch arch_table[] = {
    /* Llama 1-3, SmolLM/SmolLM2, TinyLlama, Mistral-style checkpoints. */
    {.hf_class = "LlamaForCausalLM", .gguf_arch = "llama", .permute_qk = true},
    {.hf_class = "MistralForCausalLM", .gguf_arch = "llama", .permute_qk = true},
    {.hf_class = "Qwen2ForCausalLM", .gguf_arch = "qwen2", .qkv_bias = true},
    {.hf_class = "Qwen3ForCausalLM", .gguf_arch = "qwen3", .qk_norm = true},
};

const hf_arch *hf_arch_find(const char *hf_class) {
    if (!hf_class) return NULL;
    for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
        if (strcmp(arch_table[i].hf_class, hf_class) == 0) return &arch_table[i];
    return NULL;
}

static char arch_list[512];
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

/* Names inside "model.layers.N.", mapped to names inside "blk.N.". */
static const struct {
    const char *hf, *gguf;
    hf_role role;
} layer_names[] = {
    {"input_layernorm", "attn_norm", ROLE_OTHER},    {"self_attn.q_proj", "attn_q", ROLE_Q},
    {"self_attn.k_proj", "attn_k", ROLE_K},          {"self_attn.v_proj", "attn_v", ROLE_OTHER},
    {"self_attn.o_proj", "attn_output", ROLE_OTHER}, {"self_attn.q_norm", "attn_q_norm", ROLE_OTHER},
    {"self_attn.k_norm", "attn_k_norm", ROLE_OTHER}, {"post_attention_layernorm", "ffn_norm", ROLE_OTHER},
    {"mlp.gate_proj", "ffn_gate", ROLE_OTHER},       {"mlp.up_proj", "ffn_up", ROLE_OTHER},
    {"mlp.down_proj", "ffn_down", ROLE_OTHER},
};

/* Splits "<base>.weight" / "<base>.bias": the suffix, or NULL. */
static const char *param_suffix(const char *name, size_t *base_len) {
    const char *dot = strrchr(name, '.');
    if (!dot || (strcmp(dot, ".weight") != 0 && strcmp(dot, ".bias") != 0)) return NULL;
    *base_len = (size_t)(dot - name);
    return dot;
}

bool hf_map_name(const char *hf_name, char *out, size_t out_size, bool *skip, hf_role *role) {
    *skip = false;
    *role = ROLE_OTHER;
    if (strstr(hf_name, "rotary_emb.inv_freq")) {
        *skip = true;
        return true;
    }
    size_t base_len;
    const char *suffix = param_suffix(hf_name, &base_len);
    if (!suffix) return false;
    for (size_t i = 0; i < sizeof global_names / sizeof global_names[0]; i++)
        if (strlen(global_names[i].hf) == base_len && strncmp(hf_name, global_names[i].hf, base_len) == 0) {
            snprintf(out, out_size, "%s%s", global_names[i].gguf, suffix);
            return true;
        }
    static const char prefix[] = "model.layers.";
    if (strncmp(hf_name, prefix, sizeof prefix - 1) != 0) return false;
    const char *p = hf_name + sizeof prefix - 1;
    char *end;
    if (*p < '0' || *p > '9') return false;
    const unsigned long layer = strtoul(p, &end, 10);
    if (*end != '.' || layer > 100000) return false;
    const char *inner = end + 1;
    const size_t inner_len = base_len - (size_t)(inner - hf_name);
    for (size_t i = 0; i < sizeof layer_names / sizeof layer_names[0]; i++)
        if (strlen(layer_names[i].hf) == inner_len && strncmp(inner, layer_names[i].hf, inner_len) == 0) {
            snprintf(out, out_size, "blk.%lu.%s%s", layer, layer_names[i].gguf, suffix);
            *role = layer_names[i].role;
            return true;
        }
    return false;
}

bool hf_expected_shape(const char *gguf_name, const hf_params *p, int64_t *rows, int64_t *cols) {
    const int64_t q = p->n_head * p->head_dim, kv = p->n_head_kv * p->head_dim;
    const bool bias = strstr(gguf_name, ".bias") != NULL;
    const char *base = gguf_name;
    if (strncmp(base, "blk.", 4) == 0) {
        base = strchr(base + 4, '.');
        if (!base) return false;
        base++;
    }
    static const char *const names[] = {"token_embd", "output",   "output_norm", "attn_norm",  "attn_q",
                                        "attn_k",     "attn_v",   "attn_output", "ffn_norm",   "ffn_gate",
                                        "ffn_up",     "ffn_down", "attn_q_norm", "attn_k_norm"};
    const int64_t shapes[][2] = {
        {p->n_vocab, p->n_embd}, {p->n_vocab, p->n_embd}, {p->n_embd, 0},   {p->n_embd, 0},  {q, p->n_embd},
        {kv, p->n_embd},         {kv, p->n_embd},         {p->n_embd, q},   {p->n_embd, 0},  {p->n_ff, p->n_embd},
        {p->n_ff, p->n_embd},    {p->n_embd, p->n_ff},    {p->head_dim, 0}, {p->head_dim, 0}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const size_t n = strlen(names[i]);
        if (strncmp(base, names[i], n) == 0 && base[n] == '.') {
            *rows = shapes[i][0];
            *cols = bias ? 0 : shapes[i][1];
            return true;
        }
    }
    return false;
}
