/*
 * ref.c — what a reference to a model on the Hub names: hf.co/ORG/REPO[:TAG],
 * huggingface.co/ORG/REPO[:TAG] (with or without https://), ORG/REPO[:TAG],
 * ORG/REPO/FILE.gguf, or a catalogue name; and the store name a pull keeps
 * it under. Malformed references are refused here, before any network use.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hub.h"
#include "util/error.h"

/* The Hub's rule for a user or repository name: letters, digits, '-', '_',
 * '.', not starting or ending with '-' or '.', no "--" or "..", at most 96. */
static bool valid_name_part(const char *s, size_t n) {
    if (n == 0 || n > 96) return false;
    if (s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.') return false;
        if (i > 0 && (c == '-' || c == '.') && s[i - 1] == c) return false;
    }
    return true;
}

static bool valid_tag(const char *s) {
    if (!*s || strlen(s) >= sizeof(((tl_hub_ref *)0)->quant)) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return false;
    return true;
}

static bool ends_with_gguf(const char *s) {
    size_t n = strlen(s);
    return n > 5 && strcasecmp(s + n - 5, ".gguf") == 0;
}

/* The catalogue entry named `name` ("NAME:latest" for an entry without a
 * tag), or false. Exact, as store names are: `run NAME` finds what
 * `pull NAME` added. */
static bool catalogue_find(const char *name, tl_hub_catalogue_entry *entry) {
    for (int i = 0; tl_hub_catalogue(i, entry); i++) {
        size_t n = strlen(entry->name);
        if (strcmp(name, entry->name) == 0) return true;
        if (!strchr(entry->name, ':') && strncmp(name, entry->name, n) == 0 && strcmp(name + n, ":latest") == 0)
            return true;
    }
    return false;
}

/* The part of `ref` after a Hub host prefix, or ref itself; *had_host tells. */
static const char *strip_host(const char *ref, bool *had_host) {
    static const char *const schemes[] = {"https://", "http://"};
    static const char *const hosts[] = {"hf.co/", "huggingface.co/", "www.huggingface.co/"};
    const char *s = ref;
    bool scheme = false;
    for (size_t i = 0; i < 2; i++)
        if (strncasecmp(s, schemes[i], strlen(schemes[i])) == 0) {
            s += strlen(schemes[i]);
            scheme = true;
            break;
        }
    for (size_t i = 0; i < 3; i++)
        if (strncasecmp(s, hosts[i], strlen(hosts[i])) == 0) {
            *had_host = true;
            return s + strlen(hosts[i]);
        }
    *had_host = false;
    return scheme ? NULL : ref;
}

tl_status tl_hub_parse_ref(const char *ref, tl_hub_ref *out, tl_error *err) {
    memset(out, 0, sizeof *out);
    if (!ref || !*ref) return tl_fail(err, TL_ERR_ARGUMENT, "empty model reference");
    for (const char *c = ref; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '\\')
            return tl_fail(err, TL_ERR_ARGUMENT,
                           "'%s': a model reference cannot contain spaces, control characters or '\\'", ref);
    if (strlen(ref) > 600) return tl_fail(err, TL_ERR_ARGUMENT, "model reference too long (%zu bytes)", strlen(ref));
    tl_hub_catalogue_entry entry;
    if (catalogue_find(ref, &entry)) {
        snprintf(out->repo, sizeof out->repo, "%s", entry.repo);
        snprintf(out->default_quant, sizeof out->default_quant, "%s", entry.quant);
        out->catalogue_name = entry.name;
        return TL_OK;
    }
    bool had_host;
    const char *s = strip_host(ref, &had_host);
    if (!s) return tl_fail(err, TL_ERR_ARGUMENT, "'%s': only huggingface.co or hf.co URLs name models on the Hub", ref);
    const char *slash = strchr(s, '/');
    if (!slash) {
        if (had_host)
            return tl_fail(err, TL_ERR_ARGUMENT, "'%s': expected %.*sORG/REPO[:TAG]", ref, (int)(s - ref), ref);
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "'%s' is not in the catalogue (tinyllm pull --help lists it) and is not ORG/REPO[:TAG]", ref);
    }
    const char *org = s, *repo = slash + 1;
    size_t org_len = (size_t)(slash - s);
    const char *repo_end = repo + strcspn(repo, "/:");
    size_t repo_len = (size_t)(repo_end - repo);
    if (!valid_name_part(org, org_len) || !valid_name_part(repo, repo_len))
        return tl_fail(err, TL_ERR_ARGUMENT,
                       "'%s': ORG and REPO must be letters, digits, '-', '_' or '.' (not first or last, not doubled)",
                       ref);
    snprintf(out->repo, sizeof out->repo, "%.*s/%.*s", (int)org_len, org, (int)repo_len, repo);
    if (*repo_end == ':') {
        const char *tag = repo_end + 1;
        if (!valid_tag(tag))
            return tl_fail(err, TL_ERR_ARGUMENT, "'%s': the tag after ':' must be a quantization such as Q4_K_M", ref);
        if (strcasecmp(tag, "latest") != 0) snprintf(out->quant, sizeof out->quant, "%s", tag);
    } else if (*repo_end == '/') {
        const char *file = repo_end + 1;
        if (strchr(file, ':')) return tl_fail(err, TL_ERR_ARGUMENT, "'%s': give a file or a ':TAG', not both", ref);
        if (!*file || file[0] == '/' || strstr(file, "//") || strstr(file, "..") || strlen(file) >= sizeof out->file)
            return tl_fail(err, TL_ERR_ARGUMENT, "'%s': bad file path in the repository", ref);
        if (!ends_with_gguf(file))
            return tl_fail(err, TL_ERR_ARGUMENT, "'%s': a file of the repository must be a .gguf file", ref);
        snprintf(out->file, sizeof out->file, "%s", file);
    }
    return TL_OK;
}

bool tl_hub_looks_like_ref(const char *name) {
    tl_hub_ref ref;
    tl_error err;
    if (!name || tl_hub_parse_ref(name, &ref, &err) != TL_OK) return false;
    /* "dir/model.gguf" is a path that is not there, not a repository. */
    return ref.catalogue_name || ref.file[0] || !ends_with_gguf(ref.repo);
}

tl_status tl_hub_store_name(const char *ref_text, char *out, size_t out_size, tl_error *err) {
    static const char *const schemes[] = {"https://", "http://"};
    for (size_t i = 0; i < 2; i++)
        if (strncasecmp(ref_text, schemes[i], strlen(schemes[i])) == 0) ref_text += strlen(schemes[i]);
    return tl_store_canonical_name(ref_text, out, out_size, err);
}
