#!/usr/bin/env bash
# valgrind.sh [BUILD_DIR] - `make valgrind`: short end-to-end runs of the llmload client under
# valgrind memcheck, against `llmload sim` (run natively): every schedule, a sweep, every fault
# kind, an unreachable target, a SIGINT drain and `llmload report`. A case fails on any memcheck
# error or any definitely/indirectly lost block (--error-exitcode), or on an unexpected exit code.
# Not part of `make test` (about a minute); logs in build/valgrind/. Prints `N passed, N failed`.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build/release}
BIN=$PWD/$BUILD/llmload
MULT=${LLMLOAD_TEST_TIMEOUT_MULTIPLIER:-1}
VG_RC=99
LOGS=build/valgrind
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log
command -v valgrind >/dev/null || { echo "valgrind not installed (Debian package valgrind)"; exit 1; }
[ -x "$BIN" ] || { echo "$BIN not built (make all)"; exit 1; }

VG=(valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
    --error-exitcode=$VG_RC --num-callers=30)
pass=0
fail=0
sims=()

start_sim() { # start_sim VAR ARGS...: the simulator's URL into VAR, its PID remembered for cleanup
  local var=$1 out; shift
  out=$(mktemp "$LOGS/sim.XXXXXX")
  "$BIN" sim --listen 127.0.0.1:0 "$@" >"$out" 2>/dev/null &
  sims+=($!)
  for _ in $(seq 100); do
    grep -q "listening on" "$out" && break
    sleep 0.1
  done
  printf -v "$var" '%s' "$(sed -n 's/^listening on //p' "$out")"
  rm -f "$out"
  [ -n "${!var}" ] || { echo "simulator did not start"; stop_sims; exit 1; }
}

stop_sims() {
  for p in "${sims[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${sims[@]}"; do wait "$p" 2>/dev/null; done
}
trap stop_sims EXIT

check() { # check NAME RC EXPECTED_RC
  local name=$1 rc=$2 want=$3 log=$LOGS/$1.log
  local lost
  lost=$(grep -E "(definitely|indirectly) lost: [1-9]" "$log" | head -n 2 | tr '\n' ' ')
  if [ "$rc" -eq "$want" ] && [ -z "$lost" ] && grep -q "ERROR SUMMARY: 0 errors" "$log"; then
    pass=$((pass + 1)); echo "ok   $name"
  else
    fail=$((fail + 1)); echo "FAIL $name (exit $rc, want $want) $lost"
    grep -E "^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ bytes in)" "$log" | head -n 10 | sed 's/^/    /'
  fi
}

vg_run() { # vg_run NAME EXPECTED_RC llmload-ARGS...
  local name=$1 want=$2; shift 2
  timeout --kill-after=10 $((300 * MULT)) "${VG[@]}" --log-file="$LOGS/$name.log" "$BIN" "$@" \
    >"$LOGS/$name.out" 2>"$LOGS/$name.err"
  check "$name" $? "$want"
}

t0=$(date +%s)
start_sim SIM --ttft-ms 20 --itl-ms 5 --seed 1
start_sim FAULTY --ttft-ms 20 --itl-ms 5 --seed 2 --error-rate 0.1 --rate-limit-rate 0.1 --disconnect-rate 0.1 \
  --malformed-rate 0.1 --stall-rate 0.1 --stall-seconds 30
DATA=(--data prompt_tokens=16,output_tokens=8 --no-progress)
OUT=$LOGS/out

vg_run synchronous 0 run --target "$SIM" --schedule synchronous --max-requests 5 --max-seconds 0 "${DATA[@]}"
vg_run concurrent 0 run --target "$SIM" --schedule concurrent --rate 8 --max-seconds 2 "${DATA[@]}" --out "$OUT"
vg_run throughput 0 run --target "$SIM" --schedule throughput --max-concurrency 8 --max-seconds 2 "${DATA[@]}"
vg_run constant 0 run --target "$SIM" --schedule constant --rate 20 --max-seconds 2 --api completions "${DATA[@]}"
vg_run poisson 0 run --target "$SIM" --schedule poisson --rate 20 --max-seconds 2 --warmup 0.5 "${DATA[@]}"
vg_run sweep 0 run --target "$SIM" --schedule sweep --rate 3 --max-seconds 1 "${DATA[@]}"
vg_run workers 0 run --target "$SIM" --schedule concurrent --rate 4 --workers 2 --max-seconds 2 --slo "ttft_p95<=10s" "${DATA[@]}"
# Real servers' shapes (no [DONE], usage on the finish chunk, llama.cpp timings, connections closed
# after each response), the server-metrics scraper and live metrics threads, on both transports.
start_sim REAL --ttft-ms 20 --itl-ms 5 --seed 3 --no-done --usage-on-finish --timings --close-after-response late \
  --gpu-metrics --prefix-cache-tokens 4096
vg_run real-builtin 0 run --target "$REAL/v1" --schedule concurrent --rate 4 --max-seconds 2 --server-metrics \
  --server-metrics-interval 0.5 --metrics-listen 127.0.0.1:0 "${DATA[@]}"
vg_run real-curl 0 run --target "$REAL" --http-client curl --schedule concurrent --rate 4 --max-seconds 2 \
  --server-metrics --server-metrics-interval 0.5 "${DATA[@]}"
vg_run faults 0 run --target "$FAULTY" --schedule concurrent --rate 16 --max-seconds 3 --stream-timeout 0.5 \
  "${DATA[@]}" --out "$OUT-faults"
if grep -q '"errors_by_kind": {}' "$OUT-faults/report.json" 2>/dev/null; then
  fail=$((fail + 1)); echo "FAIL faults: no errors were injected"
fi
vg_run unreachable 1 run --target http://127.0.0.1:1 --max-requests 1 --no-progress
vg_run report 0 report "$OUT/report.json" --format csv

# SIGINT once the run has started (its banner is printed after the signal handlers are set).
name=sigint
timeout --kill-after=10 $((300 * MULT)) "${VG[@]}" --log-file="$LOGS/$name.log" "$BIN" run --target "$SIM" \
  --schedule concurrent --rate 8 --max-seconds 60 --drain-seconds 1 "${DATA[@]}" --out "$OUT-sigint" \
  >"$LOGS/$name.out" 2>"$LOGS/$name.err" &
vgpid=$!
for _ in $(seq $((300 * MULT))); do
  grep -q "llmload concurrent: target" "$LOGS/$name.err" && break
  sleep 0.1
done
sleep 1
# timeout(1) passes the signal on to the client (valgrind runs it in the same process).
kill -INT "$vgpid" 2>/dev/null
wait "$vgpid"
check "$name" $? 130

echo "valgrind: $(( $(date +%s) - t0 )) s, logs in $LOGS/"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
