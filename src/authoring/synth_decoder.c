/*
 * synth_decoder.c — hyper-parameters and tensors of decoder-only models for
 * `tinyllm synth`: every decoder row of the architecture table
 * (src/model/arch.c), with the tensor names and keys llama.cpp's converter writes for each. What the
 * architecture fixes (its norm, post-norms, default local-layer pattern,
 * whether q/k/v biases, q/k norms and the feed-forward norm exist, whether
 * the output may be tied) comes from its row; what a model chooses where
 * the row leaves a choice, from the preset.
 */
#include <math.h>
#include <stdio.h>

#include "authoring/synth_internal.h"
#include "tensor/types.h"
#include "util/error.h"

/* Llama 3.1+ RoPE scaling as the Hugging Face converter writes it: one
 * divisor per rotated frequency, 1 for short wavelengths, `factor` for long
 * ones, and a smooth blend between. */
static tl_status add_llama3_rope_factors(synth_writer *s, const tl_synth_preset *p, int head_dim) {
    const int n = head_dim / 2;
    float factors[512];
    const double low_wavelen = p->original_ctx / p->low_freq_factor;
    const double high_wavelen = p->original_ctx / p->high_freq_factor;
    for (int i = 0; i < n; i++) {
        const double freq = 1.0 / pow((double)p->rope_theta, (2.0 * i) / head_dim);
        const double wavelen = 2.0 * M_PI / freq;
        if (wavelen < high_wavelen)
            factors[i] = 1.0f;
        else if (wavelen > low_wavelen)
            factors[i] = p->rope_factor;
        else {
            const double smooth =
                (p->original_ctx / wavelen - p->low_freq_factor) / (p->high_freq_factor - p->low_freq_factor);
            factors[i] = (float)(1.0 / ((1.0 - smooth) / p->rope_factor + smooth));
        }
    }
    int64_t ne[1] = {n};
    return gguf_writer_add_tensor(s->w, "rope_freqs.weight", TL_TYPE_F32, 1, ne, factors, s->err);
}

/* Phi-3 LongRoPE: per-frequency divisors for contexts up to the original
 * length (short, close to 1) and beyond it (long, growing with the
 * wavelength), as the converter writes them from rope_scaling. */
static tl_status add_longrope_factors(synth_writer *s, int n_rot) {
    const int n = n_rot / 2;
    float longf[512], shortf[512];
    for (int i = 0; i < n; i++) {
        const float x = (float)i / (float)(n > 1 ? n - 1 : 1);
        shortf[i] = 1.0f + 0.05f * x;
        longf[i] = 1.0f + 40.0f * x * x;
    }
    int64_t ne[1] = {n};
    tl_status st = gguf_writer_add_tensor(s->w, "rope_factors_long.weight", TL_TYPE_F32, 1, ne, longf, s->err);
    if (st != TL_OK) return st;
    return gguf_writer_add_tensor(s->w, "rope_factors_short.weight", TL_TYPE_F32, 1, ne, shortf, s->err);
}

/* Whether the model has a tensor the row marks `presence`: the row decides,
 * unless it leaves the tensor optional; then the preset's `choice` does. */
static bool has(tl_presence presence, bool choice) {
    return presence == TL_REQUIRED || (presence == TL_OPTIONAL && choice);
}

static void write_keys(synth_writer *s, const tl_arch *a, int64_t head_dim, int64_t n_rot) {
    const tl_synth_preset *p = s->preset;
    gguf_writer *w = s->w;
    const bool layer_norm = a->norm == TL_NORM_LAYER;
    gguf_writer_set_u32(w, synth_key(s, "context_length"), p->n_ctx);
    gguf_writer_set_u32(w, synth_key(s, "embedding_length"), p->n_embd);
    gguf_writer_set_u32(w, synth_key(s, "block_count"), p->n_layer);
    gguf_writer_set_u32(w, synth_key(s, "feed_forward_length"), p->n_ff);
    gguf_writer_set_u32(w, synth_key(s, "attention.head_count"), p->n_head);
    gguf_writer_set_u32(w, synth_key(s, "attention.head_count_kv"), p->n_head_kv);
    if (p->head_dim) {
        gguf_writer_set_u32(w, synth_key(s, "attention.key_length"), (uint32_t)head_dim);
        gguf_writer_set_u32(w, synth_key(s, "attention.value_length"), (uint32_t)head_dim);
    }
    gguf_writer_set_u32(w, synth_key(s, "rope.dimension_count"), (uint32_t)n_rot);
    gguf_writer_set_f32(w, synth_key(s, "rope.freq_base"), p->rope_theta);
    gguf_writer_set_f32(
        w, synth_key(s, layer_norm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon"), p->norm_eps);
    if (p->longrope) {
        const double scale = (double)p->n_ctx / p->original_ctx;
        gguf_writer_set_u32(w, synth_key(s, "rope.scaling.original_context_length"), p->original_ctx);
        gguf_writer_set_f32(w, synth_key(s, "rope.scaling.attn_factor"),
                            (float)sqrt(1.0 + log(scale) / log((double)p->original_ctx)));
    }
    if (p->n_swa) gguf_writer_set_u32(w, synth_key(s, "attention.sliding_window"), p->n_swa);
    /* The converters leave the pattern to the architecture's default (Gemma 2:
     * every other layer, Gemma 3: 5 of 6); shrunk models say theirs. */
    if (p->swa_pattern && p->swa_pattern != a->swa_pattern)
        gguf_writer_set_u32(w, synth_key(s, "attention.sliding_window_pattern"), p->swa_pattern);
    if (p->rope_theta_swa > 0) gguf_writer_set_f32(w, synth_key(s, "rope.freq_base_swa"), p->rope_theta_swa);
    if (p->attn_softcap > 0) gguf_writer_set_f32(w, synth_key(s, "attn_logit_softcapping"), p->attn_softcap);
    if (p->final_softcap > 0) gguf_writer_set_f32(w, synth_key(s, "final_logit_softcapping"), p->final_softcap);
}

tl_status synth_write_decoder(synth_writer *s) {
    const tl_synth_preset *p = s->preset;
    const int64_t d = p->n_embd, ff = p->n_ff, n_vocab = (int64_t)s->n_vocab;
    const int64_t head_dim = p->head_dim ? p->head_dim : d / p->n_head;
    const int64_t n_rot = p->n_rot ? p->n_rot : head_dim;
    const int64_t q_dim = head_dim * p->n_head, kv_dim = head_dim * p->n_head_kv;
    if (head_dim > 1024 || n_rot > head_dim || n_rot % 2)
        return tl_fail(s->err, TL_ERR_ARGUMENT, "%s: bad head size %lld / rotary dimensions %lld", p->name,
                       (long long)head_dim, (long long)n_rot);
    const tl_arch *a = s->arch;
    const bool layer_norm = a->norm == TL_NORM_LAYER;
    const bool post_norms = a->post_norms != TL_ABSENT;
    const bool qkv_bias = has(a->qkv_bias, p->qkv_bias), qk_norm = has(a->qk_norm, p->qk_norm);
    const bool ffn_norm = has(a->ffn_norm, !p->parallel_residual);
    const bool tied_output = p->tied_output && a->tied_output_allowed;
    write_keys(s, a, head_dim, n_rot);

    char name[128];
    TL_TRY(synth_add_tensor(s, "token_embd.weight", synth_embedding_type(s, d), d, n_vocab, 0.0f, 1.0f));
    TL_TRY(synth_add_norm(s, "output_norm.weight", d));
    if (layer_norm) TL_TRY(synth_add_bias(s, "output_norm.bias", d));
    if (!tied_output) TL_TRY(synth_add_matrix(s, "output.weight", ROLE_OUTPUT, 0, d, n_vocab, 4.0f));
    if (p->llama3_rope) TL_TRY(add_llama3_rope_factors(s, p, (int)head_dim));
    if (p->longrope) TL_TRY(add_longrope_factors(s, (int)n_rot));
    for (uint32_t il = 0; il < p->n_layer; il++) {
#define LAYER(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
        TL_TRY(synth_add_norm(s, LAYER("attn_norm.weight"), d));
        if (layer_norm) TL_TRY(synth_add_bias(s, LAYER("attn_norm.bias"), d));
        if (p->fused_qkv) {
            TL_TRY(synth_add_matrix(s, LAYER("attn_qkv.weight"), ROLE_ATTN_QKV, il, d, q_dim + 2 * kv_dim, 1.0f));
        } else {
            TL_TRY(synth_add_matrix(s, LAYER("attn_q.weight"), ROLE_ATTN_Q, il, d, q_dim, 1.0f));
            TL_TRY(synth_add_matrix(s, LAYER("attn_k.weight"), ROLE_ATTN_K, il, d, kv_dim, 1.0f));
            TL_TRY(synth_add_matrix(s, LAYER("attn_v.weight"), ROLE_ATTN_V, il, d, kv_dim, 1.0f));
        }
        if (qkv_bias) {
            TL_TRY(synth_add_bias(s, LAYER("attn_q.bias"), q_dim));
            TL_TRY(synth_add_bias(s, LAYER("attn_k.bias"), kv_dim));
            TL_TRY(synth_add_bias(s, LAYER("attn_v.bias"), kv_dim));
        }
        if (qk_norm && layer_norm) { /* StableLM: one LayerNorm weight row per head */
            TL_TRY(synth_add_tensor(s, LAYER("attn_q_norm.weight"), TL_TYPE_F32, head_dim, p->n_head, 1.0f, 0.1f));
            TL_TRY(synth_add_tensor(s, LAYER("attn_k_norm.weight"), TL_TYPE_F32, head_dim, p->n_head_kv, 1.0f, 0.1f));
        } else if (qk_norm) { /* Gemma 3, Qwen3: shared by the heads */
            TL_TRY(synth_add_norm(s, LAYER("attn_q_norm.weight"), head_dim));
            TL_TRY(synth_add_norm(s, LAYER("attn_k_norm.weight"), head_dim));
        }
        TL_TRY(synth_add_matrix(s, LAYER("attn_output.weight"), ROLE_ATTN_OUTPUT, il, q_dim, d, 1.0f));
        if (post_norms) TL_TRY(synth_add_norm(s, LAYER("post_attention_norm.weight"), d));
        if (ffn_norm) {
            TL_TRY(synth_add_norm(s, LAYER("ffn_norm.weight"), d));
            if (layer_norm) TL_TRY(synth_add_bias(s, LAYER("ffn_norm.bias"), d));
        }
        if (p->fused_gate_up) {
            TL_TRY(synth_add_matrix(s, LAYER("ffn_up.weight"), ROLE_FFN_UP, il, d, 2 * ff, 1.0f));
        } else {
            TL_TRY(synth_add_matrix(s, LAYER("ffn_gate.weight"), ROLE_FFN_GATE, il, d, ff, 1.0f));
            TL_TRY(synth_add_matrix(s, LAYER("ffn_up.weight"), ROLE_FFN_UP, il, d, ff, 1.0f));
        }
        TL_TRY(synth_add_matrix(s, LAYER("ffn_down.weight"), ROLE_FFN_DOWN, il, ff, d, 1.0f));
        if (post_norms) TL_TRY(synth_add_norm(s, LAYER("post_ffw_norm.weight"), d));
#undef LAYER
    }
    return TL_OK;
}
