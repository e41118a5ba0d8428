"""Reports written before the histograms went from 7 to 10 sub-bucket bits stay readable: `llmload
report --format prom|html` reads each bucket index in the scheme its "sub_bucket_bits" names, so a
7-bit table renders with its exact 7-bit ranges, not as the (very different) 10-bit bucket of the
same index. A histogram with no or an unsupported sub_bucket_bits is left out, not misread."""
import json
import os
import re
import tempfile

from lltest import Sim, done, ok, run

MAX_EXP = 42


def scheme_index(bits, v):
    """Bucket of v in the log-linear scheme with `bits` sub-bucket bits (docs/statistics.md)."""
    e = max((v | ((2 << bits) - 1)).bit_length() - 1, bits)
    shift = e - bits
    return (shift << bits) + (v >> shift)


def scheme_range(bits, idx):
    if idx < (2 << bits):
        return idx, idx
    shift = (idx >> bits) - 1
    lo = (idx - (shift << bits)) << shift
    return lo, min(lo + (1 << shift) - 1, 1 << MAX_EXP)


tmp = tempfile.mkdtemp(prefix="llmload-test-schemes-")
out = os.path.join(tmp, "out")
with Sim("--ttft-ms", 10, "--itl-ms", 5, "--seed", 3) as sim:
    r = run(["run", "--target", sim.url, "--schedule", "concurrent", "--rate", 2, "--max-seconds", 1,
             "--data", "prompt_tokens=8,output_tokens=8", "--out", out, "--no-progress"])
ok(r.returncode == 0, "run with --out", r.stderr[-300:])
rep = json.load(open(os.path.join(out, "report.json")))
h = rep["benchmarks"][0]["histograms"]["itl_ms"]
ok(h.get("sub_bucket_bits") == 10, "reports are now written with 10 sub-bucket bits", h.get("sub_bucket_bits"))

# A 7-bit table as an older llmload wrote it: 1.2 ms x 3, 3 ms x 5, 40 ms x 2 (indices a 10-bit
# reader would take for values of a few microseconds).
values = {1200000: 3, 3000000: 5, 40000000: 2}
old = [[scheme_index(7, v), n] for v, n in sorted(values.items())]
ok(all(scheme_range(10, i)[1] < 10000 for i, _ in old), "the 7-bit indices mean microseconds in the 10-bit scheme",
   old)
ok(all(scheme_range(7, scheme_index(7, v))[0] <= v <= scheme_range(7, scheme_index(7, v))[1] for v in values),
   "the test's own 7-bit formula puts each value in its bucket")
h.update({"sub_bucket_bits": 7, "count": sum(values.values()), "out_of_range": 0, "min": min(values),
          "max": max(values), "buckets": old})
rep["benchmarks"][0]["histograms"]["ttft_ms"] = dict(h)
old_path = os.path.join(tmp, "old.json")
json.dump(rep, open(old_path, "w"))

rr = run(["report", old_path, "--format", "prom"])
ok(rr.returncode == 0, "report --format prom reads a 7-bit report", rr.stderr)
name = rep["benchmarks"][0]["name"]


def bucket(text, le):
    m = re.search(r'^llmload_inter_token_gap_seconds_bucket\{benchmark="' + re.escape(name) +
                  r'"[^}]*le="' + re.escape(le) + r'"\} (\S+)$', text, re.M)
    return float(m.group(1)) if m else None


# le bounds: 0.0005, 0.001, 0.0025, 0.005, ..., 0.05; each bucket counts where its whole range fits.
got = {le: bucket(rr.stdout, le) for le in ("0.001", "0.0025", "0.005", "0.05", "+Inf")}
want = {"0.001": 0, "0.0025": 3, "0.005": 8, "0.05": 10, "+Inf": 10}
ok(got == want, "7-bit buckets fold onto le bounds by their 7-bit ranges", (got, want))

rr = run(["report", old_path, "--format", "html"])
m = re.search(r'<script type="application/json" id="llmload-buckets">(.*?)</script>', rr.stdout, re.S)
hb = json.loads(m.group(1)) if m else []
got = hb[0]["itl_ms"] if hb else None
want = [[scheme_range(7, i)[0] / 1e6, (scheme_range(7, i)[1] + 1) / 1e6, n] for i, n in old]
ok(rr.returncode == 0 and got is not None and len(got) == len(want) and
   all(abs(a - b) < 1e-6 for g, w in zip(got, want) for a, b in zip(g, w)),
   "report.html's bucket edges are the exact 7-bit ranges", (got, want))

# No scheme, or one outside 1..16: the histogram is left out rather than misread.
for bits in (None, 0, 17):
    if bits is None:
        h.pop("sub_bucket_bits", None)
    else:
        h["sub_bucket_bits"] = bits
    rep["benchmarks"][0]["histograms"]["ttft_ms"] = dict(h)
    json.dump(rep, open(old_path, "w"))
    rr = run(["report", old_path, "--format", "prom"])
    ok(rr.returncode == 0 and bucket(rr.stdout, "+Inf") == 0, f"sub_bucket_bits={bits}: no buckets read",
       (rr.returncode, bucket(rr.stdout, "+Inf"), rr.stderr))
    rr = run(["report", old_path, "--format", "html"])
    m = re.search(r'<script type="application/json" id="llmload-buckets">(.*?)</script>', rr.stdout, re.S)
    hb = json.loads(m.group(1)) if m else None
    ok(rr.returncode == 0 and hb is not None and hb[0]["itl_ms"] == [], f"sub_bucket_bits={bits}: html draws none",
       hb[0] if hb else rr.stderr)
done()
