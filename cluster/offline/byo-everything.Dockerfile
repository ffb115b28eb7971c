# The MCP reference server @modelcontextprotocol/server-everything (SDK 1.x, 2025-11-25) as an image,
# for running a server that is not ours on kind/kube. Built by `cluster/offline/build.sh byo` from
# tools/byo-servers (installed by npm run byo:install) on the offline node image; no registry needed.
ARG BASE_IMAGE=mcpbench/node:20
FROM ${BASE_IMAGE}
WORKDIR /app
COPY --chown=1000:1000 package.json package-lock.json ./
COPY --chown=1000:1000 node_modules ./node_modules
USER 1000:1000
# The server reads its port from PORT and listens on every address.
ENV NODE_ENV=production PORT=8080
EXPOSE 8080
STOPSIGNAL SIGTERM
CMD ["node", "node_modules/@modelcontextprotocol/server-everything/dist/index.js", "streamableHttp"]
