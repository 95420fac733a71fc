/*
 * wire.c — what goes over the wire in both directions (see wire.h): JSON
 * text that is valid UTF-8 whatever its strings hold, and a request's query
 * arguments.
 */
#include "server/wire.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "server/http.h"
#include "tokenizer/utf8.h"

char *wire_json_text(const cJSON *json) {
    char *text = cJSON_PrintUnformatted(json);
    if (!text) return NULL;
    const size_t len = strlen(text);
    if (tl_utf8_valid(text, len)) return text;
    char *clean = malloc(3 * len + 1);
    if (clean) {
        size_t used = 0;
        clean[tl_utf8_sanitize(text, len, true, clean, &used)] = 0;
    }
    free(text);
    return clean;
}

const char *http_query_value(const http_request *req, const char *name) {
    for (const char *key = req->query; *key;) {
        const char *value = key + strlen(key) + 1;
        if (strcmp(key, name) == 0) return value;
        key = value + strlen(value) + 1;
    }
    return NULL;
}
