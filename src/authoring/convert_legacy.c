/*
 * convert_legacy.c — what the two legacy converters (convert_llama2c.c,
 * convert_ggml.c) share: reading a mapped input with bounds checks that
 * name the offset, the SentencePiece-style vocabulary llama.cpp's converters
 * write, and writing the output through OUT.tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authoring/convert_legacy.h"
#include "util/error.h"

tl_status legacy_input_open(legacy_input *in, const char *path, tl_error *err) {
    memset(in, 0, sizeof *in);
    in->path = path;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return tl_fail(err, TL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tl_fail(err, TL_ERR_IO, "%s: not a regular file", path);
    }
    in->size = (uint64_t)st.st_size;
    if (in->size > 0) {
        void *p = mmap(NULL, (size_t)in->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int saved = errno;
            close(fd);
            return tl_fail(err, TL_ERR_IO, "%s: cannot map: %s", path, strerror(saved));
        }
        in->base = p;
    }
    close(fd);
    return TL_OK;
}

void legacy_input_close(legacy_input *in) {
    if (in->base) munmap((void *)in->base, (size_t)in->size);
    in->base = NULL;
}

const uint8_t *legacy_take(legacy_input *in, uint64_t n, const char *what, tl_error *err) {
    if (n > in->size - in->pos) {
        tl_fail(err, TL_ERR_FORMAT,
                "%s: offset %" PRIu64 ": %s cut short (%" PRIu64 " bytes needed, the file ends after %" PRIu64 ")",
                in->path, in->pos, what, n, in->size - in->pos);
        return NULL;
    }
    const uint8_t *p = in->base + in->pos;
    in->pos += n;
    return p;
}

tl_status legacy_read_u32(legacy_input *in, uint32_t *out, const char *what, tl_error *err) {
    const uint8_t *p = legacy_take(in, 4, what, err);
    if (!p) return TL_ERR_FORMAT;
    *out = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return TL_OK;
}

tl_status legacy_read_f32(legacy_input *in, float *out, const char *what, tl_error *err) {
    uint32_t bits;
    TL_TRY(legacy_read_u32(in, &bits, what, err));
    memcpy(out, &bits, sizeof *out);
    return TL_OK;
}

tl_status legacy_vocab_init(legacy_vocab *v, uint32_t n, tl_error *err) {
    memset(v, 0, sizeof *v);
    v->texts = calloc(n ? n : 1, sizeof *v->texts);
    v->scores = calloc(n ? n : 1, sizeof *v->scores);
    v->types = calloc(n ? n : 1, sizeof *v->types);
    v->n = n;
    if (!v->texts || !v->scores || !v->types) {
        legacy_vocab_free(v);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for a vocabulary of %" PRIu32 " tokens", n);
    }
    return TL_OK;
}

void legacy_vocab_free(legacy_vocab *v) {
    if (v->texts)
        for (uint32_t i = 0; i < v->n; i++) free(v->texts[i]);
    free(v->texts);
    free(v->scores);
    free(v->types);
    memset(v, 0, sizeof *v);
}

tl_status legacy_vocab_set(legacy_vocab *v, uint32_t id, const uint8_t *text, uint32_t len, float score, int byte_token,
                           const char *where, tl_error *err) {
    static const char *const fixed[] = {"<unk>", "<s>", "</s>"};
    int32_t type = LEGACY_TOKEN_NORMAL;
    char *out = malloc((size_t)len * 3 + 8);
    if (!out) return tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", where);
    if (id <= 2) {
        strcpy(out, fixed[id]);
        type = id == 0 ? LEGACY_TOKEN_UNKNOWN : LEGACY_TOKEN_CONTROL;
    } else if (len == 0) {
        out[0] = '\0';
        type = LEGACY_TOKEN_CONTROL;
    } else if (byte_token && len == 1) {
        snprintf(out, 8, "<0x%02X>", text[0]);
        type = LEGACY_TOKEN_BYTE;
    } else {
        size_t o = 0;
        for (uint32_t i = 0; i < len; i++) {
            if (text[i] == '\0') {
                free(out);
                return tl_fail(err, TL_ERR_FORMAT, "%s: token %" PRIu32 " contains a NUL byte", where, id);
            }
            if (text[i] == ' ') {
                memcpy(out + o, "\xe2\x96\x81", 3);
                o += 3;
            } else {
                out[o++] = (char)text[i];
            }
        }
        out[o] = '\0';
        if (byte_token) type = LEGACY_TOKEN_BYTE;
    }
    free(v->texts[id]);
    v->texts[id] = out;
    v->scores[id] = score;
    v->types[id] = type;
    return TL_OK;
}

void legacy_vocab_write(const legacy_vocab *v, gguf_writer *w) {
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->texts, v->n);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, v->scores, v->n);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, v->types, v->n);
    gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
}

tl_status legacy_write_gguf(gguf_writer *w, const char *out_path, tl_error *err) {
    size_t n = strlen(out_path);
    char *tmp = malloc(n + 5);
    if (!tmp) return tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", out_path);
    memcpy(tmp, out_path, n);
    memcpy(tmp + n, ".tmp", 5);
    tl_status st = gguf_writer_write(w, tmp, err);
    if (st == TL_OK && rename(tmp, out_path) != 0) {
        st = tl_fail(err, TL_ERR_IO, "%s: cannot rename %s to it: %s", out_path, tmp, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return st;
}
