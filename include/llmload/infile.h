/*
 * infile.h - a whole file read into memory, with a cap: what `llmload report`, `compare` and
 * `merge` load (report.json, a shard's requests.csv). The reading half of outfile.h's writing.
 */
#ifndef LLMLOAD_INFILE_H
#define LLMLOAD_INFILE_H

#include <stddef.h>

/* The larger files are refused by their size, not read: a report of a million requests is about
 * 200 MB of requests.csv. */
#define INFILE_MAX ((size_t)1 << 31)

/* Reads path whole into *out (NUL-terminated; caller frees with free()), its length in *len.
 * 0, or LL_ENOENT / LL_EIO (cannot open or read), LL_EOVERSIZE (past max bytes) or LL_ENOMEM, with
 * one line in err naming the file. */
int infile_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

#endif
