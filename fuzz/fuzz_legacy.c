/*
 * fuzz_legacy.c — fuzz target: the pre-GGUF files `tinyllm convert --from
 * ggml|llama2c` reads (src/authoring/convert_legacy.h).
 *
 * Input: one byte that picks the converter, then the file(s). Even: the rest
 * is a GGML/GGMF/GGJT file for tl_convert_ggml. Odd: a u32 (little-endian)
 * splits the rest into a llama2.c checkpoint and a tokenizer.bin for
 * tl_convert_llama2c. A converted file is opened again by the GGUF reader,
 * which must accept it; no OUT.tmp may be left either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authoring/convert_legacy.h"
#include "format/gguf.h"
#include "fuzz_support.h"

static const char *model_path, *tokenizer_path, *out_path, *tmp_path;

static void write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size)) fuzz_die("cannot write %s", path);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    model_path = fuzz_scratch_path("model.bin");
    tokenizer_path = fuzz_scratch_path("tokenizer.bin");
    out_path = fuzz_scratch_path("out.gguf");
    tmp_path = fuzz_scratch_path("out.gguf.tmp");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const bool llama2c = data[0] & 1;
    data++, size--;
    tl_error err = {0};
    tl_status st;
    if (!llama2c) {
        write_file(model_path, data, size);
        st = tl_convert_ggml(model_path, out_path, NULL, &err);
    } else {
        if (size < 4) return 0;
        size_t split = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
        data += 4, size -= 4;
        if (split > size) split = size;
        write_file(model_path, data, split);
        write_file(tokenizer_path, data + split, size - split);
        st = tl_convert_llama2c(model_path, tokenizer_path, out_path, NULL, &err);
    }
    if (access(tmp_path, F_OK) == 0) abort(); /* OUT.tmp left behind */
    if (st == TL_OK) {
        gguf_file *f = NULL;
        if (gguf_open(out_path, &f, &err) != TL_OK) {
            fprintf(stderr, "converted file refused: %s\n", err.message);
            abort();
        }
        gguf_close(f);
        unlink(out_path);
    } else if (access(out_path, F_OK) == 0) {
        abort(); /* a failed conversion left its output */
    }
    return 0;
}
