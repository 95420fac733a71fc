/*
 * args.c — parsing options from a tl_opt table (see args.h).
 */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/number_text.h"

void tl_cli_error(const char *command, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tinyllm %s: ", command);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *opt_label(const tl_opt *o) {
    return o->long_name ? o->long_name : o->short_name;
}

static bool parse_value(const tl_command_spec *spec, const tl_opt *o, const char *text) {
    char *end = NULL;
    errno = 0;
    double range_value = 0;
    switch (o->kind) {
    case TL_OPT_INT: {
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end || v < INT32_MIN || v > INT32_MAX) {
            tl_cli_error(spec->name, "%s expects an integer, got '%s'", opt_label(o), text);
            return false;
        }
        *(int32_t *)o->value = (int32_t)v;
        range_value = (double)v;
        break;
    }
    case TL_OPT_UINT64: {
        if (text[0] == '-')
            end = (char *)text;
        else {
            unsigned long long v = strtoull(text, &end, 10);
            if (!errno && end != text && !*end) {
                *(uint64_t *)o->value = (uint64_t)v;
                range_value = (double)v;
                break;
            }
        }
        tl_cli_error(spec->name, "%s expects a non-negative integer, got '%s'", opt_label(o), text);
        return false;
    }
    case TL_OPT_FLOAT: {
        float v = strtof(text, &end);
        if (errno || end == text || *end || isnan(v)) {
            tl_cli_error(spec->name, "%s expects a number, got '%s'", opt_label(o), text);
            return false;
        }
        *(float *)o->value = v;
        range_value = v;
        break;
    }
    case TL_OPT_STRING: *(const char **)o->value = text; return true;
    case TL_OPT_LIST: {
        tl_opt_list *list = o->value;
        if (list->n >= TL_OPT_LIST_MAX) {
            tl_cli_error(spec->name, "%s given more than %d times", opt_label(o), TL_OPT_LIST_MAX);
            return false;
        }
        list->items[list->n++] = text;
        return true;
    }
    case TL_OPT_FLAG: break;
    }
    if (o->min < o->max && (range_value < o->min || range_value > o->max)) {
        char min[TL_NUMBER_TEXT_SIZE], max[TL_NUMBER_TEXT_SIZE];
        tl_cli_error(spec->name, "%s must be between %s and %s, got '%s'", opt_label(o), tl_number_text(o->min, min),
                     tl_number_text(o->max, max), text);
        return false;
    }
    return true;
}

static const tl_opt *find_opt(const tl_command_spec *spec, const char *name, size_t len) {
    for (int i = 0; i < spec->n_opts; i++) {
        const tl_opt *o = &spec->opts[i];
        if (o->short_name && strlen(o->short_name) == len && strncmp(o->short_name, name, len) == 0) return o;
        if (o->long_name && strlen(o->long_name) == len && strncmp(o->long_name, name, len) == 0) return o;
    }
    return NULL;
}

tl_args_result tl_args_parse(const tl_command_spec *spec, int argc, char **argv, const char **positional,
                             int max_positional, int *n_positional) {
    *n_positional = 0;
    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || arg[1] == 0 || (arg[1] >= '0' && arg[1] <= '9')) {
            if (*n_positional >= max_positional) {
                tl_cli_error(spec->name, "unexpected argument '%s' (see tinyllm %s --help)", arg, spec->name);
                return TL_ARGS_ERROR;
            }
            positional[(*n_positional)++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = true;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            tl_args_print_help(spec);
            return TL_ARGS_HELP;
        }
        /* --name=value is accepted too. */
        const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const tl_opt *o = find_opt(spec, arg, name_len);
        if (!o) {
            tl_cli_error(spec->name, "unknown option '%.*s' (see tinyllm %s --help)", (int)name_len, arg, spec->name);
            return TL_ARGS_ERROR;
        }
        if (o->seen) *o->seen = true;
        if (o->kind == TL_OPT_FLAG) {
            if (eq) {
                tl_cli_error(spec->name, "%s takes no value", opt_label(o));
                return TL_ARGS_ERROR;
            }
            *(bool *)o->value = true;
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) {
                tl_cli_error(spec->name, "%s needs a value (%s)", opt_label(o), o->value_name);
                return TL_ARGS_ERROR;
            }
            value = argv[++i];
        }
        if (!parse_value(spec, o, value)) return TL_ARGS_ERROR;
    }
    return TL_ARGS_OK;
}

void tl_args_print_help(const tl_command_spec *spec) {
    printf("usage: tinyllm %s %s\n\n%s\n\noptions:\n", spec->name, spec->usage, spec->summary);
    for (int i = 0; i < spec->n_opts; i++) {
        const tl_opt *o = &spec->opts[i];
        char left[64];
        snprintf(left, sizeof left, "%s%s%s%s%s", o->short_name ? o->short_name : "",
                 o->short_name && o->long_name ? ", " : "", o->long_name ? o->long_name : "",
                 o->kind == TL_OPT_FLAG ? "" : " ", o->kind == TL_OPT_FLAG ? "" : o->value_name);
        printf("  %-28s %s\n", left, o->help);
    }
    printf("  %-28s %s\n", "-h, --help", "show this help");
}
