/*
 * text_file.c — a whole file as a NUL-terminated string (text_file.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "util/buffer.h"
#include "util/text_file.h"

char *tl_read_text_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    tl_buf text = {0};
    for (;;) {
        if (!tl_buf_reserve(&text, 4096)) {
            tl_buf_free(&text);
            fclose(fp);
            errno = ENOMEM;
            return NULL;
        }
        const size_t got = fread(text.data + text.len, 1, text.cap - text.len - 1, fp);
        text.len += got;
        if (got == 0) break;
    }
    const bool failed = ferror(fp);
    fclose(fp);
    if (failed) {
        tl_buf_free(&text);
        errno = EIO;
        return NULL;
    }
    text.data[text.len] = 0;
    return tl_buf_take(&text);
}
