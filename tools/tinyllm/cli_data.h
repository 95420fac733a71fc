/*
 * cli_data.h — finding the data files the CLI uses but does not carry (the
 * vocabularies `tinyllm synth` copies), wherever tinyllm runs from.
 */
#ifndef TL_CLI_DATA_H
#define TL_CLI_DATA_H

#include <stdbool.h>
#include <stddef.h>

/* The message for a data file found nowhere: what the user can set. */
#define CLI_DATA_HINT "set TINYLLM_SHARED to the folder holding tokenizers/ (or install with cmake --install)"

/* Finds `relative` (e.g. "tokenizers/gemma3/tokenizer.json") in the first of
 * these folders that has it, and writes its path to buf:
 *   1. $TINYLLM_SHARED;
 *   2. the build's TL_SHARED_DIR, when this binary is the one in the build tree;
 *   3. the installed data folder (DATADIR/tinyllm, found beside the binary's
 *      bin/ folder, then at the configured install prefix), which
 *      `cmake --install` fills from TL_SHARED_DIR;
 *   4. ../shared, relative to the current directory.
 * False when none has it (or the path does not fit in buf). */
bool cli_find_shared_file(const char *relative, char *buf, size_t size);

#endif /* TL_CLI_DATA_H */
