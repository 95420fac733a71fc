/*
 * sha256.c — SHA-256 of bytes and of files, through OpenSSL's libcrypto (EVP):
 * the content address of the store's model files (store.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "store/store.h"
#include "util/error.h"

struct tl_sha256 {
    EVP_MD_CTX *ctx;
};

tl_sha256 *tl_sha256_new(void) {
    tl_sha256 *h = malloc(sizeof *h);
    if (!h) return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h->ctx);
        free(h);
        return NULL;
    }
    return h;
}

void tl_sha256_update(tl_sha256 *h, const void *data, size_t n) {
    if (n) EVP_DigestUpdate(h->ctx, data, n);
}

void tl_sha256_final(tl_sha256 *h, char hex[65]) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, digest, &n);
    for (unsigned int i = 0; i < n && i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    hex[64] = 0;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

tl_status tl_sha256_file(const char *path, char hex[65], tl_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return tl_fail(err, TL_ERR_IO, "%s: %s", path, strerror(errno));
    tl_sha256 *h = tl_sha256_new();
    unsigned char *chunk = malloc(1 << 20);
    if (!h || !chunk) {
        if (h) tl_sha256_final(h, hex);
        free(chunk);
        fclose(fp);
        return tl_fail(err, TL_ERR_NOMEM, "out of memory");
    }
    size_t got;
    while ((got = fread(chunk, 1, 1 << 20, fp)) > 0) tl_sha256_update(h, chunk, got);
    const bool failed = ferror(fp);
    fclose(fp);
    free(chunk);
    tl_sha256_final(h, hex);
    if (failed) return tl_fail(err, TL_ERR_IO, "%s: read error", path);
    return TL_OK;
}
