#!/usr/bin/env bash
# For a machine with Docker, kind and internet (the offline build is for hosts without a registry):
# builds the server image on the public Node base and pulls the rest, under the names the kind
# provider loads into its cluster. Then: MCPBENCH_KIND_NODE_IMAGE=kindest/node:v1.34.0 npx mcpbench run --cluster kind
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../offline/versions.env
source cluster/offline/versions.env
command -v docker >/dev/null || { echo "build-images-online: docker not found" >&2; exit 2; }
command -v kind >/dev/null || echo "build-images-online: note: no kind on PATH (install ${KIND_VERSION}: go install sigs.k8s.io/kind@${KIND_VERSION})" >&2
npm run build
docker build -f servers/Dockerfile -t mcpbench/server:dev .
docker pull redis:7-bookworm && docker tag redis:7-bookworm mcpbench/redis:dev
docker build -f cluster/offline/gateway.Dockerfile --build-arg BASE_IMAGE=debian:bookworm-slim -t mcpbench/gateway:dev cluster/offline
docker pull "registry.k8s.io/metrics-server/metrics-server:${METRICS_SERVER_VERSION}"
docker pull kindest/node:v1.34.0
echo "build-images-online: done; run: MCPBENCH_KIND_NODE_IMAGE=kindest/node:v1.34.0 npx mcpbench run --cluster kind"
