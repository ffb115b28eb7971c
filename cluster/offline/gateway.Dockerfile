# The L7 gateway (cluster/manifests/gateway.yaml): HAProxy from Debian's archive on the Debian base.
FROM mcpbench/base:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/*
EXPOSE 8080
CMD ["haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]
