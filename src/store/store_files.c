/*
 * store_files.c — the file handling under the store: paths in its folder,
 * temporary files, the store lock, atomic writes (temporary name, fsync,
 * rename, fsync of the folder) and hashed copies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_internal.h"
#include "util/error.h"

bool store_path(const tl_store *s, const char *sub, const char *name, char *out, size_t out_size, tl_error *err) {
    const int n =
        sub ? snprintf(out, out_size, "%s/%s/%s", s->dir, sub, name) : snprintf(out, out_size, "%s/%s", s->dir, name);
    if (n < 0 || (size_t)n >= out_size) return tl_fail(err, TL_ERR_ARGUMENT, "%s: path too long", s->dir), false;
    return true;
}

bool store_temp_path(tl_store *s, const char *suffix, char *out, size_t out_size, tl_error *err) {
    char name[96];
    snprintf(name, sizeof name, "%ld-%u.%s", (long)getpid(), s->temp_counter++, suffix);
    return store_path(s, "tmp", name, out, out_size, err);
}

tl_status store_lock(tl_store *s, tl_error *err) {
    while (flock(s->lock_fd, LOCK_EX) != 0)
        if (errno != EINTR) return tl_fail(err, TL_ERR_IO, "%s/lock: %s", s->dir, strerror(errno));
    return TL_OK;
}

void store_unlock(tl_store *s) {
    flock(s->lock_fd, LOCK_UN);
}

tl_status store_sync_dir_of(const char *path, tl_error *err) {
    char dir[STORE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) return TL_OK;
    *slash = 0;
    const int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return tl_fail(err, TL_ERR_IO, "%s: %s", dir, strerror(errno));
    const int rc = fsync(fd);
    close(fd);
    /* Some file systems cannot fsync a folder (EINVAL): nothing to do then. */
    if (rc != 0 && errno != EINVAL) return tl_fail(err, TL_ERR_IO, "%s: %s", dir, strerror(errno));
    return TL_OK;
}

tl_status store_sync_file(const char *path, tl_error *err) {
    const int fd = open(path, O_RDONLY);
    if (fd < 0) return tl_fail(err, TL_ERR_IO, "%s: %s", path, strerror(errno));
    const int rc = fsync(fd);
    close(fd);
    if (rc != 0) return tl_fail(err, TL_ERR_IO, "%s: %s", path, strerror(errno));
    return TL_OK;
}

tl_status store_write_file(tl_store *s, const char *path, const char *text, tl_error *err) {
    char temp[STORE_PATH_MAX];
    if (!store_temp_path(s, "json", temp, sizeof temp, err)) return err ? err->status : TL_ERR_ARGUMENT;
    FILE *fp = fopen(temp, "wb");
    if (!fp) return tl_fail(err, TL_ERR_IO, "%s: %s", temp, strerror(errno));
    const size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, fp) == n && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    const int saved = errno;
    ok = fclose(fp) == 0 && ok;
    if (!ok || rename(temp, path) != 0) {
        const int e = ok ? errno : saved;
        unlink(temp);
        return tl_fail(err, TL_ERR_IO, "%s: %s", path, strerror(e));
    }
    return store_sync_dir_of(path, err);
}

tl_status store_out_write(store_out *o, const void *data, size_t n, tl_error *err) {
    if (n == 0) return TL_OK;
    if (fwrite(data, 1, n, o->fp) != n) return tl_fail(err, TL_ERR_IO, "%s: %s", o->path, strerror(errno));
    tl_sha256_update(o->hash, data, n);
    o->written += n;
    return TL_OK;
}

tl_status store_out_zeros(store_out *o, size_t n, tl_error *err) {
    static const unsigned char zeros[64];
    while (n > 0) {
        const size_t k = n < sizeof zeros ? n : sizeof zeros;
        TL_TRY(store_out_write(o, zeros, k, err));
        n -= k;
    }
    return TL_OK;
}

tl_status store_copy_hashed(const char *from, const char *to, char hex[65], int64_t *size, tl_error *err) {
    FILE *in = fopen(from, "rb");
    if (!in) return tl_fail(err, TL_ERR_IO, "%s: %s", from, strerror(errno));
    store_out out = {.fp = fopen(to, "wb"), .hash = tl_sha256_new(), .path = to};
    unsigned char *chunk = malloc(1 << 20);
    tl_status st = TL_OK;
    if (!out.fp) {
        st = tl_fail(err, TL_ERR_IO, "%s: %s", to, strerror(errno));
    } else if (!out.hash || !chunk) {
        st = tl_fail(err, TL_ERR_NOMEM, "out of memory");
    } else {
        size_t got;
        while (st == TL_OK && (got = fread(chunk, 1, 1 << 20, in)) > 0) st = store_out_write(&out, chunk, got, err);
        if (st == TL_OK && ferror(in)) st = tl_fail(err, TL_ERR_IO, "%s: read error", from);
        if (st == TL_OK && (fflush(out.fp) != 0 || fsync(fileno(out.fp)) != 0))
            st = tl_fail(err, TL_ERR_IO, "%s: %s", to, strerror(errno));
    }
    if (out.fp && fclose(out.fp) != 0 && st == TL_OK) st = tl_fail(err, TL_ERR_IO, "%s: %s", to, strerror(errno));
    fclose(in);
    free(chunk);
    char discard[65];
    if (out.hash) tl_sha256_final(out.hash, st == TL_OK ? hex : discard);
    *size = (int64_t)out.written;
    return st;
}

void store_now_iso(char out[32]) {
    const time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
