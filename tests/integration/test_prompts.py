"""Synthetic prompts are real prose, prefix-cache scenarios, and streamed datasets.

1. Prose at the server: every request body's prompt is a window of the shipped corpus
   (data/corpus/persuasion.txt) from a sentence start, after the shared prefix and a unique marker;
   prefix_count=3 gives three different prefixes; no two prompts share more than the prefix; the
   same seed sends the same prompts.
2. Prefix cache (the simulator's --prefix-cache-tokens, vLLM's counters in /metrics): with a
   512-token prefix and K prefixes over 24 requests, the cache hits (N - K) x 512 tokens and exactly K
   requests pay the full prefill (their TTFT); without a prefix nothing is reused; calibrated
   lengths still land within 3% of the asked count.
3. Streamed datasets: a 200 MB JSON Lines file runs with a peak RSS far below its size;
   --data-max N uses the first N records only and --data-sampling sequential|shuffle|random give
   file order, a seeded permutation and seeded draws, repeatable with --seed.
"""
import csv
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import fakeserver
from lltest import ASAN, BIN, MULT, Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-prompts-")
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "..", "..", "data", "corpus", "persuasion.txt")) as f:
    flat = " ".join(f.read().split())


def prompt_of(body):
    doc = json.loads(body)
    if "prompt" in doc:
        return doc["prompt"]
    return doc["messages"][-1]["content"]


def rows_of(out):
    with open(os.path.join(out, "requests.csv")) as f:
        return list(csv.DictReader(f))


# 1. Prose at the server.
def prose_run(seed):
    with fakeserver.FakeServer(["ok"]) as fs:
        r = run(["run", "--target", fs.url, "--model", "fake", "--schedule", "synchronous", "--max-requests", 20,
                 "--max-seconds", 0, "--no-progress", "--quiet", "--seed", seed,
                 "--data", "prompt_tokens=120,prefix_tokens=30,prefix_count=3,output_tokens=2"])
        # The benchmark's requests stream; calibration's attempts (/tokenize, a probe) do not.
        return r, [prompt_of(b) for b in fs.bodies_seen if json.loads(b).get("stream") is True]


r, prompts = prose_run(7)
ok(r.returncode == 0 and len(prompts) == 20, "prose: 20 requests sent", r.stderr[-300:])
marker = re.compile(r"^id[0-9a-f]{16}$")
prefixes, windows, good = set(), [], True
for p in prompts:
    words = p.split(" ")
    prefix, mark, window = " ".join(words[:30]), words[30], " ".join(words[31:])
    good &= len(words) == 120 and bool(marker.match(mark)) and prefix in flat
    good &= window in flat or window[:200] in flat  # a window may wrap past the novel's end
    good &= bool(re.match(r"^[\"'(]*[A-Z]", window))
    prefixes.add(prefix)
    windows.append(window)
ok(good, "prose: 30 prefix words from the novel, the id marker, then 89 words of it from a sentence start",
   prompts[0][:300] if prompts else "")
ok(len(prefixes) == 3, "prose: prefix_count=3 gives three different prefixes", len(prefixes))
ok(len(set(w[:80] for w in windows)) == 20, "prose: each request starts at its own place in the text", "")
share = 0
for i in range(len(prompts)):
    for j in range(i + 1, len(prompts)):
        n = len(os.path.commonprefix([prompts[i], prompts[j]]))
        share = max(share, n - len(" ".join(prompts[i].split(" ")[:30])))
ok(share <= 4, f"prose: no two prompts share more than the prefix (+{share} bytes of the 'id' marker)", share)
ok(any(c in "".join(prompts) for c in ",.;\"") and any(c.isupper() for c in "".join(prompts)),
   "prose: punctuation and capitals, as real text has", "")
r2, again = prose_run(7)
ok(again == prompts, "prose: the same seed sends the same prompts", "")
r3, other = prose_run(8)
ok(other != prompts and len(other) == 20, "prose: another seed, other prompts", "")


# 2. Prefix cache on the simulator.
def cache_run(spec, n=24):
    with Sim("--ttft-ms", 1, "--itl-ms", 1, "--prefill-ms-per-1k", 1000, "--prefix-cache-tokens", 1000000) as sim:
        out = os.path.join(tmp, f"cache{time.monotonic_ns()}")
        r = run(["run", "--target", sim.url, "--api", "completions", "--schedule", "synchronous",
                 "--max-requests", n, "--max-seconds", 0, "--no-progress", "--quiet", "--out", out,
                 "--data", spec], timeout=120)
        m = sim.metrics()
        hits = sum(v for k, v in m.items() if k.startswith("vllm:prefix_cache_hits_total"))
        queries = sum(v for k, v in m.items() if k.startswith("vllm:prefix_cache_queries_total"))
        rows = rows_of(out) if r.returncode == 0 else []
        return r, hits, queries, rows


N = 24
for k in (1, 4):
    r, hits, queries, rows = cache_run(f"prompt_tokens=600,prefix_tokens=512,prefix_count={k},output_tokens=2", N)
    if not ok(r.returncode == 0 and len(rows) == N, f"prefix_count={k}: run exits 0", r.stderr[-300:]):
        continue
    want = (N - k) * 512
    ok(abs(hits - want) <= 16 * (N - k) * 0.05, f"prefix_count={k}: the cache hit {hits:g} tokens, "
       f"(N - K) x 512 = {want}", f"queries {queries:g}")
    # A cold request prefills 600 tokens (600 ms at 1000 ms/1k); a warm one 88 (88 ms): the line
    # between them leaves 250 ms either side for a busy machine.
    cold = sum(1 for x in rows if float(x["ttft_ms"]) > 340)
    ok(cold == k, f"prefix_count={k}: exactly {k} requests pay the full prefill (TTFT > 340 ms)",
       sorted(float(x["ttft_ms"]) for x in rows))
    counts = [int(x["prompt_tokens"]) for x in rows]
    ok(all(abs(c - 600) <= 18 for c in counts), f"prefix_count={k}: calibrated prompts within 3% of 600", counts)
r, hits, queries, rows = cache_run("prompt_tokens=600,output_tokens=2", 4)
ok(r.returncode == 0 and hits == 0 and queries > 0, "no prefix: the marker comes first, nothing is reused",
   f"hits {hits} queries {queries} {r.stderr[-200:]}")

# 3. Streamed datasets. Record i's prompt is (i % 50) + 1 one-letter words (the simulator counts each
#    as one token), padded to about 2 KB so the file is large for few records.
big = os.path.join(tmp, "big.jsonl")
size_mb = 64 if ASAN else 200
pad = "x" * 2000
try:
    with open(big, "w") as f:
        i = 0
        while f.tell() < size_mb << 20:
            f.write(json.dumps({"id": i, "pad": pad, "prompt": " ".join(["w"] * ((i % 50) + 1)),
                                "output_tokens": 2}) + "\n")
            i += 1
    records = i
    with Sim("--ttft-ms", 1, "--itl-ms", 1) as sim:
        out = os.path.join(tmp, "big")
        # A fresh Python whose only child is llmload: RUSAGE_CHILDREN's peak is llmload's.
        meter = ("import resource, subprocess, sys\n"
                 "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
                 "sys.stderr.write(r.stderr)\n"
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
                 "sys.exit(r.returncode)\n")
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, "-c", meter, BIN, "run", "--target", sim.url, "--schedule", "synchronous",
                            "--max-requests", "20", "--max-seconds", "0", "--no-progress", "--quiet", "--out", out,
                            "--data", big], capture_output=True, text=True, timeout=240 * MULT)
        took = time.monotonic() - t0
        rss_mb = int(p.stdout.strip() or 0) / 1024
        rows = rows_of(out) if p.returncode == 0 else []
        ok(p.returncode == 0 and len(rows) == 20 and all(x["status"] == "ok" for x in rows),
           f"{size_mb} MB JSON Lines ({records} records): 20 requests complete in {took:.1f} s", p.stderr[-300:])
        ok({int(x["prompt_tokens"]) for x in rows} <= set(range(1, 51)), "streamed prompts reach the server whole",
           sorted({int(x["prompt_tokens"]) for x in rows}))
        if not ASAN:  # the sanitizer's quarantine keeps freed memory: its RSS says nothing of the design
            ok(rss_mb < size_mb / 4, f"peak RSS {rss_mb:.0f} MB for a {size_mb} MB file (bound {size_mb / 4:.0f} MB)",
               rss_mb)

        def order(*extra, n=10):
            o = os.path.join(tmp, f"ord{time.monotonic_ns()}")
            r = run(["run", "--target", sim.url, "--schedule", "synchronous", "--max-requests", n, "--max-seconds", 0,
                     "--no-progress", "--quiet", "--out", o, "--data", big, *extra])
            if r.returncode != 0:
                return r.stderr[-200:]
            rows = sorted(rows_of(o), key=lambda x: int(x["request_id"]))
            return [int(x["prompt_tokens"]) for x in rows]

        seq = order("--data-max", 5, "--data-sampling", "sequential")
        ok(seq == [1, 2, 3, 4, 5] * 2, "--data-max 5 --data-sampling sequential: file order, repeated", seq)
        sh = order("--data-max", 5, "--seed", 3)
        ok(isinstance(sh, list) and sorted(sh[:5]) == [1, 2, 3, 4, 5] and sorted(sh[5:]) == [1, 2, 3, 4, 5]
           and sh[:5] != [1, 2, 3, 4, 5], "default (shuffle): a seeded permutation per pass", sh)
        ok(order("--data-max", 5, "--seed", 3) == sh, "shuffle: the same seed, the same order", "")
        rnd = order("--data-max", 5, "--data-sampling", "random", "--seed", 4, n=20)
        ok(isinstance(rnd, list) and set(rnd) <= {1, 2, 3, 4, 5} and
           any(sorted(rnd[i:i + 5]) != [1, 2, 3, 4, 5] for i in range(0, 20, 5)),
           "random: draws with replacement from the first 5 (not a permutation per pass)", rnd)
        ok(order("--data-max", 5, "--data-sampling", "random", "--seed", 4, n=20) == rnd,
           "random: the same seed, the same draws", "")
        r = run(["run", "--target", sim.url, "--data", big, "--data-sampling", "sorted", "--max-requests", 1])
        ok(r.returncode == 2 and "--data-sampling" in r.stderr and "sorted" in r.stderr,
           "--data-sampling sorted: a usage error naming it", r.stderr[-200:])
finally:
    if os.path.exists(big):
        os.unlink(big)

done()
