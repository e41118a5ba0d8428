#!/usr/bin/env bash
# run-tests.sh BUILD_DIR... - run every test against each build and print one closing
# `N passed, N failed` line. Counts cmocka test cases, fuzz-corpus replays (one per target) and
# integration checks (TAP-style `ok` / `not ok` lines from tests/integration/test_*.{sh,py}).
# Each executable runs under `timeout`, scaled by LLMLOAD_TEST_TIMEOUT_MULTIPLIER on slow machines.
#
# The integration files are wall-clock bound (they wait on simulated prefill and decode, at about
# a fifth of a core), so each build's files run in lanes of their own (LLMLOAD_TEST_LANES per
# build, default 2), the lanes side by side: the suite takes the longest lane's time, not the sum.
# Files in EXCLUSIVE make load on purpose (busy loops pinned to a core) and run alone after the
# lanes, so they neither disturb nor are disturbed by the others' timing checks.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
MULT=${LLMLOAD_TEST_TIMEOUT_MULTIPLIER:-1}
export LLMLOAD_TEST_TIMEOUT_MULTIPLIER=$MULT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
EXCLUSIVE="test_client_bound.py"
logdir=build/test-logs
lanes=$(mktemp -d)
mkdir -p "$logdir"
trap 'rm -rf "$lanes"' EXIT

# Each function prints its result lines and, last, one line "COUNT pass fail names...".
run_units() { # run_units BUILD
  local build=$1 mode pass=0 fail=0 names=""
  mode=$(basename "$build")
  for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    local name log rc p f
    name=$(basename "$t")
    log="$logdir/$mode-$name.log"
    timeout $((120 * MULT)) "$t" >"$log" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    pass=$((pass + p))
    if [ "$f" -gt 0 ]; then
      fail=$((fail + f)); names="$names $mode/$name"
      echo "FAIL $mode/$name (exit $rc)"; tail -n 25 "$log" | sed 's/^/    /'
    else
      echo "ok   $mode/$name ($p)"
    fi
  done
  for r in "$build"/tests/replay_*; do
    [ -x "$r" ] || continue
    local target log
    target=${r##*/replay_}
    log="$logdir/$mode-replay-$target.log"
    if timeout $((300 * MULT)) "$r" tests/fuzz/corpus/"$target" >"$log" 2>&1; then
      pass=$((pass + 1)); echo "ok   $mode/replay_$target"
    else
      fail=$((fail + 1)); names="$names $mode/replay_$target"
      echo "FAIL $mode/replay_$target"; tail -n 25 "$log" | sed 's/^/    /'
    fi
  done
  echo "COUNT $pass $fail$names"
}

run_integration() { # run_integration BUILD FILE...
  local build=$1 mode pass=0 fail=0 names=""
  shift
  mode=$(basename "$build")
  for s in "$@"; do
    local name log runner rc p f t0 took
    name=$(basename "$s")
    log="$logdir/$mode-$name.log"
    case "$s" in *.py) runner="$PYTHON";; *) runner=bash;; esac
    t0=$SECONDS
    LLMLOAD_BIN="$PWD/$build/llmload" LLMLOAD_MODE=$mode PYTHON=$PYTHON \
      timeout --kill-after=10 $((600 * MULT)) "$runner" "$s" >"$log" 2>&1
    rc=$?
    took=$((SECONDS - t0))
    p=$(grep -c '^ok ' "$log")
    f=$(grep -c '^not ok ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; echo "    (no checks ran)" >>"$log"; fi
    pass=$((pass + p))
    if [ "$f" -gt 0 ]; then
      fail=$((fail + f)); names="$names $mode/$name"
      echo "FAIL $mode/$name (exit $rc, ${took}s)"; grep -E '^not ok|Traceback|Error|error' "$log" | head -n 20 | sed 's/^/    /'
      tail -n 15 "$log" | sed 's/^/    /'
    else
      echo "ok   $mode/$name ($p, ${took}s)"
    fi
  done
  echo "COUNT $pass $fail$names"
}

shared=() exclusive=()
for s in tests/integration/test_*.sh tests/integration/test_*.py; do
  [ -f "$s" ] || continue
  case " $EXCLUSIVE " in *" $(basename "$s") "*) exclusive+=("$s");; *) shared+=("$s");; esac
done

# Unit tests and corpus replays first, build by build (seconds); then the lanes.
k=0
for build in "$@"; do
  run_units "$build" >"$lanes/units-$k"
  k=$((k + 1))
done
# Each build's files are dealt round-robin into LANES lanes (default 2 per build: 4 on two builds),
# all side by side: the files wait on the simulator far more than they compute, so four lanes on
# two cores keep the machine at about one core busy while the suite takes a quarter of the sum.
LANES=${LLMLOAD_TEST_LANES:-2}
k=0
for build in "$@"; do
  for ((j = 0; j < LANES; j++)); do
    part=()
    for ((i = j; i < ${#shared[@]}; i += LANES)); do part+=("${shared[i]}"); done
    [ ${#part[@]} -gt 0 ] || continue
    run_integration "$build" "${part[@]}" >"$lanes/lane-$k-$j" &
  done
  k=$((k + 1))
done
wait
for build in "$@"; do
  run_integration "$build" "${exclusive[@]}" >>"$lanes/alone"
done

pass=0 fail=0 failed_names=""
k=0
for build in "$@"; do
  echo "== tests: $(basename "$build") =="
  for part in "$lanes/units-$k" "$lanes/lane-$k"-*; do
    grep -v '^COUNT ' "$part"
  done
  k=$((k + 1))
done
echo "== tests run alone (they load the machine on purpose) =="
grep -v '^COUNT ' "$lanes/alone"
while read -r _ p f names; do
  pass=$((pass + p)); fail=$((fail + f)); failed_names="$failed_names${names:+ $names}"
done < <(cat "$lanes"/units-* "$lanes"/lane-* "$lanes/alone" | grep '^COUNT ')

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "tests took ${SECONDS}s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
