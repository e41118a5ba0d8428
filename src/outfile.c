/*
 * outfile.c - report files written whole or not at all (see include/llmload/outfile.h). Every
 * report writer's output passes through here: a temporary per file, created with O_EXCL|O_NOFOLLOW
 * so nothing planted at its name is followed, fsync'ed, and renamed into place only once the whole
 * set is on disk. Invariant: a failed set leaves no temporary and replaces no earlier file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "llmload/error.h"
#include "llmload/outfile.h"

#define PATH_CAP 4096
/* Names tried when a temporary's name is taken (a stale one, or something planted there). */
#define TEMP_TRIES 100

typedef struct outfile_item {
    char final[PATH_CAP];
    char temp[PATH_CAP];
    int has_temp;
} outfile_item;

struct outfile_set {
    char dir[PATH_CAP];
    outfile_item items[OUTFILE_MAX];
    int n;
    FILE *open; /* the file between outfile_begin and outfile_end, else NULL */
};

int outfile_create(outfile_set **out, const char *dir, char *err, size_t errlen)
{
    *out = NULL;
    outfile_set *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return LL_ENOMEM;
    }
    if (snprintf(s->dir, sizeof s->dir, "%s", dir) >= (int)sizeof s->dir) {
        snprintf(err, errlen, "%.200s...: path too long", dir);
        free(s);
        return LL_EUSAGE;
    }
    *out = s;
    return 0;
}

/* Creates a new temporary for final; its name in temp. An fd, or -1 with errno set. */
static int open_temp(const char *dir, const char *name, char *temp, size_t cap)
{
    for (int i = 0; i < TEMP_TRIES; i++) {
        if (snprintf(temp, cap, "%s/.%s.%d.tmp", dir, name, i) >= (int)cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int outfile_begin(outfile_set *s, const char *name, FILE **f, char *err, size_t errlen)
{
    *f = NULL;
    if (s->n == OUTFILE_MAX || s->open) {
        snprintf(err, errlen, "%s/%s: too many report files at once", s->dir, name);
        return LL_EOVERSIZE;
    }
    outfile_item *it = &s->items[s->n];
    char final[PATH_CAP];
    if (snprintf(final, sizeof final, "%s/%s", s->dir, name) >= (int)sizeof final) {
        snprintf(err, errlen, "%.200s/%s: path too long", s->dir, name);
        return LL_EIO;
    }
    memcpy(it->final, final, sizeof final);
    int fd = open_temp(s->dir, name, it->temp, sizeof it->temp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", it->final, strerror(errno));
        return LL_EIO;
    }
    it->has_temp = 1;
    s->n++;
    s->open = fdopen(fd, "w");
    if (!s->open) {
        snprintf(err, errlen, "cannot write %s: %s", it->final, strerror(errno));
        close(fd);
        return LL_EIO;
    }
    *f = s->open;
    return 0;
}

int outfile_end(outfile_set *s, int writer_rc, char *err, size_t errlen)
{
    if (!s->open)
        return writer_rc;
    outfile_item *it = &s->items[s->n - 1];
    FILE *f = s->open;
    s->open = NULL;
    /* The first failure names the reason: a flush repeats a failed buffered write, so its errno
     * is the operating system's word for it (ENOSPC, EIO, EDQUOT). */
    int e = 0;
    if (fflush(f) != 0)
        e = errno;
    else if (ferror(f))
        e = EIO;
    else if (fsync(fileno(f)) != 0)
        e = errno;
    if (fclose(f) != 0 && !e)
        e = errno;
    if (e) {
        snprintf(err, errlen, "cannot write %s: %s", it->final, strerror(e));
        return LL_EIO;
    }
    if (writer_rc != 0) {
        snprintf(err, errlen, "cannot write %s: %s", it->final, ll_strerror(writer_rc));
        return writer_rc;
    }
    return 0;
}

int outfile_commit(outfile_set *s, char *err, size_t errlen)
{
    if (s->open) {
        snprintf(err, errlen, "%s: a report file is still open", s->dir);
        return LL_ESTATE;
    }
    for (int i = 0; i < s->n; i++) {
        outfile_item *it = &s->items[i];
        if (rename(it->temp, it->final) != 0) {
            snprintf(err, errlen, "cannot rename %s to %s: %s", it->temp, it->final, strerror(errno));
            return LL_EIO;
        }
        it->has_temp = 0;
    }
    /* The renames themselves are durable once the directory is synced (best effort: some file
     * systems refuse fsync on a directory). */
    int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

void outfile_destroy(outfile_set *s)
{
    if (!s)
        return;
    if (s->open)
        fclose(s->open);
    for (int i = 0; i < s->n; i++)
        if (s->items[i].has_temp)
            unlink(s->items[i].temp);
    free(s);
}

int outfile_probe(const char *dir, char *err, size_t errlen)
{
    char temp[PATH_CAP];
    int fd = open_temp(dir, "probe", temp, sizeof temp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write in %s: %s", dir, strerror(errno));
        return LL_EIO;
    }
    close(fd);
    unlink(temp);
    return 0;
}
