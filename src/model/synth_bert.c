/*
 * synth_bert.c — hyper-parameters and tensors of BERT encoders for
 * `tinyllm synth`, as llama.cpp's converter (BertModel) writes them: the
 * `bert.*` keys, the token type count, learned position and token-type
 * embeddings (kept f32, as the converter keeps them), and per layer q/k/v,
 * output, and feed-forward matrices with biases and two LayerNorms.
 */
#include <stdio.h>

#include "model/synth_internal.h"
#include "tensor/types.h"
#include "util/error.h"

#define TRY(expr)                                     \
    do {                                              \
        tl_status try_status_ = (expr);               \
        if (try_status_ != TL_OK) return try_status_; \
    } while (0)

/* A LayerNorm: weight around 1, bias around 0. */
static tl_status add_layer_norm(synth_writer *s, const char *prefix, int64_t n) {
    char name[160]; /* prefix (< 128) + suffix */
    snprintf(name, sizeof name, "%s.weight", prefix);
    TRY(synth_add_norm(s, name, n));
    snprintf(name, sizeof name, "%s.bias", prefix);
    return synth_add_bias(s, name, n);
}

tl_status synth_write_bert(synth_writer *s) {
    const tl_synth_preset *p = s->preset;
    gguf_writer *w = s->w;
    const int64_t d = p->n_embd, ff = p->n_ff, n_vocab = (int64_t)s->n_vocab;
    if (p->n_head == 0 || d % p->n_head != 0 || (p->head_dim && p->head_dim * p->n_head != d))
        return tl_fail(s->err, TL_ERR_ARGUMENT, "%s: a BERT model needs n_embd (%lld) = heads (%u) x head size",
                       p->name, (long long)d, p->n_head);
    const uint32_t n_types = p->n_token_types ? p->n_token_types : 1;

    /* Keys in the converter's order (TextModel, then BertModel). */
    gguf_writer_set_u32(w, synth_key(s, "block_count"), p->n_layer);
    gguf_writer_set_u32(w, synth_key(s, "context_length"), p->n_ctx);
    gguf_writer_set_u32(w, synth_key(s, "embedding_length"), p->n_embd);
    gguf_writer_set_u32(w, synth_key(s, "feed_forward_length"), p->n_ff);
    gguf_writer_set_u32(w, synth_key(s, "attention.head_count"), p->n_head);
    gguf_writer_set_f32(w, synth_key(s, "attention.layer_norm_epsilon"), p->norm_eps);
    gguf_writer_set_bool(w, synth_key(s, "attention.causal"), false);
    if (p->pooling) gguf_writer_set_u32(w, synth_key(s, "pooling_type"), p->pooling);
    /* type_vocab_size: llama.cpp needs it to size token_types (replaces the
     * value copied with the vocabulary, if any). */
    gguf_writer_set_u32(w, "tokenizer.ggml.token_type_count", n_types);

    char name[128];
    TRY(synth_add_tensor(s, "token_embd.weight", synth_embedding_type(s, d), d, n_vocab, 0.0f, 1.0f));
    TRY(synth_add_tensor(s, "token_types.weight", TL_TYPE_F32, d, n_types, 0.0f, 0.5f));
    TRY(synth_add_tensor(s, "position_embd.weight", TL_TYPE_F32, d, p->n_ctx, 0.0f, 0.5f));
    TRY(add_layer_norm(s, "token_embd_norm", d));
    for (uint32_t il = 0; il < p->n_layer; il++) {
#define LAYER(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
        TRY(synth_add_matrix(s, LAYER("attn_q.weight"), ROLE_ATTN_Q, il, d, d, 1.0f));
        TRY(synth_add_bias(s, LAYER("attn_q.bias"), d));
        TRY(synth_add_matrix(s, LAYER("attn_k.weight"), ROLE_ATTN_K, il, d, d, 1.0f));
        TRY(synth_add_bias(s, LAYER("attn_k.bias"), d));
        TRY(synth_add_matrix(s, LAYER("attn_v.weight"), ROLE_ATTN_V, il, d, d, 1.0f));
        TRY(synth_add_bias(s, LAYER("attn_v.bias"), d));
        TRY(synth_add_matrix(s, LAYER("attn_output.weight"), ROLE_ATTN_OUTPUT, il, d, d, 1.0f));
        TRY(synth_add_bias(s, LAYER("attn_output.bias"), d));
        TRY(add_layer_norm(s, LAYER("attn_output_norm"), d));
        TRY(synth_add_matrix(s, LAYER("ffn_up.weight"), ROLE_FFN_UP, il, d, ff, 1.0f));
        TRY(synth_add_bias(s, LAYER("ffn_up.bias"), ff));
        TRY(synth_add_matrix(s, LAYER("ffn_down.weight"), ROLE_FFN_DOWN, il, ff, d, 1.0f));
        TRY(synth_add_bias(s, LAYER("ffn_down.bias"), d));
        TRY(add_layer_norm(s, LAYER("layer_output_norm"), d));
#undef LAYER
    }
    return TL_OK;
}
