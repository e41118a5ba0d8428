"""LLMLOAD_* variables end to end against llmload sim: settings from the environment alone, a flag
beating its variable, a variable beating the profile, a bad value naming the variable (exit 2, one
line), the gate from LLMLOAD_SLO (exit 3), --help's line, and docs/configuration.md's generated
list matching what scripts/gen-env-doc.py writes from the binary."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from lltest import BIN, MULT, Sim, done, ok, run

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
tmp = tempfile.mkdtemp(prefix="llmload-test-env-")


def clean_env(**kw):
    """The test's environment with no stray LLMLOAD_* setting but the harness's own, plus kw."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("LLMLOAD_") or k in ("LLMLOAD_BIN",)}
    e.update(kw)
    return e


def env_run(args, **kw):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120 * MULT, env=clean_env(**kw))


def load(out):
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)["benchmarks"][0]


with Sim("--ttft-ms", 20, "--itl-ms", 2) as sim:
    out = os.path.join(tmp, "a")
    r = env_run(["run"], LLMLOAD_TARGET=sim.url, LLMLOAD_SCHEDULE="concurrent", LLMLOAD_RATE="2",
                LLMLOAD_MAX_REQUESTS="6", LLMLOAD_MAX_SECONDS="0", LLMLOAD_OUT=out, LLMLOAD_NO_PROGRESS="1",
                LLMLOAD_DATA="prompt_tokens=16,output_tokens=8", LLMLOAD_HEADER="X-A: 1\nX-B: 2")
    ok(r.returncode == 0, "settings from LLMLOAD_* alone: exit 0", r.stderr[-400:])
    if r.returncode == 0:
        b = load(out)
        ok(b["schedule"] == "concurrent" and b["requests"]["completed"] == 6,
           "LLMLOAD_SCHEDULE, LLMLOAD_RATE, LLMLOAD_MAX_REQUESTS and LLMLOAD_OUT applied",
           f"{b['schedule']} {b['requests']}")

    out = os.path.join(tmp, "b")
    r = env_run(["run", "--max-requests", "3"], LLMLOAD_TARGET=sim.url, LLMLOAD_MAX_REQUESTS="6",
                LLMLOAD_MAX_SECONDS="0", LLMLOAD_OUT=out, LLMLOAD_NO_PROGRESS="1",
                LLMLOAD_DATA="prompt_tokens=16,output_tokens=8")
    ok(r.returncode == 0 and load(out)["requests"]["completed"] == 3,
       "--max-requests 3 beats LLMLOAD_MAX_REQUESTS=6", r.stderr[-400:])

    prof = os.path.join(tmp, "p.json")
    with open(prof, "w") as f:
        json.dump({"max-requests": 6, "max-seconds": 0, "data": "prompt_tokens=16,output_tokens=8"}, f)
    out = os.path.join(tmp, "c")
    r = env_run(["run", prof], LLMLOAD_TARGET=sim.url, LLMLOAD_MAX_REQUESTS="4", LLMLOAD_OUT=out,
                LLMLOAD_NO_PROGRESS="1")
    ok(r.returncode == 0 and load(out)["requests"]["completed"] == 4,
       "LLMLOAD_MAX_REQUESTS=4 beats the profile's 6", r.stderr[-400:])

    r = env_run(["run"], LLMLOAD_TARGET=sim.url, LLMLOAD_MAX_REQUESTS="3", LLMLOAD_MAX_SECONDS="0",
                LLMLOAD_NO_PROGRESS="1", LLMLOAD_SLO="ttft_p50<=1us",
                LLMLOAD_DATA="prompt_tokens=16,output_tokens=8")
    ok(r.returncode == 3, "LLMLOAD_SLO broken: exit 3", f"rc={r.returncode} {r.stderr[-300:]}")

r = env_run(["run", "--target", "http://127.0.0.1:9"], LLMLOAD_MAX_SECONDS="abc")
ok(r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("llmload run: LLMLOAD_MAX_SECONDS: "),
   "a bad LLMLOAD_MAX_SECONDS: exit 2, one line naming the variable", f"rc={r.returncode} {r.stderr!r}")
r = env_run(["run", "--target", "http://127.0.0.1:9"], LLMLOAD_NO_PROGRESS="maybe")
ok(r.returncode == 2 and "LLMLOAD_NO_PROGRESS" in r.stderr and r.stderr.count("\n") == 1,
   "a bad on/off value: exit 2, one line naming the variable", repr(r.stderr))

r = run(["run", "--help"])
ok("LLMLOAD_MAX_SECONDS" in r.stdout, "run --help says every option has an LLMLOAD_* variable")

doc = os.path.join(ROOT, "docs", "configuration.md")
copy = os.path.join(tmp, "configuration.md")
shutil.copy(doc, copy)
g = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-env-doc.py"), BIN, copy],
                   capture_output=True, text=True, timeout=60)
ok(g.returncode == 0 and open(copy).read() == open(doc).read(),
   "docs/configuration.md's variable list is what scripts/gen-env-doc.py writes", g.stdout + g.stderr)

shutil.rmtree(tmp, ignore_errors=True)
done()
