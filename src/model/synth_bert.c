/*
 * synth_bert.c — placeholder until the bert family lands (see synth_internal.h).
 */
#include "model/synth_internal.h"
#include "util/error.h"

tl_status synth_write_bert(synth_writer *s) {
    return tl_fail(s->err, TL_ERR_UNSUPPORTED, "%s: writing bert models is not implemented yet",
                   s->preset->name);
}
