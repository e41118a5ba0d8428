/*
 * sim.h - `llmload sim`: the simulated OpenAI-compatible inference server (a separate module tree,
 * src/sim/, outside the client's data flow). See docs/simulator.md for the engine model.
 */
#ifndef LLMLOAD_SIM_H
#define LLMLOAD_SIM_H

/* Runs the simulator until SIGINT/SIGTERM. argv[0] is "sim". Returns the process exit code
 * (0 on a clean stop, 1 on a runtime failure such as a port in use, 2 on a usage error). */
int sim_main(int argc, char **argv);

#endif
