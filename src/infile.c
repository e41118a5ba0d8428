/*
 * infile.c - read a whole file with a cap (report -> merge/compare/report loading). Invariant: on
 * failure nothing is left allocated and err names the file.
 */
#include "llmload/infile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

int infile_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? LL_ENOENT : LL_EIO;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 131072;
            if (n >= max) {
                snprintf(err, errlen, "%s: larger than its %zu MiB limit", path, max >> 20);
                rc = LL_EOVERSIZE;
                break;
            }
            char *g = realloc(buf, ncap);
            if (!g) {
                snprintf(err, errlen, "%s: out of memory", path);
                rc = LL_ENOMEM;
                break;
            }
            buf = g;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = LL_EIO;
    }
    fclose(f);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}
