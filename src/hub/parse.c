/*
 * parse.c — the Hub's answers read from bytes (parse.h): response headers,
 * the revision endpoint's commit and the tree listing's files. transfer.c
 * and pull.c call these with what arrives; fuzz_hub.c with random bytes.
 */
#include "parse.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"

/* Copies header value (trimmed) into out. */
static void header_value(const char *v, size_t n, char *out, size_t out_size) {
    while (n && (*v == ' ' || *v == '\t')) v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) n--;
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') v++, n -= 2;
    if (n >= 4 && strncmp(v, "W/\"", 3) == 0 && v[n - 1] == '"') v += 3, n -= 4;
    snprintf(out, out_size, "%.*s", (int)n, v);
}

/* Link: <url>; rel="next", <url2>; rel="last" */
static void parse_link(const char *v, size_t n, char *out, size_t out_size) {
    const char *end = v + n;
    while (v < end) {
        const char *lt = memchr(v, '<', (size_t)(end - v));
        if (!lt) return;
        const char *gt = memchr(lt, '>', (size_t)(end - lt));
        if (!gt) return;
        const char *next = memchr(gt, ',', (size_t)(end - gt));
        const char *params_end = next ? next : end;
        for (const char *p = gt; p + 10 <= params_end; p++)
            if (strncasecmp(p, "rel=\"next\"", 10) == 0 || strncasecmp(p, "rel=next", 8) == 0) {
                snprintf(out, out_size, "%.*s", (int)(gt - lt - 1), lt + 1);
                return;
            }
        v = next ? next + 1 : end;
    }
}

void hub_parse_header(hub_response *r, const char *data, size_t n) {
    if (n > 5 && strncmp(data, "HTTP/", 5) == 0) r->link_next[0] = r->error_code[0] = '\0';
    const char *colon = memchr(data, ':', n);
    if (!colon) return;
    size_t name_len = (size_t)(colon - data);
    const char *v = colon + 1;
    size_t vn = n - name_len - 1;
    if (name_len == 4 && strncasecmp(data, "link", 4) == 0)
        parse_link(v, vn, r->link_next, sizeof r->link_next);
    else if (name_len == 12 && strncasecmp(data, "x-error-code", 12) == 0)
        header_value(v, vn, r->error_code, sizeof r->error_code);
    else if (name_len == 13 && strncasecmp(data, "x-linked-etag", 13) == 0)
        header_value(v, vn, r->linked_etag, sizeof r->linked_etag);
    else if (name_len == 13 && strncasecmp(data, "x-repo-commit", 13) == 0)
        header_value(v, vn, r->repo_commit, sizeof r->repo_commit);
}

tl_status hub_parse_commit(const char *url, const char *body, char *commit, size_t commit_size, tl_error *err) {
    cJSON *root = cJSON_Parse(body);
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(root, "sha");
    tl_status s = TL_OK;
    if (!cJSON_IsObject(root))
        s = tl_fail(err, TL_ERR_FORMAT, "%s: the answer is not a JSON object", url);
    else
        snprintf(commit, commit_size, "%s",
                 cJSON_IsString(sha) && strspn(sha->valuestring, "0123456789abcdef") == strlen(sha->valuestring) &&
                         sha->valuestring[0]
                     ? sha->valuestring
                     : "main");
    cJSON_Delete(root);
    return s;
}

void hub_file_list_free(hub_file_list *list) {
    for (int i = 0; i < list->n; i++) {
        free((char *)list->files[i].path);
        free((char *)list->files[i].sha256);
    }
    free(list->files);
    memset(list, 0, sizeof *list);
}

static bool is_hex64(const char *s) {
    if (!s || strlen(s) != 64) return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))) return false;
    return true;
}

/* A path with a control character is no file a pull takes: its name would
 * reach error lines and the terminal (fuzz/regressions/hub/newline_in_path). */
static bool has_control(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return true;
    return false;
}

/* A JSON number of bytes, or -1 when it is none a file can have (negative,
 * fractional sizes are cut; too large for a double's integers, infinite). */
static int64_t json_size(const cJSON *v) {
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0)) return -1;
    return (int64_t)v->valuedouble;
}

tl_status hub_parse_tree_page(const char *url, const char *body, hub_file_list *list, tl_error *err) {
    cJSON *root = cJSON_Parse(body);
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return tl_fail(err, TL_ERR_FORMAT, "%s: expected a JSON array of files", url);
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(item, "path");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(item, "size");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "file") != 0 || !cJSON_IsString(path) ||
            has_control(path->valuestring))
            continue;
        const cJSON *lfs = cJSON_GetObjectItemCaseSensitive(item, "lfs");
        const cJSON *oid = cJSON_GetObjectItemCaseSensitive(lfs, "oid");
        const cJSON *lfs_size = cJSON_GetObjectItemCaseSensitive(lfs, "size");
        if (list->n == list->cap) {
            int cap = list->cap ? list->cap * 2 : 64;
            tl_hub_file *grown = realloc(list->files, (size_t)cap * sizeof *grown);
            if (!grown) {
                cJSON_Delete(root);
                return tl_fail(err, TL_ERR_NOMEM, "out of memory");
            }
            list->files = grown;
            list->cap = cap;
        }
        tl_hub_file *f = &list->files[list->n];
        f->path = strdup(path->valuestring);
        f->size = json_size(lfs_size) >= 0 ? json_size(lfs_size) : json_size(size);
        f->sha256 = cJSON_IsString(oid) && is_hex64(oid->valuestring) ? strdup(oid->valuestring) : NULL;
        if (!f->path) {
            cJSON_Delete(root);
            return tl_fail(err, TL_ERR_NOMEM, "out of memory");
        }
        list->n++;
    }
    cJSON_Delete(root);
    return TL_OK;
}
