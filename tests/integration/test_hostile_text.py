"""Server text reaches no output raw: error bodies with ESC sequences, a bell, a C1 CSI, quotes,
commas and bytes that are not UTF-8 are made valid, control-free UTF-8 (U+FFFD, spaces) before the
console, report.json, requests.csv, summary.csv, report.html and metrics.prom. Checked with strict
readers: json.load, the csv module, pandas.read_csv (Debian's python3-pandas), promtool."""
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile

from fakeserver import FakeServer
from lltest import BIN, MULT, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-hostile-")
BEHAVIOURS = ("ok", "hostile_json", "hostile_raw", "hostile_event")
FFFD = "\ufffd"


def clean(text, where):
    bad = [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]
    return ok(not bad, f"{where}: no control character (ESC, BEL, CSI...)", repr(sorted(set(bad))))


def utf8(path):
    raw = open(path, "rb").read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        ok(False, f"{os.path.basename(path)} is valid UTF-8", str(e))
        return None


with FakeServer(behaviours=BEHAVIOURS) as fs:
    out = os.path.join(tmp, "out")
    r = subprocess.run([BIN, "run", "--target", fs.url, "--max-requests", "8",
                        "--max-seconds", "0", "--data", "prompt_tokens=8,output_tokens=4", "--out", out,
                        "--no-progress"], capture_output=True, timeout=120 * MULT)
    ok(r.returncode == 0, "a run against hostile error bodies exits 0", f"rc={r.returncode} err={r.stderr[-400:]!r}")
    console = r.stdout + r.stderr
    ok(b"\x1b" not in console and b"\x07" not in console and b"\xc2\x9b" not in console,
       "console: no ESC, BEL or CSI byte reaches the terminal", repr(console[-400:]))
    try:
        console.decode("utf-8")
        ok(True, "console: valid UTF-8")
    except UnicodeDecodeError as e:
        ok(False, "console: valid UTF-8", str(e))

    # report.json: Python's strict json.load on the file's bytes.
    try:
        with open(os.path.join(out, "report.json"), encoding="utf-8", errors="strict") as f:
            rep = json.load(f)
        ok(True, "report.json: json.load reads it")
    except (ValueError, OSError) as e:
        rep = None
        ok(False, "report.json: json.load reads it", str(e))
    if rep:
        rq = rep["benchmarks"][0]["requests"]
        ok(rq["errored"] == 6 and rq["errors_by_kind"] == {"http_5xx": 4, "server_error": 2},
           "report.json: the failures counted by kind", rq)
        fe = " | ".join(rq["first_errors"])
        clean(fe, "report.json first_errors")
        ok(FFFD in fe and "RED" in fe and "quoted" in fe and '"q"' in fe and "caf\u00e9" in fe,
           "report.json first_errors: invalid bytes shown as U+FFFD, the rest kept", fe)
        ok('"quoted"' in fe and "\\u001b" not in fe and '\\"' not in fe,
           "report.json first_errors: the JSON message's escapes decoded (\\\" reads as a quote)", fe)

    text = utf8(os.path.join(out, "requests.csv"))
    if text is not None:
        clean(text.replace("\r\n", "\n"), "requests.csv")
        rows = list(csv.DictReader(io.StringIO(text)))
        ok(len(rows) == 8 and all(len(row) == len(rows[0]) and None not in row for row in rows),
           "requests.csv: 8 rows, each with every column (quotes and commas quoted)", len(rows))
        errs = [row["error"] for row in rows if row["status"] == "error"]
        ok(len(errs) == 6 and all(FFFD in e for e in errs) and any('"q"' in e for e in errs),
           "requests.csv: each hostile message kept, cleaned", errs[:3])
    for name in ("summary.csv", "report.html", "metrics.prom"):
        t = utf8(os.path.join(out, name))
        if t is not None:
            clean(t.replace("\r\n", "\n"), name)

    # pandas, as a notebook would read them (Debian's python3-pandas lives beside /usr/bin/python3).
    py = "/usr/bin/python3"
    p = subprocess.run([py, "-c", "import pandas, sys; a = pandas.read_csv(sys.argv[1]); b = pandas.read_csv(sys.argv[2]);"
                        " print(len(a), int((a['status'] == 'error').sum()), len(b))",
                        os.path.join(out, "requests.csv"), os.path.join(out, "summary.csv")],
                       capture_output=True, text=True, timeout=120)
    ok(p.returncode == 0 and p.stdout.split() == ["8", "6", "1"], "pandas.read_csv reads requests.csv and summary.csv",
       f"rc={p.returncode} out={p.stdout!r} err={p.stderr[-300:]!r}")
    promtool = shutil.which("promtool")
    if ok(promtool is not None, "promtool installed (prometheus, scripts/install-deps.sh)"):
        p = subprocess.run([promtool, "check", "metrics"], stdin=open(os.path.join(out, "metrics.prom"), "rb"),
                           capture_output=True, text=True, timeout=60)
        ok(p.returncode == 0, "promtool check metrics accepts metrics.prom", p.stdout[-300:] + p.stderr[-300:])

# A model id with an escape sequence from /v1/models: refused in one clean line (exit 1), nothing sent.
with FakeServer(model_id="m\x1b[31mx\x1b]0;pwned\x07") as fs:
    r = run(["run", "--target", fs.url, "--max-requests", "2", "--max-seconds", "0", "--no-progress"])
    ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "\x1b" not in r.stderr and "--model" in r.stderr,
       "a model id with ESC sequences: exit 1, one clean line saying to use --model", f"rc={r.returncode} err={r.stderr!r}")
    ok(fs.posts == 0, "a model id with ESC sequences: zero requests sent", fs.posts)
done()
