#!/usr/bin/env bash
# install-deps.sh - install the Debian packages llmload builds, tests and demos with.
#   scripts/install-deps.sh          install what is missing (apt-get; as root, or through sudo)
#   scripts/install-deps.sh --check  exit 0 when everything is present, 1 otherwise (installs nothing)
#   scripts/install-deps.sh --bench  also what `make bench` needs (nginx, its echo module, wrk)
#   scripts/install-deps.sh --container  also what `make container-test` needs (podman, runc,
#                                    mmdebstrap, yamllint, python3-yaml, node and npm); options combine
# Debian packages only (design decision: no pip, no downloads of prebuilt binaries).
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev git curl
libuv1-dev libcurl4-openssl-dev libcjson-dev libgsl-dev libhttp-parser-dev libcmocka-dev
python3 python3-pandas prometheus prometheus-pushgateway chromium fonts-dejavu-core"

check=""
for arg in "$@"; do
  case "$arg" in
    --bench)
      # The speed yardstick: nginx with the echo module (../shared/bench), wrk, GNU time.
      PKGS="$PKGS nginx-light libnginx-mod-http-echo wrk time" ;;
    --container)
      # make container-test: images without a registry (podman on runc, a base from mmdebstrap),
      # manifests checked offline (yamllint; kubernetes-models through npm in tests/container).
      PKGS="$PKGS podman runc mmdebstrap yamllint python3-yaml tar"
      # A nodejs from elsewhere may bundle npm and conflict with Debian's npm package.
      command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
      command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm" ;;
    --check) check=1 ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$check" ]; then
  [ -z "$missing" ] && exit 0
  echo "missing packages:$missing"
  exit 1
fi

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root (or sudo) to install:$missing" >&2
    exit 1
  fi
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
