/*
 * generate.c — tl_generate: a whole single-sequence generation in one call
 * (prompt evaluation, then tl_generator_step until the reply stops), for
 * library users who want streaming text with stop strings and nothing more.
 */
#include "model/context.h"
#include "tinyllm.h"
#include "util/error.h"

tl_status tl_generate(tl_context *ctx, tl_sampler *sampler, const tl_token *prompt, int32_t n_prompt,
                      const tl_generator_params *params, tl_text_fn on_text, void *user_data, tl_stop_reason *reason,
                      tl_error *err) {
    if (reason) *reason = TL_STOP_ERROR;
    if (!prompt || n_prompt <= 0) return tl_fail(err, TL_ERR_ARGUMENT, "the prompt is empty");
    TL_TRY(tl_decode(ctx, prompt, n_prompt, tl_context_used(ctx), false, err));
    for (int32_t i = 0; i < n_prompt; i++) tl_sampler_accept(sampler, prompt[i]);
    tl_generator *g;
    TL_TRY(tl_generator_new(ctx->model, sampler, params, &g, err));
    tl_generator_begin(g, tl_context_used(ctx), tl_context_size(ctx));
    tl_generation_event ev = {0};
    tl_stop_reason stop = TL_STOP_NONE;
    tl_status st = TL_OK;
    while (st == TL_OK && stop == TL_STOP_NONE) {
        st = tl_generator_step(g, ctx, &ev, err);
        stop = ev.stop;
        if (ev.text_len > 0 && on_text && !on_text(user_data, ev.text, ev.text_len) && stop == TL_STOP_NONE)
            stop = TL_STOP_CANCELLED;
    }
    tl_generator_free(g);
    if (reason) *reason = stop;
    return st;
}
