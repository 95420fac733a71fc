/*
 * wire.c — what goes over the wire in both directions (see wire.h): JSON
 * text that is valid UTF-8 whatever its strings hold, and the values of a
 * query string.
 */
#include "server/wire.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

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

static int hex_digit(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool wire_query_value(const char *query, const char *name, char *out, size_t size) {
    const size_t name_len = strlen(name);
    for (const char *p = query ? query : ""; *p;) {
        const char *end = strchr(p, '&');
        if (!end) end = p + strlen(p);
        if ((size_t)(end - p) > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t at = 0;
            for (const char *v = p + name_len + 1; v < end; v++) {
                char c = *v == '+' ? ' ' : *v;
                if (*v == '%' && end - v > 2 && hex_digit(v[1]) >= 0 && hex_digit(v[2]) >= 0) {
                    c = (char)(hex_digit(v[1]) * 16 + hex_digit(v[2]));
                    v += 2;
                }
                if (at + 1 >= size) return false;
                out[at++] = c;
            }
            out[at] = 0;
            return true;
        }
        p = *end ? end + 1 : end;
    }
    return false;
}
