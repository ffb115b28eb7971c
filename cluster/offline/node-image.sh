#!/usr/bin/env bash
# A kind node image built without kindest/base or any registry: Debian bookworm + systemd + Debian's
# containerd/runc/CNI plugins, kind's own base-image files (entrypoint, units, containerd config) taken
# from the sigs.k8s.io/kind module, the Kubernetes binaries built by build.sh, and every image kubeadm
# needs pre-imported into containerd's k8s.io namespace under the names kubeadm expects.
# Called by build.sh (step node-image); expects the earlier steps to have run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/cluster/offline"
CACHE="$ROOT/.cache/offline"
BIN="$CACHE/bin"
# shellcheck source=versions.env
source "$HERE/versions.env"
export PATH="$BIN:$PATH:/usr/local/go/bin"
NICE="nice -n 15"
IMAGE="mcpbench/kind-node:$K8S_VERSION"
log() { printf '[node-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

key="$(cat "$HERE/node-image.sh" "$HERE/node.kind.Dockerfile" "$HERE/versions.env" | sha256sum | cut -c1-16)-$(cat "$BIN"/kubelet "$BIN"/kubeadm | sha256sum | cut -c1-16)-$(ls -l "$CACHE"/images/*.tar | sha256sum | cut -c1-16)"
if [[ "${FORCE:-0}" != 1 && -f "$CACHE/stamps/node-image" && "$(cat "$CACHE/stamps/node-image")" == "$key" ]] &&
  docker image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi

kind_dir="$(go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
ctx="$CACHE/ctx-kind-node"
rm -rf "$ctx"; mkdir -p "$ctx/bin"
cp -r "$kind_dir/images/base/files" "$ctx/files"
chmod -R u+w "$ctx/files"
# Debian packages install containerd in /usr/bin, not /usr/local/bin.
sed -i 's#/usr/local/bin/containerd#/usr/bin/containerd#' "$ctx/files/etc/systemd/system/containerd.service"
# No fuse-overlayfs snapshotter here (only needed rootless); pause is the tag kubeadm 1.34 asks for.
python3 - "$ctx/files/etc/containerd/config.toml" "$PAUSE_TAG" <<'PY'
import re, sys
path, pause = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r'\[proxy_plugins\][\s\S]*?address = "/run/containerd-fuse-overlayfs.sock"\n', '', text)
text = text.replace('registry.k8s.io/pause:3.10"', f'registry.k8s.io/pause:{pause}"')
# Lowering oom_score_adj (the kubelet asks -998 for critical pods) needs CAP_SYS_RESOURCE, which the
# node does not have here (see cluster/kind/shim/docker): runc then fails every sandbox with
# "can't get final child's PID from pipe: EOF". Clamp it to containerd's own, as kind does rootless.
text = text.replace('restrict_oom_score_adj = false', 'restrict_oom_score_adj = true')
open(path, 'w').write(text)
PY
rm -f "$ctx/files/etc/systemd/system/containerd-fuse-overlayfs.service"
# Without --privileged (see cluster/kind/shim/docker) Docker mounts the cgroup v1 hierarchies
# read-only; the node has CAP_SYS_ADMIN, so make them writable again before kind's fix_cgroup.
python3 - "$ctx/files/usr/local/bin/entrypoint" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
fix = """remount_cgroups_rw() {
  local d
  for d in /sys/fs/cgroup /sys/fs/cgroup/*; do
    mountpoint -q "$d" && mount -o remount,rw,bind "$d" 2>/dev/null || true
  done
}
"""
text = text.replace("\n# run pre-init fixups\n", "\n" + fix + "\n# run pre-init fixups\n", 1)
text = text.replace("\nfix_mount\nfix_cgroup\n", "\nfix_mount\nremount_cgroups_rw\nfix_cgroup\n", 1)
open(path, "w").write(text)
PY
for b in kubeadm kubelet kubectl crictl; do cp "$BIN/$b" "$ctx/bin/"; done
echo "$K8S_VERSION" >"$ctx/version"
cp "$HERE/node.kind.Dockerfile" "$ctx/Dockerfile"
cp "$HERE/kind-cni.conflist" "$ctx/10-mcpbench-bridge.conflist"
cp "$HERE/kind-default-cni.yaml" "$ctx/default-cni.yaml"

log "docker build $IMAGE-stage (systemd, containerd, kubelet)"
$NICE docker build -q -t "$IMAGE-stage" "$ctx" >"$CACHE/logs/kind-node-build.log" 2>&1

# Pre-load the images the way kind's own node-image build does: start containerd inside the image,
# `ctr images import` every tarball (pinned, so the kubelet's image GC never drops them), commit.
log "importing images into containerd inside the node image"
cname="mcpbench-node-image-build-$$"
docker rm -f "$cname" >/dev/null 2>&1 || true
PATH="$ROOT/cluster/kind/shim:$PATH" docker run -d --name "$cname" --privileged --entrypoint sleep -v "$CACHE/images:/images:ro" "$IMAGE-stage" infinity >/dev/null
trap 'docker rm -f "$cname" >/dev/null 2>&1 || true' EXIT
docker exec "$cname" bash -c 'containerd >/var/log/containerd-build.log 2>&1 & for i in $(seq 1 100); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /var/log/containerd-build.log; exit 1'
for tar in "$CACHE"/images/*.tar; do
  docker exec "$cname" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned \
    --all-platforms --no-unpack --digests "/images/$(basename "$tar")" >>"$CACHE/logs/kind-node-build.log" 2>&1
done
docker exec "$cname" ctr --namespace=k8s.io images ls -q | sed 's/^/  /' >&2
docker exec "$cname" bash -c 'pkill containerd; for i in $(seq 1 50); do pgrep containerd >/dev/null || exit 0; sleep 0.2; done'
docker commit \
  --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
  --change 'CMD []' \
  "$cname" "$IMAGE" >/dev/null
docker rm -f "$cname" >/dev/null
docker rmi "$IMAGE-stage" >/dev/null 2>&1 || true
printf '%s' "$key" >"$CACHE/stamps/node-image"
log "built $IMAGE"
