/*
 * exitcode.h - the process exit codes, as data (design.md "Exit codes"). Scripts and CI gates
 * depend on these numbers: never renumber.
 */
#ifndef LLMLOAD_EXITCODE_H
#define LLMLOAD_EXITCODE_H

enum exitcode {
    EXIT_OK_ = 0,         /* success */
    EXIT_RUNTIME = 1,     /* unreachable target, unreadable file, I/O error */
    EXIT_USAGE = 2,       /* bad flag, bad profile */
    EXIT_GATE = 3         /* an SLO broken or a regression beyond tolerance */
};

#endif
