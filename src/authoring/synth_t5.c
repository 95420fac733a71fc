/*
 * synth_t5.c — hyper-parameters and tensors of T5 encoder-decoders for
 * `tinyllm synth`, with the keys and tensor names llama.cpp's converter
 * (conversion/t5.py, T5Model) writes for a FLAN-T5 checkpoint: gated-GELU
 * feed-forward (ffn_gate + ffn_up), a relative attention bias in layer 0 of
 * each stack only, a separate output matrix unless the preset ties it.
 */
#include <math.h>
#include <stdio.h>

#include "authoring/synth_internal.h"
#include "tensor/types.h"
#include "util/error.h"

static void write_keys(synth_writer *s, uint32_t head_dim, uint32_t n_layer_dec) {
    const tl_synth_preset *p = s->preset;
    gguf_writer *w = s->w;
    gguf_writer_set_u32(w, synth_key(s, "context_length"), p->n_ctx);
    gguf_writer_set_u32(w, synth_key(s, "embedding_length"), p->n_embd);
    gguf_writer_set_u32(w, synth_key(s, "feed_forward_length"), p->n_ff);
    gguf_writer_set_u32(w, synth_key(s, "block_count"), p->n_layer);
    gguf_writer_set_u32(w, synth_key(s, "decoder_block_count"), n_layer_dec);
    gguf_writer_set_u32(w, synth_key(s, "attention.head_count"), p->n_head);
    gguf_writer_set_u32(w, synth_key(s, "attention.key_length"), head_dim);
    gguf_writer_set_u32(w, synth_key(s, "attention.value_length"), head_dim);
    gguf_writer_set_f32(w, synth_key(s, "attention.layer_norm_epsilon"), p->norm_eps);
    gguf_writer_set_u32(w, synth_key(s, "attention.relative_buckets_count"), p->n_rel_buckets);
    gguf_writer_set_f32(w, synth_key(s, "attention.layer_norm_rms_epsilon"), p->norm_eps);
    gguf_writer_set_u32(w, synth_key(s, "decoder_start_token_id"), 0); /* T5's pad token */
}

/* The converter keeps attn_rel_b ([n_head, n_buckets]; rows too short for
 * quantization blocks) in f32 for f32 files, bf16 for bf16 and f16 otherwise. */
static uint32_t rel_bias_type(const synth_writer *s) {
    if (s->plan.base == TL_TYPE_F32 || s->plan.base == TL_TYPE_BF16) return s->plan.base;
    return TL_TYPE_F16;
}

/* One layer of the encoder ("enc") or decoder ("dec"). */
static tl_status write_layer(synth_writer *s, const char *stack, uint32_t il, bool decoder, uint32_t head_dim) {
    const tl_synth_preset *p = s->preset;
    const int64_t d = p->n_embd, ff = p->n_ff, inner = (int64_t)p->n_head * head_dim;
    /* T5 does not scale attention scores by 1/sqrt(head size); its query
     * projection is initialised that much smaller instead. */
    const float q_gain = 1.0f / sqrtf((float)head_dim);
    char name[160];
#define NAME(suffix) (snprintf(name, sizeof name, "%s.blk.%u.%s", stack, il, suffix), name)
    TL_TRY(synth_add_norm(s, NAME("attn_norm.weight"), d));
    if (il == 0)
        TL_TRY(
            synth_add_tensor(s, NAME("attn_rel_b.weight"), rel_bias_type(s), p->n_head, p->n_rel_buckets, 0.0f, 2.0f));
    TL_TRY(synth_add_matrix(s, NAME("attn_q.weight"), ROLE_ATTN_Q, il, d, inner, q_gain));
    TL_TRY(synth_add_matrix(s, NAME("attn_k.weight"), ROLE_ATTN_K, il, d, inner, 1.0f));
    TL_TRY(synth_add_matrix(s, NAME("attn_v.weight"), ROLE_ATTN_V, il, d, inner, 1.0f));
    TL_TRY(synth_add_matrix(s, NAME("attn_o.weight"), ROLE_ATTN_OUTPUT, il, inner, d, 1.0f));
    if (decoder) {
        TL_TRY(synth_add_norm(s, NAME("cross_attn_norm.weight"), d));
        TL_TRY(synth_add_matrix(s, NAME("cross_attn_q.weight"), ROLE_ATTN_Q, il, d, inner, q_gain));
        TL_TRY(synth_add_matrix(s, NAME("cross_attn_k.weight"), ROLE_ATTN_K, il, d, inner, 1.0f));
        TL_TRY(synth_add_matrix(s, NAME("cross_attn_v.weight"), ROLE_ATTN_V, il, d, inner, 1.0f));
        TL_TRY(synth_add_matrix(s, NAME("cross_attn_o.weight"), ROLE_ATTN_OUTPUT, il, inner, d, 1.0f));
    }
    TL_TRY(synth_add_norm(s, NAME("ffn_norm.weight"), d));
    TL_TRY(synth_add_matrix(s, NAME("ffn_gate.weight"), ROLE_FFN_GATE, il, d, ff, 1.0f));
    TL_TRY(synth_add_matrix(s, NAME("ffn_up.weight"), ROLE_FFN_UP, il, d, ff, 1.0f));
    TL_TRY(synth_add_matrix(s, NAME("ffn_down.weight"), ROLE_FFN_DOWN, il, ff, d, 1.0f));
#undef NAME
    return TL_OK;
}

tl_status synth_write_t5(synth_writer *s) {
    const tl_synth_preset *p = s->preset;
    const int64_t d = p->n_embd, n_vocab = (int64_t)s->n_vocab;
    const uint32_t head_dim = p->head_dim ? p->head_dim : p->n_embd / p->n_head;
    const uint32_t n_layer_dec = p->n_layer_dec ? p->n_layer_dec : p->n_layer;
    if (head_dim == 0 || head_dim > 1024 || p->n_rel_buckets < 4)
        return tl_fail(s->err, TL_ERR_ARGUMENT, "%s: bad head size %u or bucket count %u", p->name, head_dim,
                       p->n_rel_buckets);
    if (p->n_head_kv != p->n_head)
        return tl_fail(s->err, TL_ERR_ARGUMENT, "%s: t5 has as many key/value heads as heads", p->name);
    if (s->plan.base != TL_TYPE_F32 && s->plan.base != TL_TYPE_F16 && s->plan.base != TL_TYPE_BF16 &&
        ((int64_t)p->n_head * head_dim) % 32 != 0)
        return tl_fail(s->err, TL_ERR_ARGUMENT, "%s: an attention width of %u does not fit %s blocks", p->name,
                       p->n_head * head_dim, s->opts->type_name);
    write_keys(s, head_dim, n_layer_dec);

    TL_TRY(synth_add_tensor(s, "token_embd.weight", synth_embedding_type(s, d), d, n_vocab, 0.0f, 1.0f));
    for (uint32_t il = 0; il < p->n_layer; il++) TL_TRY(write_layer(s, "enc", il, false, head_dim));
    TL_TRY(synth_add_norm(s, "enc.output_norm.weight", d));
    for (uint32_t il = 0; il < n_layer_dec; il++) TL_TRY(write_layer(s, "dec", il, true, head_dim));
    TL_TRY(synth_add_norm(s, "dec.output_norm.weight", d));
    if (!p->tied_output) TL_TRY(synth_add_matrix(s, "output.weight", ROLE_OUTPUT, 0, d, n_vocab, 4.0f));
    return TL_OK;
}
