/*
 * sampler_model.c — tl_sampler_new: a sampler sized for a model's
 * vocabulary. Kept apart from sampler.c so the sampler can be built and
 * tested without the model code.
 */
#include "sampling/json_constraint.h"
#include "sampling/sampler.h"
#include "util/error.h"

tl_status tl_sampler_new(const tl_model *model, const tl_sampler_params *params, tl_sampler **out, tl_error *err) {
    if (!model) {
        return tl_fail(err, TL_ERR_ARGUMENT, "sampler: model is NULL");
    }
    tl_status status = tl_sampler_create(tl_vocab_size(model), params, out, err);
    if (status != TL_OK || !params || !params->json_output) {
        return status;
    }
    tl_token_constraint json;
    if ((status = tl_json_constraint_new(model, &json, err)) != TL_OK) {
        tl_sampler_free(*out);
        *out = NULL;
        return status;
    }
    tl_sampler_set_constraint(*out, json);
    return TL_OK;
}
