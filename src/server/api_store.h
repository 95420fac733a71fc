/*
 * api_store.h — Ollama's model management endpoints over the model store
 * and the Hub (api_store.c): /api/pull, /api/delete, /api/copy, /api/create,
 * and the pulls under way that they share.
 */
#ifndef TL_SERVER_API_STORE_H
#define TL_SERVER_API_STORE_H

#include "server/api_common.h"

/* The pulls under way: one at a time per model name. NULL when out of memory. */
api_pulls *api_pulls_new(void);
/* At shutdown, once the HTTP layer stopped (streams are cut, so pulls
 * cancel): waits for the pulls' threads to end, then frees. */
void api_pulls_stop(api_pulls *pulls);

api_handler ollama_pull, ollama_delete, ollama_copy, ollama_create;

#endif /* TL_SERVER_API_STORE_H */
