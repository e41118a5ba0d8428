/*
 * runsig.c - the run's stop signals, blocked by every thread that is not a load loop
 * (include/llmload/runsig.h says why).
 */
#include "llmload/runsig.h"

#include <pthread.h>

void runsig_block(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}
