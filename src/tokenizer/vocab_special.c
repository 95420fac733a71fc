/*
 * vocab_special.c — what llama.cpp decides about special tokens at load time
 * from their texts, because converted files often leave it out:
 *
 *  - EOT, EOM and fill-in-the-middle ids are found by well-known texts
 *    ("<|eot_id|>", "<|fim_prefix|>", ...) when the file does not give them,
 *    and such tokens are made control tokens;
 *  - the end-of-generation set: EOS, EOT, EOM, the FIM pad/repo/separator
 *    tokens and every token whose text is a known end-of-turn marker;
 *  - a few per-model attribute fixes (gpt-oss, Phi-3 right-stripping, ...);
 *  - the list of special tokens the tokenizer looks for in text, longest
 *    first.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/vocab_internal.h"

static tl_token find_text(const tl_vocab *v, const char *text) {
    return tl_vocab_find(v, text, strlen(text));
}

static void make_control(tl_vocab *v, tl_token id) {
    v->info[id].attr |= TL_ATTR_CONTROL;
}

/* If *slot is unset, the lowest-id token with one of `texts` becomes it, and
 * a control token. */
static void detect_by_text(tl_vocab *v, tl_token *slot, const char *const *texts) {
    if (*slot >= 0) {
        return;
    }
    tl_token best = -1;
    for (; *texts; texts++) {
        tl_token id = find_text(v, *texts);
        if (id >= 0 && (best < 0 || id < best)) {
            best = id;
        }
    }
    if (best >= 0) {
        *slot = best;
        make_control(v, best);
    }
}

static const char *const eot_texts[] = {"<|eot_id|>",
                                        "<|im_end|>",
                                        "<|end|>",
                                        "<end_of_turn>",
                                        "<|endoftext|>",
                                        "<|end_of_text|>",
                                        "<EOT>",
                                        "_<EOT>",
                                        "[EOT]",
                                        "<\xEF\xBD\x9C"
                                        "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                                        "<end_of_utterance>",
                                        NULL};
static const char *const eom_texts[] = {"<|eom_id|>", NULL};
static const char *const fim_pre_texts[] = {"<|fim_prefix|>",
                                            "<fim-prefix>",
                                            "<fim_prefix>",
                                            "<\xEF\xBD\x9C"
                                            "fim\xE2\x96\x81"
                                            "begin\xEF\xBD\x9C>",
                                            "<PRE>",
                                            "\xE2\x96\x81<PRE>",
                                            "<|code_prefix|>",
                                            "<|prefix|>",
                                            NULL};
static const char *const fim_suf_texts[] = {"<|fim_suffix|>",
                                            "<fim-suffix>",
                                            "<fim_suffix>",
                                            "<\xEF\xBD\x9C"
                                            "fim\xE2\x96\x81hole\xEF\xBD\x9C>",
                                            "<SUF>",
                                            "\xE2\x96\x81<SUF>",
                                            "<|code_suffix|>",
                                            "<|suffix|>",
                                            NULL};
static const char *const fim_mid_texts[] = {"<|fim_middle|>",
                                            "<fim-middle>",
                                            "<fim_middle>",
                                            "<\xEF\xBD\x9C"
                                            "fim\xE2\x96\x81"
                                            "end\xEF\xBD\x9C>",
                                            "<MID>",
                                            "\xE2\x96\x81<MID>",
                                            "<|code_middle|>",
                                            "<|middle|>",
                                            NULL};
static const char *const fim_pad_texts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const fim_rep_texts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>",
                                            "<REPO>",       "<reponame>",    NULL};
static const char *const fim_sep_texts[] = {"<|file_sep|>", NULL};

/* Texts that end generation whatever the file says. */
static const char *const eog_texts[] = {"<|eot_id|>",
                                        "<|im_end|>",
                                        "<|end|>",
                                        "<|return|>",
                                        "<|call|>",
                                        "<|flush|>",
                                        "<|calls|>",
                                        "<end_of_turn>",
                                        "<|endoftext|>",
                                        "</s>",
                                        "<|eom_id|>",
                                        "<EOT>",
                                        "_<EOT>",
                                        "[EOT]",
                                        "[EOS]",
                                        "<|end_of_text|>",
                                        "<end_of_utterance>",
                                        "<eos>",
                                        "<turn|>",
                                        "<|tool_response>",
                                        "<\xEF\xBD\x9C"
                                        "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
                                        "[e~[",
                                        NULL};

/* llama.cpp makes every token with an end-of-generation text a control
 * token, which then splits out of text with parse_special, even where the
 * file calls it normal: right for a file that mistypes "<|im_end|>", but
 * Qwen's "</s>" (id 128247) is an ordinary merge of its byte-level BPE
 * vocabulary, not an added token of its tokenizer.json, and Hugging Face
 * tokenizes the text "</s>" as "</", "s", ">". Such a token only ends
 * generation. */
static bool is_ordinary_piece(const tl_vocab *v, tl_token id, const char *text) {
    return v->kind == TL_VOCAB_BPE && v->info[id].attr == TL_ATTR_NORMAL && strcmp(text, "</s>") == 0;
}

/* gpt-oss: always rendered, never control. */
static const char *const always_rendered_texts[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL};

/* The EOG set is kept as a flag per token while it is built. */
static void eog_add(uint8_t *is_eog, tl_token id) {
    if (id >= 0) {
        is_eog[id] = 1;
    }
}

static tl_token find_in_eog(const tl_vocab *v, const uint8_t *is_eog, const char *text) {
    tl_token id = find_text(v, text);
    return id >= 0 && is_eog[id] ? id : -1;
}

static bool build_eog_set(tl_vocab *v) {
    uint8_t *is_eog = calloc((size_t)v->n_tokens, 1);
    if (!is_eog) {
        return false;
    }
    eog_add(is_eog, v->fim_pad);
    eog_add(is_eog, v->fim_rep);
    eog_add(is_eog, v->fim_sep);
    for (const char *const *text = eog_texts; *text; text++) {
        tl_token id = find_text(v, *text);
        if (id >= 0) {
            eog_add(is_eog, id);
            if (!is_ordinary_piece(v, id, *text)) make_control(v, id);
        }
    }
    for (const char *const *text = always_rendered_texts; *text; text++) {
        tl_token id = find_text(v, *text);
        if (id >= 0) {
            v->info[id].attr = TL_ATTR_USER_DEFINED;
        }
    }
    eog_add(is_eog, v->eos);
    eog_add(is_eog, v->eot);
    eog_add(is_eog, v->eom);

    /* gpt-oss / solar-open: with "<|return|>" and "<|call|>" (or "<|calls|>"
     * and "<|flush|>"), "<|end|>" only ends a message, not generation. */
    bool has_return = find_in_eog(v, is_eog, "<|return|>") >= 0;
    bool has_call = find_in_eog(v, is_eog, "<|call|>") >= 0 || find_in_eog(v, is_eog, "<|calls|>") >= 0;
    bool has_flush = find_in_eog(v, is_eog, "<|flush|>") >= 0;
    tl_token end_id = find_in_eog(v, is_eog, "<|end|>");
    if (end_id >= 0 && has_call && (has_return || has_flush)) {
        is_eog[end_id] = 0;
        v->info[end_id].attr = TL_ATTR_USER_DEFINED;
    }
    /* Gemma 4 / PaddleOCR: with "<|tool_response>", "</s>" is ordinary. */
    tl_token s_id = find_in_eog(v, is_eog, "</s>");
    if (s_id >= 0 && find_in_eog(v, is_eog, "<|tool_response>") >= 0) {
        is_eog[s_id] = 0;
        v->info[s_id].attr = TL_ATTR_NORMAL;
    }

    int32_t n = 0;
    for (tl_token id = 0; id < v->n_tokens; id++) {
        n += is_eog[id];
    }
    v->eog = malloc((size_t)(n ? n : 1) * sizeof *v->eog);
    if (!v->eog) {
        free(is_eog);
        return false;
    }
    v->n_eog = 0;
    for (tl_token id = 0; id < v->n_tokens; id++) {
        if (is_eog[id]) {
            v->eog[v->n_eog++] = id;
        }
    }
    free(is_eog);
    return true;
}

typedef struct special_key {
    size_t length;
    tl_token id;
} special_key;

/* Longest text first; equal lengths by id, so the order is deterministic. */
static int compare_special(const void *a, const void *b) {
    const special_key *x = a, *y = b;
    if (x->length != y->length) {
        return x->length > y->length ? -1 : 1;
    }
    return (x->id > y->id) - (x->id < y->id);
}

static bool build_special_list(tl_vocab *v) {
    const uint32_t special = TL_ATTR_CONTROL | TL_ATTR_USER_DEFINED | TL_ATTR_UNKNOWN;
    int32_t n = 0;
    for (tl_token id = 0; id < v->n_tokens; id++) {
        n += (v->info[id].attr & special) != 0;
    }
    v->special = malloc((size_t)(n ? n : 1) * sizeof *v->special);
    special_key *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    if (!v->special || !keys) {
        free(keys);
        return false;
    }
    int32_t k = 0;
    for (tl_token id = 0; id < v->n_tokens; id++) {
        if (v->info[id].attr & special) {
            keys[k++] = (special_key){v->texts[id].len, id};
        }
    }
    qsort(keys, (size_t)n, sizeof *keys, compare_special);
    for (int32_t i = 0; i < n; i++) {
        v->special[i] = keys[i].id;
    }
    v->n_special = n;
    free(keys);
    return true;
}

static void set_attr(tl_vocab *v, const char *text, uint32_t attr, bool on) {
    tl_token id = find_text(v, text);
    if (id >= 0) {
        v->info[id].attr = on ? (v->info[id].attr | attr) : (v->info[id].attr & ~attr);
    }
}

static bool contains_lowercase(const char *haystack, const char *needle) {
    if (!haystack) {
        return false;
    }
    size_t n = strlen(haystack), m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m && tolower((unsigned char)haystack[i + k]) == needle[k]) {
            k++;
        }
        if (k == m) {
            return true;
        }
    }
    return false;
}

/* Per-model strip attributes llama.cpp sets by name (the file cannot say). */
static void apply_model_attributes(tl_vocab *v, const gguf_file *f) {
    const char *name = gguf_get_str(f, "general.name");
    const char *arch = gguf_get_str(f, "general.architecture");
    const char *pre = v->pre_name;
    if (strstr(pre, "jina-v2-de") || strstr(pre, "jina-v2-es") || strstr(pre, "jina-v2-code") ||
        (arch && (strstr(arch, "nomic-bert-moe") || strstr(arch, "jina-bert-v3")))) {
        set_attr(v, "<mask>", TL_ATTR_LSTRIP, true);
    } else if (contains_lowercase(name, "phi-3") || contains_lowercase(name, "phi3")) {
        for (int32_t i = 0; i < v->n_special; i++) {
            v->info[v->special[i]].attr |= TL_ATTR_RSTRIP;
        }
        set_attr(v, "</s>", TL_ATTR_RSTRIP, true);
        set_attr(v, "<unk>", TL_ATTR_RSTRIP, false);
        set_attr(v, "<s>", TL_ATTR_RSTRIP, false);
        set_attr(v, "<|endoftext|>", TL_ATTR_RSTRIP, false);
    } else if (contains_lowercase(name, "modern-bert")) {
        set_attr(v, "[MASK]", TL_ATTR_LSTRIP, true);
    }
}

bool tl_vocab_setup_special(tl_vocab *v, const gguf_file *f) {
    detect_by_text(v, &v->eot, eot_texts);
    detect_by_text(v, &v->eom, eom_texts);
    detect_by_text(v, &v->fim_pre, fim_pre_texts);
    detect_by_text(v, &v->fim_suf, fim_suf_texts);
    detect_by_text(v, &v->fim_mid, fim_mid_texts);
    detect_by_text(v, &v->fim_pad, fim_pad_texts);
    detect_by_text(v, &v->fim_rep, fim_rep_texts);
    detect_by_text(v, &v->fim_sep, fim_sep_texts);

    /* Control tokens named "unused..." are unused. */
    for (tl_token id = 0; id < v->n_tokens; id++) {
        if ((v->info[id].attr & TL_ATTR_CONTROL) && strstr(v->texts[id].ptr, "unused")) {
            v->info[id].attr |= TL_ATTR_UNUSED;
        }
    }

    if (!build_eog_set(v) || !build_special_list(v)) {
        return false;
    }
    apply_model_attributes(v, f);
    return true;
}
