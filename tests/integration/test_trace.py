"""--trace: requests go out at the trace's offsets (scaled by --trace-speed) on both transports, with
the recorded lengths; Mooncake hash_ids shared between requests become prefix-cache hits in the
simulator (unique ids do not); --workers deals the trace out without losing or repeating a request;
the shipped samples are what scripts/gen-traces.py writes; bad traces get one line and the right
exit code."""
import csv
import json
import os
import subprocess
import sys
import tempfile

from lltest import ASAN_SLACK, Sim, done, near, ok, run

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
TRACES = os.path.join(ROOT, "traces")
tmp = tempfile.mkdtemp(prefix="llmload-test-trace-")


def write(name, rows):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def requests(out):
    with open(os.path.join(out, "requests.csv")) as f:
        return sorted(csv.DictReader(f), key=lambda r: float(r["scheduled_s"]))


def replay(sim, trace, name, *extra):
    out = os.path.join(tmp, name)
    r = run(["run", "--target", sim.url, "--trace", trace, "--out", out, "--no-progress", "--quiet",
             "--max-seconds", 0, *extra], timeout=60)
    return r, out


# Irregular offsets, bursts of equal ones included: 40 requests over 1.2 s.
offsets = []
t = 0.0
for i in range(40):
    t += [0, 3.5, 10, 25, 41.25, 60][(i * 7) % 6]
    offsets.append(round(t, 3))
own = write("own.jsonl", [{"offset_ms": o, "input_tokens": 20 + i % 7, "output_tokens": 2 + i % 4}
                          for i, o in enumerate(offsets)])


def send_lags(out, speed):
    """Each request's sent - (offset / speed), ms, in schedule order; None when a request failed."""
    rows = requests(out)
    if len(rows) != len(offsets) or any(r["status"] != "ok" for r in rows):
        return None, rows
    return [float(r["sent_s"]) * 1000 - o / speed for r, o in zip(rows, offsets)], rows


def check_offsets(sim, speed, what, *extra):
    """Replays own.jsonl; the schedule is checked exactly, the sends against 1 ms. The sends are the
    machine's too: a loaded 2-core box delays some wake-ups by milliseconds, so the replay is tried
    up to 3 times and the best try is judged (the schedule itself never moves)."""
    best = None
    for attempt in range(3):
        r, out = replay(sim, own, f"{what.replace(' ', '_')}-{attempt}", *extra)
        if not ok(r.returncode == 0, f"{what}: trace replay runs", r.stderr[-400:]):
            return None
        lag, rows = send_lags(out, speed)
        if not ok(lag is not None, f"{what}: every request ok", f"{len(rows)} rows"):
            return None
        if attempt == 0:
            sched = [float(x["scheduled_s"]) * 1000 for x in rows]
            worst = max(abs(a - o / speed) for a, o in zip(sched, offsets))
            ok(worst < 0.002, f"{what}: scheduled times are the trace's offsets / {speed}", f"worst {worst} ms")
            prompt = {int(x["request_id"]): int(x["max_tokens"]) for x in rows}
            ok(all(prompt[i] == 2 + i % 4 for i in range(len(offsets))), f"{what}: max_tokens as recorded",
               sorted(prompt.items())[:5])
            first_out = out
        lag.sort()
        within = sum(1 for x in lag if -0.001 <= x <= 1.0 * ASAN_SLACK) / len(lag)
        if best is None or within > best[0]:
            best = (within, lag)
        if within >= 0.9:
            break
    within, lag = best
    # On an idle machine 95-100% of the sends land within 1 ms of the scaled offset (the first waits
    # for its connection). Test suites sharing two cores take wake-ups away for milliseconds, so the
    # best of 3 tries is judged by its median (1 ms) and its 90th percentile (5 ms, test_run.py's
    # bound for the open-loop pacer).
    ok(lag[len(lag) // 2] <= 1.0 * ASAN_SLACK,
       f"{what}: sends within 1 ms of the scaled offsets: median {lag[len(lag) // 2]:.3f} ms, {within:.0%} within 1 ms "
       f"(best of {attempt + 1})", f"lags {lag}")
    p90 = lag[int(len(lag) * 0.9) - 1]
    ok(p90 <= 5.0 * ASAN_SLACK, f"{what}: 90% of sends within 5 ms ({p90:.3f} ms)", f"lags {lag}")
    ok(lag[0] >= -0.001, f"{what}: nothing sent early", f"earliest {lag[0]} ms")
    return first_out


with Sim("--ttft-ms", 2, "--itl-ms", 1) as sim:
    for client in ("builtin", "curl"):
        out = check_offsets(sim, 1, client, "--http-client", client)
        if out:
            rep = json.load(open(os.path.join(out, "report.json")))
            b = rep["benchmarks"][0]
            ok(b["name"] == "trace@1x" and b["schedule"] == "trace", f"{client}: one benchmark trace@1x",
               (b["name"], b["schedule"]))
            ok("ttft_from_scheduled_ms" in b["metrics"], f"{client}: open loop (latency from the scheduled time too)")
            ok(rep["config"].get("trace") == own and rep["config"].get("trace_speed") == 1,
               "report.json's config names the trace and its speed", rep["config"])
    out = check_offsets(sim, 2, "--trace-speed 2", "--trace-speed", 2)
    if out:
        ok(json.load(open(os.path.join(out, "report.json")))["benchmarks"][0]["name"] == "trace@2x", "named trace@2x")

    # --workers 2 and --max-requests: each entry once, at its own time.
    r, out = replay(sim, own, "own-w2", "--workers", 2, "--max-requests", 30)
    if ok(r.returncode == 0, "--workers 2 runs", r.stderr[-400:]):
        sched = sorted(round(float(x["scheduled_s"]) * 1000, 3) for x in requests(out))
        ok(sched == sorted(offsets[:30]), "--workers 2 --max-requests 30: the trace's first 30 requests, each once",
           sched)

    # --shard deals the trace too, and `llmload merge` knows the schedule (open loop, every request).
    dirs = []
    for i in range(2):
        r, out = replay(sim, own, f"shard{i}", "--shard", f"{i}/2", "--trace-speed", 4)
        ok(r.returncode == 0, f"--shard {i}/2 runs", r.stderr[-300:])
        dirs.append(out)
    merged = os.path.join(tmp, "merged")
    r = run(["merge", "-o", merged, *dirs], timeout=60)
    if ok(r.returncode == 0, "merge of two trace shards exits 0", r.stderr[-300:]):
        b = json.load(open(os.path.join(merged, "report.json")))["benchmarks"][0]
        ok(b["schedule"] == "trace" and b["requests"]["completed"] == len(offsets)
           and "ttft_from_scheduled_ms" in b["metrics"], "merged: schedule trace, every request once, open loop",
           (b["schedule"], b["requests"], sorted(b["metrics"])))

    # The samples replay (each format read by its own detection), fast.
    for name in ("mooncake-sample.jsonl", "azure-sample.csv", "otel-sample.jsonl", "llmload-sample.jsonl"):
        r, out = replay(sim, os.path.join(TRACES, name), "sample-" + name, "--trace-speed", 10, "--no-calibrate")
        rows = requests(out) if r.returncode == 0 else []
        ok(r.returncode == 0 and all(x["status"] == "ok" for x in rows), f"sample {name} replays", r.stderr[-300:])
        if name == "otel-sample.jsonl" and rows and "session" in rows[0]:
            # Each chat span's conversation, numbered by first appearance in the file, in start order
            # (checked once requests.csv carries the record's session: the multi-turn work adds it).
            seen, want = {}, []
            for line in open(os.path.join(TRACES, name)):
                for sp in json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]:
                    a = {x["key"]: x["value"] for x in sp["attributes"]}
                    if a["gen_ai.operation.name"]["stringValue"] == "chat":
                        conv = a["gen_ai.conversation.id"]["stringValue"]
                        seen.setdefault(conv, len(seen) + 1)
                        want.append((int(sp["startTimeUnixNano"]), seen[conv]))
            got = [int(x["session"]) for x in rows]
            ok(got == [v for _, v in sorted(want)], "OTel spans: each request's session from its conversation",
               (got, sorted(want)))

# Mooncake: the same hash ids are the same prompt blocks, so the simulator's prefix cache hits; the
# same trace with every id unique does not.
shared, unique = [], []
uid = 1000
for i in range(12):
    ids = [0, 1, 2] if i % 2 else [0, 1, 3]
    shared.append({"timestamp": i * 20, "input_length": 1400, "output_length": 2, "hash_ids": ids})
    unique.append({"timestamp": i * 20, "input_length": 1400, "output_length": 2, "hash_ids": [uid, uid + 1, uid + 2]})
    uid += 3
hits = {}
for name, rows in (("shared", shared), ("unique", unique)):
    with Sim("--ttft-ms", 2, "--itl-ms", 1, "--prefix-cache-tokens", 100000) as sim:
        r, out = replay(sim, write(name + ".jsonl", rows), "mc-" + name)
        ok(r.returncode == 0, f"mooncake {name} ids run", r.stderr[-300:])
        m = sim.metrics()
        q = sum(v for k, v in m.items() if k.startswith("vllm:prefix_cache_queries_total"))
        h = sum(v for k, v in m.items() if k.startswith("vllm:prefix_cache_hits_total"))
        hits[name] = h / q if q else 0
# 11 of 12 requests reuse at least 2 of their ~2.7 blocks.
ok(hits["shared"] > 0.5, f"shared hash_ids: prefix cache hit rate {hits['shared']:.2f} > 0.5", hits)
ok(hits["unique"] < 0.05, f"unique hash_ids: hit rate {hits['unique']:.3f} < 0.05", hits)

# The committed samples are the generator's output.
gen = os.path.join(tmp, "gen")
p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-traces.py"), gen], capture_output=True,
                   text=True, timeout=60)
same = p.returncode == 0 and all(open(os.path.join(gen, n), "rb").read() == open(os.path.join(TRACES, n), "rb").read()
                                 for n in os.listdir(TRACES))
ok(same and len(os.listdir(gen)) == len(os.listdir(TRACES)), "scripts/gen-traces.py reproduces traces/ exactly",
   p.stderr[-300:])

# Bad input: one line, naming file and line; exit 2 for content, 1 for an unreadable file.
bad = os.path.join(tmp, "bad.jsonl")
with open(bad, "w") as f:
    f.write('{"timestamp": 0, "input_length": 10, "output_length": 1}\n{"timestamp": 5, "input_length": "many"}\n')
r = run(["run", "--target", "http://127.0.0.1:1", "--trace", bad])
ok(r.returncode == 2 and r.stderr.count("\n") == 1 and "bad.jsonl:2:" in r.stderr,
   "a bad trace line: exit 2, one line naming file and line", f"rc={r.returncode} err={r.stderr!r}")
r = run(["run", "--target", "http://127.0.0.1:1", "--trace", os.path.join(tmp, "missing.jsonl")])
ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "missing.jsonl" in r.stderr,
   "a missing trace: exit 1, one line naming it", f"rc={r.returncode} err={r.stderr!r}")
r = run(["run", "--target", "http://127.0.0.1:1", "--trace", own, "--schedule", "poisson", "--rate", 5])
ok(r.returncode == 2 and r.stderr.count("\n") == 1 and "--trace" in r.stderr,
   "--trace with another --schedule: exit 2, one line", f"rc={r.returncode} err={r.stderr!r}")
r = run(["run", "--target", "http://127.0.0.1:1", "--trace", own, "--trace-speed", 0])
ok(r.returncode == 2 and r.stderr.count("\n") == 1 and "--trace-speed" in r.stderr,
   "--trace-speed 0: exit 2, one line", f"rc={r.returncode} err={r.stderr!r}")
done()
