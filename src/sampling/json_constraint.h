/*
 * json_constraint.h — the sampler's JSON output constraint (json_constraint.c):
 * with tl_sampler_params.json_output, only tokens whose text keeps the reply a
 * prefix of a JSON object may be drawn, and end-of-generation tokens only once
 * the object is complete, as Ollama's `format: "json"` and OpenAI's
 * `response_format: {"type": "json_object"}` promise.
 */
#ifndef TL_SAMPLING_JSON_CONSTRAINT_H
#define TL_SAMPLING_JSON_CONSTRAINT_H

#include "sampling/sampler.h"

/* A constraint over a model's vocabulary (each token's text is read once,
 * here), ready to attach with tl_sampler_set_constraint. */
tl_status tl_json_constraint_new(const tl_model *model, tl_token_constraint *out, tl_error *err);

#endif /* TL_SAMPLING_JSON_CONSTRAINT_H */
