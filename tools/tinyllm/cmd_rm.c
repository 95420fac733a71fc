/*
 * cmd_rm.c — `tinyllm rm NAME...`: removes names from the store; a model
 * file goes when no name uses it any more.
 */
#include <stdio.h>

#include "cli.h"
#include "store/store.h"

int cmd_rm(int argc, char **argv) {
    const char *dir = NULL;
    const tl_opt opts[] = {
        {NULL, "--models", TL_OPT_STRING, &dir, "DIR", "the store folder (default: $TINYLLM_MODELS, ...)", NULL, 0, 0},
    };
    const tl_command_spec spec = {"rm", "NAME... [--models DIR]",
                                  "Remove models from the store. A model file shared with other names (tinyllm cp)\n"
                                  "stays until its last name is removed.",
                                  opts, 1};
    const char *names[TL_OPT_LIST_MAX];
    int n = 0;
    tl_args_result r = tl_args_parse(&spec, argc, argv, names, TL_OPT_LIST_MAX, &n);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (n == 0) {
        tl_cli_error("rm", "no model given: tinyllm rm NAME...");
        return 1;
    }
    tl_store *store = cli_open_store("rm", dir);
    if (!store) return 1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        tl_error err = {0};
        if (tl_store_remove(store, names[i], &err) != TL_OK) {
            tl_cli_error("rm", "%s", err.message);
            rc = 1;
        } else {
            printf("deleted '%s'\n", names[i]);
        }
    }
    tl_store_close(store);
    return rc;
}
