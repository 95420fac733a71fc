/*
 * test_model_load.c — loading a model reads only what the model uses: a
 * valid tiny llama model that also holds one unused tensor of 2^40 elements
 * (a 4 TB sparse file) loads quickly, with small resident memory, and runs;
 * and a vocabulary that disagrees with the embedding matrix is refused by
 * name.
 */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "authoring/gguf_writer.h"
#include "format/gguf.h"
#include "tensor/types.h"
#include "tinyllm.h"

#define N_EMBD 32
#define N_FF 64
#define N_VOCAB 8

static const char *const vocab_tokens[N_VOCAB] = {"<unk>",
                                                  "<s>",
                                                  "</s>",
                                                  "\xE2\x96\x81",
                                                  "a",
                                                  "b",
                                                  ("\xE2\x96\x81"
                                                   "a"),
                                                  "ab"};

static void add_f32(gguf_writer *w, const char *name, int64_t ne0, int64_t ne1) {
    const int64_t n = ne0 * ne1;
    float *data = malloc((size_t)n * sizeof *data);
    assert_non_null(data);
    fill_random(data, n, 0.1f);
    int64_t ne[2] = {ne0, ne1};
    tl_error err = {0};
    if (gguf_writer_add_tensor(w, name, TL_TYPE_F32, ne1 > 1 ? 2 : 1, ne, data, &err) != TL_OK)
        fail_msg("%s", err.message);
    free(data);
}

/* A one-layer llama model with a SentencePiece vocabulary of n_vocab tokens
 * (embedding rows: embd_rows). */
static gguf_writer *tiny_llama(int64_t embd_rows) {
    rng_seed(7);
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_u32(w, "llama.context_length", 64);
    gguf_writer_set_u32(w, "llama.embedding_length", N_EMBD);
    gguf_writer_set_u32(w, "llama.block_count", 1);
    gguf_writer_set_u32(w, "llama.feed_forward_length", N_FF);
    gguf_writer_set_u32(w, "llama.attention.head_count", 2);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", vocab_tokens, N_VOCAB);
    add_f32(w, "token_embd.weight", N_EMBD, embd_rows);
    add_f32(w, "output_norm.weight", N_EMBD, 1);
    add_f32(w, "blk.0.attn_norm.weight", N_EMBD, 1);
    add_f32(w, "blk.0.attn_q.weight", N_EMBD, N_EMBD);
    add_f32(w, "blk.0.attn_k.weight", N_EMBD, N_EMBD);
    add_f32(w, "blk.0.attn_v.weight", N_EMBD, N_EMBD);
    add_f32(w, "blk.0.attn_output.weight", N_EMBD, N_EMBD);
    add_f32(w, "blk.0.ffn_norm.weight", N_EMBD, 1);
    add_f32(w, "blk.0.ffn_gate.weight", N_EMBD, N_FF);
    add_f32(w, "blk.0.ffn_up.weight", N_EMBD, N_FF);
    add_f32(w, "blk.0.ffn_down.weight", N_FF, N_EMBD);
    return w;
}

/* Resident memory of this process in kB (Linux), or -1. */
static long resident_kb(void) {
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(fp);
    return kb;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Once, loading such a file faulted in the whole mapping (MADV_POPULATE_READ
 * over 4 TB of holes): 19 GB resident and no end. Only the used tensors'
 * bytes may be read. */
static void unused_terabyte_tensor_is_never_read(void **state) {
    (void)state;
    if (getenv("TL_EMULATED")) {
        /* qemu-user backs a file mapping with its own memory: mapping 4 TB
         * filled 23 GB until the kernel killed it. The test runs natively. */
        print_message("under an emulator (qemu-user cannot map a 4 TB file lazily); skipped\n");
        skip();
    }
    gguf_writer *w = tiny_llama(N_VOCAB);
    tl_error err = {0};
    const int64_t ne[2] = {1 << 20, 1 << 20}; /* 2^40 f32 elements: 4 TB */
    assert_int_equal(gguf_writer_add_zero_tensor(w, "unused.weight", TL_TYPE_F32, 2, ne, &err), TL_OK);
    const char *path = tl_test_tmp_path("terabyte-tensor.gguf");
    if (gguf_writer_write(w, path, &err) != TL_OK) {
        gguf_writer_free(w);
        print_message("cannot write a 4 TB sparse file here (%s); skipped\n", err.message);
        skip();
    }
    gguf_writer_free(w);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true((uint64_t)st.st_size > (4ull << 40));
    assert_true((uint64_t)st.st_blocks * 512 < (64ull << 20)); /* sparse: nearly all holes */

    const long rss_before = resident_kb();
    const double t0 = now_ms();
    tl_model *model = NULL;
    if (tl_model_load(path, NULL, &model, &err) != TL_OK) fail_msg("%s", err.message);
    const double load_ms = now_ms() - t0;
    const long rss_after = resident_kb();
    print_message("  loaded in %.1f ms, resident memory grew by %ld kB\n", load_ms, rss_after - rss_before);
    assert_true(load_ms < 2000 * tl_test_time_scale());
    if (rss_before >= 0) assert_true(rss_after - rss_before < 256 * 1024);

    tl_model_info info;
    tl_model_get_info(model, &info);
    assert_int_equal(info.n_tensors, 12);
    assert_true(info.n_params > (1ull << 40));

    /* and it runs */
    tl_context *ctx = NULL;
    tl_context_params cp = tl_context_default_params();
    cp.n_ctx = 16;
    cp.n_threads = 1;
    assert_int_equal(tl_context_new(model, &cp, &ctx, &err), TL_OK);
    const tl_token prompt[3] = {1, 6, 7};
    assert_int_equal(tl_decode(ctx, prompt, 3, 0, false, &err), TL_OK);
    const float *logits = tl_get_logits(ctx, -1);
    assert_non_null(logits);
    for (int i = 0; i < N_VOCAB; i++) assert_true(logits[i] == logits[i]);
    assert_true(resident_kb() - rss_before < 256 * 1024);
    tl_context_free(ctx);
    tl_model_free(model);
    remove(path);
}

/* The vocabulary and the embedding matrix must agree on the token count. */
static void vocabulary_must_match_the_embedding_rows(void **state) {
    (void)state;
    gguf_writer *w = tiny_llama(N_VOCAB + 1);
    tl_error err = {0};
    const char *path = tl_test_tmp_path("vocab-mismatch.gguf");
    assert_int_equal(gguf_writer_write(w, path, &err), TL_OK);
    gguf_writer_free(w);
    tl_model *model = (tl_model *)&model;
    assert_int_equal(tl_model_load(path, NULL, &model, &err), TL_ERR_FORMAT);
    assert_null(model);
    assert_non_null(strstr(err.message, "tensor 'token_embd.weight' has shape [32, 9], expected [32, 8]"));
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unused_terabyte_tensor_is_never_read),
        cmocka_unit_test(vocabulary_must_match_the_embedding_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
