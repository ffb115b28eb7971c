"""A small MCP server built on the Python `mcp` SDK (PyPI), not on mcpbench's own servers.

It is the "bring your own server" example of a 2026-07-28 server: stateless Streamable HTTP, its
tools/list results marked fresh for a while (`ttlMs`), and no Tasks and no handles, so the report
shows what a server without them gets ("not applicable"). Run it with
`python py_inventory_server.py --port 8000`.
"""

import argparse
import hashlib

from mcp.server.caching import CacheHint
from mcp.server.mcpserver import MCPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--ttl-ms", type=int, default=5000)
args = parser.parse_args()

server = MCPServer(
    name="py-inventory",
    version="1.0.0",
    cache_hints={"tools/list": CacheHint(ttl_ms=args.ttl_ms, scope="public")},
    log_level="WARNING",
)


@server.tool()
def lookup_item(sku: str) -> str:
    """Look up one inventory item by its SKU."""
    digest = hashlib.sha256(sku.encode()).hexdigest()
    return f"{sku}: {int(digest[:4], 16) % 500} in stock"


@server.tool()
def reserve_item(sku: str, quantity: int) -> str:
    """Reserve a quantity of an item."""
    return f"reserved {quantity} of {sku}"


@server.tool()
def list_warehouses(region: str = "eu") -> str:
    """List the warehouses of a region."""
    return ", ".join(f"{region}-wh{i}" for i in range(3))


if __name__ == "__main__":
    server.run("streamable-http", host="127.0.0.1", port=args.port, stateless_http=True, json_response=True)
