/*
 * convert_legacy.h — converting the model files that came before GGUF into
 * GGUF llama models (`tinyllm convert --from llama2c|ggml`):
 *
 *  - llama2.c checkpoints (Karpathy's export.py, legacy "version 0" layout:
 *    a 7-int Config header, then float32 weights) with llama2.c's
 *    tokenizer.bin (convert_llama2c.c);
 *  - llama.cpp's own files before August 2023: unversioned GGML ("ggml"),
 *    GGMF v1 ("ggmf") and GGJT v1-v3 ("ggjt"), whose quantized blocks are
 *    carried over bit for bit (convert_ggml.c).
 *
 * Both write the keys and tensor names llama.cpp's converters write
 * (examples/convert-llama2c-to-ggml and convert_llama_ggml_to_gguf.py) and a
 * SentencePiece-style "llama" vocabulary. The output is written to OUT.tmp,
 * then renamed to OUT: a failed conversion leaves nothing behind. Every bad
 * input is one line in err naming the file and, where it applies, the offset.
 */
#ifndef TL_AUTHORING_CONVERT_LEGACY_H
#define TL_AUTHORING_CONVERT_LEGACY_H

#include <stdint.h>

#include "authoring/gguf_writer.h"
#include "tinyllm.h"

/* What the legacy files do not record. A zero field takes the converter's
 * default, which is llama.cpp's (see each function). */
typedef struct tl_convert_legacy_options {
    uint32_t context_length; /* llama.context_length */
    float rms_eps;           /* llama.attention.layer_norm_rms_epsilon */
    uint32_t gqa;            /* ggml only: n_head / n_head_kv (the files do not record n_head_kv) */
    const char *name;        /* general.name */
} tl_convert_legacy_options;

/*
 * A llama2.c checkpoint and tokenizer.bin → GGUF llama, F32 like its source.
 * A negative vocab_size in the header means the file ends with its own
 * classifier (wcls); otherwise output.weight is a copy of the embedding, as
 * llama.cpp writes it. q and k are already in the layout llama.cpp expects
 * (llama2.c rotates adjacent pairs, as llama.cpp's llama does). Defaults:
 * context_length = the header's seq_len, rms_eps = 1e-5, name "llama".
 */
tl_status tl_convert_llama2c(const char *model_path, const char *tokenizer_path, const char *out_path,
                             const tl_convert_legacy_options *options, tl_error *err);

/*
 * A GGML / GGMF / GGJT llama file → GGUF llama with the same tensors, types
 * and bytes. Quantized tensors are accepted where their blocks are the
 * GGUF ones: GGJT v3 (F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K-Q6_K),
 * GGJT v2 without Q4_0/Q4_1/Q8_0 (their blocks changed in v3), and only F32
 * and F16 before GGJT v2 (every quantization changed then). Defaults, as
 * llama.cpp's convert_llama_ggml_to_gguf.py: context_length 2048, rms_eps
 * 5e-6, name = the input file's base name; without gqa, n_head_kv is read
 * off the shape of layer 0's wk (llama.cpp's script asks for --gqa).
 */
tl_status tl_convert_ggml(const char *path, const char *out_path, const tl_convert_legacy_options *options,
                          tl_error *err);

/* ---- shared by the two converters (convert_legacy.c) ---- */

/* An input file mapped read-only, read front to back with bounds checks. */
typedef struct legacy_input {
    const char *path;
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
} legacy_input;

tl_status legacy_input_open(legacy_input *in, const char *path, tl_error *err);
void legacy_input_close(legacy_input *in);
/* The next n bytes (advancing past them), or NULL with "PATH: offset N:
 * WHAT cut short ..." in err. */
const uint8_t *legacy_take(legacy_input *in, uint64_t n, const char *what, tl_error *err);
tl_status legacy_read_u32(legacy_input *in, uint32_t *out, const char *what, tl_error *err);
tl_status legacy_read_f32(legacy_input *in, float *out, const char *what, tl_error *err);

/* A SentencePiece-style vocabulary as llama.cpp's converters write it. */
enum {
    LEGACY_TOKEN_NORMAL = 1,
    LEGACY_TOKEN_UNKNOWN = 2,
    LEGACY_TOKEN_CONTROL = 3,
    LEGACY_TOKEN_BYTE = 6,
};
typedef struct legacy_vocab {
    char **texts; /* NUL-terminated, spaces already written as U+2581 */
    float *scores;
    int32_t *types;
    uint32_t n;
} legacy_vocab;

tl_status legacy_vocab_init(legacy_vocab *v, uint32_t n, tl_error *err);
void legacy_vocab_free(legacy_vocab *v);
/* Token `id` from its raw bytes: <unk>, <s>, </s> for ids 0-2, control when
 * empty, byte when `byte_token`; other spaces become U+2581. Fails on a NUL
 * byte or out of memory (err names `where`). */
tl_status legacy_vocab_set(legacy_vocab *v, uint32_t id, const uint8_t *text, uint32_t len, float score, int byte_token,
                           const char *where, tl_error *err);
/* tokenizer.ggml.model "llama", tokens, scores, token types, and the
 * unknown/bos/eos ids 0, 1, 2. */
void legacy_vocab_write(const legacy_vocab *v, gguf_writer *w);

/* Write to OUT.tmp, then rename it to OUT; nothing is left behind on failure. */
tl_status legacy_write_gguf(gguf_writer *w, const char *out_path, tl_error *err);

#endif /* TL_AUTHORING_CONVERT_LEGACY_H */
