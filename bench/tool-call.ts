import { modernRequest, type WireRequest } from '../scenarios/models/protocol.ts';
import { toolArguments } from '../scenarios/models/scenarios.ts';

/** The one `tools/call` the non-engine clients of bench:engine send (autocannon, the raw-socket floor). */
export function benchToolCall(id: number, agentId: string): WireRequest {
  return modernRequest(id, { name: 'mcpbench-bench', version: '0.1.0', agentId }, 'tools/call', {
    name: 'get_resource',
    arguments: toolArguments('get_resource', 1),
  });
}
