"""Every ready profile runs: each profiles/*.json is run briefly against the simulator, its duration,
request count, rates and output lengths overridden on the command line (a flag beats the profile),
and must complete requests with its own schedule, prompts and SLO gate in place (exit 0, or 3 when
the gate judged the short run). Each is documented in docs/profiles.md. A profile with an unknown
key is refused with one line naming the key (exit 2), and so is a bad value."""
import glob
import json
import os
import tempfile
import time

from lltest import Sim, done, ok, run

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "..")
tmp = tempfile.mkdtemp(prefix="llmload-test-profiles-")
with open(os.path.join(root, "docs", "profiles.md")) as f:
    doc = f.read()

profiles = sorted(glob.glob(os.path.join(root, "profiles", "*.json")))
ok(len(profiles) >= 12, f"{len(profiles)} ready profiles", [os.path.basename(p) for p in profiles])

with Sim("--ttft-ms", 2, "--itl-ms", 1, "--max-num-seqs", 64) as sim:
    for path in profiles:
        name = os.path.basename(path)
        with open(path) as f:
            prof = json.load(f)
        ok(f"`{name}`" in doc and prof.get("description"), f"{name}: documented in docs/profiles.md, with a description",
           "")
        # --users N is the closed loop concurrent@N (multi-turn sessions, docs/workloads.md).
        sched = prof.get("schedule", "concurrent" if prof.get("users") else "synchronous")
        # Short and small, whatever the profile says: 2 points for a sweep, one rate otherwise.
        rate = {"sweep": 2, "concurrent": 4, "constant": 20, "poisson": 20}.get(sched)
        args = ["run", path, "--target", sim.url, "--max-seconds", 2, "--max-requests", 6, "--warmup", 0,
                "--cooldown", 0, "--data", "output_tokens=4,output_tokens_min=1", "--no-progress", "--quiet",
                "--out", os.path.join(tmp, name)]
        if prof.get("users"):
            args += ["--users", 2]  # a profile of users: fewer of them, not a --rate beside --users
        elif rate is not None:
            args += ["--rate", rate]
        t0 = time.monotonic()
        r = run(args, timeout=120)
        took = time.monotonic() - t0
        rep = None
        try:
            with open(os.path.join(tmp, name, "report.json")) as f:
                rep = json.load(f)
        except (OSError, ValueError):
            pass
        completed = sum(b["requests"]["completed"] for b in rep["benchmarks"]) if rep else 0
        ok(r.returncode in (0, 3) and completed > 0,
           f"{name}: {sched} run completes {completed} requests in {took:.1f} s (exit {r.returncode})",
           r.stderr[-400:])
        if rep:
            ok(rep["config"]["schedule"] == sched, f"{name}: the profile's schedule {sched} is what ran",
               rep["config"].get("schedule"))
        if name == "ci-smoke.json":
            ok(r.returncode == 0, "ci-smoke.json: its SLOs pass on a healthy server", r.stderr[-300:])

# An unknown key is an error naming it; so is a known key with a bad value.
bad = os.path.join(tmp, "typo.json")
with open(bad, "w") as f:
    json.dump({"schedule": "poisson", "rate": 2, "max_second": 10}, f)
r = run(["run", bad, "--target", "http://127.0.0.1:9"])
ok(r.returncode == 2 and 'unknown key "max_second"' in r.stderr and r.stderr.count("\n") == 1,
   "a profile with an unknown key: exit 2, one line naming it", r.stderr[-300:])
with open(bad, "w") as f:
    json.dump({"data": {"prompt_tokens": 64, "prefix_count": 0}}, f)
r = run(["run", bad, "--target", "http://127.0.0.1:9"])
ok(r.returncode == 2 and "prefix_count" in r.stderr, "a profile with prefix_count 0: exit 2 naming it",
   r.stderr[-300:])
with open(bad, "w") as f:
    json.dump({"data-sampling": "sorted"}, f)
r = run(["run", bad, "--target", "http://127.0.0.1:9"])
ok(r.returncode == 2 and "data-sampling" in r.stderr, "a profile with data-sampling \"sorted\": exit 2 naming it",
   r.stderr[-300:])

done()
