#!/usr/bin/env bash
# container-build.sh - builds the llmload image with podman, without a registry:
#   1. the base image debian:bookworm from Debian's own packages (mmdebstrap --variant=minbase with
#      the mirror lines apt already uses), cached as a rootfs tarball in $LLMLOAD_CONTAINER_CACHE
#      (default /var/cache/llmload-container) and as the image itself, both reused when present;
#   2. the Dockerfile (multi-stage) with --pull=never, then prints the image's size.
#   scripts/container-build.sh [IMAGE]        default IMAGE: localhost/llmload:dev
# podman here needs --runtime runc (crun fails on this cgroup layout) and ulimits no higher than
# the hard limits (podman's defaults are above them).
set -eu
cd "$(dirname "$0")/.."
IMAGE="${1:-localhost/llmload:dev}"
CACHE="${LLMLOAD_CONTAINER_CACHE:-/var/cache/llmload-container}"
PODMAN="podman --runtime runc"
NOFILE="$(ulimit -Hn)"

if ! $PODMAN image exists docker.io/library/debian:bookworm; then
  mkdir -p "$CACHE"
  if [ ! -s "$CACHE/rootfs.tar" ]; then
    sources=$(ls /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1 || true)
    [ -n "$sources" ] || { echo "container-build: no apt sources found in /etc/apt" >&2; exit 1; }
    echo "container-build: base rootfs (mmdebstrap minbase bookworm, mirrors from $sources)"
    rm -f "$CACHE/rootfs-partial.tar"
    mmdebstrap --quiet --variant=minbase bookworm "$CACHE/rootfs-partial.tar" "$sources"
    mv "$CACHE/rootfs-partial.tar" "$CACHE/rootfs.tar"
  fi
  $PODMAN import "$CACHE/rootfs.tar" localhost/debian:bookworm >/dev/null
  $PODMAN tag localhost/debian:bookworm docker.io/library/debian:bookworm
fi

version=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)
$PODMAN build --quiet --pull=never --network host --ulimit "nofile=$NOFILE:$NOFILE" \
  --build-arg "LLMLOAD_GIT=$version" -t "$IMAGE" . >/dev/null
size=$($PODMAN image inspect --format '{{.Size}}' "$IMAGE")
echo "container-build: $IMAGE ($version) $((size / 1000000)) MB"
