#!/usr/bin/env bash
# screenshot-report.sh - full-page PNG of a report.html in headless Chromium (for people checking
# the page, and for the tests' author): scripts/screenshot-report.sh REPORT.html OUT.png [WIDTH]
# Two passes: --dump-dom reads the page height the page's script records (body data-page-height),
# then --screenshot with a window that tall, since Chromium's CLI screenshots only the window.
# Offline: the profile is a fresh temp dir, background networking is off; the page fetches nothing.
# Each Chromium run is bounded by `timeout` (killed by PID after 60 s, KILL 5 s later).
set -eu

if [ $# -lt 2 ]; then
  echo "usage: $0 REPORT.html OUT.png [WIDTH]" >&2
  exit 2
fi
report=$1 out=$2 width=${3:-1400}
[ -f "$report" ] || { echo "$0: $report: no such file" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "$0: chromium not found (scripts/install-deps.sh installs it)" >&2; exit 1; }

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
url="file://$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile"
       --virtual-time-budget=5000)

height=$(timeout -k 5 60 "$browser" "${flags[@]}" --window-size="$width,900" --dump-dom "$url" 2>/dev/null |
         sed -n 's/.*data-page-height="\([0-9]*\)".*/\1/p' | head -n 1)
[ -n "$height" ] || height=2400
timeout -k 5 60 "$browser" "${flags[@]}" --window-size="$width,$height" --screenshot="$out" "$url" >/dev/null 2>&1
[ -s "$out" ] || { echo "$0: no screenshot written" >&2; exit 1; }
echo "$out (${width}x$height)"
