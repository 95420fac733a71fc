/*
 * convert_llama2c.c — a llama2.c checkpoint and tokenizer → GGUF llama, with
 * the keys and tensors llama.cpp's examples/convert-llama2c-to-ggml writes.
 *
 * model.bin (llama2.c's export.py, legacy version 0): a Config of 7 int32
 * (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a
 * negative vocab_size = the classifier is not shared), then float32 arrays,
 * row-major [out][in] per layer, layer after layer: token_embedding
 * [vocab][dim], rms_att [L][dim], wq [L][dim][dim], wk and wv
 * [L][kv_dim][dim], wo [L][dim][dim], rms_ffn [L][dim], w1 [L][hidden][dim],
 * w2 [L][dim][hidden], w3 [L][hidden][dim], rms_final [dim], freq_cis real
 * and imaginary [seq_len][head_size/2] each (skipped), and wcls
 * [vocab][dim] when unshared. A row-major [out][in] matrix is a ggml tensor
 * of ne = {in, out} with the same bytes, so the data is copied unchanged.
 *
 * tokenizer.bin: u32 max_token_length, then per token f32 score, i32
 * length, bytes (spaces as ' ', byte tokens as "<0xNN>").
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "authoring/convert_legacy.h"
#include "tensor/types.h"
#include "util/error.h"

#define CONFIG_BYTES 28
#define MAX_DIM (1 << 20)
#define MAX_TOKEN_BYTES (1u << 16)
#define EXPORT_MAGIC 0x616b3432u /* "ak42": export.py's versioned formats */

typedef struct llama2c_config {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
} llama2c_config;

static bool config_ok(const llama2c_config *c) {
    return c->dim > 0 && c->dim <= MAX_DIM && c->hidden_dim > 0 && c->hidden_dim <= MAX_DIM && c->n_layers > 0 &&
           c->n_layers <= 4096 && c->n_heads > 0 && c->dim % c->n_heads == 0 && (c->dim / c->n_heads) % 2 == 0 &&
           c->n_kv_heads > 0 && c->n_kv_heads <= c->n_heads && c->n_heads % c->n_kv_heads == 0 && c->vocab_size != 0 &&
           c->vocab_size > -(1 << 24) && c->vocab_size < (1 << 24) && c->seq_len > 0 && c->seq_len <= (1 << 24);
}

static tl_status read_config(legacy_input *in, llama2c_config *c, tl_error *err) {
    int32_t *fields[] = {&c->dim,        &c->hidden_dim, &c->n_layers, &c->n_heads,
                         &c->n_kv_heads, &c->vocab_size, &c->seq_len};
    for (size_t i = 0; i < 7; i++) {
        uint32_t v;
        TL_TRY(legacy_read_u32(in, &v, "the Config header", err));
        if (i == 0 && v == EXPORT_MAGIC) {
            uint32_t version = 0;
            legacy_read_u32(in, &version, "the version", NULL);
            return tl_fail(err, TL_ERR_UNSUPPORTED,
                           "%s: offset 0: a llama2.c export version %" PRIu32
                           " file; only the legacy layout (export.py --version 0) converts",
                           in->path, version);
        }
        memcpy(fields[i], &v, sizeof v);
    }
    if (!config_ok(c))
        return tl_fail(
            err, TL_ERR_FORMAT,
            "%s: offset 0: not a llama2.c checkpoint (dim %" PRId32 ", hidden_dim %" PRId32 ", n_layers %" PRId32
            ", n_heads %" PRId32 ", n_kv_heads %" PRId32 ", vocab_size %" PRId32 ", seq_len %" PRId32 ")",
            in->path, c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size, c->seq_len);
    return TL_OK;
}

/* The float32 arrays of the checkpoint, in file order. */
typedef struct weight_array {
    const char *name; /* GGUF name, "%d" for the layer; NULL: skipped */
    int64_t ne0, ne1; /* one layer's tensor (ne1 = 1: a vector) */
    int per_layer;
    const uint8_t *data;
} weight_array;

enum { W_EMBD, W_ATT_NORM, W_Q, W_K, W_V, W_O, W_FFN_NORM, W_GATE, W_DOWN, W_UP, W_OUT_NORM, W_FREQ, W_CLS, W_COUNT };

static void describe_arrays(const llama2c_config *c, weight_array a[W_COUNT]) {
    const int64_t dim = c->dim, hidden = c->hidden_dim, head = c->dim / c->n_heads;
    const int64_t kv_dim = head * c->n_kv_heads, vocab = c->vocab_size < 0 ? -(int64_t)c->vocab_size : c->vocab_size;
    const weight_array rows[W_COUNT] = {
        [W_EMBD] = {"token_embd.weight", dim, vocab, 0, NULL},
        [W_ATT_NORM] = {"blk.%d.attn_norm.weight", dim, 1, 1, NULL},
        [W_Q] = {"blk.%d.attn_q.weight", dim, dim, 1, NULL},
        [W_K] = {"blk.%d.attn_k.weight", dim, kv_dim, 1, NULL},
        [W_V] = {"blk.%d.attn_v.weight", dim, kv_dim, 1, NULL},
        [W_O] = {"blk.%d.attn_output.weight", dim, dim, 1, NULL},
        [W_FFN_NORM] = {"blk.%d.ffn_norm.weight", dim, 1, 1, NULL},
        [W_GATE] = {"blk.%d.ffn_gate.weight", dim, hidden, 1, NULL},
        [W_DOWN] = {"blk.%d.ffn_down.weight", hidden, dim, 1, NULL},
        [W_UP] = {"blk.%d.ffn_up.weight", dim, hidden, 1, NULL},
        [W_OUT_NORM] = {"output_norm.weight", dim, 1, 0, NULL},
        [W_FREQ] = {NULL, head, c->seq_len, 0, NULL}, /* real and imaginary halves */
        [W_CLS] = {"output.weight", dim, c->vocab_size < 0 ? vocab : 0, 0, NULL},
    };
    memcpy(a, rows, sizeof rows);
}

static uint64_t array_bytes(const weight_array *a, int32_t n_layers) {
    return (uint64_t)a->ne0 * (uint64_t)a->ne1 * (a->per_layer ? (uint64_t)n_layers : 1) * 4;
}

static tl_status read_weights(legacy_input *in, const llama2c_config *c, weight_array a[W_COUNT], tl_error *err) {
    describe_arrays(c, a);
    uint64_t expected = CONFIG_BYTES;
    for (int i = 0; i < W_COUNT; i++) expected += array_bytes(&a[i], c->n_layers);
    if (expected != in->size)
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: %" PRIu64 " bytes, but its header (dim %" PRId32 ", hidden_dim %" PRId32
                       ", n_layers %" PRId32 ", n_heads %" PRId32 ", n_kv_heads %" PRId32 ", vocab_size %" PRId32
                       ", seq_len %" PRId32 ") makes %" PRIu64,
                       in->path, in->size, c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
                       c->seq_len, expected);
    for (int i = 0; i < W_COUNT; i++) {
        a[i].data = legacy_take(in, array_bytes(&a[i], c->n_layers), "weights", err);
        if (!a[i].data) return TL_ERR_FORMAT;
    }
    return TL_OK;
}

static tl_status add_f32(gguf_writer *w, const char *name, int64_t ne0, int64_t ne1, const uint8_t *data,
                         tl_error *err) {
    const int64_t ne[2] = {ne0, ne1};
    return gguf_writer_add_tensor(w, name, TL_TYPE_F32, ne1 > 1 ? 2 : 1, ne, data, err);
}

/* The tensors in the order llama.cpp's converter writes them. */
static tl_status add_tensors(gguf_writer *w, const llama2c_config *c, const weight_array a[W_COUNT], tl_error *err) {
    const weight_array *out = c->vocab_size < 0 ? &a[W_CLS] : &a[W_EMBD];
    TL_TRY(add_f32(w, a[W_EMBD].name, a[W_EMBD].ne0, a[W_EMBD].ne1, a[W_EMBD].data, err));
    TL_TRY(add_f32(w, a[W_OUT_NORM].name, a[W_OUT_NORM].ne0, 1, a[W_OUT_NORM].data, err));
    TL_TRY(add_f32(w, "output.weight", out->ne0, out->ne1, out->data, err));
    static const int layer_order[] = {W_Q, W_K, W_V, W_O, W_ATT_NORM, W_GATE, W_DOWN, W_UP, W_FFN_NORM};
    for (int32_t l = 0; l < c->n_layers; l++) {
        for (size_t k = 0; k < sizeof layer_order / sizeof layer_order[0]; k++) {
            const weight_array *x = &a[layer_order[k]];
            const uint64_t layer_bytes = (uint64_t)x->ne0 * (uint64_t)x->ne1 * 4;
            char name[64];
            snprintf(name, sizeof name, x->name, (int)l);
            TL_TRY(add_f32(w, name, x->ne0, x->ne1, x->data + (uint64_t)l * layer_bytes, err));
        }
    }
    return TL_OK;
}

/* "<0xNN>" exactly: llama2.c's spelling of SentencePiece byte tokens. */
static bool is_byte_token(const uint8_t *t, uint32_t len) {
    static const char hex[] = "0123456789ABCDEFabcdef";
    return len == 6 && memcmp(t, "<0x", 3) == 0 && t[3] && strchr(hex, t[3]) && t[4] && strchr(hex, t[4]) &&
           t[5] == '>';
}

static tl_status read_tokenizer(legacy_input *in, uint32_t n_vocab, legacy_vocab *v, tl_error *err) {
    uint32_t max_token_length;
    TL_TRY(legacy_read_u32(in, &max_token_length, "the header (max_token_length)", err));
    TL_TRY(legacy_vocab_init(v, n_vocab, err));
    for (uint32_t id = 0; id < n_vocab; id++) {
        const uint64_t at = in->pos;
        if (at == in->size)
            return tl_fail(err, TL_ERR_FORMAT,
                           "%s: holds %" PRIu32 " tokens, but the model's vocab_size is %" PRIu32
                           " (vocab_size mismatch)",
                           in->path, id, n_vocab);
        float score;
        uint32_t len;
        TL_TRY(legacy_read_f32(in, &score, "a token's score", err));
        TL_TRY(legacy_read_u32(in, &len, "a token's length", err));
        if (len > MAX_TOKEN_BYTES)
            return tl_fail(err, TL_ERR_FORMAT, "%s: offset %" PRIu64 ": token %" PRIu32 " is %" PRIu32 " bytes long",
                           in->path, at, id, len);
        const uint8_t *text = legacy_take(in, len, "a token", err);
        if (!text) return TL_ERR_FORMAT;
        TL_TRY(legacy_vocab_set(v, id, text, len, score, is_byte_token(text, len), in->path, err));
    }
    if (in->pos != in->size)
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: offset %" PRIu64 ": more than the model's %" PRIu32 " tokens (vocab_size mismatch)",
                       in->path, in->pos, n_vocab);
    return TL_OK;
}

static tl_status convert(legacy_input *model, legacy_input *tok, const char *out_path,
                         const tl_convert_legacy_options *o, legacy_vocab *vocab, gguf_writer *w, tl_error *err) {
    llama2c_config c;
    weight_array a[W_COUNT];
    TL_TRY(read_config(model, &c, err));
    TL_TRY(read_weights(model, &c, a, err));
    const uint32_t n_vocab = (uint32_t)(c.vocab_size < 0 ? -c.vocab_size : c.vocab_size);
    TL_TRY(read_tokenizer(tok, n_vocab, vocab, err));

    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_str(w, "general.name", o && o->name ? o->name : "llama");
    gguf_writer_set_u32(w, "llama.context_length", o && o->context_length ? o->context_length : (uint32_t)c.seq_len);
    gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)c.dim);
    gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)c.hidden_dim);
    gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)c.n_heads);
    gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)c.n_kv_heads);
    gguf_writer_set_u32(w, "llama.block_count", (uint32_t)c.n_layers);
    gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)(c.dim / c.n_heads));
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", o && o->rms_eps > 0 ? o->rms_eps : 1e-5f);
    legacy_vocab_write(vocab, w);
    TL_TRY(add_tensors(w, &c, a, err));
    return legacy_write_gguf(w, out_path, err);
}

tl_status tl_convert_llama2c(const char *model_path, const char *tokenizer_path, const char *out_path,
                             const tl_convert_legacy_options *options, tl_error *err) {
    legacy_input model, tok;
    TL_TRY(legacy_input_open(&model, model_path, err));
    tl_status st = legacy_input_open(&tok, tokenizer_path, err);
    if (st != TL_OK) {
        legacy_input_close(&model);
        return st;
    }
    gguf_writer *w = gguf_writer_new();
    legacy_vocab vocab = {0};
    st = w ? convert(&model, &tok, out_path, options, &vocab, w, err) : tl_fail(err, TL_ERR_NOMEM, "out of memory");
    legacy_vocab_free(&vocab);
    gguf_writer_free(w);
    legacy_input_close(&tok);
    legacy_input_close(&model);
    return st;
}
