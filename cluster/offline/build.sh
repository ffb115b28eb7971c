#!/usr/bin/env bash
# Offline build of everything the kind / kube providers need, from the Debian archive, the Go module
# proxy, npm and this repository only (no container registry is reachable on the build hosts).
#
#   cluster/offline/build.sh            # every step, in order
#   cluster/offline/build.sh k8s images # only the named steps (see STEPS below)
#   cluster/offline/build.sh byo        # the image of a server that is not ours (never part of the default)
#
# Idempotent and resumable: every step leaves a stamp under .cache/offline/stamps keyed by its inputs,
# and is skipped when the stamp is there. FORCE=1 ignores stamps. Heavy work runs under nice -n 15.
# Needs root (apt, dockerd, debootstrap).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/cluster/offline"
CACHE="$ROOT/.cache/offline"
STAMPS="$CACHE/stamps"
LOGS="$CACHE/logs"
BIN="$CACHE/bin"
mkdir -p "$STAMPS" "$LOGS" "$BIN"
# shellcheck source=versions.env
source "$HERE/versions.env"
export PATH="$BIN:$PATH:/usr/local/go/bin"
export GOFLAGS="${GOFLAGS:-} -trimpath"
export CGO_ENABLED=0
NICE="nice -n 15"

STEPS=(docker base node servers redis gateway kind k8s etcd coredns crictl metrics-server pause images addon-images node-image)

log() { printf '[offline %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
stamp_ok() { [[ "${FORCE:-0}" != 1 && -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]; }
stamp_set() { printf '%s' "$2" >"$STAMPS/$1"; }
# shellcheck disable=SC2012
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }

# ---------------------------------------------------------------------------------------------------
step_docker() {
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null ||
    [[ ! -x /usr/lib/cni/bridge ]]; then
    log "apt-get install docker.io debootstrap containernetworking-plugins"
    apt-get update >"$LOGS/apt-update.log" 2>&1
    DEBIAN_FRONTEND=noninteractive $NICE apt-get install -y --no-install-recommends \
      docker.io debootstrap containernetworking-plugins >"$LOGS/apt.log" 2>&1
  fi
  if docker info >/dev/null 2>&1; then
    log "dockerd already running"
    return
  fi
  log "starting dockerd (log: $LOGS/dockerd.log)"
  # setsid: the daemon must outlive this script; its pid is kept for whoever stops it.
  setsid dockerd >"$LOGS/dockerd.log" 2>&1 </dev/null &
  echo $! >"$CACHE/dockerd.pid"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 0.5
  done
  log "dockerd did not come up:"; tail -20 "$LOGS/dockerd.log" >&2; return 1
}

# ---------------------------------------------------------------------------------------------------
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

step_base() {
  local key="$DEBIAN_SUITE-minbase"
  if stamp_ok base "$key" && have_image mcpbench/base:bookworm; then return; fi
  local rootfs="$CACHE/rootfs-base"
  if [[ ! -f "$CACHE/rootfs-base.tar" ]]; then
    rm -rf "$rootfs"
    log "debootstrap --variant=minbase $DEBIAN_SUITE (log: $LOGS/debootstrap.log)"
    $NICE debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$LOGS/debootstrap.log" 2>&1
    # Keep images small: no apt lists, no docs.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/cache/apt/*.bin
    tar -C "$rootfs" -c . >"$CACHE/rootfs-base.tar.tmp"
    mv "$CACHE/rootfs-base.tar.tmp" "$CACHE/rootfs-base.tar"
    rm -rf "$rootfs"
  fi
  log "docker import -> mcpbench/base:bookworm"
  docker import --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$CACHE/rootfs-base.tar" mcpbench/base:bookworm >/dev/null
  stamp_set base "$key"
}

# ---------------------------------------------------------------------------------------------------
# Node runtime: Debian bookworm ships Node 18, the project needs >= 20.19. Rather than a registry
# image we copy the build host's own Node 20 binary (the one that runs the harness and the tests,
# so image and host run the very same runtime). It links only glibc/libstdc++, which bookworm has.
step_node() {
  local node_bin; node_bin="$(readlink -f "$(command -v node)")"
  local key; key="$(node --version)-$(hash_of "$HERE/node.Dockerfile")"
  if stamp_ok node "$key" && have_image mcpbench/node:20; then return; fi
  local ctx="$CACHE/ctx-node"; rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$node_bin" "$ctx/node"
  cp "$HERE/node.Dockerfile" "$ctx/Dockerfile"
  log "docker build mcpbench/node:20 (node $(node --version) from the host)"
  $NICE docker build -q -t mcpbench/node:20 "$ctx" >"$LOGS/node-image.log" 2>&1
  stamp_set node "$key"
}

# ---------------------------------------------------------------------------------------------------
# The server image: both programs in one image (the Deployment's args choose legacy or rc).
# servers/Dockerfile (ARG BASE_IMAGE) is used when present; cluster/offline/server.Dockerfile otherwise.
step_servers() {
  local dockerfile="$ROOT/servers/Dockerfile"
  [[ -f "$dockerfile" ]] || dockerfile="$HERE/server.Dockerfile"
  local ctx="$CACHE/ctx-server"
  local lockhash; lockhash="$(hash_of "$ROOT/package-lock.json")"
  # Production node_modules from the npm registry, built once per lock file in its own directory
  # (the checkout's node_modules is never touched).
  if ! stamp_ok server-deps "$lockhash"; then
    log "npm ci --omit=dev into .cache (lock $lockhash)"
    rm -rf "$CACHE/server-deps"; mkdir -p "$CACHE/server-deps"
    cp "$ROOT/package.json" "$ROOT/package-lock.json" "$CACHE/server-deps/"
    (cd "$CACHE/server-deps" && $NICE npm ci --omit=dev --ignore-scripts --no-audit --no-fund >"$LOGS/npm-ci.log" 2>&1)
    stamp_set server-deps "$lockhash"
  fi
  log "tsc build (dist/)"
  (cd "$ROOT" && $NICE npx tsc -p tsconfig.build.json >"$LOGS/tsc.log" 2>&1) || log "tsc reported errors (see $LOGS/tsc.log); dist/ was still emitted"
  local key; key="$(cd "$ROOT" && find dist/servers dist/scenarios dist/rundir dist/util -name '*.js' -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)-$lockhash-$(hash_of "$dockerfile")"
  if stamp_ok servers "$key" && have_image mcpbench/server:dev; then return; fi
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp -r "$ROOT/dist" "$ctx/dist"
  # The servers, and the built-in engine for in-cluster generator pods (dist/scenarios, rundir, util).
  rm -rf "$ctx/dist/cli" "$ctx/dist/analysis" "$ctx/dist/experiments" "$ctx/dist/bench" "$ctx/dist/cluster"
  cp "$ROOT/package.json" "$ROOT/package-lock.json" "$ctx/"
  cp -r "$CACHE/server-deps/node_modules" "$ctx/node_modules"
  cp "$dockerfile" "$ctx/Dockerfile"
  log "docker build mcpbench/server:dev from ${dockerfile#"$ROOT"/}"
  $NICE docker build -q --build-arg BASE_IMAGE=mcpbench/node:20 -t mcpbench/server:dev "$ctx" >"$LOGS/server-image.log" 2>&1
  stamp_set servers "$key"
}

# ---------------------------------------------------------------------------------------------------
# One image from a Dockerfile of ours on the Debian base: step name, image, Dockerfile, what it is.
base_image_step() {
  local key; key="$(hash_of "$HERE/$3")"
  if stamp_ok "$1" "$key" && have_image "$2"; then return; fi
  local ctx="$CACHE/ctx-$1"; rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$HERE/$3" "$ctx/Dockerfile"
  log "docker build $2 ($4)"
  $NICE docker build -q -t "$2" "$ctx" >"$LOGS/$1-image.log" 2>&1
  stamp_set "$1" "$key"
}
step_redis() { base_image_step redis mcpbench/redis:dev redis.Dockerfile "Debian redis-server"; }
step_gateway() { base_image_step gateway mcpbench/gateway:dev gateway.Dockerfile "Debian haproxy"; }

# ---------------------------------------------------------------------------------------------------
# A server that is not ours, as an image (only when named: `build.sh byo`): the MCP reference server
# from tools/byo-servers (npm run byo:install) on the node image, for a foreign variant on kind/kube.
BYO_IMAGE=mcpbench-byo/server-everything:dev
step_byo() {
  local dir="$ROOT/tools/byo-servers"
  if [[ ! -f "$dir/node_modules/@modelcontextprotocol/server-everything/package.json" ]]; then
    log "tools/byo-servers is not installed: run npm run byo:install first"; return 1
  fi
  have_image mcpbench/node:20 || { log "no mcpbench/node:20 image: run the node step first"; return 1; }
  local key; key="$(hash_of "$dir/package-lock.json" "$HERE/byo-everything.Dockerfile")-$(docker image inspect --format '{{.Id}}' mcpbench/node:20 | cut -c8-23)"
  if stamp_ok byo "$key" && have_image "$BYO_IMAGE"; then return; fi
  local ctx="$CACHE/ctx-byo"; rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$dir/package.json" "$dir/package-lock.json" "$ctx/"
  cp -r "$dir/node_modules" "$ctx/node_modules"
  cp "$HERE/byo-everything.Dockerfile" "$ctx/Dockerfile"
  log "docker build $BYO_IMAGE (server-everything from tools/byo-servers)"
  $NICE docker build -q --build-arg BASE_IMAGE=mcpbench/node:20 -t "$BYO_IMAGE" "$ctx" >"$LOGS/byo-image.log" 2>&1
  stamp_set byo "$key"
}

# ---------------------------------------------------------------------------------------------------
step_kind() {
  if stamp_ok kind "$KIND_VERSION" && [[ -x "$BIN/kind" ]]; then return; fi
  log "go install sigs.k8s.io/kind@$KIND_VERSION"
  GOBIN="$BIN" $NICE go install "sigs.k8s.io/kind@$KIND_VERSION" >"$LOGS/kind.log" 2>&1
  stamp_set kind "$KIND_VERSION"
}

# Kubernetes cannot be `go install`ed (its go.mod replaces the staging modules with ./staging paths),
# so a tiny module requires k8s.io/kubernetes and pins every staging module to its published v0.x.
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubeadm kubectl)
k8s_ldflags() {
  local minor; minor="$(echo "$K8S_VERSION" | cut -d. -f2)"
  local v
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean -X %s.buildDate=%s ' \
      "$v" "$K8S_VERSION" "$v" "$v" "$minor" "$v" "$v" "1970-01-01T00:00:00Z"
  done
  printf -- '-s -w'
}
step_k8s() {
  local key="$K8S_VERSION-$K8S_STAGING_VERSION"
  local missing=0 c
  for c in "${K8S_CMDS[@]}"; do [[ -x "$BIN/$c" ]] || missing=1; done
  if stamp_ok k8s "$key" && [[ $missing == 0 ]]; then return; fi
  local mod="$CACHE/go/k8s"; mkdir -p "$mod"
  log "resolving k8s.io/kubernetes@$K8S_VERSION"
  local gomod; gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  {
    echo "module mcpbench.local/k8s-build"
    echo
    grep -E '^go ' "$gomod"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => \./staging/src/k8s.io/.*#\t\1 => \1 '"$K8S_STAGING_VERSION"'#p' "$gomod"
    echo ")"
  } >"$mod/go.mod"
  cat >"$mod/tools.go" <<EOF
//go:build tools

package tools

import (
$(for c in "${K8S_CMDS[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done)
)
EOF
  (cd "$mod" && go mod tidy >"$LOGS/k8s-tidy.log" 2>&1)
  log "go build ${K8S_CMDS[*]} (this is the long one; log: $LOGS/k8s-build.log)"
  local pkgs=(); for c in "${K8S_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  (cd "$mod" && $NICE go build -ldflags "$(k8s_ldflags)" -o "$BIN/" "${pkgs[@]}" >"$LOGS/k8s-build.log" 2>&1)
  "$BIN/kubectl" version --client >&2
  stamp_set k8s "$key"
}

# Each Go tool is built from a tiny wrapper module that requires the tool's module, so replace
# directives in the tool's own go.mod (which make `go install pkg@version` refuse it, e.g. etcd)
# are ignored and every dependency is a published version from the module proxy.
go_tool() { # name module version package [ldflags]
  local name="$1" module="$2" version="$3" pkg="$4" ldflags="${5:--s -w}"
  local key="$module@$version:$pkg"
  if stamp_ok "$name" "$key" && [[ -x "$BIN/$name" ]]; then return; fi
  local mod="$CACHE/go/$name"; rm -rf "$mod"; mkdir -p "$mod"
  printf 'module mcpbench.local/%s-build\n\ngo 1.24\n\nrequire %s %s\n' "$name" "$module" "$version" >"$mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$mod/tools.go"
  log "go build $pkg ($module@$version)"
  (cd "$mod" && go mod tidy >"$LOGS/$name.log" 2>&1 &&
    $NICE go build -ldflags "$ldflags" -o "$BIN/$name" "$pkg" >>"$LOGS/$name.log" 2>&1) ||
    { tail -20 "$LOGS/$name.log" >&2; return 1; }
  stamp_set "$name" "$key"
}
step_etcd() { go_tool etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3; }
step_coredns() { go_tool coredns github.com/coredns/coredns "$COREDNS_VERSION" github.com/coredns/coredns; }
step_crictl() { go_tool crictl sigs.k8s.io/cri-tools "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl; }
step_metrics-server() {
  go_tool metrics-server sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION" sigs.k8s.io/metrics-server/cmd/metrics-server
}
# pause: the tiny C program from the kubernetes tree, linked statically.
step_pause() {
  if stamp_ok pause "$K8S_VERSION" && [[ -x "$BIN/pause" ]]; then return; fi
  local dir; dir="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  log "gcc -static pause.c"
  gcc -Os -static -DVERSION="$PAUSE_TAG" -o "$BIN/pause" "$dir/build/pause/linux/pause.c"
  strip "$BIN/pause"
  stamp_set pause "$K8S_VERSION"
}

# ---------------------------------------------------------------------------------------------------
# Control-plane and add-on images under the exact names kubeadm 1.34 asks for, each one binary on the
# Debian base (saved as tarballs too, for loading into containerd on the node).
IMAGES_DIR="$CACHE/images"
component_image() { # image-ref binary [extra Dockerfile lines]
  local ref="$1" binary="$2" extra="${3:-}"
  local key; key="$(sha256sum "$BIN/$binary" | cut -c1-16)-$(printf '%s' "$extra" | sha256sum | cut -c1-8)"
  local stampname; stampname="img-$(echo "$ref" | tr '/:' '__')"
  local out="${SAVE_DIR:-$IMAGES_DIR}"
  mkdir -p "$out"
  if stamp_ok "$stampname" "$key" && have_image "$ref" && [[ -f "$out/$stampname.tar" ]]; then return; fi
  local ctx="$CACHE/ctx-img"; rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$BIN/$binary" "$ctx/$binary"
  # extra lines first: package installs stay cached across rebuilt binaries
  printf 'FROM mcpbench/base:bookworm\n%s\nCOPY %s /usr/local/bin/%s\n' "$extra" "$binary" "$binary" >"$ctx/Dockerfile"
  log "docker build $ref"
  $NICE docker build -q -t "$ref" "$ctx" >>"$LOGS/images.log" 2>&1
  docker save "$ref" -o "$out/$stampname.tar"
  stamp_set "$stampname" "$key"
}
step_images() {
  mkdir -p "$IMAGES_DIR"
  local r=registry.k8s.io
  component_image "$r/kube-apiserver:$K8S_VERSION" kube-apiserver
  component_image "$r/kube-controller-manager:$K8S_VERSION" kube-controller-manager
  component_image "$r/kube-scheduler:$K8S_VERSION" kube-scheduler
  # kube-proxy drives iptables: give its image the Debian iptables (legacy and nft backends).
  component_image "$r/kube-proxy:$K8S_VERSION" kube-proxy \
    'RUN apt-get update && apt-get install -y --no-install-recommends iptables conntrack ipset kmod && rm -rf /var/lib/apt/lists/*'
  component_image "$r/etcd:$ETCD_TAG" etcd
  component_image "$r/coredns/coredns:$COREDNS_VERSION" coredns 'ENTRYPOINT ["/usr/local/bin/coredns"]'
  component_image "$r/pause:$PAUSE_TAG" pause 'ENTRYPOINT ["/usr/local/bin/pause"]'
  # The app images (mcpbench/server:dev, mcpbench/redis:dev) change with the code: they are not baked
  # into the node image but loaded at cluster-up time (kind load docker-image).
}

# Add-ons we install ourselves (metrics-server): built as images, loaded at cluster-up like our own
# images (kind load docker-image), so the node image does not change with them.
step_addon-images() {
  SAVE_DIR="$CACHE/addon-images" component_image "registry.k8s.io/metrics-server/metrics-server:$METRICS_SERVER_VERSION" metrics-server \
    'ENTRYPOINT ["/usr/local/bin/metrics-server"]'
}

# ---------------------------------------------------------------------------------------------------
step_node-image() { bash "$HERE/node-image.sh"; }

# ---------------------------------------------------------------------------------------------------
main() {
  local wanted=("$@")
  [[ ${#wanted[@]} -gt 0 ]] || wanted=("${STEPS[@]}")
  local total_start; total_start=$(date +%s)
  local s t0
  for s in "${wanted[@]}"; do
    t0=$(date +%s)
    log "== step $s"
    "step_$s"
    printf '[offline] step %-15s %4ss\n' "$s" "$(($(date +%s) - t0))" | tee -a "$LOGS/timings.log" >&2
  done
  printf '[offline] total %ss (%s)\n' "$(($(date +%s) - total_start))" "${wanted[*]}" | tee -a "$LOGS/timings.log" >&2
}
main "$@"
