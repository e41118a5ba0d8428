/*
 * error.h - the one table of llmload error codes.
 *
 * Every fallible function in llmload returns 0 on success or one of these negative codes.
 * The table is an X-macro (as libuv's UV_ERRNO_MAP) so the enum, ll_strerror() and
 * ll_errname() cannot drift apart. Codes are append-only: scripts and reports may name them.
 */
#ifndef LLMLOAD_ERROR_H
#define LLMLOAD_ERROR_H

#define LL_ERRNO_MAP(X)                                                  \
    X(ENOMEM, "out of memory")                                           \
    X(EINVAL, "invalid argument")                                        \
    X(EIO, "input/output error")                                         \
    X(EPARSE, "malformed input")                                         \
    X(ERANGE, "value out of range")                                      \
    X(EOVERSIZE, "input larger than its limit")                          \
    X(ENOENT, "no such file")                                            \
    X(ECONNECT, "cannot connect to target")                              \
    X(EPROTO, "protocol error")                                          \
    X(EUSAGE, "usage error")                                             \
    X(ESTATE, "operation not valid in this state")                       \
    X(EINTERNAL, "internal error")                                       \
    X(ELIB, "library call failed")

enum {
    LL_OK = 0,
#define LL_ERR_ENUM_(name, msg) LL_##name,
    LL_ERR_FIRST_ = -1000,
    LL_ERRNO_MAP(LL_ERR_ENUM_)
#undef LL_ERR_ENUM_
    LL_ERR_LAST_
};

/* Human message for a code; static string, never NULL ("unknown error" for strangers). */
const char *ll_strerror(int code);
/* Symbolic name ("LL_ENOMEM"); static string, never NULL. */
const char *ll_errname(int code);

#endif
