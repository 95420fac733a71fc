/*
 * cmd_cp.c — `tinyllm cp SRC DST`: a second name for a model of the store
 * (its settings too); the model file is shared, not copied.
 */
#include <stdio.h>

#include "cli.h"
#include "store/store.h"

int cmd_cp(int argc, char **argv) {
    const char *dir = NULL;
    const tl_opt opts[] = {
        {NULL, "--models", TL_OPT_STRING, &dir, "DIR", "the store folder (default: $TINYLLM_MODELS, ...)", NULL, 0, 0},
    };
    const tl_command_spec spec = {"cp", "SRC DST [--models DIR]",
                                  "Copy a model of the store to a new name (replacing DST if it exists). The model\n"
                                  "file is shared: this costs no disk space.",
                                  opts, 1};
    const char *names[2];
    int n = 0;
    tl_args_result r = tl_args_parse(&spec, argc, argv, names, 2, &n);
    if (r != TL_ARGS_OK) return r == TL_ARGS_HELP ? 0 : 1;
    if (n != 2) {
        tl_cli_error("cp", "expected SRC and DST: tinyllm cp SRC DST");
        return 1;
    }
    tl_store *store = cli_open_store("cp", dir);
    if (!store) return 1;
    tl_error err = {0};
    const tl_status st = tl_store_copy(store, names[0], names[1], &err);
    if (st != TL_OK)
        tl_cli_error("cp", "%s", err.message);
    else
        printf("copied '%s' to '%s'\n", names[0], names[1]);
    tl_store_close(store);
    return st == TL_OK ? 0 : 1;
}
