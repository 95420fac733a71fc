/*
 * number_text.h — numbers written for people, in error messages and
 * settings: a whole number as a whole number ("1048576", not "1.04858e+06"),
 * anything else with as few digits as give the value back exactly
 * ("0.95", not "0.949999988").
 */
#ifndef TL_NUMBER_TEXT_H
#define TL_NUMBER_TEXT_H

#define TL_NUMBER_TEXT_SIZE 40

/* Writes v into out (TL_NUMBER_TEXT_SIZE bytes) and returns out. */
const char *tl_number_text(double v, char *out);
/* The same for a value held as a float: the fewest digits that read back as
 * that float, so 0.2f prints as "0.2". */
const char *tl_float_text(float v, char *out);

#endif /* TL_NUMBER_TEXT_H */
