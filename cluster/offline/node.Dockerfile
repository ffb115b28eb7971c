# Node runtime on the Debian base: the host's own Node 20 binary (Debian bookworm only has Node 18).
FROM mcpbench/base:bookworm
COPY node /usr/local/bin/node
RUN node --version
