/*
 * synth_bert.c — hyper-parameters and tensors of BERT-family encoders for
 * `tinyllm synth`, as llama.cpp's converter writes them (BertModel,
 * NomicBertModel): the `<arch>.*` keys, the token type count, token-type
 * embeddings and learned position embeddings (kept f32, as the converter
 * keeps them), and per layer q/k/v (or fused attn_qkv), output and
 * feed-forward matrices, with biases when the preset has them, and two
 * LayerNorms. The architecture row says which positions (learned, or rotary
 * with a rope.freq_base key) and which feed-forward (GELU, or SwiGLU with
 * an ffn_gate matrix) the encoder has. Rerankers add the classification
 * head llama.cpp's rank pooling reads (cls, cls.output, kept f32) and the
 * classifier's output labels.
 */
#include <math.h>
#include <stdio.h>

#include "authoring/synth_internal.h"
#include "tensor/types.h"
#include "util/error.h"

/* Most classifier outputs a preset may have. */
#define MAX_LABELS 8

/* A LayerNorm: weight around 1, bias around 0. */
static tl_status add_layer_norm(synth_writer *s, const char *prefix, int64_t n) {
    char name[160]; /* prefix (< 128) + suffix */
    snprintf(name, sizeof name, "%s.weight", prefix);
    TL_TRY(synth_add_norm(s, name, n));
    snprintf(name, sizeof name, "%s.bias", prefix);
    return synth_add_bias(s, name, n);
}

/* A matrix and, when the preset has biases, its bias. */
static tl_status add_linear(synth_writer *s, const char *prefix, tensor_role role, uint32_t layer, int64_t n_cols,
                            int64_t n_rows) {
    char name[160]; /* prefix (< 128) + suffix */
    snprintf(name, sizeof name, "%s.weight", prefix);
    TL_TRY(synth_add_matrix(s, name, role, layer, n_cols, n_rows, 1.0f));
    if (!s->preset->qkv_bias) return TL_OK;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return synth_add_bias(s, name, n_rows);
}

tl_status synth_write_bert(synth_writer *s) {
    const tl_synth_preset *p = s->preset;
    const tl_arch *a = s->arch;
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
    if (a->positions == TL_POS_ROPE) gguf_writer_set_f32(w, synth_key(s, "rope.freq_base"), p->rope_theta);
    gguf_writer_set_f32(w, synth_key(s, "attention.layer_norm_epsilon"), p->norm_eps);
    gguf_writer_set_bool(w, synth_key(s, "attention.causal"), false);
    if (p->pooling) gguf_writer_set_u32(w, synth_key(s, "pooling_type"), p->pooling);
    /* Classifier labels as the converter writes id2label: LABEL_0, ... */
    const char *labels[MAX_LABELS];
    char names[MAX_LABELS][16];
    const uint32_t n_labels = p->n_cls_out < MAX_LABELS ? p->n_cls_out : MAX_LABELS;
    if (n_labels) {
        for (uint32_t i = 0; i < n_labels; i++) {
            snprintf(names[i], sizeof names[i], "LABEL_%u", i);
            labels[i] = names[i];
        }
        gguf_writer_set_arr_str(w, synth_key(s, "classifier.output_labels"), labels, n_labels);
    }
    /* type_vocab_size: llama.cpp needs it to size token_types (replaces the
     * value copied with the vocabulary, if any). */
    gguf_writer_set_u32(w, "tokenizer.ggml.token_type_count", n_types);

    char name[128];
    TL_TRY(synth_add_tensor(s, "token_embd.weight", synth_embedding_type(s, d), d, n_vocab, 0.0f, 1.0f));
    TL_TRY(synth_add_tensor(s, "token_types.weight", TL_TYPE_F32, d, n_types, 0.0f, 0.5f));
    if (a->positions == TL_POS_LEARNED)
        TL_TRY(synth_add_tensor(s, "position_embd.weight", TL_TYPE_F32, d, p->n_ctx, 0.0f, 0.5f));
    TL_TRY(add_layer_norm(s, "token_embd_norm", d));
    for (uint32_t il = 0; il < p->n_layer; il++) {
#define LAYER(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
        if (p->fused_qkv) {
            TL_TRY(add_linear(s, LAYER("attn_qkv"), ROLE_ATTN_QKV, il, d, 3 * d));
        } else {
            TL_TRY(add_linear(s, LAYER("attn_q"), ROLE_ATTN_Q, il, d, d));
            TL_TRY(add_linear(s, LAYER("attn_k"), ROLE_ATTN_K, il, d, d));
            TL_TRY(add_linear(s, LAYER("attn_v"), ROLE_ATTN_V, il, d, d));
        }
        TL_TRY(add_linear(s, LAYER("attn_output"), ROLE_ATTN_OUTPUT, il, d, d));
        TL_TRY(add_layer_norm(s, LAYER("attn_output_norm"), d));
        TL_TRY(add_linear(s, LAYER("ffn_up"), ROLE_FFN_UP, il, d, ff));
        if (a->ffn == TL_FFN_SWIGLU) TL_TRY(add_linear(s, LAYER("ffn_gate"), ROLE_FFN_GATE, il, d, ff));
        TL_TRY(add_linear(s, LAYER("ffn_down"), ROLE_FFN_DOWN, il, ff, d));
        TL_TRY(add_layer_norm(s, LAYER("layer_output_norm"), d));
#undef LAYER
    }
    if (n_labels) { /* weights of std 1/sqrt(d), as synth_add_matrix's */
        const float spread = sqrtf(3.0f / (float)d);
        TL_TRY(synth_add_tensor(s, "cls.weight", TL_TYPE_F32, d, d, 0.0f, spread));
        TL_TRY(synth_add_bias(s, "cls.bias", d));
        TL_TRY(synth_add_tensor(s, "cls.output.weight", TL_TYPE_F32, d, n_labels, 0.0f, spread));
        TL_TRY(synth_add_bias(s, "cls.output.bias", n_labels));
    }
    return TL_OK;
}
