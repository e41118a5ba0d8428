/*
 * cmd_stub.c - subcommands the contract names that are not built yet. They say so in one line and
 * exit 2, rather than pretending; each goes when its command lands.
 */
#include <stdio.h>

#include "llmload/cmd.h"
#include "llmload/exitcode.h"

int cmd_merge(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "llmload merge: not available in this version yet\n");
    return EXIT_USAGE;
}
