/*
 * synth_vocab.c — vocabularies for random-weight models that do not come
 * from an existing GGUF file (see synth_vocab.h).
 *
 * tokenizer.json import. Gemma 3 and Llama 2 publish their SentencePiece
 * BPE vocabularies as a Hugging Face "BPE" model with byte_fallback: a vocab
 * (text → id), a ranked list of merges, and added tokens. llama.cpp runs
 * such a vocabulary as tokenizer.ggml.model = "llama" (llm_tokenizer_spm),
 * which knows no merge list: it repeatedly merges the adjacent pair whose
 * concatenation is the highest-scoring token. So each token's score is
 * chosen to make that order the merge order:
 *
 *     score(token) = -(rank of the first merge that produces the token)
 *
 * The first merge has rank 0 and merges first. Both vocabularies list all
 * the ways to split a token into two tokens as separate merges, ranked
 * together (they were extracted from SentencePiece models), so "the pair
 * with the lowest merge rank" and "the pair making the best-scoring token"
 * pick the same merge. Ranks stay below 2^24 and are exact in a float.
 * Tokens no merge produces (single characters, byte tokens, added tokens)
 * score 0, or -1000 for added tokens as llama.cpp's converter writes.
 *
 * The rest follows llama.cpp's converter (_set_vocab_sentencepiece with the
 * tokenizer_config.json beside it, and gguf-py's SpecialVocab):
 *  - "<0xNN>" pieces are byte tokens, the model's unk_token is the unknown
 *    token;
 *  - added tokens marked special (or looking special: "<unused..>",
 *    "<mask>", "<|...|>") are control tokens, the others user-defined, with
 *    "▁" written as a space since llama.cpp matches them in the raw text;
 *    added tokens beyond the model's vocab (Gemma 3's <image_soft_token>,
 *    which only the vision model has) are left out, as the converter does
 *    for ids past the model's vocab_size;
 *  - bos/eos/unk/sep/pad/cls/mask ids from tokenizer_config.json's
 *    "<kind>_token" (found among the added tokens), add_bos_token /
 *    add_eos_token / add_sep_token, and its chat_template; without the file,
 *    BOS comes from the post-processor template and UNK from the model;
 *  - add_space_prefix is true when the normalizer prepends "▁" (Llama 2) or
 *    a Metaspace pre-tokenizer does, false otherwise (Gemma 3);
 *  - an NFC normalizer is recorded as tokenizer.ggml.normalizer = "nfc" (a
 *    tinyllm key: llama.cpp's converter writes none).
 * Byte-level BPE (GPT-2 style: Llama 3, Qwen, SmolLM) is converted when the
 * caller asks for it (tl_hf_vocab_import with byte_level; `tinyllm
 * convert` does), as _set_vocab_gpt2 writes it: tokenizer.ggml.model =
 * "gpt2", the tokens as the file spells them, every token NORMAL but the
 * added ones, the merges as "left right" strings, no scores; the caller
 * picks tokenizer.ggml.pre (convert_hf_pre.c). The model's vocab_size may
 * exceed the file's tokens: the rest are "[PAD<i>]" unused tokens, and
 * config.json's <kind>_token_id fill the special ids the tokenizer files
 * leave unnamed, as gguf-py's SpecialVocab does.
 *
 * WordPiece (BERT) likewise on request (word_piece), as BertModel.set_vocab
 * writes it: tokenizer.ggml.model = "bert", tokens in llama.cpp's "phantom
 * space" spelling (a continuation "##x" becomes "x", a word start "x"
 * becomes "▁x", control tokens stay as they are), no scores, the
 * unknown/separator/padding/classifier/mask ids.
 *
 * Unigram (SentencePiece, T5) likewise on request (unigram), as T5Model
 * .set_vocab writes it from the SentencePiece model: tokenizer.ggml.model =
 * "t5", the pieces and their scores as model.vocab lists them ([piece,
 * score] pairs), unk_id the unknown token, "<0xNN>" pieces byte tokens when
 * byte_fallback is on; the normalizer's Precompiled precompiled_charsmap
 * (base64) as tokenizer.ggml.precompiled_charsmap; add_space_prefix from
 * the Metaspace pre-tokenizer (or a prepended "▁"); remove_extra_whitespaces
 * when the file collapses whitespace (a WhitespaceSplit pre-tokenizer or a
 * Replace of " {2,}"). Added tokens: the special ones already among the
 * pieces (<pad>, </s>) stay control tokens with their scores; T5's sentinel
 * <extra_id_N> tokens, which Hugging Face adds to the SentencePiece model's
 * pieces, and non-special added tokens are user-defined with score -1000
 * (what llama.cpp's converter writes for the entries of added_tokens.json);
 * ids up to config.json's vocab_size beyond the file's are "[PAD<i>]",
 * unused, score -10000. WordLevel files are refused with
 * TL_ERR_UNSUPPORTED.
 *
 * The Unigram vocabulary is built by unigram_build.c.
 */
#include "authoring/synth_vocab.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/unigram_build.h"
#include "tokenizer/charsmap.h"
#include "tokenizer/string_map.h"
#include "tokenizer/vocab.h"
#include "util/error.h"
#include "util/buffer.h"

#define ADDED_TOKEN_SCORE (-1000.0f)

/* Reads a whole file; NULL on failure (errno tells why). */
static char *read_text_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *data = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)size + 1))) {
            if (fread(data, 1, (size_t)size, f) != (size_t)size) {
                free(data);
                data = NULL;
            } else {
                data[size] = '\0';
                *len = (size_t)size;
            }
        }
    }
    fclose(f);
    return data;
}

/* Parses a JSON file; *json is NULL (and TL_OK) when the file does not
 * exist and `optional` is set. */
tl_status tl_hf_json_file(const char *path, bool optional, cJSON **json, tl_error *err) {
    *json = NULL;
    size_t len = 0;
    char *text = read_text_file(path, &len);
    if (!text) {
        FILE *probe = fopen(path, "rb");
        if (!probe && optional) return TL_OK;
        if (probe) fclose(probe);
        return tl_fail(err, TL_ERR_IO, "%s: cannot read the file", path);
    }
    const char *end = NULL;
    *json = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!*json) {
        size_t offset = end && end >= text ? (size_t)(end - text) : 0;
        free(text);
        return tl_fail(err, TL_ERR_FORMAT, "%s: not valid JSON (near byte %zu)", path, offset);
    }
    free(text);
    return TL_OK;
}

static const cJSON *member(const cJSON *object, const char *name) {
    return cJSON_IsObject(object) ? cJSON_GetObjectItemCaseSensitive(object, name) : NULL;
}

static const char *string_member(const cJSON *object, const char *name) {
    const cJSON *item = member(object, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* A non-negative integer JSON number below `limit`, or -1. */
static int64_t index_value(const cJSON *item, int64_t limit) {
    if (!cJSON_IsNumber(item)) return -1;
    double d = item->valuedouble;
    if (!(d >= 0 && d < (double)limit) || d != (double)(int64_t)d) return -1;
    return (int64_t)d;
}

/* ------------------------------------------------------------------------ */
/* What kind of tokenizer.json                                              */
/* ------------------------------------------------------------------------ */

static bool is_replace_space(const cJSON *n) {
    const char *type = string_member(n, "type");
    const char *pattern = string_member(member(n, "pattern"), "String");
    const char *content = string_member(n, "content");
    return type && strcmp(type, "Replace") == 0 && pattern && strcmp(pattern, " ") == 0 && content &&
           strcmp(content, "\xE2\x96\x81") == 0;
}

static bool is_prepend_space(const cJSON *n) {
    const char *type = string_member(n, "type");
    const char *prepend = string_member(n, "prepend");
    return type && strcmp(type, "Prepend") == 0 && prepend && strcmp(prepend, "\xE2\x96\x81") == 0;
}

/* The normalizer may only turn spaces into "▁" and perhaps put one in
 * front (that is all llama.cpp's SentencePiece tokenizer does), and put the
 * text in Unicode NFC (recorded as tokenizer.ggml.normalizer = "nfc", which
 * tinyllm's loader honours). */
static tl_status read_normalizer(const cJSON *normalizer, const char *path, bool *prefix, bool *nfc, tl_error *err) {
    if (!normalizer || cJSON_IsNull(normalizer)) return TL_OK;
    const char *type = string_member(normalizer, "type");
    if (!type) return tl_fail(err, TL_ERR_FORMAT, "%s: normalizer has no \"type\"", path);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = member(normalizer, "normalizers");
        if (!cJSON_IsArray(list)) {
            return tl_fail(err, TL_ERR_FORMAT, "%s: normalizer Sequence without a \"normalizers\" list", path);
        }
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            tl_status st = read_normalizer(item, path, prefix, nfc, err);
            if (st != TL_OK) return st;
        }
        return TL_OK;
    }
    if (is_prepend_space(normalizer)) {
        *prefix = true;
        return TL_OK;
    }
    if (is_replace_space(normalizer)) return TL_OK;
    if (strcmp(type, "NFC") == 0) {
        *nfc = true;
        return TL_OK;
    }
    return tl_fail(err, TL_ERR_UNSUPPORTED,
                   "%s: normalizer '%s' is not supported (only spaces to '\xE2\x96\x81', a "
                   "prepended '\xE2\x96\x81' and NFC)",
                   path, type);
}

/* No pre-tokenizer, a split at spaces (a no-op once spaces are "▁") or
 * Metaspace; a byte-level one means a GPT-2 style vocabulary. */
static tl_status read_pre_tokenizer(const cJSON *pre, const char *path, bool *prefix, bool byte_level, tl_error *err) {
    if (!pre || cJSON_IsNull(pre)) return TL_OK;
    /* Byte-level files split with expressions and digits rules that
     * tokenizer.ggml.pre names; the caller chooses it. */
    if (byte_level) return TL_OK;
    const char *type = string_member(pre, "type");
    if (!type) return tl_fail(err, TL_ERR_FORMAT, "%s: pre_tokenizer has no \"type\"", path);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = member(pre, "pretokenizers");
        if (!cJSON_IsArray(list)) {
            return tl_fail(err, TL_ERR_FORMAT, "%s: pre_tokenizer Sequence without a \"pretokenizers\" list", path);
        }
        const cJSON *item;
        cJSON_ArrayForEach(item, list) {
            tl_status st = read_pre_tokenizer(item, path, prefix, false, err);
            if (st != TL_OK) return st;
        }
        return TL_OK;
    }
    if (strcmp(type, "Split") == 0) {
        const char *pattern = string_member(member(pre, "pattern"), "String");
        if (pattern && strcmp(pattern, " ") == 0) return TL_OK;
    } else if (strcmp(type, "Metaspace") == 0) {
        const char *scheme = string_member(pre, "prepend_scheme");
        const cJSON *add = member(pre, "add_prefix_space");
        *prefix = scheme ? strcmp(scheme, "never") != 0 : !cJSON_IsFalse(add);
        return TL_OK;
    } else if (strcmp(type, "ByteLevel") == 0) {
        return tl_fail(err, TL_ERR_UNSUPPORTED,
                       "%s: byte-level BPE (GPT-2 style) tokenizer.json is not converted; use a "
                       "GGUF vocabulary",
                       path);
    }
    return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: pre_tokenizer '%s' is not supported", path, type);
}

/* ------------------------------------------------------------------------ */
/* The vocabulary being built                                               */
/* ------------------------------------------------------------------------ */

typedef struct hf_vocab {
    const char *path;
    uint32_t n;
    tl_str *texts; /* texts[id]; point into the JSON or into `owned` */
    float *scores;
    int32_t *types;
    char **owned; /* texts rewritten by us */
    size_t n_owned;
    bool prefix;         /* add_space_prefix */
    bool nfc;            /* the normalizer puts text in NFC */
    bool byte_level;     /* GPT-2 style: "gpt2" keys, merges kept, no scores */
    bool word_piece;     /* BERT: "bert" keys, phantom-space texts, no scores */
    const char **merges; /* byte_level: "left right", owned */
    uint32_t n_merges;
    uint32_t n_target;   /* pad with "[PAD<i>]" up to this many tokens */
    char *pad_texts;     /* the padding tokens' texts, one block */
    tl_token special[7]; /* bos, eos, unk, sep, pad, cls, mask; -1 = none */
    int8_t add_flag[3];  /* add_bos, add_eos, add_sep: -1 = not given */
    const char *chat_template;
    bool unigram;      /* T5: "t5" keys, scores, charsmap */
    bool remove_extra; /* unigram: remove_extra_whitespaces */
    uint8_t *charsmap; /* unigram: the precompiled charsmap, or NULL */
    size_t charsmap_size;
} hf_vocab;

enum { SPECIAL_BOS, SPECIAL_EOS, SPECIAL_UNK, SPECIAL_SEP, SPECIAL_PAD, SPECIAL_CLS, SPECIAL_MASK };
static const char *const special_names[7] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
static const char *const special_keys[7] = {"tokenizer.ggml.bos_token_id",     "tokenizer.ggml.eos_token_id",
                                            "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.seperator_token_id",
                                            "tokenizer.ggml.padding_token_id", "tokenizer.ggml.cls_token_id",
                                            "tokenizer.ggml.mask_token_id"};
static const char *const add_keys[3] = {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
                                        "tokenizer.ggml.add_sep_token"};

static void free_hf_vocab(hf_vocab *v) {
    free(v->charsmap);
    for (uint32_t i = 0; i < v->n_merges; i++) free((char *)v->merges[i]);
    free(v->merges);
    free(v->pad_texts);
    for (size_t i = 0; i < v->n_owned; i++) free(v->owned[i]);
    free(v->owned);
    free(v->texts);
    free(v->scores);
    free(v->types);
}

static bool is_byte_piece(const char *s) {
    static const char hex[] = "0123456789abcdefABCDEF";
    return strlen(s) == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' && s[3] && strchr(hex, s[3]) && s[4] &&
           strchr(hex, s[4]);
}

/* llama.cpp's converter makes these control tokens even when the file does
 * not call them special (does_token_look_special). */
static bool looks_special(const char *s) {
    size_t n = strlen(s);
    if (strcmp(s, "<pad>") == 0 || strcmp(s, "<mask>") == 0 || strcmp(s, "<2mass>") == 0 || strcmp(s, "[@BOS@]") == 0) {
        return true;
    }
    if (n >= 4 && memcmp(s, "<|", 2) == 0 && memcmp(s + n - 2, "|>", 2) == 0) return true;
    /* "<｜" ... "｜>" (full-width bar, DeepSeek) */
    if (n >= 8 && memcmp(s, "<\xEF\xBD\x9C", 4) == 0 && memcmp(s + n - 4, "\xEF\xBD\x9C>", 4) == 0) {
        return true;
    }
    return n >= 8 && memcmp(s, "<unused", 7) == 0 && s[n - 1] == '>';
}

/* A copy of s with every "▁" turned into a space. */
static char *spaces_from_metaspace(const char *s) {
    char *out = malloc(strlen(s) + 1);
    if (!out) return NULL;
    char *p = out;
    while (*s) {
        if (strncmp(s, "\xE2\x96\x81", 3) == 0) {
            *p++ = ' ';
            s += 3;
        } else {
            *p++ = *s++;
        }
    }
    *p = '\0';
    return out;
}

static tl_status read_vocab(hf_vocab *v, const cJSON *vocab, tl_error *err) {
    int n = cJSON_GetArraySize(vocab);
    if (n <= 0) return tl_fail(err, TL_ERR_FORMAT, "%s: model.vocab is empty", v->path);
    v->n = (uint32_t)n > v->n_target ? (uint32_t)n : v->n_target;
    v->texts = calloc(v->n, sizeof *v->texts);
    v->scores = calloc(v->n, sizeof *v->scores);
    v->types = calloc(v->n, sizeof *v->types);
    v->pad_texts = malloc((size_t)(v->n - (uint32_t)n) * 16 + 1);
    if (!v->texts || !v->scores || !v->types || !v->pad_texts) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for %u tokens", v->n);
    }
    /* ids the model has beyond the file's tokens, as the converter pads them */
    char *pad = v->pad_texts;
    for (uint32_t id = (uint32_t)n; id < v->n; id++) {
        const int len = snprintf(pad, 16, "[PAD%u]", id);
        v->texts[id] = (tl_str){pad, (size_t)len};
        v->types[id] = TL_TOKEN_TYPE_UNUSED;
        v->scores[id] = -10000.0f;
        pad += len + 1;
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, vocab) {
        int64_t id = index_value(entry, n);
        if (id < 0) {
            return tl_fail(err, TL_ERR_FORMAT,
                           "%s: model.vocab: '%s' has no id in 0..%d (ids must number the "
                           "tokens from 0)",
                           v->path, entry->string, n - 1);
        }
        if (v->texts[id].ptr) {
            return tl_fail(err, TL_ERR_FORMAT, "%s: model.vocab: id %lld is given twice", v->path, (long long)id);
        }
        if (!entry->string[0]) {
            return tl_fail(err, TL_ERR_FORMAT, "%s: model.vocab: token %lld is empty", v->path, (long long)id);
        }
        v->texts[id] = (tl_str){entry->string, strlen(entry->string)};
        v->types[id] = !v->byte_level && !v->word_piece && is_byte_piece(entry->string) ? TL_TOKEN_TYPE_BYTE
                                                                                        : TL_TOKEN_TYPE_NORMAL;
    }
    return TL_OK;
}

/* Scores from the merge ranks (see the top of the file). */
static tl_status score_merges(hf_vocab *v, const cJSON *merges, tl_error *err) {
    tl_token_map map;
    if (!tl_token_map_init(&map, v->texts, v->n)) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for the token table");
    }
    for (uint32_t id = 0; id < v->n; id++) {
        int32_t other = tl_token_map_insert(&map, (int32_t)id);
        if (other >= 0) {
            tl_token_map_free(&map);
            return tl_fail(err, TL_ERR_FORMAT, "%s: model.vocab: '%s' is given twice", v->path, v->texts[id].ptr);
        }
    }
    uint8_t *scored = calloc(v->n, 1);
    if (v->byte_level && scored && !(v->merges = calloc((size_t)cJSON_GetArraySize(merges) + 1, sizeof *v->merges))) {
        free(scored);
        scored = NULL;
    }
    char *joined = NULL;
    size_t joined_capacity = 0;
    tl_status st = scored ? TL_OK : tl_fail(err, TL_ERR_NOMEM, "out of memory");
    int rank = 0;
    const cJSON *merge;
    cJSON_ArrayForEach(merge, merges) {
        if (st != TL_OK) break;
        /* "left right" (older files) or ["left", "right"] */
        const char *left = NULL, *right = NULL;
        size_t left_len = 0, right_len = 0;
        if (cJSON_IsString(merge)) {
            const char *space = strchr(merge->valuestring, ' ');
            if (space && !strchr(space + 1, ' ')) {
                left = merge->valuestring;
                left_len = (size_t)(space - left);
                right = space + 1;
                right_len = strlen(right);
            }
        } else if (cJSON_IsArray(merge) && cJSON_GetArraySize(merge) == 2 && cJSON_IsString(merge->child) &&
                   cJSON_IsString(merge->child->next)) {
            left = merge->child->valuestring;
            right = merge->child->next->valuestring;
            left_len = strlen(left);
            right_len = strlen(right);
        }
        if (!left || !left_len || !right_len) {
            st = tl_fail(err, TL_ERR_FORMAT, "%s: model.merges[%d] is neither \"left right\" nor [\"left\", \"right\"]",
                         v->path, rank);
            break;
        }
        char *grown = tl_grow(joined, &joined_capacity, left_len + right_len, 1, 64);
        if (!grown) {
            st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
            break;
        }
        joined = grown;
        memcpy(joined, left, left_len);
        memcpy(joined + left_len, right, right_len);
        int32_t id = tl_token_map_find(&map, joined, left_len + right_len);
        if (id < 0 || tl_token_map_find(&map, left, left_len) < 0 || tl_token_map_find(&map, right, right_len) < 0) {
            st = tl_fail(err, TL_ERR_FORMAT,
                         "%s: model.merges[%d] ('%.*s' + '%.*s') names a "
                         "token that is not in model.vocab",
                         v->path, rank, (int)left_len, left, (int)right_len, right);
            break;
        }
        if (!scored[id]) {
            scored[id] = 1;
            v->scores[id] = -(float)rank;
        }
        if (v->byte_level) {
            char *text = malloc(left_len + right_len + 2);
            if (!text) {
                st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
                break;
            }
            snprintf(text, left_len + right_len + 2, "%.*s %.*s", (int)left_len, left, (int)right_len, right);
            v->merges[v->n_merges++] = text;
        }
        if (++rank >= (1 << 24)) {
            st = tl_fail(err, TL_ERR_UNSUPPORTED, "%s: more than 2^24 merges", v->path);
        }
    }
    free(joined);
    free(scored);
    tl_token_map_free(&map);
    return st;
}

/* Added tokens: their types and texts (see the top of the file). */
static tl_status read_added_tokens(hf_vocab *v, const cJSON *added, tl_error *err) {
    if (!added || cJSON_IsNull(added)) return TL_OK;
    if (!cJSON_IsArray(added)) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: added_tokens is not a list", v->path);
    }
    v->owned = calloc((size_t)cJSON_GetArraySize(added) + 1, sizeof *v->owned);
    if (!v->owned) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    int index = 0;
    const cJSON *token;
    cJSON_ArrayForEach(token, added) {
        const cJSON *id_item = member(token, "id");
        const char *content = string_member(token, "content");
        const cJSON *special = member(token, "special");
        int64_t id = index_value(id_item, INT32_MAX);
        if (id < 0 || !content || !content[0] || (special && !cJSON_IsBool(special))) {
            return tl_fail(err, TL_ERR_FORMAT,
                           "%s: added_tokens[%d] needs an \"id\", a non-empty \"content\" and a "
                           "boolean \"special\"",
                           v->path, index);
        }
        index++;
        if (id >= v->n) continue; /* beyond the model's vocabulary: left out */
        bool control = cJSON_IsTrue(special) || looks_special(content);
        const char *text = content;
        if (!control) {
            char *spaced = spaces_from_metaspace(content);
            if (!spaced) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
            v->owned[v->n_owned++] = spaced;
            text = spaced;
        }
        v->texts[id] = (tl_str){text, strlen(text)};
        v->types[id] = control ? TL_TOKEN_TYPE_CONTROL : TL_TOKEN_TYPE_USER_DEFINED;
        v->scores[id] = ADDED_TOKEN_SCORE;
    }
    return TL_OK;
}

/* The id of an added token by its text, or -1. */
static tl_token added_token_id(const hf_vocab *v, const cJSON *added, const char *content) {
    const cJSON *token;
    cJSON_ArrayForEach(token, added) {
        const char *c = string_member(token, "content");
        int64_t id = index_value(member(token, "id"), v->n);
        if (c && id >= 0 && strcmp(c, content) == 0) return (tl_token)id;
    }
    return -1;
}

/* tokenizer_config.json's "<kind>_token" is a string or {"content": ...}. */
static const char *config_token(const cJSON *config, const char *kind) {
    char name[32];
    snprintf(name, sizeof name, "%s_token", kind);
    const cJSON *entry = member(config, name);
    if (cJSON_IsString(entry)) return entry->valuestring;
    return string_member(entry, "content");
}

/* The post-processor's template for one sequence: its leading and trailing
 * special tokens, if any. */
static void template_ends(const cJSON *json, const char **first, const char **last) {
    *first = *last = NULL;
    const cJSON *post = member(json, "post_processor");
    const cJSON *list = member(post, "processors");
    const cJSON *processor = cJSON_IsArray(list) ? list->child : post;
    for (; processor; processor = cJSON_IsArray(list) ? processor->next : NULL) {
        const char *type = string_member(processor, "type");
        const cJSON *single = member(processor, "single");
        if (!type || strcmp(type, "TemplateProcessing") != 0 || !cJSON_IsArray(single) ||
            cJSON_GetArraySize(single) < 2) {
            continue;
        }
        *first = string_member(member(single->child, "SpecialToken"), "id");
        const cJSON *tail = cJSON_GetArrayItem(single, cJSON_GetArraySize(single) - 1);
        *last = string_member(member(tail, "SpecialToken"), "id");
        return;
    }
}

/* Special ids and flags, as gguf-py's SpecialVocab finds them: the ids of
 * tokenizer_config.json's "<kind>_token" among the added tokens; add_bos /
 * add_eos from the template's leading / trailing special token, overridden
 * by tokenizer_config.json's add_<kind>_token. Without tokenizer_config.json
 * the template's ends are BOS and EOS. */
static void read_special_tokens(hf_vocab *v, const cJSON *json, const cJSON *config, const char *unk_token) {
    const cJSON *added = member(json, "added_tokens");
    for (int k = 0; k < 7; k++) v->special[k] = -1;
    for (int k = 0; k < 3; k++) v->add_flag[k] = -1;
    const char *contents[7] = {0};
    for (int k = 0; k < 7 && config; k++) contents[k] = config_token(config, special_names[k]);
    const char *first, *last;
    template_ends(json, &first, &last);
    if (first) {
        if (!config) contents[SPECIAL_BOS] = first;
        v->add_flag[0] = contents[SPECIAL_BOS] && strcmp(first, contents[SPECIAL_BOS]) == 0;
    }
    if (last) {
        if (!config) contents[SPECIAL_EOS] = last;
        v->add_flag[1] = contents[SPECIAL_EOS] && strcmp(last, contents[SPECIAL_EOS]) == 0;
    }
    for (int k = 0; k < 7; k++) {
        if (contents[k]) v->special[k] = added_token_id(v, added, contents[k]);
    }
    static const char *const add_names[3] = {"add_bos_token", "add_eos_token", "add_sep_token"};
    for (int k = 0; k < 3 && config; k++) {
        const cJSON *flag = member(config, add_names[k]);
        if (cJSON_IsBool(flag)) v->add_flag[k] = cJSON_IsTrue(flag) ? 1 : 0;
    }
    v->chat_template = config ? string_member(config, "chat_template") : NULL;
    /* Not in SpecialVocab: the model's own unk_token when nothing else names
     * one (llama.cpp's default would otherwise be id 0). */
    if (v->special[SPECIAL_UNK] < 0 && unk_token) {
        for (uint32_t id = 0; id < v->n; id++) {
            if (strcmp(v->texts[id].ptr, unk_token) == 0) {
                v->special[SPECIAL_UNK] = (tl_token)id;
                break;
            }
        }
    }
    if (v->special[SPECIAL_UNK] >= 0) v->types[v->special[SPECIAL_UNK]] = TL_TOKEN_TYPE_UNKNOWN;
}

/* "<dir of path>/<name>" */
static char *sibling_path(const char *path, const char *name) {
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    char *out = malloc(dir_len + strlen(name) + 1);
    if (out) {
        memcpy(out, path, dir_len);
        strcpy(out + dir_len, name);
    }
    return out;
}

/* Whether a pre-tokenizer or decoder (or one of a Sequence's) is ByteLevel. */
static bool has_byte_level(const cJSON *item) {
    const char *type = string_member(item, "type");
    if (type && strcmp(type, "ByteLevel") == 0) return true;
    const cJSON *list = member(item, "pretokenizers");
    if (!cJSON_IsArray(list)) list = member(item, "decoders");
    const cJSON *child;
    cJSON_ArrayForEach(child, list) {
        if (has_byte_level(child)) return true;
    }
    return false;
}

/* BertModel.set_vocab's "phantom space" texts: "##x" -> "x", "x" -> "▁x";
 * control tokens stay. */
static tl_status phantom_spaces(hf_vocab *v, tl_error *err) {
    size_t total = 0;
    for (uint32_t id = 0; id < v->n; id++) total += v->texts[id].len + 4;
    char *block = malloc(total + 1), *p = block;
    char **owned = realloc(v->owned, (v->n_owned + 1) * sizeof *owned);
    if (!block || !owned) {
        free(block);
        if (owned) v->owned = owned;
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    v->owned = owned;
    v->owned[v->n_owned++] = block;
    for (uint32_t id = 0; id < v->n; id++) {
        if (v->types[id] == TL_TOKEN_TYPE_CONTROL || v->types[id] == TL_TOKEN_TYPE_UNUSED) continue;
        const tl_str t = v->texts[id];
        const bool continuation = t.len > 2 && memcmp(t.ptr, "##", 2) == 0;
        const int n = continuation ? snprintf(p, t.len + 4, "%.*s", (int)t.len - 2, t.ptr + 2)
                                   : snprintf(p, t.len + 4, "\xE2\x96\x81%.*s", (int)t.len, t.ptr);
        v->texts[id] = (tl_str){p, (size_t)n};
        p += n + 1;
    }
    return TL_OK;
}

/* A WordPiece tokenizer.json (BERT): its vocabulary, added tokens and
 * special ids (see the top of the file). */
static tl_status convert_word_piece(hf_vocab *v, const cJSON *json, const cJSON *config, tl_error *err) {
    const cJSON *model = member(json, "model");
    const cJSON *vocab = member(model, "vocab");
    if (!cJSON_IsObject(vocab)) return tl_fail(err, TL_ERR_FORMAT, "%s: model.vocab is not an object", v->path);
    const char *prefix = string_member(model, "continuing_subword_prefix");
    if (prefix && strcmp(prefix, "##") != 0)
        return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: WordPiece continuing_subword_prefix '%s' is not '##'", v->path,
                       prefix);
    v->word_piece = true;
    tl_status st = read_vocab(v, vocab, err);
    if (st == TL_OK) st = read_added_tokens(v, member(json, "added_tokens"), err);
    if (st == TL_OK) {
        read_special_tokens(v, json, config, string_member(model, "unk_token"));
        /* BertModel: BOS/EOS and the add_* flags are BERT's own ([CLS] ...
         * [SEP]), not written; the unknown token stays a control token. */
        v->special[SPECIAL_BOS] = v->special[SPECIAL_EOS] = -1;
        for (int k = 0; k < 3; k++) v->add_flag[k] = -1;
        for (uint32_t id = 0; id < v->n; id++)
            if (v->types[id] == TL_TOKEN_TYPE_UNKNOWN) v->types[id] = TL_TOKEN_TYPE_CONTROL;
        st = phantom_spaces(v, err);
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Unigram (SentencePiece, T5)                                              */
/* ------------------------------------------------------------------------ */

/* Standard base64 (with or without padding) into a malloc'd buffer; false
 * when the text is not base64 or memory runs out. */
static bool base64_decode(const char *text, uint8_t **out, size_t *len) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '=') n--;
    if (n % 4 == 1) return false;
    uint8_t *bytes = malloc(n / 4 * 3 + 3);
    if (!bytes) return false;
    size_t used = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *at = text[i] ? strchr(alphabet, text[i]) : NULL;
        if (!at) {
            free(bytes);
            return false;
        }
        acc = (acc << 6) | (uint32_t)(at - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[used++] = (uint8_t)(acc >> bits);
        }
    }
    *out = bytes;
    *len = used;
    return true;
}

/* A Replace of runs of spaces (" {2,}") by one: extra whitespace removed. */
static bool is_collapse_spaces(const cJSON *n) {
    const char *type = string_member(n, "type");
    const char *regex = string_member(member(n, "pattern"), "Regex");
    return type && strcmp(type, "Replace") == 0 && regex && strcmp(regex, " {2,}") == 0;
}

/* Precompiled (the charsmap), Strip, collapsed spaces, spaces to "▁" and a
 * prepended "▁": what SentencePiece's normalizer does. */
static tl_status read_unigram_normalizer(hf_vocab *v, const cJSON *n, tl_error *err) {
    if (!n || cJSON_IsNull(n)) return TL_OK;
    const char *type = string_member(n, "type");
    if (!type) return tl_fail(err, TL_ERR_FORMAT, "%s: normalizer has no \"type\"", v->path);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *list = member(n, "normalizers"), *item;
        if (!cJSON_IsArray(list))
            return tl_fail(err, TL_ERR_FORMAT, "%s: normalizer Sequence without a \"normalizers\" list", v->path);
        cJSON_ArrayForEach(item, list) TL_TRY(read_unigram_normalizer(v, item, err));
        return TL_OK;
    }
    if (is_prepend_space(n)) {
        v->prefix = true;
        return TL_OK;
    }
    if (is_collapse_spaces(n)) {
        v->remove_extra = true;
        return TL_OK;
    }
    if (is_replace_space(n) || strcmp(type, "Strip") == 0) return TL_OK;
    if (strcmp(type, "Precompiled") != 0)
        return tl_fail(err, TL_ERR_UNSUPPORTED,
                       "%s: normalizer '%s' is not supported in a Unigram tokenizer.json (Precompiled, Strip, "
                       "Replace, Prepend)",
                       v->path, type);
    const cJSON *blob = member(n, "precompiled_charsmap");
    if (!blob || cJSON_IsNull(blob) || (cJSON_IsString(blob) && !blob->valuestring[0])) return TL_OK;
    free(v->charsmap);
    v->charsmap = NULL;
    if (!cJSON_IsString(blob) || !base64_decode(blob->valuestring, &v->charsmap, &v->charsmap_size))
        return tl_fail(err, TL_ERR_FORMAT, "%s: normalizer.precompiled_charsmap is not base64", v->path);
    tl_charsmap map;
    TL_TRY(tl_charsmap_init(&map, v->charsmap, v->charsmap_size, "normalizer.precompiled_charsmap", err));
    tl_charsmap_free(&map);
    return TL_OK;
}

/* WhitespaceSplit (extra whitespace removed) and Metaspace (the prefix). */
static tl_status read_unigram_pre(hf_vocab *v, const cJSON *pre, tl_error *err) {
    if (!pre || cJSON_IsNull(pre)) return TL_OK;
    const char *type = string_member(pre, "type");
    if (type && strcmp(type, "Sequence") == 0) {
        const cJSON *list = member(pre, "pretokenizers"), *item;
        if (!cJSON_IsArray(list))
            return tl_fail(err, TL_ERR_FORMAT, "%s: pre_tokenizer Sequence without a \"pretokenizers\" list", v->path);
        cJSON_ArrayForEach(item, list) TL_TRY(read_unigram_pre(v, item, err));
        return TL_OK;
    }
    if (type && strcmp(type, "WhitespaceSplit") == 0) {
        v->remove_extra = true;
        return TL_OK;
    }
    bool ignored = false;
    return read_pre_tokenizer(pre, v->path, type && strcmp(type, "Metaspace") == 0 ? &v->prefix : &ignored, false, err);
}

static bool is_sentinel(const char *s) {
    const size_t n = strlen(s);
    if (n < 12 || memcmp(s, "<extra_id_", 10) != 0 || s[n - 1] != '>') return false;
    for (size_t i = 10; i < n - 1; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* model.vocab's [piece, score] pairs, padded to n_target with "[PAD<i>]". */
static tl_status read_unigram_pieces(hf_vocab *v, const cJSON *vocab, bool byte_fallback, tl_error *err) {
    const int n = cJSON_IsArray(vocab) ? cJSON_GetArraySize(vocab) : 0;
    if (n <= 0) return tl_fail(err, TL_ERR_FORMAT, "%s: model.vocab is not a non-empty list", v->path);
    v->n = (uint32_t)n > v->n_target ? (uint32_t)n : v->n_target;
    v->texts = calloc(v->n, sizeof *v->texts);
    v->scores = calloc(v->n, sizeof *v->scores);
    v->types = calloc(v->n, sizeof *v->types);
    v->pad_texts = malloc((size_t)(v->n - (uint32_t)n) * 16 + 1);
    if (!v->texts || !v->scores || !v->types || !v->pad_texts)
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for %u tokens", v->n);
    char *pad = v->pad_texts;
    for (uint32_t id = (uint32_t)n; id < v->n; id++) {
        const int len = snprintf(pad, 16, "[PAD%u]", id);
        v->texts[id] = (tl_str){pad, (size_t)len};
        v->types[id] = TL_TOKEN_TYPE_UNUSED;
        v->scores[id] = -10000.0f;
        pad += len + 1;
    }
    uint32_t id = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, vocab) {
        const cJSON *text = cJSON_GetArrayItem(entry, 0), *score = cJSON_GetArrayItem(entry, 1);
        if (!cJSON_IsArray(entry) || cJSON_GetArraySize(entry) != 2 || !cJSON_IsString(text) || !text->valuestring[0] ||
            !cJSON_IsNumber(score))
            return tl_fail(err, TL_ERR_FORMAT, "%s: model.vocab[%u] is not a [\"piece\", score] pair", v->path, id);
        v->texts[id] = (tl_str){text->valuestring, strlen(text->valuestring)};
        v->scores[id] = (float)score->valuedouble;
        v->types[id] = byte_fallback && is_byte_piece(text->valuestring) ? TL_TOKEN_TYPE_BYTE : TL_TOKEN_TYPE_NORMAL;
        id++;
    }
    return TL_OK;
}

/* A Unigram tokenizer.json (T5; see the top of the file). */
static tl_status convert_unigram(hf_vocab *v, const cJSON *json, const cJSON *config, tl_error *err) {
    const cJSON *model = member(json, "model");
    v->unigram = true;
    TL_TRY(read_unigram_normalizer(v, member(json, "normalizer"), err));
    TL_TRY(read_unigram_pre(v, member(json, "pre_tokenizer"), err));
    TL_TRY(read_unigram_pieces(v, member(model, "vocab"), cJSON_IsTrue(member(model, "byte_fallback")), err));
    const cJSON *unk = member(model, "unk_id");
    const int64_t unk_id = index_value(unk, cJSON_GetArraySize(member(model, "vocab")));
    if (unk && !cJSON_IsNull(unk) && unk_id < 0)
        return tl_fail(err, TL_ERR_FORMAT, "%s: model.unk_id is not a token id", v->path);
    const cJSON *added = member(json, "added_tokens"), *token;
    if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added))
        return tl_fail(err, TL_ERR_FORMAT, "%s: added_tokens is not a list", v->path);
    if (!cJSON_IsArray(added)) added = NULL;
    int index = 0;
    cJSON_ArrayForEach(token, added) {
        const char *content = string_member(token, "content");
        const cJSON *special = member(token, "special");
        const int64_t id = index_value(member(token, "id"), INT32_MAX);
        if (id < 0 || !content || !content[0] || (special && !cJSON_IsBool(special)))
            return tl_fail(err, TL_ERR_FORMAT,
                           "%s: added_tokens[%d] needs an \"id\", a non-empty \"content\" and a boolean \"special\"",
                           v->path, index);
        index++;
        if (id >= v->n) continue;
        v->texts[id] = (tl_str){content, strlen(content)};
        if (cJSON_IsTrue(special) && !is_sentinel(content)) {
            v->types[id] = TL_TOKEN_TYPE_CONTROL;
        } else {
            v->types[id] = TL_TOKEN_TYPE_USER_DEFINED;
            v->scores[id] = ADDED_TOKEN_SCORE;
        }
    }
    const char *unk_text = unk_id >= 0 ? v->texts[unk_id].ptr : NULL;
    read_special_tokens(v, json, config, unk_text);
    if (unk_id >= 0) v->types[unk_id] = TL_TOKEN_TYPE_UNKNOWN;
    return TL_OK;
}

static tl_status convert(hf_vocab *v, const cJSON *json, const cJSON *config, const tl_hf_vocab_options *options,
                         tl_error *err) {
    const bool byte_level_ok = options->byte_level;
    const cJSON *model = member(json, "model");
    if (!cJSON_IsObject(model)) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: no \"model\" object", v->path);
    }
    const char *type = string_member(model, "type");
    if (!type) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: model.type is missing", v->path);
    }
    if (strcmp(type, "WordPiece") == 0 && options->word_piece) return convert_word_piece(v, json, config, err);
    if (strcmp(type, "Unigram") == 0 && options->unigram) return convert_unigram(v, json, config, err);
    if (strcmp(type, "BPE") != 0) {
        return tl_fail(err, TL_ERR_UNSUPPORTED,
                       "%s: a '%s' tokenizer.json is not converted (only SentencePiece-style BPE "
                       "with byte_fallback)",
                       v->path, type);
    }
    v->byte_level = byte_level_ok && !cJSON_IsTrue(member(model, "byte_fallback")) &&
                    (has_byte_level(member(json, "pre_tokenizer")) || has_byte_level(member(json, "decoder")));
    if (!v->byte_level && !cJSON_IsTrue(member(model, "byte_fallback"))) {
        return tl_fail(err, TL_ERR_UNSUPPORTED,
                       "%s: BPE without byte_fallback (GPT-2 style) is not converted; use a GGUF "
                       "vocabulary",
                       v->path);
    }
    const cJSON *vocab = member(model, "vocab");
    const cJSON *merges = member(model, "merges");
    if (!cJSON_IsObject(vocab)) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: model.vocab is not an object", v->path);
    }
    if (!cJSON_IsArray(merges)) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: model.merges is not a list", v->path);
    }
    const cJSON *unk = member(model, "unk_token");
    if (unk && !cJSON_IsNull(unk) && !cJSON_IsString(unk)) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: model.unk_token is not a string", v->path);
    }
    tl_status st = read_normalizer(member(json, "normalizer"), v->path, &v->prefix, &v->nfc, err);
    if (st == TL_OK) {
        st = read_pre_tokenizer(member(json, "pre_tokenizer"), v->path, &v->prefix, v->byte_level, err);
    }
    if (st == TL_OK) st = read_vocab(v, vocab, err);
    if (st == TL_OK) st = score_merges(v, merges, err);
    if (st == TL_OK) st = read_added_tokens(v, member(json, "added_tokens"), err);
    if (st == TL_OK) {
        read_special_tokens(v, json, config, cJSON_IsString(unk) ? unk->valuestring : NULL);
    }
    return st;
}

static tl_status write_keys(const hf_vocab *v, gguf_writer *w, tl_error *err) {
    const char **texts = malloc(v->n * sizeof *texts);
    if (!texts) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    for (uint32_t id = 0; id < v->n; id++) texts[id] = v->texts[id].ptr;
    gguf_writer_set_str(w, "tokenizer.ggml.model",
                        v->unigram      ? "t5"
                        : v->word_piece ? "bert"
                        : v->byte_level ? "gpt2"
                                        : "llama");
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "default");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", texts, v->n);
    if (v->byte_level) {
        gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", v->merges, v->n_merges);
    } else if (!v->word_piece) {
        gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, v->scores, v->n);
    }
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, v->types, v->n);
    if (!v->byte_level && !v->word_piece) gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", v->prefix);
    if (v->unigram) gguf_writer_set_bool(w, "tokenizer.ggml.remove_extra_whitespaces", v->remove_extra);
    if (v->charsmap)
        gguf_writer_set_arr(w, "tokenizer.ggml.precompiled_charsmap", GGUF_TYPE_UINT8, v->charsmap, v->charsmap_size);
    if (v->nfc) gguf_writer_set_str(w, "tokenizer.ggml.normalizer", "nfc");
    for (int k = 0; k < 7; k++) {
        if (v->special[k] >= 0) gguf_writer_set_u32(w, special_keys[k], (uint32_t)v->special[k]);
    }
    for (int k = 0; k < 3; k++) {
        if (v->add_flag[k] >= 0) gguf_writer_set_bool(w, add_keys[k], v->add_flag[k] == 1);
    }
    if (v->chat_template) gguf_writer_set_str(w, "tokenizer.chat_template", v->chat_template);
    free(texts);
    return TL_OK;
}

/* Duplicate texts (after added tokens replaced theirs) would not load. */
static tl_status check_unique(const hf_vocab *v, tl_error *err) {
    tl_token_map map;
    if (!tl_token_map_init(&map, v->texts, v->n)) {
        return tl_fail(err, TL_ERR_NOMEM, "out of memory for the token table");
    }
    tl_status st = TL_OK;
    for (uint32_t id = 0; id < v->n && st == TL_OK; id++) {
        int32_t other = tl_token_map_insert(&map, (int32_t)id);
        if (other >= 0) {
            st = tl_fail(err, TL_ERR_FORMAT, "%s: tokens %d and %u would both be '%s'", v->path, other, id,
                         v->texts[id].ptr);
        }
    }
    tl_token_map_free(&map);
    return st;
}

/* config.json's <kind>_token_id for the special ids still unknown. */
static void special_ids_from_model_config(hf_vocab *v, const cJSON *model_config) {
    for (int k = 0; k < 7 && model_config; k++) {
        char name[32];
        snprintf(name, sizeof name, "%s_token_id", special_names[k]);
        const int64_t id = index_value(member(model_config, name), v->n);
        if (v->special[k] < 0 && id >= 0) v->special[k] = (tl_token)id;
    }
}

tl_status tl_synth_vocab_from_hf(gguf_writer *w, const char *path, uint64_t *n_vocab, tl_error *err) {
    const tl_hf_vocab_options options = {0};
    tl_hf_vocab_info info;
    const tl_status st = tl_hf_vocab_import(w, path, &options, &info, err);
    *n_vocab = info.n_vocab;
    return st;
}

tl_status tl_hf_vocab_import(gguf_writer *w, const char *path, const tl_hf_vocab_options *options,
                             tl_hf_vocab_info *info, tl_error *err) {
    memset(info, 0, sizeof *info);
    cJSON *json = NULL, *config = NULL;
    tl_status st = tl_hf_json_file(path, false, &json, err);
    if (st != TL_OK) return st;
    char *config_path = sibling_path(path, "tokenizer_config.json");
    if (!config_path) {
        cJSON_Delete(json);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    st = tl_hf_json_file(config_path, true, &config, err);
    free(config_path);
    hf_vocab v = {.path = path, .n_target = options->n_vocab <= UINT32_MAX / 2 ? (uint32_t)options->n_vocab : 0};
    if (st == TL_OK) st = convert(&v, json, config, options, err);
    if (st == TL_OK) special_ids_from_model_config(&v, options->model_config);
    if (st == TL_OK) st = check_unique(&v, err);
    if (st == TL_OK) st = write_keys(&v, w, err);
    if (st == TL_OK) {
        info->n_vocab = v.n;
        info->byte_level = v.byte_level;
        info->word_piece = v.word_piece;
        info->unigram = v.unigram;
    }
    free_hf_vocab(&v);
    cJSON_Delete(config);
    cJSON_Delete(json);
    return st;
}

tl_status tl_synth_vocab_unigram(gguf_writer *w, uint32_t n_vocab, tl_error *err) {
    return tl_unigram_vocab_write(w, n_vocab, err);
}
