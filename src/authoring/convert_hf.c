/*
 * convert_hf.c — `tinyllm convert` (see convert_hf.h): read config.json,
 * open the safetensors file or shards, write the keys (convert_hf_keys.c),
 * the vocabulary (synth_vocab.c's tokenizer.json importer) and every tensor
 * under its GGUF name (convert_hf_names.c), as llama.cpp's
 * convert_hf_to_gguf.py does:
 *   - GGUF shapes are PyTorch's reversed (innermost first);
 *   - llama's q/k rows are permuted from Hugging Face's rotate-half layout
 *     back to interleaved pairs (LlamaModel.permute);
 *   - Gemma's norm weights get their 1 back (HF stores w - 1);
 *   - StableLM's per-head q/k LayerNorms are stacked into one tensor;
 *   - with --type f16/bf16/q8_0 the 2-D weight matrices take that type,
 *     1-D tensors and norms stay f32, and a matrix whose rows do not split
 *     into q8_0 blocks falls back to f16.
 * The file is written to OUT.tmp and renamed, so a failure leaves nothing.
 */
#include "authoring/convert_hf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "authoring/convert_hf_internal.h"
#include "authoring/synth_vocab.h"
#include "tensor/types.h"
#include "util/error.h"

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

static tl_status read_config(hf_converter *c) {
    const char *dir = c->params->hf_dir;
    char *path = join(dir, "config.json");
    if (!path) return tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
    if (access(path, F_OK) != 0) {
        free(path);
        return tl_fail(c->err, TL_ERR_IO, "%s: no config.json (not a Hugging Face model folder)", dir);
    }
    tl_status st = tl_hf_json_file(path, false, &c->config, c->err);
    free(path);
    if (st == TL_OK && !cJSON_IsObject(c->config))
        st = tl_fail(c->err, TL_ERR_FORMAT, "%s/config.json: not a JSON object", dir);
    return st == TL_OK ? hf_read_config(c) : st;
}

/* Opens model.safetensors, or the shards model.safetensors.index.json
 * names. */
static tl_status open_weights(hf_converter *c) {
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
        for (int i = 0; i < c->n_shards && !seen; i++)
            seen = strcmp(strrchr(c->shards[i]->path, '/') + 1, e->valuestring) == 0;
        if (seen) continue;
        if (c->n_shards == HF_MAX_SHARDS) {
            st = tl_fail(c->err, TL_ERR_UNSUPPORTED, "%s: more than %d shards", dir, HF_MAX_SHARDS);
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

/* The vocabulary first (alone in the writer, so that a byte-level one can be
 * written and tried for its pre-tokenizer), as llama.cpp's converter writes
 * it for the model's vocab_size. */
static tl_status write_vocab(hf_converter *c) {
    char *tokenizer = join(c->params->hf_dir, "tokenizer.json");
    char *scratch = malloc(strlen(c->params->out_path) + 5);
    tl_status st = tokenizer && scratch ? TL_OK : tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
    if (st == TL_OK && access(tokenizer, F_OK) != 0)
        st = tl_fail(c->err, TL_ERR_IO, "%s: no tokenizer.json", c->params->hf_dir);
    const tl_hf_vocab_options options = {.byte_level = true,
                                         .word_piece = true,
                                         .unigram = c->arch->t5,
                                         .n_vocab = (uint64_t)c->hp.n_vocab,
                                         .model_config = c->config};
    tl_hf_vocab_info info = {0};
    if (st == TL_OK) st = tl_hf_vocab_import(c->w, tokenizer, &options, &info, c->err);
    if (st == TL_OK && info.n_vocab != (uint64_t)c->hp.n_vocab)
        st = tl_fail(c->err, TL_ERR_UNSUPPORTED, "%s: tokenizer.json has %llu tokens, config.json's vocab_size is %lld",
                     c->params->hf_dir, (unsigned long long)info.n_vocab, (long long)c->hp.n_vocab);
    if (st == TL_OK && (info.byte_level || info.word_piece)) {
        snprintf(scratch, strlen(c->params->out_path) + 5, "%s.tmp", c->params->out_path);
        st = hf_detect_pre(c->w, scratch, c->params->hf_dir, info.word_piece, c->err);
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
static uint32_t tensor_type(const hf_converter *c, const char *name, uint32_t n_dims, int64_t ne0) {
    const size_t n = strlen(name);
    if (n_dims <= 1 || (n > 12 && strcmp(name + n - 12, "_norm.weight") == 0)) return TL_TYPE_F32;
    /* kept f32 by the converter whatever the type (its exclusion list) */
    if (strcmp(name, "position_embd.weight") == 0 || strcmp(name, "token_types.weight") == 0) return TL_TYPE_F32;
    /* T5's relative attention bias: f16 in quantized files, as llama.cpp's */
    if (c->weight_type == TL_TYPE_Q8_0 && (ne0 % 32 != 0 || strstr(name, "attn_rel_b"))) return TL_TYPE_F16;
    return c->weight_type;
}

/* A GGUF tensor to write: one source tensor, or (stacked per-head norms)
 * n_parts of them, one row each. */
typedef struct planned {
    char name[96];
    hf_role role;
    const tl_st_tensor *src;
    const tl_st_tensor **parts;
    int n_parts;
    const char *shard; /* for messages */
} planned;

/* The tensor's values as floats in PyTorch order, and its PyTorch shape. */
static float *load_values(hf_converter *c, const planned *t, uint32_t *n_dims, int64_t *shape) {
    if (!t->parts) {
        const tl_st_tensor *src = t->src;
        float *values = malloc((size_t)(src->n_elements ? src->n_elements : 1) * sizeof *values);
        if (!values) return NULL;
        tl_st_to_float(src, values);
        *n_dims = src->n_dims ? src->n_dims : 1;
        for (uint32_t d = 0; d < *n_dims; d++) shape[d] = src->n_dims ? src->shape[d] : 1;
        return values;
    }
    const int64_t cols = t->parts[0]->n_elements;
    float *values = malloc((size_t)(t->n_parts * cols) * sizeof *values);
    if (!values) return NULL;
    for (int i = 0; i < t->n_parts; i++) tl_st_to_float(t->parts[i], values + i * cols);
    *n_dims = 2;
    shape[0] = t->n_parts;
    shape[1] = cols;
    (void)c;
    return values;
}

/* Converts and adds one tensor. */
static tl_status add_tensor(hf_converter *c, const planned *t, int index, int count) {
    uint32_t n_dims;
    int64_t shape[TL_ST_MAX_DIMS];
    float *values = load_values(c, t, &n_dims, shape);
    if (!values) return tl_fail(c->err, TL_ERR_NOMEM, "out of memory for tensor %s", t->name);
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; d++) n_elements *= shape[d];
    const int64_t rows = shape[0], cols = rows ? n_elements / rows : 0;
    if (c->arch->permute_qk && (t->role == ROLE_Q || t->role == ROLE_K)) {
        const int64_t heads = t->role == ROLE_Q ? c->hp.n_head : c->hp.n_head_kv;
        float *scratch = malloc((size_t)(rows / heads * cols + 1) * sizeof *scratch);
        if (!scratch) {
            free(values);
            return tl_fail(c->err, TL_ERR_NOMEM, "out of memory for tensor %s", t->name);
        }
        permute_rows(values, rows, cols, heads, scratch);
        free(scratch);
    }
    const size_t name_len = strlen(t->name);
    if (c->arch->norm_plus_one && t->role == ROLE_NORM && name_len > 7 &&
        strcmp(t->name + name_len - 7, ".weight") == 0)
        for (int64_t i = 0; i < n_elements; i++) values[i] += 1.0f;
    int64_t ne[TL_ST_MAX_DIMS];
    for (uint32_t d = 0; d < n_dims; d++) ne[d] = shape[n_dims - 1 - d];
    const uint32_t type = tensor_type(c, t->name, n_dims, ne[0]);
    const tl_type_traits *traits = tl_type_traits_of(type);
    tl_status st = TL_OK;
    void *data = values;
    if (type != TL_TYPE_F32) {
        const size_t row_bytes = tl_type_row_bytes(type, ne[0]);
        const int64_t n_rows = ne[0] ? n_elements / ne[0] : 0;
        data = malloc(row_bytes * (size_t)n_rows + 1);
        if (!data)
            st = tl_fail(c->err, TL_ERR_NOMEM, "out of memory for tensor %s", t->name);
        else
            for (int64_t r = 0; r < n_rows; r++)
                traits->from_float(values + r * ne[0], (uint8_t *)data + (size_t)r * row_bytes, ne[0]);
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

static int find_planned(const planned *plan, int count, const char *name) {
    for (int i = 0; i < count; i++)
        if (strcmp(plan[i].name, name) == 0) return i;
    return -1;
}

static tl_status shape_error(hf_converter *c, const char *shard, const tl_st_tensor *src, int64_t rows, int64_t cols) {
    char shape[96] = "";
    for (uint32_t d = 0; d < src->n_dims; d++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? ", " : "",
                 (long long)src->shape[d]);
    char want[64];
    if (cols)
        snprintf(want, sizeof want, "%lld, %lld", (long long)rows, (long long)cols);
    else
        snprintf(want, sizeof want, "%lld", (long long)rows);
    return tl_fail(c->err, TL_ERR_FORMAT, "%s: tensor '%.100s' has shape [%s], config.json implies [%s]", shard,
                   src->name, shape, want);
}

/* Maps one source tensor into the plan: a new entry, or a part of a
 * stacked one. */
static tl_status plan_tensor(hf_converter *c, const char *shard, const tl_st_tensor *src, planned *plan, int *count) {
    char name[96];
    bool skip;
    hf_role role;
    int part;
    if (!hf_map_name(c->arch, src->name, name, sizeof name, &skip, &role, &part))
        return tl_fail(c->err, TL_ERR_UNSUPPORTED, "%s: tensor '%.100s' is not one of %s's", shard, src->name,
                       c->arch->hf_class);
    if (skip) return TL_OK;
    int64_t rows, cols;
    const bool known = hf_expected_shape(c->arch, name, &c->hp, &rows, &cols);
    if (part >= 0) { /* one head's norm: a row of the stacked tensor */
        if (!known || part >= rows || src->n_dims != 1 || src->shape[0] != cols)
            return tl_fail(c->err, TL_ERR_FORMAT, "%s: tensor '%.100s': not a norm of one of %lld heads of %lld", shard,
                           src->name, (long long)rows, (long long)cols);
        int i = find_planned(plan, *count, name);
        if (i < 0) {
            i = (*count)++;
            snprintf(plan[i].name, sizeof plan[i].name, "%s", name);
            plan[i].role = role;
            plan[i].shard = shard;
            plan[i].n_parts = (int)rows;
            if (!(plan[i].parts = calloc((size_t)rows, sizeof *plan[i].parts)))
                return tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
        }
        plan[i].parts[part] = src;
        return TL_OK;
    }
    if (known) {
        const bool ok = cols ? (src->n_dims == 2 && src->shape[0] == rows && src->shape[1] == cols)
                             : (src->n_dims == 1 && src->shape[0] == rows);
        if (!ok) return shape_error(c, shard, src, rows, cols);
    }
    /* T5: the shared embedding, saved under up to three names; the first is kept */
    if (c->arch->t5 && strcmp(name, "token_embd.weight") == 0 && find_planned(plan, *count, name) >= 0) return TL_OK;
    if (find_planned(plan, *count, name) >= 0)
        return tl_fail(c->err, TL_ERR_FORMAT, "%s: tensor '%.100s' is given twice (as %s)", shard, src->name, name);
    planned *t = &plan[(*count)++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->role = role;
    t->src = src;
    t->shard = shard;
    return TL_OK;
}

static tl_status missing_tensor(hf_converter *c, const char *name) {
    return tl_fail(c->err, TL_ERR_FORMAT, "%s: no tensor for %s in the safetensors file%s", c->params->hf_dir, name,
                   c->n_shards > 1 ? "s" : "");
}

/* Every tensor the model needs is there (and every head of a stack). */
static tl_status check_complete(hf_converter *c, const planned *plan, int count) {
    char name[96];
    for (int64_t k = 0; c->arch->t5 && hf_t5_required_tensor(&c->hp, k, name, sizeof name); k++)
        if (find_planned(plan, count, name) < 0) return missing_tensor(c, name);
    if (c->arch->t5) return TL_OK;
    const cJSON *parallel = cJSON_GetObjectItemCaseSensitive(c->config, "use_parallel_residual");
    const bool has_ffn_norm = !(c->arch->layer_norm && cJSON_IsTrue(parallel));
    const char *required[32];
    const int n_required = hf_required_layer_tensors(c->arch, has_ffn_norm, required, 32);
    const char *globals[5] = {"token_embd.weight", "output_norm.weight", NULL, NULL, NULL};
    int n_globals = 2;
    if (c->arch->encoder) {
        globals[1] = "token_embd_norm.weight";
        globals[n_globals++] = "token_embd_norm.bias";
        if (!c->arch->nomic) globals[n_globals++] = "position_embd.weight"; /* nomic: rotary */
        globals[n_globals++] = "token_types.weight";
    } else {
        if (c->arch->layer_norm) globals[n_globals++] = "output_norm.bias";
        if (!c->hp.tied_embeddings) globals[n_globals++] = "output.weight";
    }
    for (int64_t il = -1; il < c->hp.n_layer; il++) {
        for (int k = 0; k < (il < 0 ? n_globals : n_required); k++) {
            if (il < 0)
                snprintf(name, sizeof name, "%s", globals[k]);
            else
                snprintf(name, sizeof name, "blk.%lld.%s", (long long)il, required[k]);
            if (find_planned(plan, count, name) < 0) return missing_tensor(c, name);
        }
    }
    for (int i = 0; i < count; i++)
        for (int h = 0; plan[i].parts && h < plan[i].n_parts; h++)
            if (!plan[i].parts[h])
                return tl_fail(c->err, TL_ERR_FORMAT, "%s: %s: no norm for head %d", plan[i].shard, plan[i].name, h);
    return TL_OK;
}

/* Maps every tensor, checks names, shapes and completeness, then adds them. */
static tl_status write_tensors(hf_converter *c) {
    size_t total = 0;
    for (int s = 0; s < c->n_shards; s++) total += c->shards[s]->n_tensors;
    planned *plan = calloc(total ? total : 1, sizeof *plan);
    if (!plan) return tl_fail(c->err, TL_ERR_NOMEM, "out of memory");
    int count = 0;
    tl_status st = TL_OK;
    for (int s = 0; s < c->n_shards && st == TL_OK; s++)
        for (size_t i = 0; i < c->shards[s]->n_tensors && st == TL_OK; i++)
            st = plan_tensor(c, c->shards[s]->path, &c->shards[s]->tensors[i], plan, &count);
    /* A tied checkpoint saved with only lm_head.weight (safetensors keeps one
     * of two shared tensors; __metadata__ names the other): that matrix is
     * the embedding table, and the output reuses it. */
    if (st == TL_OK && c->hp.tied_embeddings && find_planned(plan, count, "token_embd.weight") < 0) {
        const int output = find_planned(plan, count, "output.weight");
        if (output >= 0) snprintf(plan[output].name, sizeof plan[output].name, "token_embd.weight");
    }
    if (st == TL_OK) st = check_complete(c, plan, count);
    for (int i = 0; i < count && st == TL_OK; i++) st = add_tensor(c, &plan[i], i + 1, count);
    for (int i = 0; i < count; i++) free(plan[i].parts);
    free(plan);
    return st;
}

tl_status tl_convert_hf(const tl_convert_params *params, tl_error *err) {
    hf_converter c = {.params = params, .err = err};
    const char *type = params->type ? params->type : "f16";
    bool known = false;
    for (size_t i = 0; i < sizeof out_types / sizeof out_types[0]; i++)
        if (strcasecmp(out_types[i].name, type) == 0) { /* any case, as the other commands */
            c.weight_type = out_types[i].type;
            c.file_type = out_types[i].file_type;
            known = true;
        }
    if (!known) return tl_fail(err, TL_ERR_ARGUMENT, "unknown --type '%s' (f32, f16, bf16 or q8_0)", type);
    tl_status st = read_config(&c);
    if (st == TL_OK) st = open_weights(&c);
    if (st == TL_OK && !(c.w = gguf_writer_new())) st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    if (st == TL_OK) st = write_vocab(&c);
    if (st == TL_OK) st = hf_write_keys(&c);
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
