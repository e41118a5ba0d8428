/* Placeholder until the simulator lands. */
#include <stdio.h>
#include "llmload/sim.h"
int sim_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "llmload sim: not built yet\n");
    return 1;
}
