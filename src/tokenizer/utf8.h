/*
 * utf8.h — the small amount of UTF-8 handling the tokenizers need, and the
 * GPT-2 byte-level alphabet.
 *
 * Decoding is deliberately as lenient as llama.cpp's: it does not reject
 * overlong forms or surrogates, and a byte that cannot start a well-formed
 * sequence decodes to U+FFFD and consumes one byte, so invalid input never
 * stops a tokenizer. Text that leaves the library (the detokenizer's
 * output, the server's JSON) is read strictly instead: tl_utf8_strict and
 * tl_utf8_sanitize replace what is not UTF-8 with U+FFFD.
 *
 * Byte-level BPE (GPT-2) stores every byte as a printable character: bytes
 * that are already printable Latin-1 keep their code point, the other 68
 * (controls, space, 0x7F-0xA0, 0xAD) become U+0100 + n in byte order.
 */
#ifndef TL_TOKENIZER_UTF8_H
#define TL_TOKENIZER_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length of the UTF-8 sequence a lead byte announces (1 for stray bytes). */
size_t tl_utf8_len(unsigned char lead);

/* Length of the character at s[0..n) for splitting text into symbols: the
 * lead byte's length when the continuation bytes are there, else 1, so that
 * a stray byte never swallows the characters after it. Equal to tl_utf8_len
 * on valid UTF-8. */
size_t tl_utf8_char_len(const char *s, size_t n);

/* Decode one code point from s[0..n) (n >= 1); returns the bytes consumed. */
size_t tl_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Encode cp (<= 0x10FFFF) into out[0..4); returns the byte count (0 if cp
 * is out of range). */
size_t tl_utf8_encode(uint32_t cp, char out[4]);

/* Strict (WHATWG / Unicode "maximal subpart") reading of the sequence at
 * s[0..n), n >= 1, for text that leaves the library: returns
 *   > 0: the length of a well-formed character (no overlongs, surrogates or
 *        code points past U+10FFFF), with *bad false;
 *   > 0 with *bad true: the length of an ill-formed subsequence that stands
 *        for one U+FFFD (a stray byte, or a lead byte and the continuation
 *        bytes that were still allowed after it);
 *   0: s[0..n) is the start of a character that more bytes could complete. */
size_t tl_utf8_strict(const char *s, size_t n, bool *bad);

/* Copies s[0..n) to out as valid UTF-8, each ill-formed subsequence (and,
 * when `final`, an incomplete character at the end) replaced by U+FFFD.
 * out needs room for 3 * n bytes. Returns the bytes written; *used gets the
 * input bytes consumed (less than n only when not final and the input ends
 * inside a character, which is left for the next call). */
size_t tl_utf8_sanitize(const char *s, size_t n, bool final, char *out, size_t *used);

/* True when s[0..n) is valid UTF-8 as tl_utf8_strict reads it. */
bool tl_utf8_valid(const char *s, size_t n);

/* GPT-2 byte-level alphabet: the UTF-8 text (1 or 2 bytes) standing for a
 * byte, and its length. */
const char *tl_byte_to_unicode(uint8_t byte, size_t *len);
/* The byte a code point stands for, or -1 if it is not in the alphabet. */
int tl_unicode_to_byte(uint32_t cp);

#endif /* TL_TOKENIZER_UTF8_H */
