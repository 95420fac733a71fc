/*
 * fuzz_gguf.c — fuzz target: a model file.
 *
 * The input is written to a scratch file (the reader maps files by path) and
 * goes through every stage a model file meets: gguf_open (header, metadata,
 * tensor infos, offsets), every metadata value and array element read back,
 * every tensor looked up by name, then tl_model_load (hyper-parameters,
 * tensor shapes and types, vocabulary and architecture checks). A model that
 * loads is used: its information and chat template, a tokenization round
 * trip, and a context of 8 positions that decodes two tokens (or embeds
 * them, for an encoder). When the full load fails, the vocabulary-only load
 * is tried too, so a file with broken tensors still reaches the tokenizer.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/gguf.h"
#include "fuzz_support.h"

static const char *input_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    input_path = fuzz_scratch_path("input.gguf");
    return 0;
}

static void write_input(const uint8_t *data, size_t size) {
    int fd = open(input_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) fuzz_die("cannot write %s", input_path);
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) fuzz_die("cannot write %s", input_path);
        done += (size_t)n;
    }
    close(fd);
}

/* Reads back everything the reader validated. */
static void walk_file(const gguf_file *f) {
    char buf[256];
    (void)gguf_version(f);
    (void)gguf_alignment(f);
    for (int64_t i = 0; i < gguf_kv_count(f); i++) {
        const char *key = gguf_kv_key(f, i);
        if (gguf_find_key(f, key) != i) abort(); /* keys are unique */
        gguf_format_value(f, i, buf, sizeof buf);
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        float f32;
        bool b;
        gguf_get_u32(f, key, &u32);
        gguf_get_i32(f, key, &i32);
        gguf_get_u64(f, key, &u64);
        gguf_get_f32(f, key, &f32);
        gguf_get_bool(f, key, &b);
        gguf_get_str(f, key);
        gguf_value_type elem;
        uint64_t count;
        if (!gguf_get_arr_info(f, key, &elem, &count)) continue;
        gguf_get_arr_data(f, key);
        /* The first and last elements, and one past the end. */
        const uint64_t picks[3] = {0, count ? count - 1 : 0, count};
        for (int k = 0; k < 3; k++) {
            uint64_t len = 0;
            double d;
            int64_t v;
            const char *s = gguf_get_arr_str(f, key, picks[k], &len);
            if (s && len) {
                volatile char first = s[0], last = s[len - 1];
                (void)first;
                (void)last;
            }
            gguf_get_arr_f64(f, key, picks[k], &d);
            gguf_get_arr_i64(f, key, picks[k], &v);
        }
    }
    for (int64_t i = 0; i < gguf_tensor_count(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (gguf_find_tensor(f, t->name) != t) abort(); /* names are unique */
        if (t->n_bytes) {
            volatile uint8_t first = ((const uint8_t *)t->data)[0];
            volatile uint8_t last = ((const uint8_t *)t->data)[t->n_bytes - 1];
            (void)first;
            (void)last;
        }
    }
}

/* Uses a model that loaded: what `info`, `run` and `embed` would touch first. */
static void use_model(tl_model *model, bool vocab_only) {
    tl_model_info info;
    tl_model_get_info(model, &info);
    char buf[256];
    tl_model_meta_string(model, "general.name", buf, sizeof buf);
    const char *template_source = tl_model_chat_template(model);
    if (template_source) {
        char *out = NULL;
        tl_error err = {0};
        if (tl_chat_turn_end(template_source, "</s>", &out, &err) == TL_OK) free(out);
    }

    tl_token tokens[64];
    static const char text[] = "Hello world! <s> 123 \xC3\xA9t\xC3\xA9";
    int32_t n = tl_tokenize(model, text, sizeof text - 1, true, true, tokens, 64);
    if (n > 0) {
        char piece[256];
        tl_detokenize(model, tokens, n, true, true, piece, sizeof piece);
    }
    if (vocab_only || n <= 0) return;

    tl_context_params params = tl_context_default_params();
    params.n_ctx = 8;
    params.n_batch = 8;
    params.n_threads = 1;
    tl_context *ctx = NULL;
    tl_error err = {0};
    if (tl_context_new(model, &params, &ctx, &err) != TL_OK) return;
    const int32_t n_eval = n < 2 ? n : 2;
    if (tl_model_has_encoder(model) && !tl_model_has_decoder(model)) {
        float *vector = malloc(sizeof(float) * (tl_model_embedding_size(model) + 1));
        if (vector) tl_embed(ctx, tokens, n_eval, TL_POOLING_MEAN, true, vector, &err);
        free(vector);
    } else if (tl_model_has_encoder(model)) {
        if (tl_encode(ctx, tokens, n_eval, &err) == TL_OK) {
            tl_token start = tl_model_decoder_start_token(model);
            if (start >= 0) tl_decode(ctx, &start, 1, 0, false, &err);
        }
    } else {
        tl_decode(ctx, tokens, n_eval, 0, false, &err);
    }
    tl_context_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    write_input(data, size);
    gguf_file *f = NULL;
    tl_error err = {0};
    if (gguf_open(input_path, &f, &err) != TL_OK) return 0;
    walk_file(f);
    gguf_close(f);

    tl_model_params params = tl_model_default_params();
    tl_model *model = NULL;
    if (tl_model_load(input_path, &params, &model, &err) == TL_OK) {
        use_model(model, false);
        tl_model_free(model);
        return 0;
    }
    params.vocab_only = true;
    if (tl_model_load(input_path, &params, &model, &err) == TL_OK) {
        use_model(model, true);
        tl_model_free(model);
    }
    return 0;
}
