/*
 * select.c — which files of a repository a reference means: the
 * quantization tag in a GGUF file's name (matched case-insensitively, as
 * Ollama's hf.co/ORG/REPO:TAG does), the default when no tag is given, the
 * parts of a split GGUF ("-00001-of-00003"), and mmproj files left out.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hub.h"
#include "util/error.h"

/* The default when the reference names no tag, best first. */
static const char *const preferred_tags[] = {"Q4_K_M", "Q4_K_S", "Q4_0", "IQ4_XS", "IQ4_NL",
                                             "Q5_K_M", "Q5_K_S", "Q6_K", "Q8_0",   "Q3_K_M",
                                             "Q3_K_L", "Q2_K",   "BF16", "F16",    "F32"};

/* Is s[0..n) a quantization tag: I?Q<digits>(_<alnum>+)*, TQ1_0/TQ2_0, F16, F32, BF16, FP16? */
static bool is_tag(const char *s, size_t n) {
    static const char *const floats[] = {"F16", "F32", "BF16", "FP16", "FP32"};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        if (n == strlen(floats[i]) && strncasecmp(s, floats[i], n) == 0) return true;
    size_t i = 0;
    if (i < n && (toupper((unsigned char)s[i]) == 'I' || toupper((unsigned char)s[i]) == 'T')) i++;
    if (i >= n || toupper((unsigned char)s[i]) != 'Q') return false;
    i++;
    size_t digits = i;
    while (i < n && isdigit((unsigned char)s[i])) i++;
    if (i == digits) return false;
    while (i < n) {
        if (s[i] != '_' || i + 1 >= n) return false;
        i++;
        size_t start = i;
        while (i < n && isalnum((unsigned char)s[i])) i++;
        if (i == start) return false;
    }
    return true;
}

/* The file's name without folders, ".gguf" and a split suffix: its length. */
static size_t stem_length(const char *base) {
    size_t n = strlen(base);
    if (n > 5 && strcasecmp(base + n - 5, ".gguf") == 0) n -= 5;
    /* -00001-of-00003 */
    if (n > 15 && base[n - 15] == '-' && strncmp(base + n - 9, "-of-", 4) == 0) n -= 15;
    return n;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

bool tl_hub_quant_tag(const char *file_name, char *out, size_t out_size) {
    const char *base = base_name(file_name);
    size_t n = stem_length(base);
    /* The last token (between '-' or '.') that is a tag, or whose part after
     * a '_' is ("instruct_q4_k_m"). */
    bool found = false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && base[i] != '-' && base[i] != '.') continue;
        for (size_t j = start; j < i; j++) {
            if (j != start && base[j - 1] != '_') continue;
            if (is_tag(base + j, i - j)) {
                size_t len = i - j < out_size - 1 ? i - j : out_size - 1;
                for (size_t k = 0; k < len; k++) out[k] = (char)toupper((unsigned char)base[j + k]);
                out[len] = '\0';
                found = true;
                break;
            }
        }
        start = i + 1;
    }
    return found;
}

/* Split part "-0000K-of-0000N.gguf": K and N, or false. */
static bool split_part(const char *path, int *k, int *n) {
    const char *base = base_name(path);
    size_t len = strlen(base);
    if (len < 20 || strcasecmp(base + len - 5, ".gguf") != 0) return false;
    const char *p = base + len - 20; /* -00001-of-00003.gguf */
    if (p[0] != '-' || strncmp(p + 6, "-of-", 4) != 0) return false;
    for (int i = 0; i < 5; i++)
        if (!isdigit((unsigned char)p[1 + i]) || !isdigit((unsigned char)p[10 + i])) return false;
    *k = atoi(p + 1);
    *n = atoi(p + 10);
    return *k >= 1 && *n >= 1 && *k <= *n;
}

static bool is_gguf_model(const char *path) {
    const char *base = base_name(path);
    size_t n = strlen(base);
    if (n <= 5 || strcasecmp(base + n - 5, ".gguf") != 0) return false;
    for (const char *c = base; *c; c++)
        if (strncasecmp(c, "mmproj", 6) == 0) return false;
    return true;
}

/* Every part of the split GGUF that files[first] belongs to (or just it),
 * in order, into chosen. */
static tl_status collect_parts(const tl_hub_ref *ref, const tl_hub_file *files, int n_files, int first, int *chosen,
                               int max_chosen, int *n_chosen, tl_error *err) {
    int k, n;
    if (!split_part(files[first].path, &k, &n) || n == 1) {
        chosen[0] = first;
        *n_chosen = 1;
        return TL_OK;
    }
    if (n > max_chosen)
        return tl_fail(err, TL_ERR_UNSUPPORTED, "%s: %s is split in %d parts, more than %d", ref->repo,
                       files[first].path, n, max_chosen);
    size_t prefix = strlen(files[first].path) - 20;
    for (int part = 1; part <= n; part++) {
        int found = -1;
        for (int i = 0; i < n_files && found < 0; i++) {
            int pk, pn;
            if (strlen(files[i].path) == prefix + 20 && strncmp(files[i].path, files[first].path, prefix) == 0 &&
                split_part(files[i].path, &pk, &pn) && pk == part && pn == n)
                found = i;
        }
        if (found < 0)
            return tl_fail(err, TL_ERR_FORMAT, "%s: part %d of %d of %.*s is missing from the repository", ref->repo,
                           part, n, (int)prefix, files[first].path);
        chosen[part - 1] = found;
    }
    *n_chosen = n;
    return TL_OK;
}

/* The first (by path) GGUF model file whose tag is `tag`, or -1 (any part
 * of a split GGUF stands for all of them). */
static int find_tag(const tl_hub_file *files, int n_files, const char *tag) {
    int best = -1;
    for (int i = 0; i < n_files; i++) {
        char file_tag[48];
        if (!is_gguf_model(files[i].path) || !tl_hub_quant_tag(files[i].path, file_tag, sizeof file_tag)) continue;
        if (strcasecmp(file_tag, tag) == 0 && (best < 0 || strcmp(files[i].path, files[best].path) < 0)) best = i;
    }
    return best;
}

/* "Q4_K_M, Q8_0, ..." — the distinct tags of the repository's GGUF files. */
static void list_tags(const tl_hub_file *files, int n_files, char *out, size_t out_size) {
    out[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < n_files; i++) {
        char tag[48];
        if (!is_gguf_model(files[i].path) || !tl_hub_quant_tag(files[i].path, tag, sizeof tag)) continue;
        bool listed = false;
        for (int j = 0; j < i && !listed; j++) {
            char other[48];
            listed = is_gguf_model(files[j].path) && tl_hub_quant_tag(files[j].path, other, sizeof other) &&
                     strcmp(other, tag) == 0;
        }
        if (listed) continue;
        int w = snprintf(out + used, out_size - used, "%s%s", used ? ", " : "", tag);
        if (w < 0 || (size_t)w >= out_size - used) break;
        used += (size_t)w;
    }
}

tl_status tl_hub_select_files(const tl_hub_ref *ref, const tl_hub_file *files, int n_files, int *chosen, int max_chosen,
                              int *n_chosen, tl_error *err) {
    *n_chosen = 0;
    if (ref->file[0]) {
        for (int i = 0; i < n_files; i++)
            if (strcmp(files[i].path, ref->file) == 0)
                return collect_parts(ref, files, n_files, i, chosen, max_chosen, n_chosen, err);
        return tl_fail(err, TL_ERR_ARGUMENT, "%s has no file '%s'", ref->repo, ref->file);
    }
    /* any: the first GGUF by path that is whole or a first part; else (only
     * later parts of a split: collect_parts says which part is missing) the
     * first GGUF at all. */
    int any = -1, any_part = -1;
    for (int i = 0; i < n_files; i++)
        if (is_gguf_model(files[i].path)) {
            int k, n;
            if (any_part < 0 || strcmp(files[i].path, files[any_part].path) < 0) any_part = i;
            if ((!split_part(files[i].path, &k, &n) || k == 1) &&
                (any < 0 || strcmp(files[i].path, files[any].path) < 0))
                any = i;
        }
    if (any_part < 0) return tl_fail(err, TL_ERR_FORMAT, "%s has no GGUF model file", ref->repo);
    if (any < 0) any = any_part;
    int found = -1;
    if (ref->quant[0]) {
        found = find_tag(files, n_files, ref->quant);
        if (found < 0) {
            char tags[400];
            list_tags(files, n_files, tags, sizeof tags);
            return tl_fail(err, TL_ERR_ARGUMENT, "%s has no GGUF file for tag '%s' (tags there: %s)", ref->repo,
                           ref->quant, tags[0] ? tags : "none");
        }
    } else {
        if (ref->default_quant[0]) found = find_tag(files, n_files, ref->default_quant);
        for (size_t t = 0; found < 0 && t < sizeof preferred_tags / sizeof preferred_tags[0]; t++)
            found = find_tag(files, n_files, preferred_tags[t]);
        if (found < 0) found = any;
    }
    return collect_parts(ref, files, n_files, found, chosen, max_chosen, n_chosen, err);
}
