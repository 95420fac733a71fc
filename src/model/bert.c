/*
 * bert.c — placeholder until the bert family lands (see family.h).
 */
#include "model/family.h"
#include "util/error.h"

static tl_status load(tl_loader *ld) {
    return tl_fail(ld->err, TL_ERR_UNSUPPORTED, "%s: bert models are not implemented yet", ld->path);
}

const tl_family_ops tl_bert_ops = {.load = load};
