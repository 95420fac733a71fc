/*
 * cli_model_ref.c — what `-m X` names: a GGUF file, else a model of the store
 * (src/store/store.h; docs/models.md). An existing file path always wins; a
 * name that is in neither place goes to cli_model_missing (a hook, NULL
 * here: "not found") and then is an error naming the store folder.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "store/store.h"

cli_model_missing_fn cli_model_missing = NULL;

/* The store, if its folder exists (looking a name up creates nothing). */
static tl_store *existing_store(char *dir, size_t dir_size) {
    tl_error err = {0};
    struct stat st;
    tl_store *store = NULL;
    if (tl_store_default_dir(dir, dir_size, &err) != TL_OK) return NULL;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || tl_store_open(dir, &store, &err) != TL_OK) return NULL;
    return store;
}

/* A reference written as a path ("/x", "./x", "../x", "~/x", "X.gguf") is
 * a file that is missing, not a model to fetch. */
static bool looks_like_path(const char *ref) {
    const size_t n = strlen(ref);
    return ref[0] == '/' || ref[0] == '~' || strncmp(ref, "./", 2) == 0 || strncmp(ref, "../", 3) == 0 ||
           (n > 5 && strcasecmp(ref + n - 5, ".gguf") == 0);
}

char *cli_model_path(const char *command, const char *ref) {
    return cli_model_resolve(command, ref, NULL);
}

char *cli_model_resolve(const char *command, const char *ref, char **manifest_json) {
    if (manifest_json) *manifest_json = NULL;
    if (!ref || !*ref) {
        tl_cli_error(command, "no model given: use -m FILE or -m NAME (a model of the store: tinyllm list)");
        return NULL;
    }
    struct stat st;
    if (stat(ref, &st) == 0) return strdup(ref);
    const int file_errno = errno;

    char dir[4096] = "";
    char canonical[256];
    tl_error err = {0};
    tl_store *store = existing_store(dir, sizeof dir);
    tl_store_entry entry;
    bool found = store && tl_store_find(store, ref, &entry);
    /* The hook where a model that is not in the store may be fetched into it. */
    if (!found && cli_model_missing && !looks_like_path(ref) &&
        tl_store_canonical_name(ref, canonical, sizeof canonical, NULL) == TL_OK) {
        if (!store) store = cli_open_store(command, NULL);
        if (!store) return NULL;
        if (!cli_model_missing(command, store, canonical, &err)) {
            tl_cli_error(command, "%s", err.message);
            tl_store_close(store);
            return NULL;
        }
        found = tl_store_find(store, canonical, &entry);
    }
    tl_store_close(store);
    if (found) {
        char *path = strdup(entry.model_path);
        if (manifest_json) {
            *manifest_json = entry.manifest_json; /* taken from the entry */
            entry.manifest_json = NULL;
        }
        tl_store_entry_free(&entry);
        return path;
    }
    const char *where = dir[0] ? dir : "(none: set TINYLLM_MODELS)";
    if (file_errno == ENOENT && !looks_like_path(ref))
        tl_cli_error(command, "'%s' is neither a file nor a model in the store %s (tinyllm list shows its models)", ref,
                     where);
    else
        tl_cli_error(command, "%s: cannot open: %s; not a model in the store %s either", ref, strerror(file_errno),
                     where);
    return NULL;
}
