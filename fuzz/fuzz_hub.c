/*
 * fuzz_hub.c — fuzz target: what the Hub client reads from the network
 * (src/hub/parse.h) and what it then makes of it (hub.h): response headers,
 * the revision endpoint's JSON, a page of the tree listing, the files a
 * reference selects from that listing, and references themselves.
 *
 * Input: header lines ("Name: value", one per '\n'), an empty line, then a
 * JSON body. The first header line is also parsed as a model reference. The
 * body goes to both JSON readers; the files of a tree page are selected
 * with the references a pull may carry (no tag, a tag, a catalogue name, a
 * file of the listing). No network: nothing here opens a socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "hub/hub.h"
#include "hub/parse.h"

enum { MAX_CHOSEN = 16 };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

/* An error message is one line (the CLI prints it as one). */
static void check_one_line(const tl_error *err) {
    if (!err->message[0] || strchr(err->message, '\n')) abort();
}

static bool is_lower_hex(const char *s) {
    return s[0] && strspn(s, "0123456789abcdef") == strlen(s);
}

/* References: never crash; an accepted one names ORG/REPO; store names keep to the store's rules. */
static void check_reference(const char *text) {
    tl_hub_ref ref;
    tl_error err = {0};
    (void)tl_hub_looks_like_ref(text);
    if (tl_hub_parse_ref(text, &ref, &err) != TL_OK) {
        check_one_line(&err);
        return;
    }
    if (!strchr(ref.repo, '/')) abort();
    char name[700], canonical[256];
    if (tl_hub_store_name(text, name, sizeof name, &err) == TL_OK)
        (void)tl_store_canonical_name(name, canonical, sizeof canonical, NULL);
    else
        check_one_line(&err);
}

/* The files `ref_text` selects from the listing: valid, distinct indices of GGUF files. */
static void check_selection(const char *ref_text, const hub_file_list *list) {
    tl_hub_ref ref;
    tl_error err = {0};
    if (tl_hub_parse_ref(ref_text, &ref, &err) != TL_OK) return;
    int chosen[MAX_CHOSEN], n_chosen = -1;
    if (tl_hub_select_files(&ref, list->files, list->n, chosen, MAX_CHOSEN, &n_chosen, &err) != TL_OK) {
        check_one_line(&err);
        return;
    }
    if (n_chosen < 1 || n_chosen > MAX_CHOSEN) abort();
    for (int i = 0; i < n_chosen; i++) {
        if (chosen[i] < 0 || chosen[i] >= list->n) abort();
        for (int j = 0; j < i; j++)
            if (chosen[j] == chosen[i]) abort();
    }
}

static void check_files(const hub_file_list *list) {
    for (int i = 0; i < list->n; i++) {
        char tag[48], small[4];
        if (tl_hub_quant_tag(list->files[i].path, tag, sizeof tag) && !tag[0]) abort();
        (void)tl_hub_quant_tag(list->files[i].path, small, sizeof small);
        if (list->files[i].sha256 && strlen(list->files[i].sha256) != 64) abort();
    }
    static const char *const refs[] = {"o/r", "o/r:Q4_K_M", "o/r:q8_0", "o/r:F16", "phi3:mini", "qwen2.5:0.5b"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) check_selection(refs[i], list);
    if (list->n > 0 && strlen(list->files[0].path) < 500) {
        char ref[520];
        snprintf(ref, sizeof ref, "o/r/%s", list->files[0].path);
        check_selection(ref, list);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const char *blank = NULL;
    for (size_t i = 0; i + 1 < size && !blank; i++)
        if (text[i] == '\n' && text[i + 1] == '\n') blank = text + i;
    const size_t head_len = blank ? (size_t)(blank - text) : size;

    /* Headers, as libcurl hands them: one line at a time, with its end of line. */
    hub_response response;
    memset(&response, 0, sizeof response);
    size_t first_len = head_len;
    for (size_t start = 0; start < head_len;) {
        const char *nl = memchr(text + start, '\n', head_len - start);
        const size_t end = nl ? (size_t)(nl - text) + 1 : head_len;
        if (start == 0) first_len = nl ? end - 1 : end;
        hub_parse_header(&response, text + start, end - start);
        start = end;
    }
    if (strnlen(response.link_next, sizeof response.link_next) == sizeof response.link_next ||
        strnlen(response.error_code, sizeof response.error_code) == sizeof response.error_code ||
        strnlen(response.linked_etag, sizeof response.linked_etag) == sizeof response.linked_etag ||
        strnlen(response.repo_commit, sizeof response.repo_commit) == sizeof response.repo_commit)
        abort();

    char *first = malloc(first_len + 1);
    if (!first) return 0;
    memcpy(first, text, first_len);
    first[first_len] = '\0';
    check_reference(first);
    free(first);

    /* The body: the revision endpoint's object and a tree page. */
    const size_t body_len = blank ? size - head_len - 2 : 0;
    char *body = malloc(body_len + 1);
    if (!body) return 0;
    if (body_len) memcpy(body, blank + 2, body_len);
    body[body_len] = '\0';
    tl_error err = {0};
    char commit[128];
    if (hub_parse_commit("fuzz", body, commit, sizeof commit, &err) == TL_OK) {
        if (strcmp(commit, "main") != 0 && !is_lower_hex(commit)) abort();
    } else {
        check_one_line(&err);
    }
    hub_file_list list = {0};
    if (hub_parse_tree_page("fuzz", body, &list, &err) == TL_OK)
        check_files(&list);
    else
        check_one_line(&err);
    hub_file_list_free(&list);
    free(body);
    return 0;
}
