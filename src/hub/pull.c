/*
 * pull.c — tl_hub_pull: a reference → the repository's commit
 * (/api/models/{repo}/revision/main) → its files with sizes and sha256
 * (/api/models/{repo}/tree/{commit}?recursive=true, every page) → the
 * file(s) the reference means → each downloaded (resolve/{commit}/{file})
 * to the store's partial path → tl_store_add under the store name.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "parse.h"
#include "transfer.h"
#include "util/error.h"

enum { MAX_PARTS = 256, MAX_TREE_PAGES = 1000, MAX_JSON = 64 << 20 };

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_start(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The repository's current commit ("main" when the answer has none). */
static tl_status repo_commit(const hub_client *client, const tl_hub_ref *ref, char *commit, size_t commit_size,
                             tl_error *err) {
    char url[1024];
    snprintf(url, sizeof url, "%s/api/models/%s/revision/main", client->endpoint, ref->repo);
    hub_response r;
    TL_TRY(hub_get(client, url, MAX_JSON, &r, err));
    tl_status s = r.status == 200 ? hub_parse_commit(url, r.body, commit, commit_size, err)
                                  : hub_http_error(client, ref->repo, url, &r, err);
    hub_response_free(&r);
    return s;
}

/* Every file of the repository at `commit`, following the Link pages. */
static tl_status repo_files(const hub_client *client, const tl_hub_ref *ref, const char *commit, hub_file_list *list,
                            tl_error *err) {
    char url[2048];
    snprintf(url, sizeof url, "%s/api/models/%s/tree/%s?recursive=true", client->endpoint, ref->repo, commit);
    for (int page = 0; page < MAX_TREE_PAGES; page++) {
        hub_response r;
        TL_TRY(hub_get(client, url, MAX_JSON, &r, err));
        tl_status s = r.status == 200 ? hub_parse_tree_page(url, r.body, list, err)
                                      : hub_http_error(client, ref->repo, url, &r, err);
        char next[sizeof r.link_next];
        snprintf(next, sizeof next, "%s", r.link_next);
        hub_response_free(&r);
        TL_TRY(s);
        if (!next[0]) return TL_OK;
        snprintf(url, sizeof url, "%s", next);
    }
    return tl_fail(err, TL_ERR_FORMAT, "%s: more than %d pages of files", ref->repo, MAX_TREE_PAGES);
}

static void resolve_url(const hub_client *client, const tl_hub_ref *ref, const char *commit, const char *path,
                        char *url, size_t url_size) {
    snprintf(url, url_size, "%s/%s/resolve/%s/", client->endpoint, ref->repo, commit);
    hub_url_encode(path, true, url, url_size);
}

/* Downloads the chosen files to partial paths (parts[i], malloc'd). */
static tl_status download_all(tl_store *store, const hub_client *client, const tl_hub_ref *ref, const char *commit,
                              const hub_file_list *list, const int *chosen, int n_chosen, const tl_hub_options *options,
                              char **parts, tl_error *err) {
    for (int i = 0; i < n_chosen; i++) {
        const tl_hub_file *f = &list->files[chosen[i]];
        char key[700], path[4096], url[4096], hex[65];
        if (f->sha256)
            snprintf(key, sizeof key, "%s", f->sha256);
        else
            snprintf(key, sizeof key, "%s/%s@%s", ref->repo, f->path, commit);
        TL_TRY(tl_store_partial_path(store, key, path, sizeof path, err));
        parts[i] = strdup(path);
        if (!parts[i]) return tl_fail(err, TL_ERR_NOMEM, "out of memory");
        resolve_url(client, ref, commit, f->path, url, sizeof url);
        TL_TRY(hub_download(client, ref->repo, url, path, f->size, f->sha256, options, hex, err));
    }
    return TL_OK;
}

tl_status tl_hub_pull(tl_store *store, const char *ref_text, const tl_hub_options *options, char *name_out,
                      size_t name_out_size, tl_error *err) {
    tl_hub_ref ref;
    TL_TRY(tl_hub_parse_ref(ref_text, &ref, err));
    pthread_once(&curl_once, curl_start);
    hub_client client;
    hub_client_init(&client, options);
    char name[700];
    TL_TRY(tl_hub_store_name(ref_text, name, sizeof name, err));
    if (name_out && name_out_size) snprintf(name_out, name_out_size, "%s", name);
    if (!hub_report(options, "pulling manifest", NULL, 0, 0)) return tl_fail(err, TL_ERR_IO, "pull cancelled");

    char commit[128];
    TL_TRY(repo_commit(&client, &ref, commit, sizeof commit, err));
    hub_file_list list = {0};
    int chosen[MAX_PARTS], n_chosen = 0;
    char *parts[MAX_PARTS] = {0};
    tl_status s = repo_files(&client, &ref, commit, &list, err);
    if (s == TL_OK) s = tl_hub_select_files(&ref, list.files, list.n, chosen, MAX_PARTS, &n_chosen, err);
    if (s == TL_OK) {
        /* Already there with the same content: nothing to do. */
        tl_store_entry entry;
        const char *sha = list.files[chosen[0]].sha256;
        if (n_chosen == 1 && sha && tl_store_find(store, name, &entry)) {
            bool same = entry.sha256 && strcasecmp(entry.sha256, sha) == 0;
            tl_store_entry_free(&entry);
            if (same) {
                hub_report(options, "success", sha, 0, 0);
                hub_file_list_free(&list);
                return TL_OK;
            }
        }
        s = download_all(store, &client, &ref, commit, &list, chosen, n_chosen, options, parts, err);
    }
    if (s == TL_OK) {
        char url[4096];
        const tl_hub_file *first = &list.files[chosen[0]];
        resolve_url(&client, &ref, commit, first->path, url, sizeof url);
        tl_store_source source = {ref_text, ref.repo, commit, first->path, url};
        hub_report(options, "writing manifest", NULL, 0, 0);
        s = tl_store_add(store, name, (const char *const *)parts, n_chosen, n_chosen == 1 ? first->sha256 : NULL,
                         &source, err);
        if (s == TL_OK) hub_report(options, "success", NULL, 0, 0);
    }
    for (int i = 0; i < n_chosen; i++) free(parts[i]);
    hub_file_list_free(&list);
    return s;
}
