/*
 * fuzz_tok_spm.c — fuzz target: the SentencePiece-style tokenizer ("llama":
 * score-driven merges, byte fallback) on Llama 2's 32000-token vocabulary,
 * Phi-3's, and stories260K's 512-token one. Input: see fuzz_tokenizer.h.
 */
#include "fuzz_support.h"
#include "fuzz_tokenizer.h"

static tl_model *models[3];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    models[0] = fuzz_load_vocab("tokenizers/llama.cpp-vocab/ggml-vocab-llama-spm.gguf");
    models[1] = fuzz_load_vocab("tokenizers/llama.cpp-vocab/ggml-vocab-phi-3.gguf");
    models[2] = fuzz_load_vocab("models/stories260K.gguf");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_tokenizer_run(models, 3, data, size);
    return 0;
}
