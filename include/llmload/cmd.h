/*
 * cmd.h - the subcommands main.c dispatches to. Each takes the argv that starts at its own name
 * and returns the process exit code (see exitcode.h).
 */
#ifndef LLMLOAD_CMD_H
#define LLMLOAD_CMD_H

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_merge(int argc, char **argv);

#endif
