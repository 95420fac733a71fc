/*
 * number_text.c — numbers written for people (see number_text.h).
 */
#include "util/number_text.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Whole numbers up to 2^53 are exact in a double: print all their digits. */
static bool write_whole(double v, char *out) {
    if (!(fabs(v) <= 9007199254740992.0) || v != floor(v)) return false;
    snprintf(out, TL_NUMBER_TEXT_SIZE, "%.0f", v == 0 ? 0.0 : v); /* no "-0" */
    return true;
}

const char *tl_number_text(double v, char *out) {
    if (write_whole(v, out)) return out;
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(out, TL_NUMBER_TEXT_SIZE, "%.*g", digits, v);
        if (strtod(out, NULL) == v) break;
    }
    return out;
}

const char *tl_float_text(float v, char *out) {
    if (write_whole(v, out)) return out;
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(out, TL_NUMBER_TEXT_SIZE, "%.*g", digits, (double)v);
        if (strtof(out, NULL) == v) break;
    }
    return out;
}
