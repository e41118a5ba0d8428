"""llmload run against llmload sim: issue 3's acceptance run, each schedule, the outputs, and the
error paths (exit codes and one-line messages)."""
import csv
import json
import os
import socket
import tempfile
import time

from lltest import ASAN, ASAN_SLACK, Sim, done, near, ok, run

try:
    import pandas
except ImportError:  # Debian's python3-pandas is installed by scripts/install-deps.sh
    pandas = None

tmp = tempfile.mkdtemp(prefix="llmload-test-run-")


def load(out):
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)


def bench_run(sim, *args, timeout=120, rc=0):
    """rc: the exit code expected (1 for a run in which nothing completed; its reports are written)."""
    out = os.path.join(tmp, f"out{time.monotonic_ns()}")
    r = run(["run", "--target", sim.url, "--out", out, "--no-progress", *args], timeout=timeout)
    rep = load(out) if r.returncode == rc else None
    return r, rep, out


def nothing_completed(r):
    """Exit 1 with one line saying so (a run that measured nothing is not a success)."""
    return r.returncode == 1 and r.stderr.count("llmload run: no request completed") == 1


# 1. The acceptance run: poisson 20 req/s for 10 s, 32 output tokens, sim ttft 80 ms / itl 10 ms.
with Sim("--ttft-ms", 80, "--itl-ms", 10, "--seed", 1) as sim:
    r, rep, out = bench_run(sim, "--schedule", "poisson", "--rate", 20, "--max-seconds", 10,
                            "--data", "prompt_tokens=64,output_tokens=32", "--seed", 7)
    ok(r.returncode == 0, "poisson run exits 0", r.stderr[-500:])
    if rep:
        b = rep["benchmarks"][0]
        m = b["metrics"]
        ok(b["name"] == "poisson@20" and b["schedule"] == "poisson", "benchmark named poisson@20", b["name"])
        near(m["ttft_ms"]["p50"], 80.0, 3.0 * ASAN_SLACK, "ttft p50")
        near(m["itl_ms"]["p50"], 10.0, 1.0 * ASAN_SLACK, "itl p50")
        near(b["achieved_rate"], 20.0, 2.0, "achieved rate")
        ok(b["requests"]["errored"] == 0, "no errors", b["requests"])
        ok(m["output_tokens_mean"] == 32 and m["output_tokens_source"] == "usage",
           "output tokens from usage = 32", m["output_tokens_mean"])
        ok(m["prompt_tokens_mean"] == 64, "prompt tokens counted by the server = 64", m["prompt_tokens_mean"])
        near(m["tpot_ms"]["p50"], 10.0, 1.0 * ASAN_SLACK, "tpot p50")
        ok("ttft_from_scheduled_ms" in m and m["ttft_from_scheduled_ms"]["p50"] >= m["ttft_ms"]["p50"],
           "open loop reports ttft from scheduled", m.get("ttft_from_scheduled_ms"))
        ok(m["schedule_lag_ms"]["p99"] < 5 * ASAN_SLACK, "schedule lag p99 small", m["schedule_lag_ms"])
        for key in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "schedule_lag_ms"):
            ok(set(m[key]) >= {"mean", "stdev", "min", "p50", "p90", "p95", "p99", "p999", "max"},
               f"{key} has every statistic", list(m[key]))
        ok(len(b["timeseries"]) >= 10 and b["timeseries"][3]["completed"] > 0, "per-second time series",
           b["timeseries"][:3])
        ok(b["histograms"]["itl_ms"]["count"] == m["itl_ms"]["count"] > 0, "itl histogram carried",
           b["histograms"]["itl_ms"]["count"])
        ok(rep["tool"]["name"] == "llmload" and rep["config"]["model"] == "llmload-sim",
           "tool and discovered model in report", rep["config"].get("model"))
        if pandas is not None:
            df = pandas.read_csv(os.path.join(out, "requests.csv"))
            ok(len(df) == b["requests"]["started"], "requests.csv: one row per request",
               f"{len(df)} rows vs {b['requests']['started']}")
            need = {"benchmark", "request_id", "scheduled_s", "sent_s", "ttft_ms", "tpot_ms", "itl_mean_ms",
                    "e2e_ms", "prompt_tokens", "output_tokens", "status", "error"}
            ok(need <= set(df.columns), "requests.csv has design.md's columns", sorted(need - set(df.columns)))
            good = df[(df.status == "ok") & (df.measured == 1)]
            near(float(good.ttft_ms.median()), m["ttft_ms"]["p50"], 0.01, "csv ttft median = report p50")
            s = pandas.read_csv(os.path.join(out, "summary.csv"))
            ok(len(s) == 1 and s.benchmark[0] == "poisson@20", "summary.csv: one row", s.to_dict())
        else:
            ok(False, "pandas available (python3-pandas)")

    # 2. Each schedule, briefly.
    r, rep, _ = bench_run(sim, "--schedule", "synchronous", "--max-requests", 5, "--max-seconds", 0,
                          "--data", "prompt_tokens=8,output_tokens=4")
    if ok(r.returncode == 0 and rep, "synchronous run", r.stderr[-300:]):
        b = rep["benchmarks"][0]
        ok(b["requests"]["completed"] == 5 and b["requests"]["started"] == 5, "max-requests 5 gives 5",
           b["requests"])
        near(b["metrics"]["concurrency_mean"], 1.0, 0.05, "synchronous concurrency")
    r, rep, _ = bench_run(sim, "--schedule", "concurrent", "--rate", "1,4", "--max-seconds", 2,
                          "--data", "prompt_tokens=8,output_tokens=16")
    if ok(r.returncode == 0 and rep and len(rep["benchmarks"]) == 2, "a rate list runs one benchmark each",
          r.stderr[-300:]):
        c1, c4 = rep["benchmarks"]
        ok([c1["name"], c4["name"]] == ["concurrent@1", "concurrent@4"], "concurrent names", [c1["name"], c4["name"]])
        near(c4["metrics"]["concurrency_mean"], 4.0, 0.4, "concurrent@4 keeps 4 in flight")
        ok(c4["requests"]["started"] > 20 and c4["client"]["connections_opened"] <= 4,
           "keep-alive: 4 streams reuse at most 4 connections (warm from concurrent@1's one)",
           (c4["requests"]["started"], c4["client"]["connections_opened"]))
        ok(c4["metrics"]["request_throughput"] > 3 * c1["metrics"]["request_throughput"],
           "4 streams ~4x the throughput of 1 (sim has no batch slowdown)",
           (c1["metrics"]["request_throughput"], c4["metrics"]["request_throughput"]))
    r, rep, _ = bench_run(sim, "--schedule", "constant", "--rate", 25, "--max-seconds", 2, "--api", "completions",
                          "--data", "prompt_tokens=8,output_tokens=4")
    if ok(r.returncode == 0 and rep, "constant run on /v1/completions", r.stderr[-300:]):
        b = rep["benchmarks"][0]
        ok(b["requests"]["started"] == 50 and b["requests"]["completed"] == 50, "constant 25/s for 2 s sends 50",
           b["requests"])
        ok(rep["config"]["api"] == "completions", "api recorded", rep["config"].get("api"))
    r, rep, _ = bench_run(sim, "--schedule", "throughput", "--max-concurrency", 16, "--max-seconds", 1,
                          "--data", "prompt_tokens=8,output_tokens=8")
    if ok(r.returncode == 0 and rep, "throughput run", r.stderr[-300:]):
        near(rep["benchmarks"][0]["metrics"]["concurrency_mean"], 16, 2.5, "throughput fills max-concurrency")

# 2b. A time limit ends the benchmark: streams still running get --grace-seconds, then are cut.
with Sim("--ttft-ms", 10, "--itl-ms", 50) as sim:
    t = time.monotonic()
    r, rep, _ = bench_run(sim, "--schedule", "concurrent", "--rate", 4, "--max-seconds", 1, "--grace-seconds", 1,
                          "--data", "prompt_tokens=8,output_tokens=1000", rc=1)
    took = time.monotonic() - t
    if ok(nothing_completed(r) and rep, "time-bound run with streams longer than it: nothing completed, exit 1",
          r.stderr[-300:]):
        rq = rep["benchmarks"][0]["requests"]
        ok(rq["incomplete"] == rq["started"] == 4 and rq["completed"] == 0 and rq["errored"] == 0,
           "streams cut after the grace are incomplete, not errors", rq)
        ok(took < 2 + 4 * ASAN_SLACK, "ends after max-seconds + grace", took)
        ok(rep["benchmarks"][0]["partial"] is False, "a grace cut is not a partial report")

# 2c. --respect-retry-after: a 429 with Retry-After: 1 pauses new requests for a second.
with Sim("--rate-limit-rate", 1, "--ttft-ms", 1, "--itl-ms", 1) as sim:
    r, rep, _ = bench_run(sim, "--schedule", "concurrent", "--rate", 2, "--max-seconds", 2.5,
                          "--respect-retry-after", "--data", "prompt_tokens=4,output_tokens=2", rc=1)
    if ok(nothing_completed(r) and rep and "rate_limited=" in r.stderr,
          "rate-limited run with --respect-retry-after: nothing completed, exit 1 naming rate_limited",
          r.stderr[-300:]):
        b = rep["benchmarks"][0]
        ok(4 <= b["requests"]["started"] <= 8, "about 2 requests per second while paused by Retry-After",
           b["requests"])
        ok(b["requests"]["errors_by_kind"].get("rate_limited") == b["requests"]["errored"] == b["requests"]["started"],
           "every 429 counted rate_limited", b["requests"])
        ok(b["client"]["retry_after_pauses"] >= 2, "pauses counted", b["client"])
    r, rep, _ = bench_run(sim, "--schedule", "concurrent", "--rate", 2, "--max-seconds", 1,
                          "--data", "prompt_tokens=4,output_tokens=2", rc=1)
    if ok(nothing_completed(r) and rep, "rate-limited run without the flag", r.stderr[-300:]):
        ok(rep["benchmarks"][0]["requests"]["started"] > 50, "without the flag the client does not pause",
           rep["benchmarks"][0]["requests"]["started"])

# 2d. --slo: the gate passes (exit 0) or fails (exit 3), with goodput and verdicts in the report.
with Sim("--ttft-ms", 30, "--itl-ms", 5) as sim:
    r, rep, out = bench_run(sim, "--schedule", "concurrent", "--rate", 2, "--max-seconds", 1,
                            "--data", "prompt_tokens=8,output_tokens=8",
                            "--slo", "ttft_p95<=1s,tpot_mean<=100ms,error_rate<=1%")
    ok(r.returncode == 0 and "SLO passed" in r.stdout, "SLOs met: exit 0, console says so", r.stdout[-300:])
    if rep:
        b = rep["benchmarks"][0]
        ok(b["slo"]["passed"] is True and len(b["slo"]["rules"]) == 3, "verdicts in report.json", b.get("slo"))
        near(b["metrics"]["goodput"], b["metrics"]["request_throughput"], 1e-6, "goodput = throughput when all meet SLOs")
    r, rep, out = bench_run(sim, "--schedule", "concurrent", "--rate", 2, "--max-seconds", 1,
                            "--data", "prompt_tokens=8,output_tokens=8", "--slo", "ttft_p95<=10ms")
    ok(r.returncode == 3 and "SLO BROKEN" in r.stdout and "ttft_p95<=10ms" in r.stdout,
       "SLO broken: exit 3, console names the rule", f"rc={r.returncode} {r.stdout[-300:]}")
    if ok(os.path.exists(os.path.join(out, "report.json")), "reports still written when the gate fails"):
        b = load(out)["benchmarks"][0]
        ok(b["slo"]["passed"] is False and b["metrics"]["goodput"] == 0, "goodput 0 when no request meets the SLO",
           b["metrics"].get("goodput"))
        s = open(os.path.join(out, "summary.csv")).read().splitlines()
        row = dict(zip(s[0].split(","), s[1].split(",")))
        ok(row.get("goodput") == "0" and row.get("slo_passed") == "false", "summary.csv has goodput and verdict",
           {k: row.get(k) for k in ("goodput", "slo_passed")})
    r = run(["run", "--target", sim.url, "--slo", "ttft_p95<=soon"])
    ok(r.returncode == 2 and r.stderr.count("\n") == 1 and "ttft_p95<=soon" in r.stderr, "bad --slo: exit 2, one line",
       r.stderr)

# 3. Auth: the key from the environment is sent, and never printed or written.
secret = "sk-test-0123456789abcdef"
with Sim("--api-key", secret, "--itl-ms", 1, "--ttft-ms", 1) as sim:
    out = os.path.join(tmp, "auth")
    r = run(["run", "--target", sim.url, "--out", out, "--max-requests", 3, "--max-seconds", 0,
             "--schedule", "synchronous", "--data", "prompt_tokens=4,output_tokens=2", "--no-progress"],
            env={"OPENAI_API_KEY": secret})
    ok(r.returncode == 0, "api key from OPENAI_API_KEY accepted", r.stderr[-300:])
    leaked = secret in r.stdout or secret in r.stderr
    for name in os.listdir(out) if os.path.isdir(out) else []:
        with open(os.path.join(out, name)) as f:
            leaked = leaked or secret in f.read()
    ok(not leaked, "the key appears in no output or report file")
    r = run(["run", "--target", sim.url, "--max-requests", 2, "--max-seconds", 0, "--schedule", "synchronous",
             "--header", f"X-API-Key: {secret}", "--data", "prompt_tokens=4,output_tokens=2", "--progress"],
            env={"OPENAI_API_KEY": ""})
    ok(r.returncode == 0, "--header 'X-API-Key: ...' is sent with every request", r.stderr[-300:])
    ok("[synchronous]" in r.stderr and "done" in r.stderr, "--progress prints plain progress lines off a terminal",
       r.stderr[-300:])
    ok(secret not in r.stdout + r.stderr, "a header's secret value is not printed")
    r = run(["run", "--target", sim.url, "--max-requests", 1, "--max-seconds", 0, "--no-progress"],
            env={"OPENAI_API_KEY": ""})
    ok(r.returncode == 1 and "401" in r.stderr and r.stderr.count("\n") == 1,
       "missing key: exit 1, one line naming HTTP 401", f"rc={r.returncode} err={r.stderr!r}")

# 4. Error paths: exit codes and one clear line, quickly.
s = socket.socket()
s.bind(("127.0.0.1", 0))
closed_port = s.getsockname()[1]
s.close()
t = time.monotonic()
r = run(["run", "--target", f"http://127.0.0.1:{closed_port}", "--max-requests", 1, "--no-progress"])
ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "cannot reach" in r.stderr and time.monotonic() - t < 3 * ASAN_SLACK,
   "unreachable target: exit 1, one line, fast", f"rc={r.returncode} err={r.stderr!r}")
r = run(["run", "--target", "http://127.0.0.1:1", "--bogus-flag"])
ok(r.returncode == 2 and r.stderr.count("\n") == 1, "unknown flag: exit 2, one line", f"rc={r.returncode} err={r.stderr!r}")
r = run(["run", "--target", "ftp://127.0.0.1/", "--max-requests", 1])
ok(r.returncode == 2 and r.stderr.count("\n") == 1, "bad URL: exit 2, one line", f"rc={r.returncode} err={r.stderr!r}")
for flag in (["--shard", "2/2"], ["--start-at", "later"]):
    r = run(["run", "--target", "http://127.0.0.1:1", "--max-requests", 1, *flag])
    ok(r.returncode == 2 and r.stderr.count("\n") == 1 and flag[0] in r.stderr,
       f"bad {flag[0]} is refused in one line (test_shard.py runs shards)", f"rc={r.returncode} err={r.stderr!r}")
r = run(["run", "--target", "https://127.0.0.1:1", "--ca-cert", "/nonexistent/ca.pem", "--max-requests", 1])
ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "ca.pem" in r.stderr,
   "unreadable --ca-cert: exit 1 (a file problem, not usage), one line", f"rc={r.returncode} err={r.stderr!r}")
r = run(["run", "--help"])
ok(r.returncode == 0 and "--schedule" in r.stdout, "run --help", r.stdout[:200])
done()
