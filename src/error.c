/*
 * error.c - messages and names for the codes in include/llmload/error.h.
 * Generated from the same X-macro as the enum, so a new code needs one line in one place.
 */
#include "llmload/error.h"

const char *ll_strerror(int code)
{
    switch (code) {
    case LL_OK:
        return "success";
#define LL_ERR_MSG_(name, msg) \
    case LL_##name:            \
        return msg;
        LL_ERRNO_MAP(LL_ERR_MSG_)
#undef LL_ERR_MSG_
    default:
        return "unknown error";
    }
}

const char *ll_errname(int code)
{
    switch (code) {
    case LL_OK:
        return "LL_OK";
#define LL_ERR_NAME_(name, msg) \
    case LL_##name:             \
        return "LL_" #name;
        LL_ERRNO_MAP(LL_ERR_NAME_)
#undef LL_ERR_NAME_
    default:
        return "LL_UNKNOWN";
    }
}
