"""--schedule slo-search (issue 20): against a simulator whose decode step grows with the batch
(--itl-ms 5 --itl-ms-per-seq 1, so the mean ITL crosses 10 ms at a known load), the search lands
within 10% of where a fine constant-rate sweep sees `itl_mean<=10ms` break, in fewer benchmarks;
report.json's slo_search, summary.csv's search columns and the console line carry the answer. Over
concurrency the answer is exact (the step is 5 + streams ms). A search that cannot bracket says so
in one line; bad flags exit 2."""
import csv
import json
import os
import tempfile

from lltest import ASAN, Sim, done, near, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-slo-search-")
DATA = "prompt_tokens=8,output_tokens=20"
SECS = 3 if ASAN else 2
SLO = "itl_mean<=10ms"


def load(out):
    p = os.path.join(out, "report.json")
    return json.load(open(p)) if os.path.exists(p) else None


with Sim("--max-num-seqs", 16, "--ttft-ms", 20, "--itl-ms", 5, "--itl-ms-per-seq", 1, "--seed", 7) as sim:
    base = ["run", "--target", sim.url, "--max-concurrency", 32, "--data", DATA, "--no-progress"]

    # --- The search over rates.
    out = os.path.join(tmp, "search")
    r = run(base + ["--schedule", "slo-search", "--slo", SLO, "--max-seconds", SECS, "--out", out],
            timeout=300)
    ok(r.returncode == 0, "slo-search exits 0 (a rate meets the SLO)", r.stderr[-800:])
    rep = load(out) or {"benchmarks": []}
    ss = rep.get("slo_search", {})
    res = ss.get("result", {})
    names = [b["name"] for b in rep["benchmarks"]]
    ok(names[:1] == ["throughput"] and all(n.startswith("search@") for n in names[1:]),
       "a throughput point, then probes named search@R", names)
    ok(res.get("bound") == "exact" and res.get("limited_by") == SLO and res.get("unit") == "req/s",
       "result: exact, limited by the rule", res)
    ok(ss.get("stop_reason") == "precision reached" and ss.get("precision_reached") is not None
       and ss["precision_reached"] <= ss.get("precision_target", 0) == 0.05,
       "stopped with the bracket within 5%", {k: ss.get(k) for k in ("stop_reason", "precision_reached")})
    probes = ss.get("probes", [])
    ok(1 <= len(probes) <= 12 and [p["benchmark"] for p in probes] == names[1:],
       "every probe is a benchmark of the report, in order", (len(probes), names))
    byname = {b["name"]: b for b in rep["benchmarks"]}
    for p in probes:
        b = byname.get(p["benchmark"], {})
        point = "pass" if b.get("slo", {}).get("passed") else "fail"
        ok(p["verdict"] in ("pass", "fail", "indeterminate") and
           (p["verdict"] == "indeterminate" or p["verdict"] == point) and
           b.get("schedule") == "constant" and abs(b.get("target_rate", 0) - p["rate"]) < 1e-6,
           f"{p['benchmark']}: verdict {p['verdict']} agrees with its slo", (p, point))
    br = ss.get("bracket", [None, None])
    best = byname.get(res.get("benchmark"), {})
    ok(best.get("slo", {}).get("passed") is True and br[0] == res.get("rate") and br[1] is not None and br[1] > br[0],
       "the result is the highest passing probe, below the lowest failing one", (res, br))
    ok(abs(res.get("output_token_throughput", 0) - best.get("metrics", {}).get("output_token_throughput", -1)) < 1e-6,
       "output tok/s is what that probe completed", res)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("max rate meeting the SLOs:")]
    ok(len(line) == 1 and f"limited by {SLO}" in line[0] and "output tok/s" in line[0] and "req/s" in line[0],
       "console: max rate meeting the SLOs: X req/s (Y output tok/s), limited by RULE", r.stdout[-600:])
    rows = list(csv.DictReader(open(os.path.join(out, "summary.csv")))) if os.path.exists(os.path.join(out, "summary.csv")) else []
    chosen = [x["benchmark"] for x in rows if x.get("search_result") == "true"]
    ok(chosen == [res.get("benchmark")] and
       [x["search_verdict"] for x in rows[1:]] == [p["verdict"] for p in probes] and rows and rows[0]["search_verdict"] == "",
       "summary.csv: search_verdict per probe, search_result on the answer's row", chosen)
    ok([x["search_limited_by"] for x in rows if x.get("search_result") == "true"] == [SLO],
       "summary.csv: the answer's row names the limiting rule")
    rr = run(["report", os.path.join(out, "report.json"), "--format", "table"])
    ok(rr.returncode == 0 and line and line[0] in rr.stdout, "llmload report prints the same capacity line")

    # --- A fine sweep of constant rates across the break, with the same rule.
    rates = list(range(16, 37, 2))
    out2 = os.path.join(tmp, "fine")
    r2 = run(base + ["--schedule", "constant", "--rate", ",".join(map(str, rates)), "--slo", SLO,
                     "--max-seconds", SECS, "--out", out2], timeout=300)
    fine = load(out2) or {"benchmarks": []}
    cap = fine.get("sweep", {}).get("capacity", {})
    ok(r2.returncode == 3 and cap.get("bound") == "exact" and cap.get("limited_by") == SLO,
       "the fine sweep breaks the rule inside its range (exit 3 for the broken points)", (r2.returncode, cap))
    if cap.get("rate") and res.get("rate"):
        near(res["rate"], cap["rate"], 0.10 * cap["rate"], "the search lands within 10% of the fine sweep's break")
    ok(len(rep["benchmarks"]) < len(fine["benchmarks"]),
       "in fewer benchmarks than the fine sweep", (len(rep["benchmarks"]), len(fine["benchmarks"])))
    fl = [ln for ln in r2.stdout.splitlines() if ln.startswith("max rate meeting the SLOs:")]
    ok(len(fl) == 1 and "interpolated between constant@" in fl[0] and f"limited by {SLO}" in fl[0],
       "a run of open-loop points prints the same estimate from its points", r2.stdout[-400:])
    bt = cap.get("between") or [None, None]
    ok(bt[0] in [b["name"] for b in fine["benchmarks"]] and bt[1] in [b["name"] for b in fine["benchmarks"]]
       and cap.get("output_token_throughput", 0) > 0, "sweep.capacity names its two points and output tok/s", cap)

    # --- Over concurrency: step = 5 + streams ms, so itl_mean <= 10.5 ms holds up to 5 streams.
    out3 = os.path.join(tmp, "conc")
    r3 = run(base + ["--schedule", "slo-search", "--search-over", "concurrency", "--slo", "itl_mean<=10.5ms",
                     "--max-seconds", SECS, "--out", out3], timeout=300)
    rep3 = load(out3) or {"benchmarks": []}
    res3 = rep3.get("slo_search", {}).get("result", {})
    ok(r3.returncode == 0 and res3.get("rate") == 5 and res3.get("unit") == "streams" and
       rep3.get("slo_search", {}).get("bracket") == [5, 6],
       "over concurrency: 5 streams, 6 fails", (r3.returncode, res3, rep3.get("slo_search", {}).get("bracket")))
    ok(all(b["schedule"] == "concurrent" and b["target_rate"] == int(b["target_rate"]) for b in rep3["benchmarks"]),
       "concurrency probes are whole numbers of streams, no throughput point", [b["name"] for b in rep3["benchmarks"]])
    ok("max concurrency meeting the SLOs: 5 streams" in r3.stdout, "console names the streams", r3.stdout[-300:])

    # --- Cannot bracket: even the lowest rate breaks a rule (exit 3), or the highest meets it.
    out4 = os.path.join(tmp, "below")
    r4 = run(base + ["--schedule", "slo-search", "--slo", "itl_mean<=1ms", "--max-seconds", 1, "--out", out4],
             timeout=300)
    rep4 = load(out4) or {}
    ok(r4.returncode == 3 and rep4.get("slo_search", {}).get("result", {}).get("bound") == "below",
       "no rate meets the SLO: bound below, exit 3", r4.returncode)
    cl = [ln for ln in r4.stdout.splitlines() if "cannot bracket" in ln]
    ok(len(cl) == 1 and "itl_mean<=1ms" in cl[0], "one line says it cannot bracket, and why", r4.stdout[-400:])
    out5 = os.path.join(tmp, "above")
    r5 = run(base + ["--schedule", "slo-search", "--slo", "itl_mean<=200ms", "--max-seconds", 1, "--out", out5],
             timeout=120)
    rep5 = load(out5) or {"benchmarks": []}
    ok(r5.returncode == 0 and rep5.get("slo_search", {}).get("result", {}).get("bound") == "above" and
       len(rep5["benchmarks"]) == 2, "every rate meets it: one probe at the throughput point, bound above",
       (r5.returncode, [b["name"] for b in rep5["benchmarks"]]))
    ok(sum("cannot bracket" in ln for ln in r5.stdout.splitlines()) == 1, "and says so in one line", r5.stdout[-300:])

    # --- Bad flags: one line, exit 2, nothing sent.
    for args, needle in ((["--schedule", "slo-search"], "needs --slo"),
                         (["--schedule", "slo-search", "--slo", SLO, "--rate", "5"], "takes no rate"),
                         (["--schedule", "slo-search", "--slo", SLO, "--search-precision", "0"], "search-precision"),
                         (["--schedule", "slo-search", "--slo", SLO, "--search-over", "tokens"], "search-over"),
                         (["--schedule", "slo-search", "--slo", SLO, "--repeat", "2"], "repeat")):
        rb = run(base + args, timeout=30)
        ok(rb.returncode == 2 and rb.stderr.count("\n") == 1 and needle in rb.stderr,
           f"{' '.join(args[2:]) or 'no --slo'}: exit 2, one line", rb.stderr)
done()
