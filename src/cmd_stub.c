/* Placeholder subcommands until they land. */
#include <stdio.h>
#include "llmload/cmd.h"
int cmd_compare(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "llmload compare: not built yet\n"); return 1; }
int cmd_merge(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "llmload merge: not built yet\n"); return 1; }
