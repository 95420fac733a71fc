/*
 * fuzz_tok_ugm.c — fuzz target: the Unigram tokenizer ("t5": precompiled
 * charsmap normalization, Viterbi segmentation) on the project's own T5-style
 * vocabulary, taken from a tiny flan-t5-small that tl_synth writes at start
 * (no shared data needed). Input: see fuzz_tokenizer.h.
 */
#include "authoring/authoring.h"
#include "fuzz_support.h"
#include "fuzz_tokenizer.h"

static tl_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *path = fuzz_scratch_path("flan-t5-tiny.gguf");
    const tl_synth_params params = {
        .preset = "flan-t5-small", .weight_type = "f32", .seed = 1, .vocab_path = "@unigram", .tiny = true};
    tl_error err = {0};
    if (tl_synth(&params, path, &err) != TL_OK) fuzz_die("synth flan-t5-small: %s", err.message);
    model = fuzz_load_vocab_path(path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_tokenizer_run(&model, 1, data, size);
    return 0;
}
