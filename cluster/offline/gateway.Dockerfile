# The L7 gateway (cluster/manifests/gateway.yaml): HAProxy from Debian's archive on the Debian base
# (the offline base by default; debian:bookworm-slim where a registry is reachable).
ARG BASE_IMAGE=mcpbench/base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/*
EXPOSE 8080
CMD ["haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
