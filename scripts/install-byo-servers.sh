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
  rm -rf .venv
  if ! "$python" -m venv .venv >/dev/null 2>&1; then
    # Debian's python3 ships venv separately (python3-venv). As root, with provisioning allowed, install it
    # the way the project installs redis-server; else say what is missing.
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && [ "${MCPBENCH_PROVISION:-auto}" != off ] && command -v apt-get >/dev/null; then
      echo "byo servers: installing Debian's python3-venv with apt-get (MCPBENCH_PROVISION=off to prevent)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null ||
        { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
      "$python" -m venv .venv
    else
      echo "byo servers: $python -m venv failed (on Debian: apt-get install -y python3-venv)" >&2
      exit 1
    fi
  fi
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
fi
echo "byo servers: ready in $dir"
