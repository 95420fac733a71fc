/*
 * text_file.h — reading a whole (small) file into a NUL-terminated string:
 * NAME.json files, manifests, templates.
 */
#ifndef TL_TEXT_FILE_H
#define TL_TEXT_FILE_H

/* The file's bytes and a NUL after them (malloc'd), or NULL with errno set
 * (ENOENT when there is no such file, ENOMEM, EIO for a read error). */
char *tl_read_text_file(const char *path);

#endif /* TL_TEXT_FILE_H */
