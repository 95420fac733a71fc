/*
 * jinja.h — a Jinja2 template engine for the chat templates models ship in
 * tokenizer.chat_template. It renders the way Hugging Face's
 * apply_chat_template does: trim_blocks, lstrip_blocks, loop controls,
 * tojson as json.dumps(ensure_ascii=False), raise_exception() and
 * strftime_now(). Autoescaping is off, as in Hugging Face.
 *
 * strftime_now() formats the time given by the context key
 * "__strftime_now_epoch" (seconds, UTC) when present, else $SOURCE_DATE_EPOCH
 * when set, else the current time.
 */
#ifndef TL_CHAT_JINJA_H
#define TL_CHAT_JINJA_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "tinyllm.h"

typedef struct tl_jinja tl_jinja; /* a parsed template */

/* Parses a template; errors name the template line ("line 3: ..."). */
tl_status tl_jinja_parse(const char *source, size_t len, tl_jinja **out, tl_error *err);

/* Renders with `context` (a cJSON object: messages, tools, bos_token, ...) as
 * the template's variables, under the default limits (tl_chat_limits).
 * *out is a malloc'd NUL-terminated string. */
tl_status tl_jinja_render(const tl_jinja *t, const cJSON *context, char **out, size_t *out_len, tl_error *err);

/* The same under `limits` (NULL, or 0 in a field: its default). A render
 * that goes past one fails with an error naming it. */
tl_status tl_jinja_render_limited(const tl_jinja *t, const cJSON *context, const tl_chat_limits *limits, char **out,
                                  size_t *out_len, tl_error *err);

void tl_jinja_free(tl_jinja *t);

#endif /* TL_CHAT_JINJA_H */
