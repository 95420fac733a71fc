/*
 * store_names.c — model names: their canonical form (Ollama's rules: a
 * missing tag is ":latest") and the manifest file name each one has.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "store/store_internal.h"
#include "util/error.h"

#define NAME_MAX_LEN 200
#define TAG_MAX_LEN 80

static bool name_char(char c) {
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/* One part of a name (between '/', or the tag): [A-Za-z0-9_][A-Za-z0-9_.-]*. */
static const char *check_part(const char *part, size_t len) {
    if (len == 0) return "an empty part";
    if (!isalnum((unsigned char)part[0]) && part[0] != '_')
        return "a part starting with other than a letter, digit or _";
    for (size_t i = 0; i < len; i++)
        if (!name_char(part[i])) return "a character other than letters, digits, '_', '.', '-', '/' and one ':TAG'";
    return NULL;
}

tl_status tl_store_canonical_name(const char *name, char *out, size_t out_size, tl_error *err) {
    const size_t len = name ? strlen(name) : 0;
    if (len == 0) return tl_fail(err, TL_ERR_ARGUMENT, "invalid model name '': it is empty");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return tl_fail(err, TL_ERR_ARGUMENT, "invalid model name: it has a control character");
    if (len > NAME_MAX_LEN)
        return tl_fail(err, TL_ERR_ARGUMENT, "invalid model name '%.40s...': longer than %d characters", name,
                       NAME_MAX_LEN);
    const char *slash = strrchr(name, '/');
    const char *colon = strrchr(slash ? slash : name, ':');
    const size_t base_len = colon ? (size_t)(colon - name) : len;
    const char *why = NULL;
    for (size_t start = 0; !why && start <= base_len;) {
        const char *next = memchr(name + start, '/', base_len - start);
        const size_t end = next ? (size_t)(next - name) : base_len;
        why = check_part(name + start, end - start);
        start = end + 1;
    }
    if (!why && colon) {
        why = check_part(colon + 1, len - base_len - 1);
        if (!why && len - base_len - 1 > TAG_MAX_LEN) why = "a tag longer than 80 characters";
    }
    if (why) return tl_fail(err, TL_ERR_ARGUMENT, "invalid model name '%s': %s", name, why);
    const int n = snprintf(out, out_size, "%s%s", name, colon ? "" : ":latest");
    if (n < 0 || (size_t)n >= out_size) return tl_fail(err, TL_ERR_ARGUMENT, "invalid model name '%s': too long", name);
    return TL_OK;
}

bool store_manifest_path(const tl_store *s, const char *canonical, char *out, size_t out_size, tl_error *err) {
    /* '/' cannot be in a file name: "hf.co/ORG/REPO:Q4_K_M" is "hf.co%2FORG%2FREPO:Q4_K_M.json".
     * '%' is never in a name, so the encoding is reversible. */
    char file[3 * NAME_MAX_LEN + 16];
    size_t n = 0;
    for (const char *p = canonical; *p && n + 4 < sizeof file; p++) {
        if (*p == '/') {
            memcpy(file + n, "%2F", 3);
            n += 3;
        } else {
            file[n++] = *p;
        }
    }
    snprintf(file + n, sizeof file - n, ".json");
    return store_path(s, "manifests", file, out, out_size, err);
}
