/*
 * args.h — a small table-driven command-line parser shared by every
 * `tinyllm` command.
 *
 * A command lists its options in an array of tl_opt; tl_args_parse walks
 * argv, stores typed values, collects positional arguments and rejects
 * unknown options or bad values with one line naming the option. The same
 * table prints the command's --help.
 */
#ifndef TL_ARGS_H
#define TL_ARGS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum tl_opt_kind {
    TL_OPT_FLAG,   /* bool, no value */
    TL_OPT_INT,    /* int32_t */
    TL_OPT_UINT64, /* uint64_t */
    TL_OPT_FLOAT,  /* float */
    TL_OPT_STRING, /* const char * (points into argv) */
    TL_OPT_LIST,   /* tl_opt_list: every occurrence is kept */
} tl_opt_kind;

#define TL_OPT_LIST_MAX 256
typedef struct tl_opt_list {
    const char *items[TL_OPT_LIST_MAX];
    int n;
} tl_opt_list;

typedef struct tl_opt {
    const char *short_name; /* "-m" or NULL */
    const char *long_name;  /* "--model" or NULL */
    tl_opt_kind kind;
    void *value;
    const char *value_name; /* "FILE", "N"... for help */
    const char *help;
    bool *seen;      /* optional: set when the option was given */
    double min, max; /* numeric range, checked when min < max */
} tl_opt;

typedef struct tl_command_spec {
    const char *name;    /* "run" */
    const char *usage;   /* "-m FILE (-p TEXT | -f FILE) [options]" */
    const char *summary; /* one line */
    const tl_opt *opts;
    int n_opts;
} tl_command_spec;

typedef enum tl_args_result {
    TL_ARGS_OK,
    TL_ARGS_HELP,  /* --help was printed: exit 0 */
    TL_ARGS_ERROR, /* an error was printed: exit 1 */
} tl_args_result;

/* Parses argv[1..argc) (argv[0] is the command name). Positional arguments
 * are stored in positional[] (at most max_positional, more is an error). */
tl_args_result tl_args_parse(const tl_command_spec *spec, int argc, char **argv, const char **positional,
                             int max_positional, int *n_positional);
void tl_args_print_help(const tl_command_spec *spec);

/* Print "tinyllm CMD: message" to stderr. */
void tl_cli_error(const char *command, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* TL_ARGS_H */
