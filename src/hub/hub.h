/*
 * hub.h — getting models from the Hugging Face Hub (libtinyllm_hub.a, over
 * libcurl): what a reference names, which files of a repository it means,
 * and downloading them into the model store (store/store.h).
 *
 * References: "hf.co/ORG/REPO[:QUANT]", "huggingface.co/ORG/REPO[:QUANT]",
 * "ORG/REPO[:QUANT]", "ORG/REPO/FILE.gguf", or a short name of the built-in
 * catalogue ("qwen2.5:0.5b", "llama3.2:1b", ...; tl_hub_catalogue).
 *
 * The Hub's HTTP API as it is: GET {endpoint}/api/models/{repo} (the
 * repository, its commit `sha`, `siblings`), GET
 * {endpoint}/api/models/{repo}/tree/{revision} (files with `size` and
 * `lfs.oid`, the sha256 of LFS files), and GET
 * {endpoint}/{repo}/resolve/{revision}/{file} (302 to a CDN; Range). The
 * endpoint is `HF_ENDPOINT` or https://huggingface.co; `HF_TOKEN` is sent as
 * "Authorization: Bearer" to the endpoint's host only (never to a CDN on
 * another host). docs/models.md, "Pulling models", says more. Not part of the
 * runtime library's API.
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

/* What a reference names (tl_hub_parse_ref). */
typedef struct tl_hub_ref {
    char repo[200];             /* "ORG/REPO" */
    char quant[48];             /* the quantization tag asked for ("Q4_K_M"), "" for the default */
    char file[400];             /* "FILE.gguf" (a path in the repository) for ORG/REPO/FILE.gguf, else "" */
    char default_quant[48];     /* a catalogue entry's default tag, else "" */
    const char *catalogue_name; /* the catalogue entry's name ("qwen2.5:0.5b"), or NULL */
} tl_hub_ref;

/* Parses a reference; TL_ERR_ARGUMENT with a one-line message (naming the
 * reference and what is wrong) for a malformed one. */
tl_status tl_hub_parse_ref(const char *ref, tl_hub_ref *out, tl_error *err);

/* True when `name` reads as a Hub reference or a catalogue name (what
 * `tinyllm run NAME` may pull on first use), false for anything else. */
bool tl_hub_looks_like_ref(const char *name);

/* The store name a pull of `ref_text` is kept under: the reference as given
 * (without "https://"), in the store's canonical form (":latest" when it
 * has no tag), so that `tinyllm run REF` finds what `tinyllm pull REF` added:
 * "hf.co/ORG/REPO:Q4_K_M", "ORG/REPO:latest", "qwen2.5:0.5b". */
tl_status tl_hub_store_name(const char *ref_text, char *out, size_t out_size, tl_error *err);

/* The quantization tag in a GGUF file's name ("Q4_K_M" for
 * "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf", "F16", "IQ4_XS"...), upper-cased,
 * into out; false when the name has none. */
bool tl_hub_quant_tag(const char *file_name, char *out, size_t out_size);

/* A file of a repository, as its tree listing gives it. */
typedef struct tl_hub_file {
    const char *path;   /* "Q8_0/model-00001-of-00002.gguf" */
    int64_t size;       /* bytes */
    const char *sha256; /* lfs.oid (64 hex digits), or NULL for a file not in LFS */
} tl_hub_file;

/* Which files of a repository `ref` means: indices into files[0..n_files)
 * written to chosen[] (every part of a split GGUF, in order; at most
 * max_chosen) and their count to *n_chosen. mmproj files are never chosen.
 * Errors (one line): no GGUF file, no file for the tag (listing the tags
 * there are), no such file, a split file with parts missing. */
tl_status tl_hub_select_files(const tl_hub_ref *ref, const tl_hub_file *files, int n_files, int *chosen, int max_chosen,
                              int *n_chosen, tl_error *err);

/* The i-th entry of the built-in catalogue, or false past its end. */
typedef struct tl_hub_catalogue_entry {
    const char *name;    /* "qwen2.5:0.5b" */
    const char *repo;    /* "Qwen/Qwen2.5-0.5B-Instruct-GGUF" */
    const char *quant;   /* default quantization tag, "Q4_K_M" where the repository has it */
    const char *summary; /* one line for `tinyllm pull --help` / `list --catalogue` */
} tl_hub_catalogue_entry;
bool tl_hub_catalogue(int i, tl_hub_catalogue_entry *entry);

#endif /* TL_HUB_H */
