#!/usr/bin/env bash
# run-tests.sh BUILD_DIR... - run every test against each build and print one closing
# `N passed, N failed` line. Counts cmocka test cases, fuzz-corpus replays (one per target) and
# integration checks (TAP-style `ok` / `not ok` lines from tests/integration/test_*.{sh,py}).
# Each executable runs under `timeout`, scaled by LLMLOAD_TEST_TIMEOUT_MULTIPLIER on slow machines.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
MULT=${LLMLOAD_TEST_TIMEOUT_MULTIPLIER:-1}
export LLMLOAD_TEST_TIMEOUT_MULTIPLIER=$MULT
pass=0
fail=0
failed_names=""
logdir=build/test-logs
mkdir -p "$logdir"

note_fail() { fail=$((fail + $1)); failed_names="$failed_names $2"; }

for build in "$@"; do
  mode=$(basename "$build")
  echo "== tests: $mode =="
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

  for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
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
      note_fail "$f" "$mode/$name"
      echo "FAIL $mode/$name (exit $rc)"; tail -n 25 "$log" | sed 's/^/    /'
    else
      echo "ok   $mode/$name ($p)"
    fi
  done

  for r in "$build"/tests/replay_*; do
    [ -x "$r" ] || continue
    target=${r##*/replay_}
    log="$logdir/$mode-replay-$target.log"
    if timeout $((300 * MULT)) "$r" tests/fuzz/corpus/"$target" >"$log" 2>&1; then
      pass=$((pass + 1)); echo "ok   $mode/replay_$target"
    else
      note_fail 1 "$mode/replay_$target"; echo "FAIL $mode/replay_$target"; tail -n 25 "$log" | sed 's/^/    /'
    fi
  done

  for s in tests/integration/test_*.sh tests/integration/test_*.py; do
    [ -f "$s" ] || continue
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
      note_fail "$f" "$mode/$name"
      echo "FAIL $mode/$name (exit $rc, ${took}s)"; grep -E '^not ok|Traceback|Error|error' "$log" | head -n 20 | sed 's/^/    /'
      tail -n 15 "$log" | sed 's/^/    /'
    else
      echo "ok   $mode/$name ($p, ${took}s)"
    fi
  done
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "tests took ${SECONDS}s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
