/*
 * fuzz_store.c — fuzz target: the model store's manifests as they are read
 * back (src/store/store.h): a manifest file with any content, found by name,
 * listed, copied under a second name and used as the base of a new model,
 * and user-given model names turned into their canonical form.
 *
 * Input: a model name, '\n', then the manifest (JSON text, written as the
 * store's manifest of "fuzz:latest"). Without a '\n' the whole input is the
 * manifest. The store is a scratch folder made once; every input leaves it
 * with only that manifest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_support.h"
#include "store/store.h"

static tl_store *store;
static const char *manifest_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    tl_error err = {0};
    if (tl_store_open(fuzz_scratch_path("models"), &store, &err) != TL_OK) fuzz_die("%s", err.message);
    manifest_path = fuzz_scratch_path("models/manifests/fuzz:latest.json");
    return 0;
}

static void check_one_line(const tl_error *err) {
    if (!err->message[0] || strchr(err->message, '\n')) abort();
}

/* A name the store accepts never climbs out of its folder. */
static void check_name(const char *name) {
    char canonical[256];
    tl_error err = {0};
    if (tl_store_canonical_name(name, canonical, sizeof canonical, &err) != TL_OK) {
        check_one_line(&err);
        return;
    }
    if (!strchr(canonical, ':') || canonical[0] == '.' || canonical[0] == '/' || strstr(canonical, "/.") ||
        strstr(canonical, "//") || strchr(canonical, '%'))
        abort();
    tl_store_entry entry;
    if (tl_store_find(store, name, &entry)) tl_store_entry_free(&entry);
}

/* A found entry is whole: its sha256 is 64 lowercase hex digits, its paths set. */
static bool check_found(const char *name) {
    tl_store_entry entry;
    if (!tl_store_find(store, name, &entry)) return false;
    if (!entry.name || !entry.model_path || !entry.manifest_json || !entry.sha256 || strlen(entry.sha256) != 64 ||
        strspn(entry.sha256, "0123456789abcdef") != 64)
        abort();
    tl_store_entry_free(&entry);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    if (nl) {
        char *name = malloc((size_t)(nl - text) + 1);
        if (!name) return 0;
        memcpy(name, text, (size_t)(nl - text));
        name[nl - text] = '\0';
        check_name(name);
        free(name);
        size -= (size_t)(nl - text) + 1;
        text = nl + 1;
    }
    FILE *f = fopen(manifest_path, "wb");
    if (!f || (size && fwrite(text, 1, size, f) != size)) fuzz_die("cannot write %s", manifest_path);
    fclose(f);

    tl_error err = {0};
    const bool found = check_found("fuzz");
    char **names = NULL;
    int n = 0;
    if (tl_store_list(store, &names, &n, &err) != TL_OK || n != 1 || strcmp(names[0], "fuzz:latest") != 0) abort();
    tl_store_names_free(names, n);

    /* A second name, and a model made from it: as readable as the first; then gone again. */
    if (tl_store_copy(store, "fuzz", "copy", &err) == TL_OK) {
        if (!found || !check_found("copy") || tl_store_remove(store, "copy", &err) != TL_OK) abort();
    } else {
        check_one_line(&err);
    }
    if (tl_store_create(store, "made", "fuzz", "system", "{{ messages }}", "{\"temperature\": 0.5}", &err) == TL_OK) {
        if (!found || !check_found("made") || tl_store_remove(store, "made", &err) != TL_OK) abort();
    } else {
        check_one_line(&err);
    }
    unlink(manifest_path);
    return 0;
}
