/*
 * cmd_convert.c — `tinyllm convert`: write a GGUF file from another model
 * format. `--from hf` (the default) reads a Hugging Face model folder
 * (src/authoring/convert_hf.h); `--from llama2c` and `--from ggml` read the
 * files from before GGUF (src/authoring/convert_legacy.h).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "authoring/convert_hf.h"
#include "authoring/convert_legacy.h"
#include "cli.h"

/* Per tensor on stderr: a bar redrawn in place on a terminal, a line each
 * otherwise (logs, tests). */
static void show_progress(void *user, const tl_convert_progress *p) {
    const bool tty = *(const bool *)user;
    char shape[80] = "";
    for (uint32_t d = 0; d < p->n_dims && d < 4; d++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", d ? " x " : "", (long long)p->ne[d]);
    if (tty) {
        const int width = 24, filled = p->count ? p->index * width / p->count : width;
        fprintf(stderr, "\r[%.*s%*s] %d/%d %-28.28s %-16s %-5s\033[K", filled, "########################",
                width - filled, "", p->index, p->count, p->name, shape, p->type);
        if (p->index == p->count) fputc('\n', stderr);
    } else {
        fprintf(stderr, "[%d/%d] %s %s %s\n", p->index, p->count, p->name, shape, p->type);
    }
}

/* --from hf: HF_DIR OUT.gguf */
static int convert_hf(const char *const *positional, int n_pos, const char *type, bool quiet) {
    if (n_pos != 2) {
        tl_cli_error("convert", "expected HF_DIR OUT.gguf (see tinyllm convert --help)");
        return 1;
    }
    bool tty = isatty(STDERR_FILENO);
    const tl_convert_params params = {.hf_dir = positional[0],
                                      .out_path = positional[1],
                                      .type = type,
                                      .progress = quiet ? NULL : show_progress,
                                      .user = &tty};
    tl_error err = {0};
    const double t0 = tl_time_ms();
    if (tl_convert_hf(&params, &err) != TL_OK) {
        tl_cli_error("convert", "%s", err.message);
        return 1;
    }
    fprintf(stderr, "tinyllm convert: wrote %s (%s) in %.0f ms\n", positional[1], type ? type : "f16",
            tl_time_ms() - t0);
    return 0;
}

/* --from llama2c MODEL.bin TOKENIZER.bin OUT.gguf, --from ggml FILE.bin
 * OUT.gguf (src/authoring/convert_legacy.h): weights carried over as they
 * are, so --type does not apply. */
static int convert_legacy(const char *from, const char *const *positional, int n_pos, const char *type) {
    const bool llama2c = strcmp(from, "llama2c") == 0;
    if (n_pos != (llama2c ? 3 : 2)) {
        tl_cli_error("convert", "expected %s OUT.gguf after --from %s (see tinyllm convert --help)",
                     llama2c ? "MODEL.bin TOKENIZER.bin" : "FILE.bin", from);
        return 1;
    }
    if (type) {
        tl_cli_error("convert", "--type does not apply to --from %s: its weights are carried over as they are", from);
        return 1;
    }
    const char *out = positional[n_pos - 1];
    tl_error err = {0};
    const double t0 = tl_time_ms();
    tl_status st = llama2c ? tl_convert_llama2c(positional[0], positional[1], out, NULL, &err)
                           : tl_convert_ggml(positional[0], out, NULL, &err);
    if (st != TL_OK) {
        tl_cli_error("convert", "%s", err.message);
        return 1;
    }
    fprintf(stderr, "tinyllm convert: wrote %s in %.0f ms\n", out, tl_time_ms() - t0);
    return 0;
}
static int convert_llama2c(const char *const *positional, int n_pos, const char *type, bool quiet) {
    (void)quiet;
    return convert_legacy("llama2c", positional, n_pos, type);
}
static int convert_ggml(const char *const *positional, int n_pos, const char *type, bool quiet) {
    (void)quiet;
    return convert_legacy("ggml", positional, n_pos, type);
}

/* The sources `--from` accepts. */
typedef struct source {
    const char *name;
    int (*run)(const char *const *positional, int n_pos, const char *type, bool quiet);
} source;

static const source sources[] = {
    {"hf", convert_hf},
    {"llama2c", convert_llama2c},
    {"ggml", convert_ggml},
};

int cmd_convert(int argc, char **argv) {
    const char *from = "hf", *type = NULL;
    bool quiet = false;
    const tl_opt opts[] = {
        {NULL, "--from", TL_OPT_STRING, &from, "FORMAT",
         "what the input is: hf, a Hugging Face model folder (default); llama2c, a llama2.c "
         "checkpoint and its tokenizer.bin; ggml, a pre-GGUF llama.cpp file (GGML, GGMF, GGJT v1-v3)",
         NULL, 0, 0},
        {NULL, "--type", TL_OPT_STRING, &type, "TYPE",
         "type of the weight matrices: f32, f16 (default), bf16 or q8_0; norms and other 1-D tensors stay f32", NULL, 0,
         0},
        {"-q", "--quiet", TL_OPT_FLAG, &quiet, NULL, "no progress per tensor", NULL, 0, 0},
    };
    const tl_command_spec spec = {
        "convert",
        "HF_DIR OUT.gguf [--type f32|f16|bf16|q8_0]\n"
        "       tinyllm convert --from llama2c MODEL.bin TOKENIZER.bin OUT.gguf\n"
        "       tinyllm convert --from ggml FILE.bin OUT.gguf",
        "Convert a Hugging Face model folder (config.json, model.safetensors or its shards,\n"
        "tokenizer.json, tokenizer_config.json) to a GGUF file with the keys and tensor names\n"
        "llama.cpp's convert_hf_to_gguf.py writes. --from llama2c and --from ggml convert a\n"
        "llama2.c checkpoint or a llama.cpp file from before GGUF, as llama.cpp's own converters\n"
        "do (quantized blocks carried over bit for bit).",
        opts, 3};
    const char *positional[4];
    int n_pos;
    tl_args_result r = tl_args_parse(&spec, argc, argv, positional, 4, &n_pos);
    if (r == TL_ARGS_HELP) {
        printf("\narchitectures: %s\n", tl_convert_hf_architectures());
        return 0;
    }
    if (r != TL_ARGS_OK) return 1;
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        if (strcmp(sources[i].name, from) == 0) return sources[i].run(positional, n_pos, type, quiet);
    tl_cli_error("convert", "unknown --from '%s' (hf, llama2c, ggml)", from);
    return 1;
}
