/*
 * sim_gpu.h - internal to the simulator tree: a stand-in for NVIDIA's DCGM exporter (--gpu-metrics),
 * rendered on the simulator's own /metrics with DCGM's names and labels. Utilisation, SM activity,
 * memory and power follow the engine's batch (docs/simulator.md "GPU metrics"); energy is the
 * exact integral of that power, since the server calls sim_gpu_update after every change to the
 * engine (the same point where it re-arms its clock).
 * Invariant: energy_mj never decreases (it is a counter).
 */
#ifndef LLMLOAD_SIM_GPU_H
#define LLMLOAD_SIM_GPU_H

#include <stdint.h>

#include "llmload/sim_engine.h"
#include "sim_buf.h"

#define SIM_GPU_MAX_WATTS 700.0     /* an H100 SXM's board limit: power never reads above it */
#define SIM_GPU_FB_BASE_MIB 16384   /* weights and workspace */
#define SIM_GPU_KV_KIB_PER_TOKEN 64 /* KV cache per token held */

typedef struct sim_gpu {
    double idle_w, per_seq_w;       /* power: idle_w + per_seq_w * running, capped */
    uint32_t full_batch;            /* SM activity: running / full_batch, capped at 1 */
    uint64_t last_ns;
    uint32_t last_running;
    double energy_mj;               /* up to last_ns */
    char host[64];
} sim_gpu;

/* Starts the model at now (nothing running). Cannot fail. */
void sim_gpu_init(sim_gpu *g, double idle_w, double per_seq_w, uint32_t full_batch, uint64_t now);
double sim_gpu_power(const sim_gpu *g, uint32_t running);
/* Integrates the power of the last running count up to now, then takes `running` from now on. */
void sim_gpu_update(sim_gpu *g, uint64_t now, uint32_t running);
/* DCGM_FI_* families at `now` for the engine's state. */
int sim_gpu_render(const sim_gpu *g, const sim_engine *e, uint64_t now, sim_buf *out);

#endif
