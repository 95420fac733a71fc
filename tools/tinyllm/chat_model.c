/*
 * chat_model.c — what `tinyllm chat` talks to: a decoder-only model with its
 * context and sampler, opened together and closed together, so that /model
 * can open another one beside the current and swap only when it is ready.
 */
#include "chat_session.h"
#include "cli.h"

bool chat_model_load(chat_model *m, const char *command, const char *path) {
    *m = (chat_model){0};
    if (!(m->model = cli_load_model(command, path, false))) return false;
    if (!tl_model_has_encoder(m->model) && tl_model_has_decoder(m->model)) return true;
    tl_cli_error(command, "%s is not a decoder-only model: chat needs one", path);
    chat_model_close(m);
    return false;
}

bool chat_model_start(chat_model *m, const char *command, const tl_context_params *context_params,
                      const tl_sampler_params *sampler_params) {
    tl_error err = {0};
    if (tl_context_new(m->model, context_params, &m->ctx, &err) == TL_OK &&
        tl_sampler_new(m->model, sampler_params, &m->sampler, &err) == TL_OK)
        return true;
    tl_cli_error(command, "%s", err.message);
    chat_model_close(m);
    return false;
}

void chat_model_close(chat_model *m) {
    tl_sampler_free(m->sampler);
    tl_context_free(m->ctx);
    tl_model_free(m->model);
    *m = (chat_model){0};
}
