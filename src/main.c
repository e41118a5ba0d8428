/*
 * main.c - llmload's entry point: a thin dispatcher from the first argument to a subcommand.
 * Everything else lives in its module; the only state here is argv.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <gsl/gsl_errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "llmload/cmd.h"
#include "llmload/exitcode.h"
#include "llmload/sim.h"
#include "llmload/version.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "run one benchmark or a sweep against an OpenAI-compatible server"},
    {"sim", sim_main, "start the simulated inference server"},
    {"report", cmd_report, "re-render a saved report.json as html, csv, md or prom"},
    {"compare", cmd_compare, "compare a candidate result with a baseline (exit 3 on regression)"},
    {"merge", cmd_merge, "combine shard results (llmload run --shard I/N) into one report"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: llmload <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`llmload <command> --help` describes each command; `llmload --version` prints the version.\n");
}

/* A process started with stdin, stdout or stderr closed (`>&-`) would hand those numbers to the
 * next open(): a report file or a socket would then receive the console's text. /dev/null takes
 * their place, so a closed stream costs only what would have been printed. */
static void hold_std_fds(void)
{
    /* In order, so open() (lowest free number first) fills exactly the gap being looked at. */
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF && open("/dev/null", O_RDWR) < 0)
            break; /* nothing to hold them with: carry on as before */
}

int main(int argc, char **argv)
{
    hold_std_fds();
    /* A reader that goes away (`| head`) or a server that hangs up mid-write must cost a write
     * error, never the process and its reports: every command writes to pipes or sockets. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK_;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("llmload %s (%s)\n", version_string(), version_git());
        return EXIT_OK_;
    }
    /* Process-wide library state, set once here before any thread starts: GSL must report
     * errors instead of aborting; curl's global init is not thread-safe. */
    gsl_set_error_handler_off();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "llmload: cannot initialise libcurl\n");
                return EXIT_RUNTIME;
            }
            int rc = commands[i].fn(argc - 1, argv + 1);
            curl_global_cleanup();
            return rc;
        }
    fprintf(stderr, "llmload: unknown command '%s' (try llmload --help)\n", argv[1]);
    return EXIT_USAGE;
}
