#!/usr/bin/env bash
# container-test-shards.sh - step 3 of `make container-test`: deploy/shards/'s Indexed Job as 3
# containers (JOB_COMPLETION_INDEX 0, 1, 2, one common LLMLOAD_START_AT), then the merge Job as
# the manifest defines it, against `llmload sim` and a Pushgateway on the host. Needs --shard,
# --start-at and `llmload merge` (the shards branch); the lead wires it into `make container-test`.
# TAP lines and `N passed, N failed`; exit 1 on any failure.
set -eu
cd "$(dirname "$0")/.."
make --no-print-directory container-deps
make --no-print-directory MODE=release all
scripts/container-build.sh
LLMLOAD_BIN="$PWD/build/release/llmload" exec /usr/bin/python3 tests/container/test_shards.py
