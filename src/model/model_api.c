/*
 * model_api.c — the public accessors of a loaded model: its description for
 * `tinyllm info`, metadata look-ups, and the vocabulary calls, which forward
 * to the tokenizer stage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "tensor/types.h"
#include "util/error.h"

const tl_vocab *tl_model_vocab(const tl_model *model) {
    return model->vocab;
}

void tl_model_get_info(const tl_model *m, tl_model_info *info) {
    memset(info, 0, sizeof *info);
    info->path = m->path;
    info->architecture = m->arch_name;
    const char *name = gguf_get_str(m->file, "general.name");
    info->name = name ? name : "";
    info->gguf_version = gguf_version(m->file);
    info->file_size = gguf_file_size(m->file);
    info->n_tensors = (uint64_t)gguf_tensor_count(m->file);
    info->n_metadata = (uint64_t)gguf_kv_count(m->file);
    uint64_t bytes_per_type[64] = {0};
    const bool untied = gguf_find_tensor(m->file, "output.weight") != NULL;
    for (int64_t i = 0; i < gguf_tensor_count(m->file); i++) {
        const gguf_tensor *t = gguf_tensor_at(m->file, i);
        info->n_params += t->n_elements;
        if (t->type < 64) info->tensors_per_type[t->type]++;
        if (t->n_dims < 2 || t->type >= 64) continue;
        bytes_per_type[t->type] += t->n_bytes;
        if (!(untied && strcmp(t->name, "token_embd.weight") == 0)) info->bytes_per_token += t->n_bytes;
    }
    for (uint32_t t = 0; t < 64; t++)
        if (bytes_per_type[t] > bytes_per_type[info->main_weight_type]) info->main_weight_type = t;
    info->vocab_type = tl_vocab_model_name(m->vocab);
    info->pre_tokenizer = tl_vocab_pre_name(m->vocab);
    info->n_vocab = tl_vocab_n_tokens(m->vocab);
    info->has_chat_template = gguf_find_key(m->file, "tokenizer.chat_template") >= 0;
    if (m->arch && !m->vocab_only) {
        info->context_length = m->hp.n_ctx_train;
        info->n_embd = m->hp.n_embd;
        info->n_layer = m->hp.n_layer;
        info->n_head = m->hp.n_head;
        info->n_head_kv = m->hp.n_head_kv;
        info->n_ff = m->hp.n_ff;
        info->has_encoder = tl_model_has_encoder(m);
        info->has_decoder = tl_model_has_decoder(m);
        info->pooling = m->pooling;
    } else {
        char key[160];
        snprintf(key, sizeof key, "%s.context_length", m->arch_name);
        gguf_get_u32(m->file, key, &info->context_length);
    }
}

bool tl_model_meta_string(const tl_model *m, const char *key, char *buf, size_t buf_size) {
    int64_t i = gguf_find_key(m->file, key);
    return i >= 0 && gguf_format_value(m->file, i, buf, buf_size);
}

int32_t tl_vocab_size(const tl_model *m) {
    return tl_vocab_n_tokens(m->vocab);
}
tl_token tl_token_bos(const tl_model *m) {
    return tl_vocab_bos(m->vocab);
}
tl_token tl_token_eos(const tl_model *m) {
    return tl_vocab_eos(m->vocab);
}
bool tl_token_is_eog(const tl_model *m, tl_token t) {
    return tl_vocab_is_eog(m->vocab, t);
}
bool tl_vocab_adds_bos(const tl_model *m) {
    return tl_vocab_add_bos(m->vocab);
}
bool tl_vocab_adds_eos(const tl_model *m) {
    return tl_vocab_add_eos(m->vocab);
}

int32_t tl_tokenize(const tl_model *m, const char *text, size_t text_len, bool add_special, bool parse_special,
                    tl_token *tokens, int32_t max_tokens) {
    return tl_vocab_tokenize(m->vocab, text, text_len, add_special, parse_special, tokens, max_tokens);
}

tl_status tl_tokenize_prompt(const tl_model *m, const char *text, size_t text_len, bool add_special, bool parse_special,
                             tl_token *tokens, int32_t max_tokens, int32_t *n_tokens, tl_error *err) {
    *n_tokens = 0;
    const int32_t n =
        tl_vocab_tokenize_bounded(m->vocab, text, text_len, add_special, parse_special, tokens, max_tokens);
    if (n == TL_VOCAB_TOO_LONG)
        return tl_fail(err, TL_ERR_CONTEXT_FULL, "the prompt is too long: more than %d tokens",
                       max_tokens > 0 ? max_tokens : 0);
    if (n < 0) return tl_fail(err, TL_ERR_NOMEM, "out of memory tokenizing the prompt");
    *n_tokens = n;
    return TL_OK;
}

int32_t tl_token_to_piece(const tl_model *m, tl_token token, bool special, char *buf, int32_t buf_size) {
    return tl_vocab_token_to_piece(m->vocab, token, special, buf, buf_size);
}

int32_t tl_detokenize(const tl_model *m, const tl_token *tokens, int32_t n_tokens, bool special,
                      bool remove_leading_space, char *buf, int32_t buf_size) {
    return tl_vocab_detokenize(m->vocab, tokens, n_tokens, special, remove_leading_space, buf, buf_size);
}

tl_pooling tl_model_pooling(const tl_model *m) {
    return (tl_pooling)m->pooling;
}
uint32_t tl_model_embedding_size(const tl_model *m) {
    return m->hp.n_embd;
}
bool tl_model_has_encoder(const tl_model *m) {
    return m->arch && m->arch->kind != TL_KIND_DECODER;
}
bool tl_model_has_decoder(const tl_model *m) {
    return m->arch && m->arch->kind != TL_KIND_ENCODER;
}
tl_token tl_model_decoder_start_token(const tl_model *m) {
    return m->decoder_start;
}

const char *tl_model_chat_template(const tl_model *m) {
    return gguf_get_str(m->file, "tokenizer.chat_template");
}
