/*
 * draft_vocab.c — tl_draft_check_vocab: may a draft model draft for a
 * target? Drafted token ids are fed to the target as they are, so the two
 * must number the same texts the same way. The rule is llama.cpp's
 * (common_speculative_are_compatible): the same tokenizer kind, BOS/EOS
 * ids and whether they are added, vocabulary sizes within 128, and the same
 * text for every id from 5 up to the smaller size (the first few ids are
 * often control tokens that differ harmlessly).
 */
#include <stdio.h>
#include <string.h>

#include "tinyllm.h"
#include "util/error.h"

#define VOCAB_MAX_SIZE_DIFFERENCE 128
#define VOCAB_CHECK_START_ID 5

tl_status tl_draft_check_vocab(const tl_model *draft, const tl_model *target, char *note, size_t note_size,
                               tl_error *err) {
    if (note_size) note[0] = '\0';
    tl_model_info di, ti;
    tl_model_get_info(draft, &di);
    tl_model_get_info(target, &ti);
    if (strcmp(di.vocab_type, ti.vocab_type) != 0)
        return tl_fail(err, TL_ERR_ARGUMENT, "the draft's tokenizer is %s, the target's %s: they cannot share tokens",
                       di.vocab_type, ti.vocab_type);
    if (tl_vocab_adds_bos(draft) != tl_vocab_adds_bos(target) || tl_token_bos(draft) != tl_token_bos(target))
        return tl_fail(err, TL_ERR_ARGUMENT, "the draft's BOS token (%d%s) is not the target's (%d%s)",
                       tl_token_bos(draft), tl_vocab_adds_bos(draft) ? ", added" : "", tl_token_bos(target),
                       tl_vocab_adds_bos(target) ? ", added" : "");
    if (tl_vocab_adds_eos(draft) != tl_vocab_adds_eos(target) || tl_token_eos(draft) != tl_token_eos(target))
        return tl_fail(err, TL_ERR_ARGUMENT, "the draft's EOS token (%d) is not the target's (%d)", tl_token_eos(draft),
                       tl_token_eos(target));
    const int32_t nd = tl_vocab_size(draft), nt = tl_vocab_size(target);
    const int32_t diff = nd > nt ? nd - nt : nt - nd;
    if (diff > VOCAB_MAX_SIZE_DIFFERENCE)
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "the draft's vocabulary has %d tokens, the target's %d (more than %d apart)", nd, nt,
                       VOCAB_MAX_SIZE_DIFFERENCE);
    const int32_t n = nd < nt ? nd : nt;
    char a[256], b[256];
    for (int32_t id = VOCAB_CHECK_START_ID; id < n; id++) {
        const int32_t la = tl_token_to_piece(draft, id, true, a, (int32_t)sizeof a);
        const int32_t lb = tl_token_to_piece(target, id, true, b, (int32_t)sizeof b);
        if (la != lb || (la > 0 && memcmp(a, b, (size_t)la) != 0))
            return tl_fail(err, TL_ERR_ARGUMENT, "token %d differs between the draft and the target's vocabularies",
                           id);
    }
    if (nd != nt && note_size)
        snprintf(note, note_size, "the draft's vocabulary has %d tokens and the target's %d; the first %d agree", nd,
                 nt, n);
    return TL_OK;
}
