"""SIGPIPE: a server that hangs up while a large request is being written, and a closed stdout or
stderr (`| head`), never kill `llmload run` or cost its report files."""
import json
import os
import subprocess
import tempfile

from fakeserver import FakeServer
from lltest import BIN, MULT, Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-sigpipe-")


def reports_whole(out):
    names = ("report.json", "summary.csv", "report.html", "metrics.prom", "requests.csv")
    if not all(os.path.exists(os.path.join(out, n)) for n in names):
        return False, sorted(os.listdir(out)) if os.path.isdir(out) else "no --out dir"
    try:
        rep = json.load(open(os.path.join(out, "report.json")))
    except ValueError as e:
        return False, f"report.json: {e}"
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    return rep.get("benchmarks") is not None and html.rstrip().endswith("</html>"), "whole"


# 1. The server closes (reset) on receiving a 200,000-token body, three times over: the run survives,
#    counts the failures and writes its reports.
with FakeServer(close_body_over=100_000) as fs:
    for i in range(3):
        out = os.path.join(tmp, f"big{i}")
        r = run(["run", "--target", fs.url, "--max-requests", "2", "--max-seconds", "0", "--http-client", "builtin",
                 "--data", "prompt_tokens=200000,output_tokens=4", "--out", out, "--no-progress"], timeout=60)
        # Exit 1, not a signal: nothing completed (docs/gate.md), and the line says so.
        ok(r.returncode == 1 and "no request completed" in r.stderr,
           f"200,000-token prompt to a server that hangs up (try {i + 1}): exit 1 (nothing completed), no signal",
           f"rc={r.returncode} err={r.stderr[-300:]!r}")
        whole, why = reports_whole(out)
        ok(whole, f"try {i + 1}: every report file written", why)
        if whole:
            b = json.load(open(os.path.join(out, "report.json")))["benchmarks"][0]
            ok(b["requests"]["errored"] == 2 and b["requests"]["errors_by_kind"].get("disconnect") == 2,
               f"try {i + 1}: both requests counted as disconnect errors", b["requests"])

# 2. Progress on and `2>&1 | head -2`: head exits after two lines, the run keeps going and its
#    report files are complete.
with Sim("--ttft-ms", 5, "--itl-ms", 5) as sim:
    out = os.path.join(tmp, "head")
    cmd = (f"'{BIN}' run --target {sim.url} --schedule concurrent --rate 4 --max-seconds 2 "
           f"--data prompt_tokens=8,output_tokens=20 --out '{out}' --progress 2>&1 | head -2; "
           f"echo \"rc=${{PIPESTATUS[0]}}\"")
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60 * MULT)
    rc_line = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    ok(rc_line == "rc=0", "--progress 2>&1 | head -2: llmload exits 0 (not killed by SIGPIPE)", repr(p.stdout[-300:]))
    whole, why = reports_whole(out)
    ok(whole, "--progress 2>&1 | head -2: complete report files", why)

    # stdout closed outright: the table cannot be printed, the files still are.
    out = os.path.join(tmp, "closed")
    p = subprocess.run(["bash", "-c", f"'{BIN}' run --target {sim.url} --max-requests 3 --max-seconds 0 "
                        f"--data prompt_tokens=8,output_tokens=4 --out '{out}' --no-progress >&- 2>&-; echo rc=$?"],
                       capture_output=True, text=True, timeout=60 * MULT)
    ok(p.stdout.strip() == "rc=0", "stdout and stderr closed: exit 0", repr(p.stdout))
    whole, why = reports_whole(out)
    ok(whole, "stdout and stderr closed: complete report files", why)
done()
