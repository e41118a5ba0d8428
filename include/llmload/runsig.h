/*
 * runsig.h - the run's stop signals (SIGINT, SIGTERM, SIGHUP), named in one place.
 *
 * The load loops catch them (libuv signal watchers); every other thread of `llmload run` (the live
 * metrics server, the server-metrics scrapers) blocks them, and cmd_run holds them between
 * benchmarks and while the reports are written, so a signal is never delivered to a thread whose
 * loop will not run again (docs/reliability.md "Signals").
 */
#ifndef LLMLOAD_RUNSIG_H
#define LLMLOAD_RUNSIG_H

#include <signal.h>

/* Fills set with the stop signals and blocks them in the calling thread (pthread_sigmask). */
void runsig_block(sigset_t *set);

#endif
