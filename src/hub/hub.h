/*
 * hub.h — getting models from the Hugging Face Hub (libtinyllm_hub.a, over
 * libcurl): what a reference names, which files of a repository it means,
 * and downloading them into the model store (store/store.h).
 *
 * References: "hf.co/ORG/REPO[:QUANT]", "huggingface.co/ORG/REPO[:QUANT]",
 * "ORG/REPO[:QUANT]", "ORG/REPO/FILE.gguf", or a short name of the built-in
 * catalogue ("qwen2.5:0.5b", "smollm2:135m", ...; tl_hub_catalogue).
 *
 * The Hub's HTTP API as it is: GET {endpoint}/api/models/{repo} (the
 * repository, its commit `sha`, `siblings`), GET
 * {endpoint}/api/models/{repo}/tree/{revision} (files with `size` and
 * `lfs.oid`, the sha256 of LFS files), and GET
 * {endpoint}/{repo}/resolve/{revision}/{file} (302 to a CDN; Range). The
 * endpoint is `HF_ENDPOINT` or https://huggingface.co; `HF_TOKEN` is sent as
 * "Authorization: Bearer". Not part of the runtime library's API.
 */
#ifndef TL_HUB_H
#define TL_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "tinyllm.h"

/* Progress of a pull, called at most ~10 times a second and once at the end
 * of each phase. `status` is Ollama's pull status text ("pulling manifest",
 * "pulling <sha256 prefix>", "verifying sha256 digest", "writing manifest",
 * "success"); total is 0 when unknown. Returning false cancels the pull. */
typedef bool (*tl_hub_progress_fn)(void *user, const char *status, const char *digest, int64_t completed,
                                   int64_t total);

typedef struct tl_hub_options {
    const char *endpoint; /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *token;    /* NULL: $HF_TOKEN */
    tl_hub_progress_fn progress;
    void *progress_user;
    bool insecure; /* accept any TLS certificate (tests only) */
} tl_hub_options;

/* Pulls `ref` into the store under its canonical name (written to
 * name_out) unless it is there already with the same sha256. Errors are one
 * line each: unknown repository (404), gated or private without a token
 * (401/403), no file for the quantization tag (the tags there are), checksum
 * mismatch (the partial file removed), disk full, no network. */
tl_status tl_hub_pull(tl_store *store, const char *ref, const tl_hub_options *options, char *name_out,
                      size_t name_out_size, tl_error *err);

/* The i-th entry of the built-in catalogue, or false past its end. */
typedef struct tl_hub_catalogue_entry {
    const char *name;    /* "qwen2.5:0.5b" */
    const char *repo;    /* "Qwen/Qwen2.5-0.5B-Instruct-GGUF" */
    const char *quant;   /* default quantization tag, "Q4_K_M" where the repository has it */
    const char *summary; /* one line for `tinyllm pull --help` / `list --catalogue` */
} tl_hub_catalogue_entry;
bool tl_hub_catalogue(int i, tl_hub_catalogue_entry *entry);

#endif /* TL_HUB_H */
