/*
 * parse.h — what the Hub client reads from the network, as functions of
 * bytes alone (inside src/hub, and fuzz/fuzz_hub.c): the response headers
 * it keeps (Link's rel="next", X-Error-Code, X-Linked-Etag, X-Repo-Commit),
 * the commit in /api/models/{repo}/revision/main and the files of a page of
 * /api/models/{repo}/tree/{commit}. No I/O, so they can be fuzzed.
 */
#ifndef TL_HUB_PARSE_H
#define TL_HUB_PARSE_H

#include <stddef.h>

#include "client.h"

/* One response header line as libcurl hands it ("Name: value\r\n", not
 * NUL-terminated), into the response's fields. A status line ("HTTP/...")
 * starts a new response: Link and X-Error-Code are forgotten, X-Linked-Etag
 * and X-Repo-Commit kept (the Hub sends them with its redirect to the CDN). */
void hub_parse_header(hub_response *response, const char *line, size_t n);

/* The commit (`sha`, lowercase hex) in the JSON body of the revision
 * endpoint, else "main"; TL_ERR_FORMAT when the body is not a JSON object. */
tl_status hub_parse_commit(const char *url, const char *body, char *commit, size_t commit_size, tl_error *err);

/* The files of a repository as the tree listing gives them. */
typedef struct hub_file_list {
    tl_hub_file *files; /* path and sha256 malloc'd */
    int n, cap;
} hub_file_list;
void hub_file_list_free(hub_file_list *list);

/* Adds the files ("type": "file", a path without control characters) of
 * one page of the tree listing (a JSON array) to list: path, size (lfs.size,
 * else size, else -1: none, or not a size a file can have) and sha256
 * (lfs.oid when it is 64 hex digits). TL_ERR_FORMAT when it is not an array. */
tl_status hub_parse_tree_page(const char *url, const char *body, hub_file_list *list, tl_error *err);

#endif /* TL_HUB_PARSE_H */
