import type { ServerConfig } from '../common/config.js';
import type { McpEndpoint } from '../common/http-shell.js';

/** Placeholder until the rc server lands: answers every MCP request with 501. */
export async function createRcEndpoint(_config: ServerConfig): Promise<McpEndpoint> {
  return {
    async handle(_req, res) {
      res.writeHead(501).end();
    },
  };
}
