#!/usr/bin/env bash
# Builds k6 (the Grafana load generator) from the Go module proxy into .cache/bin/k6.
# Idempotent: does nothing when .cache/bin/k6 already reports the pinned version.
# k6 >= 1.0 runs the TypeScript scripts under scenarios/k6/ directly.
set -euo pipefail

K6_VERSION="${K6_VERSION:-v1.8.1}"
cd "$(dirname "$0")/.."
root="$(pwd)"
bin_dir="$root/.cache/bin"
k6="$bin_dir/k6"
start=$(date +%s)

if [ -x "$k6" ] && "$k6" version 2>/dev/null | grep -q "k6 ${K6_VERSION}"; then
  echo "build-k6: .cache/bin/k6 is already ${K6_VERSION}"
  exit 0
fi

go_bin="$(command -v go || true)"
if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
if [ -z "$go_bin" ]; then
  echo "build-k6: no Go toolchain found (looked on PATH and at /usr/local/go/bin/go); k6 tests will be skipped" >&2
  exit 1
fi

mkdir -p "$bin_dir"
echo "build-k6: building go.k6.io/k6@${K6_VERSION} with $("$go_bin" version | cut -d' ' -f3) (a few minutes on 2 cores)"
GOBIN="$bin_dir" GOFLAGS=-mod=mod CGO_ENABLED=0 nice -n 10 "$go_bin" install "go.k6.io/k6@${K6_VERSION}"
"$k6" version
echo "build-k6: done in $(( $(date +%s) - start )) s"
