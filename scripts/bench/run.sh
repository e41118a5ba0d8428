#!/usr/bin/env bash
# run.sh - `make bench`: installs the yardstick's packages (nginx, its echo module, wrk), starts
# the fixed SSE endpoint from ../shared/bench pinned to core 1, runs scripts/bench/bench.py with
# the client on core 0, writes build/bench/results.{json,md} (and docs/performance.md's block with
# BENCH_ARGS=--write-docs), then stops nginx by its PID.
set -eu
cd "$(dirname "$0")/../.."
SHARED=${LLMLOAD_SHARED:-$PWD/../shared/bench}
if [ ! -x "$SHARED/fake_endpoint.sh" ]; then
  echo "bench: $SHARED/fake_endpoint.sh not found (the shared/ folder beside the checkout)" >&2
  exit 1
fi
scripts/install-deps.sh --bench
export BENCH_PYTHON=/usr/bin/python3
"$SHARED/fake_endpoint.sh" start
trap '"$SHARED/fake_endpoint.sh" stop' EXIT
"$SHARED/fake_endpoint.sh" check >/dev/null
# shellcheck disable=SC2086
/usr/bin/python3 scripts/bench/bench.py ${BENCH_ARGS:-}
