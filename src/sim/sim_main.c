/*
 * sim_main.c - `llmload sim`: the entry of the simulator tree (config -> server -> engine). Parses
 * flags, prepares the process (file-descriptor limit, SIGPIPE) and runs the server.
 * Invariant: exit codes follow include/llmload/exitcode.h (0 clean stop, 1 runtime, 2 usage).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "llmload/exitcode.h"
#include "llmload/sim.h"
#include "sim_config.h"
#include "sim_server.h"

/* Thousands of concurrent streams need thousands of descriptors; the soft limit is often 1024. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "llmload sim: could not raise the open-file limit\n");
    }
}

int sim_main(int argc, char **argv)
{
    sim_config cfg;
    int rc = sim_config_parse(&cfg, argc, argv, stdout, stderr);
    if (rc == SIM_CONFIG_HELP)
        return EXIT_OK_;
    if (rc < 0)
        return EXIT_USAGE;
    raise_nofile();
    /* A client that goes away mid-write must cost a write error, not the process. */
    signal(SIGPIPE, SIG_IGN);
    return sim_server_run(&cfg);
}
