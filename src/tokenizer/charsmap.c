/*
 * charsmap.c — loading, checking and looking up SentencePiece's precompiled
 * normalization map (format in charsmap.h).
 *
 * llama.cpp checks only the sizes at load and throws from the middle of
 * tokenization when a lookup leaves the array; here every unit a lookup can
 * reach is visited once at load, so a broken map is a load error and a
 * loaded map can be looked up with any text.
 */
#include "tokenizer/charsmap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static uint32_t unit_offset(uint32_t unit) {
    return (unit >> 10) << ((unit & (1u << 9)) >> 6);
}
/* The label, with bit 31 kept so that a value unit never equals a byte. */
static uint32_t unit_label(uint32_t unit) {
    return unit & ((1u << 31) | 0xFFu);
}
static bool unit_has_leaf(uint32_t unit) {
    return (unit >> 8) & 1u;
}
static uint32_t unit_value(uint32_t unit) {
    return unit & 0x7FFFFFFFu;
}

static uint32_t read_u32_le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Visits every node a lookup can reach. A node is known by its "base" (the
 * index its children are found from); a lookup reads base ^ byte for any
 * byte, so each base's whole block of 256 units must be in the array. */
static tl_status check_reachable(const tl_charsmap *map, const char *key, tl_error *err) {
    size_t n = map->n_units;
    /* A replacement offset is good when a NUL follows it. */
    size_t strings_end = 0; /* one past the last NUL */
    for (size_t i = map->strings_size; i > 0; i--) {
        if (map->strings[i - 1] == '\0') {
            strings_end = i;
            break;
        }
    }
    uint8_t *visited = calloc(n / 8 + 1, 1);
    uint32_t *stack = malloc(n * sizeof *stack);
    if (!visited || !stack) {
        free(visited);
        free(stack);
        return tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", key);
    }
    tl_status st = TL_OK;
    size_t depth = 0;
    uint32_t root_base = unit_offset(map->units[0]);
    if ((root_base | 0xFFu) >= n) {
        st = tl_fail(err, TL_ERR_FORMAT, "%s: the root's children lie outside the %zu-unit array", key, n);
    } else {
        visited[root_base / 8] |= (uint8_t)(1u << (root_base % 8));
        stack[depth++] = root_base;
    }
    while (st == TL_OK && depth > 0) {
        uint32_t base = stack[--depth];
        for (uint32_t byte = 1; byte < 256 && st == TL_OK; byte++) {
            uint32_t index = base ^ byte;
            uint32_t unit = map->units[index];
            if (unit_label(unit) != byte) {
                continue;
            }
            uint32_t child_base = index ^ unit_offset(unit);
            if ((child_base | 0xFFu) >= n) {
                st = tl_fail(err, TL_ERR_FORMAT, "%s: unit %u points outside the %zu-unit array", key, index, n);
                break;
            }
            if (unit_has_leaf(unit) && unit_value(map->units[child_base]) >= strings_end) {
                st = tl_fail(err, TL_ERR_FORMAT,
                             "%s: unit %u names replacement offset %u, outside the %zu bytes of "
                             "NUL-terminated strings",
                             key, index, unit_value(map->units[child_base]), strings_end);
                break;
            }
            if (!(visited[child_base / 8] & (1u << (child_base % 8)))) {
                visited[child_base / 8] |= (uint8_t)(1u << (child_base % 8));
                stack[depth++] = child_base;
            }
        }
    }
    free(visited);
    free(stack);
    return st;
}

tl_status tl_charsmap_init(tl_charsmap *map, const void *blob, size_t size, const char *key, tl_error *err) {
    memset(map, 0, sizeof *map);
    const uint8_t *bytes = blob;
    if (size < 4) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: %zu bytes is too short for the size header", key, size);
    }
    uint32_t array_bytes = read_u32_le(bytes);
    /* As llama.cpp: the strings that follow the array may not be empty. */
    if ((uint64_t)array_bytes + 4 >= size) {
        return tl_fail(err, TL_ERR_FORMAT, "%s: the double array (%u bytes) does not fit in the %zu-byte blob", key,
                       array_bytes, size);
    }
    map->n_units = array_bytes / 4;
    map->strings_size = size - 4 - array_bytes;
    map->units = malloc((map->n_units ? map->n_units : 1) * sizeof *map->units);
    map->strings = malloc(map->strings_size);
    if (!map->units || !map->strings) {
        tl_charsmap_free(map);
        return tl_fail(err, TL_ERR_NOMEM, "%s: out of memory", key);
    }
    for (size_t i = 0; i < map->n_units; i++) {
        map->units[i] = read_u32_le(bytes + 4 + 4 * i);
    }
    memcpy(map->strings, bytes + 4 + array_bytes, map->strings_size);
    if (map->n_units > 0) {
        tl_status st = check_reachable(map, key, err);
        if (st != TL_OK) {
            tl_charsmap_free(map);
            return st;
        }
    }
    return TL_OK;
}

void tl_charsmap_free(tl_charsmap *map) {
    free(map->units);
    free(map->strings);
    memset(map, 0, sizeof *map);
}

size_t tl_charsmap_match(const tl_charsmap *map, const char *text, size_t len, const char **replacement,
                         size_t *replacement_len) {
    if (map->n_units == 0) {
        return 0;
    }
    size_t longest = 0;
    uint32_t value = 0;
    uint32_t node = unit_offset(map->units[0]);
    for (size_t i = 0; i < len; i++) {
        uint32_t byte = (unsigned char)text[i];
        if (byte == 0) {
            break;
        }
        node ^= byte;
        /* The bounds were checked at load; these tests only make a bug in
         * that check harmless. */
        if (node >= map->n_units || unit_label(map->units[node]) != byte) {
            break;
        }
        bool leaf = unit_has_leaf(map->units[node]);
        node ^= unit_offset(map->units[node]);
        if (node >= map->n_units) {
            break;
        }
        if (leaf) {
            longest = i + 1;
            value = unit_value(map->units[node]);
        }
    }
    if (longest == 0 || value >= map->strings_size) {
        return 0;
    }
    const char *s = map->strings + value;
    const char *nul = memchr(s, '\0', map->strings_size - value);
    if (!nul) {
        return 0;
    }
    *replacement = s;
    *replacement_len = (size_t)(nul - s);
    return longest;
}
