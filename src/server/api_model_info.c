/*
 * api_model_info.c — what a model file says about itself, read from its
 * GGUF metadata without loading weights or vocabulary: Ollama's "details"
 * (family, parameter size, quantization) for /api/tags and /api/ps, and
 * /api/show's model_info (every metadata key, as Ollama lists them),
 * template and capabilities; /props's chat template and context size.
 *
 * The small facts are read once per model and kept for the process's life
 * (like the registry's entries); model_info is built per request.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/gguf.h"
#include "model/arch.h"
#include "server/api_common.h"

#define SHORT_ARRAY 5 /* longer arrays show as [] unless verbose, as in Ollama */

static pthread_mutex_t facts_lock = PTHREAD_MUTEX_INITIALIZER;
static model_facts *facts_list;

/* "135M", "1.7B", "260K". */
static void format_parameter_size(uint64_t n, char *out, size_t size) {
    const char *units = "KMBT";
    double value = (double)n;
    int unit = -1;
    while (value >= 1000 && unit < 3) {
        value /= 1000;
        unit++;
    }
    if (unit < 0)
        snprintf(out, size, "%llu", (unsigned long long)n);
    else if (value < 10 && value != floor(value))
        snprintf(out, size, "%.1f%c", value, units[unit]);
    else
        snprintf(out, size, "%.0f%c", value, units[unit]);
}

/* llama.cpp's names of general.file_type (llama_ftype), as Ollama shows them. */
static const char *file_type_name(uint32_t file_type) {
    static const char *const names[] = {
        [0] = "F32",     [1] = "F16",     [2] = "Q4_0",     [3] = "Q4_1",    [7] = "Q8_0",     [8] = "Q5_0",
        [9] = "Q5_1",    [10] = "Q2_K",   [11] = "Q3_K_S",  [12] = "Q3_K_M", [13] = "Q3_K_L",  [14] = "Q4_K_S",
        [15] = "Q4_K_M", [16] = "Q5_K_S", [17] = "Q5_K_M",  [18] = "Q6_K",   [19] = "IQ2_XXS", [20] = "IQ2_XS",
        [21] = "Q2_K_S", [22] = "IQ3_XS", [23] = "IQ3_XXS", [24] = "IQ1_S",  [25] = "IQ4_NL",  [26] = "IQ3_S",
        [27] = "IQ3_M",  [28] = "IQ2_S",  [29] = "IQ2_M",   [30] = "IQ4_XS", [31] = "IQ1_M",   [32] = "BF16",
        [36] = "TQ1_0",  [37] = "TQ2_0",
    };
    file_type &= ~1024u; /* the "guessed" flag */
    return file_type < sizeof names / sizeof *names ? names[file_type] : NULL;
}

/* The quantization of a file: its general.file_type, else the type holding
 * most of the matrix bytes. */
static void read_quantization(const gguf_file *file, char *out, size_t size) {
    uint32_t file_type = 0;
    const char *name = gguf_get_u32(file, "general.file_type", &file_type) ? file_type_name(file_type) : NULL;
    if (!name) {
        uint64_t bytes[64] = {0};
        uint32_t main = 0;
        for (int64_t i = 0; i < gguf_tensor_count(file); i++) {
            const gguf_tensor *t = gguf_tensor_at(file, i);
            if (t->n_dims >= 2 && t->type < 64) bytes[t->type] += t->n_bytes;
        }
        for (uint32_t t = 0; t < 64; t++)
            if (bytes[t] > bytes[main]) main = t;
        name = tl_type_name(main);
    }
    size_t i = 0;
    for (; name && name[i] && i + 1 < size; i++)
        out[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    out[i] = 0;
}

/* An embedding model, as Ollama tells: a file that names a pooling (other
 * than none); and here also an architecture the server does not generate
 * with (encoders, encoder-decoders: registry.c gives them no engine). */
static bool embedding_only(const gguf_file *file, const char *arch_name) {
    const tl_arch *arch = tl_arch_find(arch_name);
    if (arch && arch->kind != TL_KIND_DECODER) return true;
    char key[96];
    snprintf(key, sizeof key, "%s.pooling_type", arch_name);
    uint32_t pooling = 0;
    return gguf_get_u32(file, key, &pooling) && pooling != 0;
}

static void read_facts(model_facts *f) {
    snprintf(f->family, sizeof f->family, "unknown");
    f->template_file = registry_template_file(f->entry);
    gguf_file *file = NULL;
    if (gguf_open(f->entry->path, &file, NULL) != TL_OK) return;
    const char *arch = gguf_get_str(file, "general.architecture");
    if (arch) {
        f->known = true;
        snprintf(f->family, sizeof f->family, "%s", arch);
        uint64_t n_params = 0;
        for (int64_t i = 0; i < gguf_tensor_count(file); i++) n_params += gguf_tensor_at(file, i)->n_elements;
        f->n_params = n_params;
        format_parameter_size(n_params, f->parameter_size, sizeof f->parameter_size);
        read_quantization(file, f->quantization, sizeof f->quantization);
        char key[96];
        snprintf(key, sizeof key, "%s.context_length", arch);
        gguf_get_u32(file, key, &f->context_length);
        f->embedding_only = embedding_only(file, arch);
        const char *chat_template = gguf_get_str(file, "tokenizer.chat_template");
        f->chat_template = chat_template ? strdup(chat_template) : NULL;
    }
    gguf_close(file);
}

const model_facts *api_model_facts(const model_entry *entry) {
    if (!entry) return NULL;
    pthread_mutex_lock(&facts_lock);
    model_facts *f = facts_list;
    while (f && f->entry != entry) f = f->next;
    if (!f && (f = calloc(1, sizeof *f))) {
        f->entry = entry;
        read_facts(f);
        f->next = facts_list;
        facts_list = f;
    }
    pthread_mutex_unlock(&facts_lock);
    return f;
}

const char *api_model_template(const model_entry *entry) {
    const cJSON *t = entry->defaults ? cJSON_GetObjectItemCaseSensitive(entry->defaults, "template") : NULL;
    const model_facts *f = api_model_facts(entry);
    if (cJSON_IsString(t)) {
        const char *builtin = tl_chat_template_builtin(t->valuestring);
        return builtin ? builtin : f && f->template_file ? f->template_file : t->valuestring;
    }
    if (f && f->chat_template) return f->chat_template;
    return tl_chat_template_builtin("chatml");
}

cJSON *api_model_details(const model_entry *entry) {
    const model_facts *f = api_model_facts(entry);
    const char *family = f ? f->family : "unknown";
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "parent_model", "");
    cJSON_AddStringToObject(d, "format", "gguf");
    cJSON_AddStringToObject(d, "family", family);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(d, "families"), cJSON_CreateString(family));
    cJSON_AddStringToObject(d, "parameter_size", f ? f->parameter_size : "");
    cJSON_AddStringToObject(d, "quantization_level", f ? f->quantization : "");
    return d;
}

cJSON *api_model_capabilities(const model_entry *entry) {
    const model_facts *f = api_model_facts(entry);
    cJSON *list = cJSON_CreateArray();
    if (f && f->embedding_only) {
        cJSON_AddItemToArray(list, cJSON_CreateString("embedding"));
        return list;
    }
    cJSON_AddItemToArray(list, cJSON_CreateString("completion"));
    /* Ollama: a template that can render tools. */
    if (strstr(api_model_template(entry), "tools")) cJSON_AddItemToArray(list, cJSON_CreateString("tools"));
    return list;
}

/* One metadata value as JSON: numbers, strings, booleans, arrays (long
 * ones empty unless verbose). */
static cJSON *metadata_value(const gguf_file *file, int64_t i, bool verbose) {
    const char *key = gguf_kv_key(file, i);
    const gguf_value_type type = gguf_kv_type(file, i);
    if (type == GGUF_TYPE_STRING) return cJSON_CreateString(gguf_get_str(file, key));
    if (type == GGUF_TYPE_BOOL) {
        bool value = false;
        gguf_get_bool(file, key, &value);
        return cJSON_CreateBool(value);
    }
    if (type != GGUF_TYPE_ARRAY) {
        char text[64];
        if (!gguf_format_value(file, i, text, sizeof text)) return cJSON_CreateNull();
        const double value = strtod(text, NULL);
        return isfinite(value) ? cJSON_CreateNumber(value) : cJSON_CreateNull();
    }
    gguf_value_type elem = GGUF_TYPE_COUNT;
    uint64_t count = 0;
    gguf_get_arr_info(file, key, &elem, &count);
    cJSON *list = cJSON_CreateArray();
    if (!verbose && count > SHORT_ARRAY) return list;
    for (uint64_t k = 0; k < count; k++) {
        cJSON *item = NULL;
        if (elem == GGUF_TYPE_STRING) {
            uint64_t len = 0;
            const char *text = gguf_get_arr_str(file, key, k, &len);
            char *copy = text ? malloc(len + 1) : NULL;
            if (copy) {
                memcpy(copy, text, len);
                copy[len] = 0;
                item = cJSON_CreateString(copy);
                free(copy);
            }
        } else {
            double value = 0;
            if (gguf_get_arr_f64(file, key, k, &value) && isfinite(value)) item = cJSON_CreateNumber(value);
        }
        cJSON_AddItemToArray(list, item ? item : cJSON_CreateNull());
    }
    return list;
}

typedef struct keyed {
    const char *key;
    int64_t index;
} keyed;

static int by_key(const void *a, const void *b) {
    return strcmp(((const keyed *)a)->key, ((const keyed *)b)->key);
}

cJSON *api_model_info(const model_entry *entry, bool verbose) {
    cJSON *info = cJSON_CreateObject();
    gguf_file *file = NULL;
    if (gguf_open(entry->path, &file, NULL) != TL_OK) return info;
    /* In key order, as Ollama lists them. */
    int64_t n = gguf_kv_count(file);
    keyed *keys = malloc(((size_t)n + 1) * sizeof *keys);
    for (int64_t i = 0; keys && i < n; i++) keys[i] = (keyed){gguf_kv_key(file, i), i};
    /* Ollama counts the parameters when the file does not say (index -1). */
    if (keys && gguf_find_key(file, "general.parameter_count") < 0) keys[n++] = (keyed){"general.parameter_count", -1};
    if (keys) qsort(keys, (size_t)n, sizeof *keys, by_key);
    const model_facts *f = api_model_facts(entry);
    for (int64_t i = 0; keys && i < n; i++) {
        if (strcmp(keys[i].key, "tokenizer.chat_template") == 0) continue; /* it is "template" */
        cJSON_AddItemToObject(info, keys[i].key,
                              keys[i].index >= 0 ? metadata_value(file, keys[i].index, verbose)
                                                 : cJSON_CreateNumber(f ? (double)f->n_params : 0));
    }
    free(keys);
    gguf_close(file);
    return info;
}
