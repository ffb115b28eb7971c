# kind node image on the Debian base, following kind's images/base/Dockerfile with Debian's packages
# in place of the containerd/runc/CNI binaries kind builds from git. Context prepared by node-image.sh.
FROM mcpbench/base:bookworm
# Packages first (a layer that only changes with the package list), kind's files over them after.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold \
      systemd systemd-sysv dbus containerd runc containernetworking-plugins \
      conntrack iptables nftables iproute2 ethtool util-linux mount kmod \
      libseccomp2 pigz bash ca-certificates curl jq procps socat \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
 && find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete \
 && rm -f /lib/systemd/system/multi-user.target.wants/* \
 && rm -f /etc/systemd/system/*.wants/* \
 && rm -f /lib/systemd/system/local-fs.target.wants/* \
 && rm -f /lib/systemd/system/sockets.target.wants/*udev* \
 && rm -f /lib/systemd/system/sockets.target.wants/*initctl* \
 && rm -f /lib/systemd/system/basic.target.wants/* \
 && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \
 && ln -sf "$(command -v systemd)" /sbin/init
COPY files/usr/local/bin/ /usr/local/bin/
COPY files/kind/ /kind/
COPY files/etc/ /etc/
RUN chmod 0755 /usr/local/bin/* /kind/bin /kind/bin/*
# CNI: Debian's reference plugins (bridge, host-local, loopback, portmap) where the kubelet looks.
RUN mkdir -p /opt/cni/bin /etc/cni/net.d && for p in /usr/lib/cni/*; do ln -sf "$p" /opt/cni/bin/; done
COPY 10-mcpbench-bridge.conflist /etc/cni/net.d/10-mcpbench-bridge.conflist
COPY bin/kubeadm bin/kubelet bin/kubectl /usr/bin/
COPY bin/crictl /usr/local/bin/
COPY version /kind/version
COPY default-cni.yaml /kind/manifests/default-cni.yaml
RUN ctr oci spec \
      | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
      | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \
 && systemctl mask systemd-binfmt.service \
 && mkdir -p /etc/kubernetes/manifests \
 && kubelet --version && kubeadm version -o short && containerd --version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]
