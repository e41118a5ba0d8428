/*
 * text.h - text from the server made safe to print and store (record -> every report). Error
 * bodies, messages and model names are the server's bytes: they may be invalid UTF-8 or carry a
 * terminal's escape sequences. text_sanitize turns them into valid UTF-8 without control
 * characters once, where they enter llmload, so the console, report.json, the CSVs, report.html
 * and metrics.prom all receive clean text. Allocates nothing.
 */
#ifndef LLMLOAD_TEXT_H
#define LLMLOAD_TEXT_H

#include <stddef.h>

/* Copies len bytes of src into dst (cap > 0 bytes, always NUL-terminated): valid UTF-8 is kept;
 * each invalid byte (a stray continuation, an overlong form, a surrogate, past U+10FFFF, a
 * sequence cut short) becomes U+FFFD; control characters (C0 including tab, newline and ESC,
 * DEL, C1 including CSI) and NUL become a space. A character that does not fit is left out whole,
 * never cut. Returns the bytes written, without the NUL. src and dst must not overlap. */
size_t text_sanitize(char *dst, size_t cap, const char *src, size_t len);

/* 1 when the len bytes at s are already what text_sanitize would give (valid UTF-8, no control
 * characters), else 0. */
int text_is_clean(const char *s, size_t len);

/* Decodes the inside of a JSON string (the bytes between its quotes, as chunk_scan gives a server's
 * error message) into dst (cap > 0 bytes, always NUL-terminated): \" \\ \/ \b \f \n \r \t and
 * \uXXXX (surrogate pairs joined; a lone surrogate becomes U+FFFD) become the characters they
 * stand for, so a message reads as the server meant it ("prompt \"x\" too long" shows as
 * `prompt "x" too long`). A malformed escape is copied as it stands. A character that does not fit
 * is left out whole. Returns the bytes written, without the NUL; text_sanitize the result before
 * it is shown (a decoded \n is a control character). src and dst must not overlap. */
size_t text_json_unescape(char *dst, size_t cap, const char *src, size_t len);

#endif
