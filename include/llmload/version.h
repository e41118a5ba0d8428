/*
 * version.h - the release version ("0.1.0", what report.json's tool.version carries) and the
 * git description of the build (for --version). Both static strings.
 */
#ifndef LLMLOAD_VERSION_H
#define LLMLOAD_VERSION_H

const char *version_string(void);
const char *version_git(void);

#endif
