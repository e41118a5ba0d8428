/*
 * outfile.h - report files written whole or not at all (report stage, below every writer). A set
 * of files in one directory is written to temporaries beside their final names, each created
 * exclusively (O_CREAT|O_EXCL|O_NOFOLLOW: a planted file or symlink is never opened or followed),
 * flushed to the disk (fflush + fsync), and renamed into place only when every file of the set was
 * written. On any failure every temporary is removed, so an earlier run's files are never mixed
 * with a new run's and no file is ever left cut short.
 */
#ifndef LLMLOAD_OUTFILE_H
#define LLMLOAD_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

/* Files one set can hold (the five reports of a run, with room to spare). */
#define OUTFILE_MAX 8

typedef struct outfile_set outfile_set;

/* A set of files in dir (copied). *out owned by caller (outfile_destroy). 0, LL_ENOMEM or
 * LL_EUSAGE (dir too long), with one line in err. */
int outfile_create(outfile_set **out, const char *dir, char *err, size_t errlen);

/* Starts file name (a plain file name, no '/') as a new temporary in the set's directory. *f is
 * borrowed, valid until outfile_end. 0, LL_EIO or LL_EOVERSIZE (set full), with err
 * "cannot create DIR/NAME: reason". */
int outfile_begin(outfile_set *s, const char *name, FILE **f, char *err, size_t errlen);

/* Finishes the file outfile_begin started: writer_rc is what its writer returned. Flushes, syncs
 * and closes it. 0, or LL_EIO / writer_rc with err "cannot write DIR/NAME: reason" (the
 * operating system's reason, e.g. "No space left on device"). */
int outfile_end(outfile_set *s, int writer_rc, char *err, size_t errlen);

/* Renames every finished temporary to its final name (replacing a file or symlink of that name,
 * never following it), then syncs the directory. 0 or LL_EIO with err. */
int outfile_commit(outfile_set *s, char *err, size_t errlen);

/* Removes the temporaries not committed and frees s. NULL is a no-op. */
void outfile_destroy(outfile_set *s);

/* Checks before a run that dir's files can be written: creates and removes one temporary. 0 or
 * LL_EIO with err "cannot write in DIR: reason". */
int outfile_probe(const char *dir, char *err, size_t errlen);

#endif
