#!/usr/bin/env bash
# demo.sh - what `make demo` runs: start the simulator on 127.0.0.1, run a 6-point sweep against
# it, print the table and where the reports are, stop the simulator by its PID.
# Environment: DEMO_OUT (default out/demo), DEMO_SECONDS per sweep point (default 5; its first
# second is warmup, so the measured window does not include the empty pipeline of the start).
set -eu
cd "$(dirname "$0")/.."
BIN=${LLMLOAD_BIN:-build/release/llmload}
OUT=${DEMO_OUT:-out/demo}
SECONDS_PER_POINT=${DEMO_SECONDS:-5}
log=$(mktemp /tmp/llmload-demo-sim.XXXXXX)

# A simulated replica: 16 sequences in a batch, 60 ms prefill, 8 ms decode steps growing by
# 0.5 ms per running sequence, so the knee is visible within seconds.
"$BIN" sim --listen 127.0.0.1:0 --max-num-seqs 16 --ttft-ms 60 --prefill-ms-per-1k 40 \
  --itl-ms 8 --itl-ms-per-seq 0.5 --seed 1 >"$log" 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null; wait "$sim_pid" 2>/dev/null; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^listening on //p' "$log")
  [ -n "$url" ] && break
  kill -0 "$sim_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "demo: the simulator did not start:" >&2
  cat "$log" >&2
  exit 1
fi
echo "demo: simulator (pid $sim_pid) at $url"
"$BIN" run --target "$url" --schedule sweep --rate 6 --max-seconds "$SECONDS_PER_POINT" --warmup 1 \
  --max-concurrency 64 --data prompt_tokens=256,prompt_tokens_stdev=64,output_tokens=64,output_tokens_stdev=16 \
  --seed 42 --out "$OUT"
echo
echo "demo: reports in $OUT/:"
ls -1 "$OUT" | sed 's/^/  /'
if [ -f "$OUT/report.html" ]; then
  echo "demo: open $PWD/$OUT/report.html in a browser"
fi
