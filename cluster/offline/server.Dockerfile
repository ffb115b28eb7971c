# Both MCP servers in one image; the Deployment's args pick dist/servers/legacy or dist/servers/rc.
# Build context (prepared by build.sh): dist/, package.json, package-lock.json, production node_modules.
ARG BASE_IMAGE=mcpbench/node:20
FROM ${BASE_IMAGE}
WORKDIR /app
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
COPY dist ./dist
ENV NODE_ENV=production MCPBENCH_HOST=0.0.0.0 MCPBENCH_PORT=8080
EXPOSE 8080
USER 65534:65534
CMD ["node", "dist/servers/rc/main.js"]
