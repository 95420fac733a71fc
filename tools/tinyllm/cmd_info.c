/*
 * cmd_info.c — `tinyllm info`: what a GGUF model file holds.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "cli.h"

static void human_count(uint64_t n, char *buf, size_t size) {
    if (n >= 1000000000ull)
        snprintf(buf, size, "%.2fB", n / 1e9);
    else if (n >= 1000000ull)
        snprintf(buf, size, "%.1fM", n / 1e6);
    else if (n >= 1000ull)
        snprintf(buf, size, "%.1fK", n / 1e3);
    else
        snprintf(buf, size, "%llu", (unsigned long long)n);
}

static void print_text(const tl_model_info *i) {
    char params[32];
    human_count(i->n_params, params, sizeof params);
    printf("file:           %s (%.2f MiB, GGUF v%u)\n", i->path, i->file_size / 1048576.0, i->gguf_version);
    printf("architecture:   %s\n", i->architecture);
    printf("name:           %s\n", i->name);
    printf("parameters:     %s (%llu)\n", params, (unsigned long long)i->n_params);
    printf("tensors:        %llu (", (unsigned long long)i->n_tensors);
    const char *sep = "";
    for (int t = 0; t < 64; t++)
        if (i->tensors_per_type[t]) {
            printf("%s%s: %llu", sep, tl_type_name((uint32_t)t), (unsigned long long)i->tensors_per_type[t]);
            sep = ", ";
        }
    printf(")\n");
    printf("vocabulary:     %s, %d tokens%s%s\n", i->vocab_type, i->n_vocab,
           i->pre_tokenizer[0] ? ", pre-tokenizer " : "", i->pre_tokenizer);
    printf("context length: %u\n", i->context_length);
    if (i->n_layer)
        printf("shape:          %u layers, embedding %u, feed-forward %u, %u heads (%u kv)\n", i->n_layer, i->n_embd,
               i->n_ff, i->n_head, i->n_head_kv);
    if (i->n_layer)
        printf("kind:           %s (pooling %s)\n",
               !i->has_decoder  ? "encoder (embeddings)"
               : i->has_encoder ? "encoder-decoder"
                                : "decoder",
               tl_pooling_name((tl_pooling)i->pooling));
    printf("chat template:  %s\n", i->has_chat_template ? "yes" : "no");
    printf("metadata keys:  %llu\n", (unsigned long long)i->n_metadata);
}

static void print_json(const tl_model_info *i) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "file", i->path);
    cJSON_AddNumberToObject(root, "file_size", (double)i->file_size);
    cJSON_AddNumberToObject(root, "gguf_version", i->gguf_version);
    cJSON_AddStringToObject(root, "architecture", i->architecture);
    cJSON_AddStringToObject(root, "name", i->name);
    cJSON_AddNumberToObject(root, "parameters", (double)i->n_params);
    cJSON_AddNumberToObject(root, "tensor_count", (double)i->n_tensors);
    cJSON *types = cJSON_AddObjectToObject(root, "tensor_types");
    for (int t = 0; t < 64; t++)
        if (i->tensors_per_type[t])
            cJSON_AddNumberToObject(types, tl_type_name((uint32_t)t), (double)i->tensors_per_type[t]);
    cJSON_AddStringToObject(root, "vocab_type", i->vocab_type);
    cJSON_AddStringToObject(root, "pre_tokenizer", i->pre_tokenizer);
    cJSON_AddNumberToObject(root, "vocab_size", i->n_vocab);
    cJSON_AddNumberToObject(root, "context_length", i->context_length);
    if (i->n_layer) {
        cJSON_AddNumberToObject(root, "block_count", i->n_layer);
        cJSON_AddNumberToObject(root, "embedding_length", i->n_embd);
        cJSON_AddNumberToObject(root, "feed_forward_length", i->n_ff);
        cJSON_AddNumberToObject(root, "head_count", i->n_head);
        cJSON_AddNumberToObject(root, "head_count_kv", i->n_head_kv);
        cJSON_AddBoolToObject(root, "has_encoder", i->has_encoder);
        cJSON_AddBoolToObject(root, "has_decoder", i->has_decoder);
        cJSON_AddStringToObject(root, "pooling", tl_pooling_name((tl_pooling)i->pooling));
    }
    cJSON_AddBoolToObject(root, "chat_template", i->has_chat_template);
    cJSON_AddNumberToObject(root, "metadata_count", (double)i->n_metadata);
    char *out = cJSON_Print(root);
    if (out) printf("%s\n", out);
    free(out);
    cJSON_Delete(root);
}

int cmd_info(int argc, char **argv) {
    const char *ref = NULL;
    bool json = false;
    const tl_opt opts[] = {
        {"-m", "--model", TL_OPT_STRING, &ref, "FILE|NAME", "GGUF model file, or a model of the store (tinyllm list)",
         NULL, 0, 0},
        {NULL, "--json", TL_OPT_FLAG, &json, "", "print a JSON object", NULL, 0, 0},
    };
    const tl_command_spec spec = {"info", "(-m FILE|NAME | FILE | NAME) [--json]",
                                  "Describe a GGUF file: architecture, size, tensors, vocabulary, context.", opts, 2};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 1, &n_pos);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (n_pos && ref) {
        tl_cli_error("info", "unexpected argument '%s' (the model is given with -m)", positional[0]);
        return 1;
    }
    if (n_pos) ref = positional[0];

    /* Try a full load (which also checks the tensors against the
     * architecture); files of architectures tinyllm cannot run yet, and
     * vocabulary-only files, are still described. */
    tl_model_params params = tl_model_default_params();
    tl_model *model = NULL;
    tl_error err = {0};
    char *path = cli_model_path("info", ref);
    if (!path) return 1;
    tl_status st = tl_model_load(path, &params, &model, &err);
    if (st == TL_ERR_UNSUPPORTED || st == TL_ERR_FORMAT) {
        params.vocab_only = true;
        tl_error err2 = {0};
        if (tl_model_load(path, &params, &model, &err2) == TL_OK) {
            tl_model_info probe;
            tl_model_get_info(model, &probe);
            if (st == TL_ERR_UNSUPPORTED || probe.n_tensors == 0) {
                st = TL_OK;
            } else {
                tl_model_free(model);
                model = NULL;
            }
        }
    }
    free(path);
    if (st != TL_OK) {
        tl_cli_error("info", "%s", err.message);
        return 1;
    }
    tl_model_info info;
    tl_model_get_info(model, &info);
    if (json)
        print_json(&info);
    else
        print_text(&info);
    tl_model_free(model);
    return 0;
}
