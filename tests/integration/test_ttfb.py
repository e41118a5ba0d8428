"""TTFB and TTFT against a near simulator (loopback, no prefill time), both transports, a few hundred
requests each: every completed request has ttfb_ms > 0 and ttft_ms >= ttfb_ms in requests.csv. curl
can send a request and read its answer inside one curl_multi_socket_action call; a read stamp taken
before that call made about 40% of synchronous requests' TTFB 0 ms or negative (an empty cell). A
negative difference is a bug this test catches; nothing is clamped to 0."""
import csv
import os
import tempfile

from lltest import Sim, done, ok, run

tmp = tempfile.mkdtemp(prefix="llmload-test-ttfb-")

with Sim("--ttft-ms", 0, "--itl-ms", 0, "--output-tokens", 4) as sim:
    for transport in ("builtin", "curl"):
        for schedule in (["synchronous"], ["concurrent", "--rate", 8]):
            what = f"{transport}/{schedule[0]}"
            out = os.path.join(tmp, what.replace("/", "-"))
            r = run(["run", "--target", sim.url, "--no-calibrate", "--schedule", *schedule, "--max-requests", 400, "--max-seconds", 0,
                     "--data", "prompt_tokens=8,output_tokens=4", "--no-progress", "--quiet",
                     "--http-client", transport, "--out", out], timeout=120)
            if not ok(r.returncode == 0, f"{what}: exit 0", r.stderr[-300:]):
                continue
            with open(os.path.join(out, "requests.csv")) as f:
                rows = [x for x in csv.DictReader(f) if x["status"] == "ok"]
            ok(len(rows) == 400, f"{what}: 400 completed", str(len(rows)))
            bad = [(x["request_id"], x["ttfb_ms"]) for x in rows if x["ttfb_ms"] == "" or float(x["ttfb_ms"]) <= 0]
            ok(not bad, f"{what}: every completed request has ttfb_ms > 0", f"{len(bad)} bad, e.g. {bad[:5]}")
            bad = [(x["request_id"], x["ttfb_ms"], x["ttft_ms"]) for x in rows
                   if x["ttfb_ms"] == "" or x["ttft_ms"] == "" or float(x["ttft_ms"]) < float(x["ttfb_ms"])]
            ok(not bad, f"{what}: every completed request has ttft_ms >= ttfb_ms", f"{len(bad)} bad, e.g. {bad[:5]}")

done()
