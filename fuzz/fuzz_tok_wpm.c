/*
 * fuzz_tok_wpm.c — fuzz target: the WordPiece tokenizer ("bert": BERT's basic
 * splitting and lower-casing, greedy longest pieces) on BGE's vocabulary.
 * Input: see fuzz_tokenizer.h.
 */
#include "fuzz_support.h"
#include "fuzz_tokenizer.h"

static tl_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    model = fuzz_load_vocab("tokenizers/llama.cpp-vocab/ggml-vocab-bert-bge.gguf");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_tokenizer_run(&model, 1, data, size);
    return 0;
}
