#!/usr/bin/env bash
# Installs the two MCP servers that are not ours, which examples/byo.yaml and the bring-your-own-server
# test run: the reference server @modelcontextprotocol/server-everything (npm, pinned by
# tools/byo-servers/package-lock.json) and the Python MCP SDK (PyPI, pinned by requirements.txt) in a
# virtual environment, for tools/byo-servers/py_inventory_server.py. Idempotent; only package
# registries are used.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../tools/byo-servers" && pwd)"
cd "$dir"
if [ ! -f node_modules/@modelcontextprotocol/server-everything/dist/index.js ]; then
  echo "byo servers: installing @modelcontextprotocol/server-everything (npm ci in tools/byo-servers)"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import mcp.server.mcpserver' 2>/dev/null; then
  python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || { echo "byo servers: no $python (Python 3.10+ is needed for the mcp SDK)" >&2; exit 1; }
  echo "byo servers: installing the Python mcp SDK into tools/byo-servers/.venv"
  "$python" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
echo "byo servers: ready in $dir"
