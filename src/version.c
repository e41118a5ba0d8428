/*
 * version.c - the tool's version string, stamped by the Makefile from BASE_VERSION and git describe.
 */
#include "llmload/version.h"

#ifndef LLMLOAD_VERSION
#define LLMLOAD_VERSION "0.1.0"
#endif
#ifndef LLMLOAD_GIT
#define LLMLOAD_GIT "unknown"
#endif

const char *version_string(void) { return LLMLOAD_VERSION; }
const char *version_git(void) { return LLMLOAD_GIT; }
