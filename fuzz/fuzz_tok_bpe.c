/*
 * fuzz_tok_bpe.c — fuzz target: the byte-level BPE tokenizer ("gpt2") with
 * four pre-tokenizers: GPT-2's, Llama 3's, Qwen2's and DeepSeek LLM's, each
 * with its real vocabulary. Input: see fuzz_tokenizer.h.
 */
#include "fuzz_support.h"
#include "fuzz_tokenizer.h"

static tl_model *models[4];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    models[0] = fuzz_load_vocab("tokenizers/llama.cpp-vocab/ggml-vocab-gpt-2.gguf");
    models[1] = fuzz_load_vocab("tokenizers/llama.cpp-vocab/ggml-vocab-llama-bpe.gguf");
    models[2] = fuzz_load_vocab("tokenizers/llama.cpp-vocab/ggml-vocab-qwen2.gguf");
    models[3] = fuzz_load_vocab("tokenizers/llama.cpp-vocab/ggml-vocab-deepseek-llm.gguf");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_tokenizer_run(models, 4, data, size);
    return 0;
}
