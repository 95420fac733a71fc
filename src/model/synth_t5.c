/*
 * synth_t5.c — placeholder until the t5 family lands (see synth_internal.h).
 */
#include "model/synth_internal.h"
#include "util/error.h"

tl_status synth_write_t5(synth_writer *s) {
    return tl_fail(s->err, TL_ERR_UNSUPPORTED, "%s: writing t5 models is not implemented yet",
                   s->preset->name);
}
