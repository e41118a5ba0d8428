/*
 * sim_gpu.c - the simulator's DCGM-exporter stand-in (see sim_gpu.h). Names, types, units and the
 * label set follow dcgm-exporter's default counters: utilisation in percent, SM activity as a
 * ratio, framebuffer in MiB, power in W, energy in mJ since start as a counter without _total
 * (that is the real exporter's name, which promtool's linter flags).
 */
#include "sim_gpu.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void sim_gpu_init(sim_gpu *g, double idle_w, double per_seq_w, uint32_t full_batch, uint64_t now)
{
    memset(g, 0, sizeof *g);
    g->idle_w = idle_w;
    g->per_seq_w = per_seq_w;
    g->full_batch = full_batch ? full_batch : 1;
    g->last_ns = now;
    if (gethostname(g->host, sizeof g->host - 1) != 0 || strpbrk(g->host, "\"\\\n") != NULL)
        strcpy(g->host, "localhost");   /* pasted into a label unescaped: keep it plain */
}

double sim_gpu_power(const sim_gpu *g, uint32_t running)
{
    double w = g->idle_w + g->per_seq_w * running;
    return w > SIM_GPU_MAX_WATTS ? SIM_GPU_MAX_WATTS : w;
}

static double energy_at(const sim_gpu *g, uint64_t now)
{
    uint64_t dt = now > g->last_ns ? now - g->last_ns : 0;
    return g->energy_mj + sim_gpu_power(g, g->last_running) * (double)dt / 1e6;   /* W * ns / 1e6 = mJ */
}

void sim_gpu_update(sim_gpu *g, uint64_t now, uint32_t running)
{
    g->energy_mj = energy_at(g, now);
    if (now > g->last_ns)
        g->last_ns = now;
    g->last_running = running;
}

int sim_gpu_render(const sim_gpu *g, const sim_engine *e, uint64_t now, sim_buf *o)
{
    char l[256];
    snprintf(l, sizeof l,
             "gpu=\"0\",UUID=\"GPU-00000000-0000-0000-0000-000000000000\",pci_bus_id=\"00000000:00:1E.0\","
             "device=\"nvidia0\",modelName=\"llmload sim GPU\",Hostname=\"%s\"", g->host);
    uint32_t running = sim_engine_running(e);
    double sm = (double)running / g->full_batch;
    if (sm > 1)
        sm = 1;
    double fb = SIM_GPU_FB_BASE_MIB + (double)sim_engine_kv_used(e) * SIM_GPU_KV_KIB_PER_TOKEN / 1024.0;
    SIM_BUF_TRY(sim_buf_printf(o, "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %%).\n"
                                  "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{%s} %d\n",
                               l, running ? 100 : 0));
    SIM_BUF_TRY(sim_buf_printf(o, "# HELP DCGM_FI_PROF_SM_ACTIVE The ratio of cycles an SM has at least 1 warp assigned.\n"
                                  "# TYPE DCGM_FI_PROF_SM_ACTIVE gauge\nDCGM_FI_PROF_SM_ACTIVE{%s} %.6f\n",
                               l, sm));
    SIM_BUF_TRY(sim_buf_printf(o, "# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).\n"
                                  "# TYPE DCGM_FI_DEV_FB_USED gauge\nDCGM_FI_DEV_FB_USED{%s} %.0f\n",
                               l, fb));
    SIM_BUF_TRY(sim_buf_printf(o, "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n"
                                  "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\nDCGM_FI_DEV_POWER_USAGE{%s} %.3f\n",
                               l, sim_gpu_power(g, running)));
    SIM_BUF_TRY(sim_buf_printf(o, "# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).\n"
                                  "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n"
                                  "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{%s} %.0f\n",
                               l, energy_at(g, now)));
    return 0;
}
