/*
 * cmd_synth.c — `tinyllm synth`: write a random-weight model of a real
 * model's shape, for tests and benchmarks where the real weights are absent.
 */
#include <string.h>

#include "authoring/authoring.h"
#include "cli.h"
#include "cli_data.h"

/* The presets, one a line in columns as wide as their longest entry, then
 * the architectures (the runtime's table). */
static void print_presets(void) {
    int name_width = 0, arch_width = 0;
    for (int i = 0; tl_synth_preset_name(i, NULL); i++) {
        const int n = (int)strlen(tl_synth_preset_name(i, NULL)), a = (int)strlen(tl_synth_preset_arch(i));
        if (n > name_width) name_width = n;
        if (a > arch_width) arch_width = a;
    }
    printf("\npresets (name, architecture, vocabulary):\n");
    const char *vocab;
    for (int i = 0; tl_synth_preset_name(i, &vocab); i++)
        printf("  %-*s  %-*s  (vocabulary %s)\n", name_width, tl_synth_preset_name(i, NULL), arch_width,
               tl_synth_preset_arch(i), vocab);
    printf("\narchitectures: %s\n", tl_synth_architectures());
}

int cmd_synth(int argc, char **argv) {
    const char *preset = NULL, *type = "f16", *out = NULL, *vocab = NULL;
    uint64_t seed = 42;
    bool tiny = false;
    int32_t layers = 0;
    const tl_opt opts[] = {
        {NULL, "--preset", TL_OPT_STRING, &preset, "NAME", "model shape to copy (see the list below)", NULL, 0, 0},
        {NULL, "--type", TL_OPT_STRING, &type, "TYPE",
         "weights: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, "
         "q5_1, or llama-quantize's mixtures q2_k, q3_k_m, q4_k_m, q5_k_m, q6_k, iq4_nl, iq4_xs (default f16)",
         NULL, 0, 0},
        {"-s", "--seed", TL_OPT_UINT64, &seed, "SEED", "weights are a function of the seed (default 42)", NULL, 0, 0},
        {NULL, "--vocab", TL_OPT_STRING, &vocab, "FILE",
         "vocabulary: a GGUF file whose tokenizer is copied, "
         "a Hugging Face tokenizer.json, or @unigram (default: the preset's, from tokenizers/ under "
         "$TINYLLM_SHARED, the build's shared folder, the installed data folder or ../shared)",
         NULL, 0, 0},
        {NULL, "--tiny", TL_OPT_FLAG, &tiny, NULL,
         "same architecture and vocabulary, test-sized dimensions "
         "(2 layers, width 96-128)",
         NULL, 0, 0},
        {NULL, "--layers", TL_OPT_INT, &layers, "N",
         "only the first N layers, with the same weights (a draft model of the full one for speculative "
         "decoding; default: all)",
         NULL, 0, 1000},
        {"-o", "--output", TL_OPT_STRING, &out, "FILE", "where to write the model", NULL, 0, 0},
    };
    const tl_command_spec spec = {"synth", "--preset NAME [--type TYPE] [--seed S] [--tiny] [--layers N] -o FILE",
                                  "Write a GGUF model with a real model's tensor shapes, hyper-parameters and\n"
                                  "vocabulary, filled with deterministic random weights.",
                                  opts, 7};
    const char *positional[1];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 0, &n_pos);
    if (r == TL_ARGS_HELP) {
        print_presets();
        return 0;
    }
    if (r != TL_ARGS_OK) return 1;
    if (!preset) {
        tl_cli_error("synth", "no preset given: use --preset NAME (see tinyllm synth --help)");
        return 1;
    }
    if (!out) {
        tl_cli_error("synth", "no output file given: use -o FILE");
        return 1;
    }
    const char *vocab_file = NULL;
    for (int i = 0; tl_synth_preset_name(i, &vocab_file); i++)
        if (strcmp(tl_synth_preset_name(i, NULL), preset) == 0) break;
    char default_vocab[4096];
    if (!vocab) {
        if (!vocab_file) {
            tl_cli_error("synth", "unknown preset '%s' (see tinyllm synth --help)", preset);
            return 1;
        }
        if (vocab_file[0] == '@') {
            vocab = vocab_file;
        } else {
            char relative[1024];
            snprintf(relative, sizeof relative, "tokenizers/%s", vocab_file);
            if (!cli_find_shared_file(relative, default_vocab, sizeof default_vocab)) {
                tl_cli_error("synth", "vocabulary %s of preset '%s' not found: " CLI_DATA_HINT, relative, preset);
                return 1;
            }
            vocab = default_vocab;
        }
    }
    tl_error err = {0};
    double t0 = tl_time_ms();
    const tl_synth_params params = {.preset = preset,
                                    .weight_type = type,
                                    .seed = seed,
                                    .vocab_path = vocab,
                                    .tiny = tiny,
                                    .n_layer = (uint32_t)layers};
    if (tl_synth(&params, out, &err) != TL_OK) {
        tl_cli_error("synth", "%s", err.message);
        return 1;
    }
    fprintf(stderr, "tinyllm synth: wrote %s (%s%s, %s, seed %llu) in %.0f ms\n", out, preset, tiny ? " tiny" : "",
            type, (unsigned long long)seed, tl_time_ms() - t0);
    return 0;
}
