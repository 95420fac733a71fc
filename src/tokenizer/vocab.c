/*
 * vocab.c — building a tl_vocab from a GGUF file's tokenizer.ggml.* keys,
 * with llama.cpp's defaults, and the simple accessors.
 *
 * Loading validates what the tokenizers rely on (array kinds and lengths,
 * unique token texts, special-token ids in range, the Unigram charsmap) and
 * names the key at fault.
 * Special-token fix-ups that llama.cpp does by token text live in
 * vocab_special.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab_internal.h"
#include "util/error.h"
#include "util/buffer.h"

#define KEY_MODEL "tokenizer.ggml.model"
#define KEY_PRE "tokenizer.ggml.pre"
#define KEY_TOKENS "tokenizer.ggml.tokens"
#define KEY_SCORES "tokenizer.ggml.scores"
#define KEY_TOKEN_TYPE "tokenizer.ggml.token_type"
#define KEY_MERGES "tokenizer.ggml.merges"
#define KEY_NORMALIZER "tokenizer.ggml.normalizer"

void tl_token_vec_push(tl_token_vec *v, tl_token t) {
    if (v->failed) {
        return;
    }
    tl_token *items = tl_grow(v->items, &v->capacity, v->count + 1, sizeof *items, 256);
    if (!items) {
        v->failed = true;
        return;
    }
    v->items = items;
    v->items[v->count++] = t;
}

void tl_token_vec_free(tl_token_vec *v) {
    free(v->items);
    v->items = NULL;
    v->count = v->capacity = 0;
}

static char *copy_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy) {
        memcpy(copy, s, n);
    }
    return copy;
}

/* ------------------------------------------------------------------------ */
/* Tokens, scores, types                                                     */
/* ------------------------------------------------------------------------ */

/* Token type from the file → llama.cpp's attribute flags. */
static uint32_t attr_from_type(int64_t type) {
    switch (type) {
    case TL_TOKEN_TYPE_NORMAL: return TL_ATTR_NORMAL;
    case TL_TOKEN_TYPE_UNKNOWN: return TL_ATTR_UNKNOWN;
    case TL_TOKEN_TYPE_CONTROL: return TL_ATTR_CONTROL;
    case TL_TOKEN_TYPE_USER_DEFINED: return TL_ATTR_USER_DEFINED;
    case TL_TOKEN_TYPE_UNUSED: return TL_ATTR_UNUSED;
    case TL_TOKEN_TYPE_BYTE: return TL_ATTR_BYTE;
    default: return TL_ATTR_UNDEFINED;
    }
}

/* Checks that an optional per-token array has one entry per token. */
static tl_status check_token_array(const gguf_file *f, const char *key, uint64_t n_tokens, bool *present,
                                   gguf_value_type *elem_type, tl_error *err) {
    *present = false;
    if (gguf_find_key(f, key) < 0) {
        return TL_OK;
    }
    uint64_t count = 0;
    if (!gguf_get_arr_info(f, key, elem_type, &count)) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: expected an array", key);
    }
    if (*elem_type == GGUF_TYPE_STRING || *elem_type == GGUF_TYPE_ARRAY || *elem_type == GGUF_TYPE_BOOL) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: expected an array of numbers", key);
    }
    if (count != n_tokens) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: has %llu entries but %s has %llu", key, (unsigned long long)count,
                       KEY_TOKENS, (unsigned long long)n_tokens);
    }
    *present = true;
    return TL_OK;
}

static tl_status load_tokens(tl_vocab *v, const gguf_file *f, tl_error *err) {
    gguf_value_type elem_type;
    uint64_t n = 0;
    if (gguf_find_key(f, KEY_TOKENS) < 0) {
        return tl_fail(err, TL_ERR_FORMAT, "%s is missing", KEY_TOKENS);
    }
    if (!gguf_get_arr_info(f, KEY_TOKENS, &elem_type, &n) || elem_type != GGUF_TYPE_STRING) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: expected an array of strings", KEY_TOKENS);
    }
    if (n == 0) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: the vocabulary is empty", KEY_TOKENS);
    }
    if (n > TL_VOCAB_MAX_TOKENS) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: %llu tokens is more than the %d tinyllm accepts", KEY_TOKENS,
                       (unsigned long long)n, TL_VOCAB_MAX_TOKENS);
    }

    bool have_scores, have_types;
    gguf_value_type score_type, type_type;
    tl_status st = check_token_array(f, KEY_SCORES, n, &have_scores, &score_type, err);
    if (st == TL_OK) {
        st = check_token_array(f, KEY_TOKEN_TYPE, n, &have_types, &type_type, err);
    }
    if (st != TL_OK) {
        return st;
    }

    v->n_tokens = (int32_t)n;
    v->texts = calloc(n, sizeof *v->texts);
    v->info = calloc(n, sizeof *v->info);
    if (!v->texts || !v->info) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for %llu tokens", (unsigned long long)n);
    }

    /* One pool for all texts, NUL after each; empty texts become
     * "[EMPTY_<id>]" as in llama.cpp. */
    size_t pool_size = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = 0;
        if (!gguf_get_arr_str(f, KEY_TOKENS, i, &len)) {
            return tl_fail(err, TL_ERR_FORMAT, "%s: entry %llu unreadable", KEY_TOKENS, (unsigned long long)i);
        }
        pool_size += (len ? len : 24) + 1;
    }
    v->text_pool = malloc(pool_size);
    if (!v->text_pool) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for token texts");
    }
    char *p = v->text_pool;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = 0;
        const char *s = gguf_get_arr_str(f, KEY_TOKENS, i, &len);
        if (len == 0) {
            len = (uint64_t)snprintf(p, 25, "[EMPTY_%llu]", (unsigned long long)i);
        } else {
            memcpy(p, s, len);
        }
        p[len] = '\0';
        v->texts[i] = (tl_str){p, len};
        p += len + 1;
    }

    if (!tl_token_map_init(&v->text_to_id, v->texts, n)) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for the token table");
    }
    for (int32_t id = 0; id < v->n_tokens; id++) {
        int32_t other = tl_token_map_insert(&v->text_to_id, id);
        if (other >= 0) {
            return tl_fail(err, TL_ERR_FORMAT, "%s: duplicate token '%s' (ids %d and %d)", KEY_TOKENS, v->texts[id].ptr,
                           other, id);
        }
    }

    /* The usual element types are read straight from the file. */
    const float *scores_f32 = have_scores && score_type == GGUF_TYPE_FLOAT32 ? gguf_get_arr_data(f, KEY_SCORES) : NULL;
    const int32_t *types_i32 = have_types && type_type == GGUF_TYPE_INT32 ? gguf_get_arr_data(f, KEY_TOKEN_TYPE) : NULL;
    for (uint64_t i = 0; i < n; i++) {
        tl_token_info *info = &v->info[i];
        info->score = 0.0f;
        if (scores_f32) {
            memcpy(&info->score, (const char *)scores_f32 + i * sizeof(float), sizeof(float));
        } else if (have_scores) {
            double d = 0.0;
            if (!gguf_get_arr_f64(f, KEY_SCORES, i, &d)) {
                return tl_fail(err, TL_ERR_FORMAT, "%s: entry %llu unreadable", KEY_SCORES, (unsigned long long)i);
            }
            info->score = (float)d;
        }
        info->attr = TL_ATTR_NORMAL;
        if (types_i32) {
            int32_t type;
            memcpy(&type, (const char *)types_i32 + i * sizeof(int32_t), sizeof type);
            info->attr = attr_from_type(type);
        } else if (have_types) {
            int64_t type = 0;
            if (!gguf_get_arr_i64(f, KEY_TOKEN_TYPE, i, &type)) {
                return tl_fail(err, TL_ERR_FORMAT, "%s: entry %llu is not an integer", KEY_TOKEN_TYPE,
                               (unsigned long long)i);
            }
            info->attr = attr_from_type(type);
        }
    }
    return TL_OK;
}

/* ------------------------------------------------------------------------ */
/* BPE merges                                                                */
/* ------------------------------------------------------------------------ */

static tl_status load_merges(tl_vocab *v, const gguf_file *f, tl_error *err) {
    gguf_value_type elem_type;
    uint64_t n = 0;
    if (gguf_find_key(f, KEY_MERGES) < 0) {
        return tl_fail(err, TL_ERR_FORMAT, "%s is missing (a gpt2 tokenizer needs merges)", KEY_MERGES);
    }
    if (!gguf_get_arr_info(f, KEY_MERGES, &elem_type, &n) || elem_type != GGUF_TYPE_STRING) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: expected an array of strings", KEY_MERGES);
    }
    if (n > INT32_MAX) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: too many merges", KEY_MERGES);
    }
    size_t pool_size = 1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = 0;
        if (!gguf_get_arr_str(f, KEY_MERGES, i, &len)) {
            return tl_fail(err, TL_ERR_FORMAT, "%s: entry %llu unreadable", KEY_MERGES, (unsigned long long)i);
        }
        pool_size += len + 1;
    }
    if (pool_size > UINT32_MAX) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: merges too large", KEY_MERGES);
    }
    v->merge_pool = malloc(pool_size);
    char *joined = malloc(pool_size); /* a merge's two sides without the space */
    if (!v->merge_pool || !joined || !tl_merge_map_init(&v->merges, v->merge_pool, n)) {
        free(joined);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for %llu merges", (unsigned long long)n);
    }
    v->every_byte_in_a_token = true; /* until a merge of two tokens makes a non-token */
    /* A merge is "left right", split at the first space after the first
     * byte. Like llama.cpp, a merge without one counts as the pair ("", ""),
     * and merges naming unknown tokens are kept (they never produce a token
     * and are harmless). */
    char *p = v->merge_pool;
    *p++ = ' '; /* the text of the ("", "") pair, at offset 0 */
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len = 0;
        const char *s = gguf_get_arr_str(f, KEY_MERGES, i, &len);
        memcpy(p, s, len);
        p[len] = '\0';
        const char *space = len > 1 ? memchr(p + 1, ' ', len - 1) : NULL;
        size_t left_len = space ? (size_t)(space - p) : 0;
        uint32_t offset = space ? (uint32_t)(p - v->merge_pool) : 0;
        size_t right_len = space ? len - left_len - 1 : 0;
        if (!tl_merge_map_insert(&v->merges, offset, left_len, right_len, (int32_t)i)) {
            free(joined);
            return tl_fail(err, TL_ERR_FORMAT, "%s: entry %llu is too long", KEY_MERGES, (unsigned long long)i);
        }
        if (space && v->every_byte_in_a_token && tl_vocab_find(v, p, left_len) >= 0 &&
            tl_vocab_find(v, space + 1, right_len) >= 0) {
            memcpy(joined, p, left_len);
            memcpy(joined + left_len, space + 1, right_len);
            v->every_byte_in_a_token = tl_vocab_find(v, joined, left_len + right_len) >= 0;
        }
        p += len + 1;
    }
    free(joined);
    return TL_OK;
}

/* ------------------------------------------------------------------------ */
/* Special-token ids and flags                                               */
/* ------------------------------------------------------------------------ */

/* Reads an optional token-id key of any integer type into *id. -1 or
 * 0xFFFFFFFF mean "no such token"; other ids must be in range. */
static tl_status read_token_id(const tl_vocab *v, const gguf_file *f, const char *key, tl_token *id, tl_error *err) {
    if (gguf_find_key(f, key) < 0) {
        return TL_OK;
    }
    uint64_t u = 0;
    int32_t i = 0;
    if (gguf_get_u64(f, key, &u)) {
        if (u == UINT32_MAX || u == UINT64_MAX) {
            *id = -1;
            return TL_OK;
        }
        if (u >= (uint64_t)v->n_tokens) {
            return tl_fail(err, TL_ERR_FORMAT, "%s: token id %llu is out of range (%d tokens)", key,
                           (unsigned long long)u, v->n_tokens);
        }
        *id = (tl_token)u;
        return TL_OK;
    }
    if (gguf_get_i32(f, key, &i)) {
        if (i == -1) {
            *id = -1;
            return TL_OK;
        }
        return tl_fail(err, TL_ERR_FORMAT, "%s: token id %d is out of range (%d tokens)", key, i, v->n_tokens);
    }
    return tl_fail(err, TL_ERR_FORMAT, "%s: expected an integer token id", key);
}

static tl_status read_flag(const gguf_file *f, const char *key, bool *flag, tl_error *err) {
    if (gguf_find_key(f, key) < 0) {
        return TL_OK;
    }
    if (!gguf_get_bool(f, key, flag)) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: expected a boolean", key);
    }
    return TL_OK;
}

/* tokenizer.ggml.normalizer: the Unicode normalization the text gets
 * before tokenizing, as the tokenizer.json the vocabulary came from
 * declares it (tinyllm's importer writes it; llama.cpp's converter does
 * not, so without the key the pre-tokenizer's default holds). */
static tl_status read_normalizer(const gguf_file *f, bool *nfc, tl_error *err) {
    if (gguf_find_key(f, KEY_NORMALIZER) < 0) {
        return TL_OK;
    }
    const char *name = gguf_get_str(f, KEY_NORMALIZER);
    if (!name) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: expected a string", KEY_NORMALIZER);
    }
    if (strcmp(name, "nfc") != 0 && strcmp(name, "none") != 0) {
        return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: normalizer '%s' is not supported (nfc, none)", KEY_NORMALIZER,
                       name);
    }
    *nfc = strcmp(name, "nfc") == 0;
    return TL_OK;
}

static tl_status load_special_ids(tl_vocab *v, const gguf_file *f, tl_error *err) {
    /* Default ids that do not exist in this vocabulary mean "none". */
    tl_token *defaults[] = {&v->bos, &v->eos, &v->unk, &v->sep, &v->pad, &v->mask};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        if (*defaults[i] >= v->n_tokens) {
            *defaults[i] = -1;
        }
    }
    const struct {
        const char *key;
        tl_token *id;
    } keys[] = {
        {"tokenizer.ggml.bos_token_id", &v->bos},
        {"tokenizer.ggml.eos_token_id", &v->eos},
        {"tokenizer.ggml.eot_token_id", &v->eot},
        {"tokenizer.ggml.eom_token_id", &v->eom},
        {"tokenizer.ggml.unknown_token_id", &v->unk},
        {"tokenizer.ggml.seperator_token_id", &v->sep},
        {"tokenizer.ggml.padding_token_id", &v->pad},
        {"tokenizer.ggml.mask_token_id", &v->mask},
        {"tokenizer.ggml.fim_pre_token_id", &v->fim_pre},
        {"tokenizer.ggml.fim_suf_token_id", &v->fim_suf},
        {"tokenizer.ggml.fim_mid_token_id", &v->fim_mid},
        {"tokenizer.ggml.fim_pad_token_id", &v->fim_pad},
        {"tokenizer.ggml.fim_rep_token_id", &v->fim_rep},
        {"tokenizer.ggml.fim_sep_token_id", &v->fim_sep},
        /* older spellings of the FIM ids */
        {"tokenizer.ggml.prefix_token_id", &v->fim_pre},
        {"tokenizer.ggml.suffix_token_id", &v->fim_suf},
        {"tokenizer.ggml.middle_token_id", &v->fim_mid},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        tl_status st = read_token_id(v, f, keys[i].key, keys[i].id, err);
        if (st != TL_OK) {
            return st;
        }
    }

    const struct {
        const char *flag_key, *id_key;
        bool *flag;
        tl_token id;
    } adds[] = {
        {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.bos_token_id", &v->add_bos, v->bos},
        {"tokenizer.ggml.add_eos_token", "tokenizer.ggml.eos_token_id", &v->add_eos, v->eos},
        {"tokenizer.ggml.add_sep_token", "tokenizer.ggml.seperator_token_id", &v->add_sep, v->sep},
    };
    for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++) {
        bool from_file = gguf_find_key(f, adds[i].flag_key) >= 0;
        tl_status st = read_flag(f, adds[i].flag_key, adds[i].flag, err);
        if (st != TL_OK) {
            return st;
        }
        if (*adds[i].flag && adds[i].id < 0) {
            /* A default (e.g. SentencePiece adds BOS) quietly gives way when
             * the file says there is no such token; an explicit request
             * cannot be honoured. */
            if (from_file) {
                return tl_fail(err, TL_ERR_FORMAT, "%s is true, but %s is not set", adds[i].flag_key, adds[i].id_key);
            }
            *adds[i].flag = false;
        }
    }
    return TL_OK;
}

/* The token each byte falls back to when no longer piece matches. */
static void find_byte_tokens(tl_vocab *v) {
    for (int b = 0; b < 256; b++) {
        tl_token id = -1;
        if (v->kind == TL_VOCAB_SPM || v->kind == TL_VOCAB_UGM) {
            char hex[8];
            snprintf(hex, sizeof hex, "<0x%02X>", b);
            id = tl_vocab_find(v, hex, 6);
            if (id < 0) {
                char c = (char)b;
                id = tl_vocab_find(v, &c, 1);
            }
        } else {
            size_t len;
            const char *text = tl_byte_to_unicode((uint8_t)b, &len);
            id = tl_vocab_find(v, text, len);
        }
        v->byte_token[b] = id;
    }
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */
/* ------------------------------------------------------------------------ */

static tl_status choose_kind(tl_vocab *v, const gguf_file *f, tl_error *err) {
    if (gguf_find_key(f, KEY_MODEL) < 0) {
        return tl_fail(err, TL_ERR_FORMAT, "%s is missing", KEY_MODEL);
    }
    const char *model = gguf_get_str(f, KEY_MODEL);
    if (!model) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: expected a string", KEY_MODEL);
    }
    if (strcmp(model, "llama") == 0) {
        v->kind = TL_VOCAB_SPM;
    } else if (strcmp(model, "gpt2") == 0) {
        v->kind = TL_VOCAB_BPE;
    } else if (strcmp(model, "bert") == 0) {
        v->kind = TL_VOCAB_WPM;
    } else if (strcmp(model, "t5") == 0) {
        v->kind = TL_VOCAB_UGM;
    } else if (strcmp(model, "no_vocab") == 0 || strcmp(model, "none") == 0) {
        return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: the file has no vocabulary ('%s')", KEY_MODEL, model);
    } else {
        return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: tokenizer '%s' is not supported", KEY_MODEL, model);
    }
    const char *pre = gguf_find_key(f, KEY_PRE) >= 0 ? gguf_get_str(f, KEY_PRE) : NULL;
    if (gguf_find_key(f, KEY_PRE) >= 0 && !pre) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: expected a string", KEY_PRE);
    }
    v->model_name = copy_string(model);
    v->pre_name = copy_string(pre && *pre ? pre : "default");
    if (!v->model_name || !v->pre_name) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    return TL_OK;
}

/* llama.cpp's defaults for each kind, before the file's own keys. */
static tl_status apply_kind_defaults(tl_vocab *v, const gguf_file *f, tl_error *err) {
    v->eot = v->eom = v->sep = v->pad = v->mask = -1;
    v->fim_pre = v->fim_suf = v->fim_mid = v->fim_pad = v->fim_rep = v->fim_sep = -1;
    v->escape_whitespaces = true;
    v->lowercase = true;
    switch (v->kind) {
    case TL_VOCAB_SPM:
        v->bos = 1;
        v->eos = 2;
        v->unk = 0;
        v->add_space_prefix = true;
        v->add_bos = true;
        break;
    case TL_VOCAB_BPE: {
        /* llama.cpp's BPE defaults: BOS = EOS = 11, no unknown token. */
        v->bos = 11;
        v->eos = 11;
        v->unk = -1;
        tl_pre_defaults pre;
        const char *pre_name = gguf_get_str(f, KEY_PRE);
        tl_status st = tl_pretokenizer_new(pre_name, &v->pretokenizer, &pre, err);
        if (st != TL_OK) {
            return st;
        }
        v->add_bos = pre.add_bos;
        v->add_sep = pre.add_sep;
        v->clean_spaces = pre.clean_spaces;
        v->ignore_merges = pre.ignore_merges;
        v->nfc = pre.nfc;
        v->escape_whitespaces = false;
        if (pre.no_bos) {
            v->bos = -1;
        }
        break;
    }
    case TL_VOCAB_WPM:
        /* BERT's [CLS], [SEP], [UNK], [PAD] and [MASK] */
        v->bos = 101;
        v->eos = -1;
        v->unk = 100;
        v->sep = 102;
        v->pad = 0;
        v->mask = 103;
        v->add_bos = true;
        v->add_sep = true;
        v->clean_spaces = true;
        break;
    case TL_VOCAB_UGM:
        /* T5's <pad>, </s>, <unk>; no BOS */
        v->bos = -1;
        v->eos = 1;
        v->unk = 2;
        v->pad = 0;
        v->add_eos = true;
        break;
    }
    tl_status st = read_flag(f, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix, err);
    if (st == TL_OK) {
        st = read_normalizer(f, &v->nfc, err);
    }
    if (st == TL_OK) {
        st = read_flag(f, "tokenizer.ggml.remove_extra_whitespaces", &v->remove_extra_whitespaces, err);
    }
    if (st == TL_OK) {
        st = read_flag(f, "tokenizer.ggml.normalizer.lowercase", &v->lowercase, err);
    }
    if (st != TL_OK) {
        return st;
    }
    /* Accents are stripped when lower-casing unless the file says. */
    v->strip_accents = v->lowercase;
    return read_flag(f, "tokenizer.ggml.normalizer.strip_accents", &v->strip_accents, err);
}

/* The longest token text: no token covers more bytes (tl_vocab_tokenize_bounded).
 * A SentencePiece user-defined token of spaces also matches its "▁"
 * spelling, three bytes a space (tokenize.c). */
static void find_max_token_len(tl_vocab *v) {
    v->max_token_len = 0;
    for (int32_t id = 0; id < v->n_tokens; id++) {
        size_t len = v->texts[id].len;
        if (v->kind == TL_VOCAB_SPM && (v->info[id].attr & TL_ATTR_USER_DEFINED)) {
            len *= 3;
        }
        if (len > v->max_token_len) {
            v->max_token_len = len;
        }
    }
}

/* What tl_vocab_tokenize_bounded may assume (see vocab_internal.h). BPE's
 * merge check was made by load_merges. */
static void find_bound_properties(tl_vocab *v) {
    bool all_bytes = true;
    for (int b = 0; b < 256; b++) {
        all_bytes = all_bytes && v->byte_token[b] >= 0;
    }
    if (v->kind == TL_VOCAB_SPM) {
        /* Without every byte's token, a run of unknown characters is one
         * unknown token (Hugging Face's fuse_unk). */
        v->every_byte_in_a_token = all_bytes;
    } else if (v->kind == TL_VOCAB_BPE) {
        v->every_byte_in_a_token = v->every_byte_in_a_token && all_bytes;
    } else {
        v->every_byte_in_a_token = false; /* normalization can drop or shrink text */
    }
    v->special_strips_whitespace = false;
    for (int32_t i = 0; i < v->n_special; i++) {
        if (v->info[v->special[i]].attr & (TL_ATTR_LSTRIP | TL_ATTR_RSTRIP)) {
            v->special_strips_whitespace = true;
        }
    }
}

tl_status tl_vocab_load(const gguf_file *f, tl_vocab **out, tl_error *err) {
    *out = NULL;
    tl_vocab *v = calloc(1, sizeof *v);
    if (!v) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    tl_status st = choose_kind(v, f, err);
    if (st == TL_OK) {
        st = apply_kind_defaults(v, f, err);
    }
    if (st == TL_OK) {
        st = load_tokens(v, f, err);
    }
    if (st == TL_OK && v->kind == TL_VOCAB_BPE) {
        st = load_merges(v, f, err);
    }
    if (st == TL_OK) {
        find_max_token_len(v);
    }
    /* As in llama.cpp, the Unigram tries see the token types of the file,
     * before the special-token fix-ups below. */
    if (st == TL_OK && v->kind == TL_VOCAB_UGM) {
        st = tl_ugm_setup(v, f, err);
    }
    if (st == TL_OK && v->kind == TL_VOCAB_WPM) {
        st = tl_wpm_setup(v, err);
    }
    if (st == TL_OK) {
        st = load_special_ids(v, f, err);
    }
    if (st == TL_OK) {
        find_byte_tokens(v);
        if (!tl_vocab_setup_special(v, f)) {
            st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
        }
    }
    if (st == TL_OK) {
        find_bound_properties(v);
    }
    if (st != TL_OK) {
        tl_vocab_free(v);
        return st;
    }
    *out = v;
    return TL_OK;
}

void tl_vocab_free(tl_vocab *v) {
    if (!v) {
        return;
    }
    free(v->model_name);
    free(v->pre_name);
    free(v->texts);
    free(v->text_pool);
    free(v->info);
    tl_token_map_free(&v->text_to_id);
    tl_merge_map_free(&v->merges);
    free(v->merge_pool);
    tl_pretokenizer_free(v->pretokenizer);
    free(v->eog);
    free(v->special);
    tl_ugm_free(v);
    tl_byte_trie_free(&v->wpm_tokens);
    free(v);
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */
/* ------------------------------------------------------------------------ */

tl_vocab_kind tl_vocab_kind_of(const tl_vocab *v) {
    return v->kind;
}
const char *tl_vocab_model_name(const tl_vocab *v) {
    return v->model_name;
}
const char *tl_vocab_pre_name(const tl_vocab *v) {
    return v->pre_name;
}
int32_t tl_vocab_n_tokens(const tl_vocab *v) {
    return v->n_tokens;
}
tl_token tl_vocab_bos(const tl_vocab *v) {
    return v->bos;
}
tl_token tl_vocab_eos(const tl_vocab *v) {
    return v->eos;
}
bool tl_vocab_add_bos(const tl_vocab *v) {
    return v->add_bos;
}
bool tl_vocab_add_eos(const tl_vocab *v) {
    return v->add_eos;
}
tl_token tl_vocab_sep(const tl_vocab *v) {
    return v->sep;
}
bool tl_vocab_add_sep(const tl_vocab *v) {
    return v->add_sep;
}

bool tl_vocab_is_eog(const tl_vocab *v, tl_token t) {
    int32_t lo = 0, hi = v->n_eog;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (v->eog[mid] == t) {
            return true;
        }
        if (v->eog[mid] < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

/* The type that governs the token after load-time adjustments (a
 * user-defined token that llama.cpp also made control reports control). */
tl_token_type tl_vocab_token_type(const tl_vocab *v, tl_token t) {
    if (t < 0 || t >= v->n_tokens) {
        return TL_TOKEN_TYPE_UNDEFINED;
    }
    uint32_t attr = v->info[t].attr;
    if (attr & TL_ATTR_CONTROL) return TL_TOKEN_TYPE_CONTROL;
    if (attr & TL_ATTR_USER_DEFINED) return TL_TOKEN_TYPE_USER_DEFINED;
    if (attr & TL_ATTR_UNKNOWN) return TL_TOKEN_TYPE_UNKNOWN;
    if (attr & TL_ATTR_BYTE) return TL_TOKEN_TYPE_BYTE;
    if (attr & TL_ATTR_UNUSED) return TL_TOKEN_TYPE_UNUSED;
    if (attr & TL_ATTR_NORMAL) return TL_TOKEN_TYPE_NORMAL;
    return TL_TOKEN_TYPE_UNDEFINED;
}

const char *tl_vocab_token_text(const tl_vocab *v, tl_token t) {
    if (t < 0 || t >= v->n_tokens) {
        return NULL;
    }
    return v->texts[t].ptr;
}
