/*
 * fuzz_safetensors.c — fuzz target: a .safetensors file.
 *
 * The input goes through tl_safetensors_parse (header length, JSON, dtypes,
 * shapes, offsets, overlaps); every tensor it accepts is looked up by name
 * and converted to floats, touching its first and last byte. Then the input
 * is the model.safetensors of a Hugging Face folder in the scratch directory
 * (a fixed tiny llama config.json and the TinyStories-656K tokenizer.json,
 * when the shared data has it) and goes through tl_convert_hf: name mapping,
 * shape checks, q/k permutation, q8_0 quantization and the GGUF writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authoring/convert_hf.h"
#include "authoring/safetensors.h"
#include "fuzz_support.h"

static const char *model_path, *out_path;
static bool have_folder;

static void write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) fuzz_die("cannot write %s", path);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    model_path = fuzz_scratch_path("model.safetensors");
    out_path = fuzz_scratch_path("out.gguf");
    static const char config[] =
        "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 2048, \"hidden_size\": 8,"
        " \"intermediate_size\": 32, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
        " \"num_key_value_heads\": 1, \"max_position_embeddings\": 64, \"tie_word_embeddings\": true}";
    write_file(fuzz_scratch_path("config.json"), config, sizeof config - 1);
    const char *tokenizer = fuzz_shared_path("models/TinyStories-656K/tokenizer.json");
    have_folder = symlink(tokenizer, fuzz_scratch_path("tokenizer.json")) == 0 && access(tokenizer, R_OK) == 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tl_safetensors *st = NULL;
    tl_error err = {0};
    if (tl_safetensors_parse(data, size, "input", &st, &err) != TL_OK) return 0;
    for (size_t i = 0; i < st->n_tensors; i++) {
        const tl_st_tensor *t = &st->tensors[i];
        if (tl_safetensors_find(st, t->name) != t) abort(); /* names are unique */
        if (t->n_bytes) {
            volatile uint8_t first = t->data[0], last = t->data[t->n_bytes - 1];
            (void)first;
            (void)last;
        }
        float *values = malloc((size_t)(t->n_elements ? t->n_elements : 1) * sizeof *values);
        if (!values) abort();
        tl_st_to_float(t, values);
        free(values);
    }
    tl_safetensors_close(st);
    if (!have_folder) return 0;
    write_file(model_path, data, size);
    const tl_convert_params params = {.hf_dir = fuzz_scratch_dir(), .out_path = out_path, .type = "q8_0"};
    if (tl_convert_hf(&params, &err) == TL_OK) unlink(out_path);
    return 0;
}
