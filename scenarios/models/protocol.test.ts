import { describe, expect, it } from 'vitest';
import { MODERN, modernMeta, modernRequest } from './protocol.ts';

/** What modernRequest sent before its `_meta` was cached: the plain stringify of the whole message. */
function reference(
  id: number,
  method: string,
  params: Record<string, unknown>,
  tasks: boolean,
  agentId: string,
) {
  const client = { name: 'c', version: '1', agentId };
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method,
    params: { ...params, _meta: modernMeta(client, tasks) },
  });
}

describe('modernRequest', () => {
  it('sends exactly the bytes of stringifying the whole message, whatever the params', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['tools/list', {}],
      ['tools/call', { name: 'get_resource', arguments: { kind: 'Pod', name: 'a"b\u00e9', n: 3 } }],
      ['tasks/get', { taskId: 't-1', skipped: undefined }],
      ['tools/call', { 1: 'numeric key first', name: 'x' }],
      ['tools/call', { name: 'x', _meta: { progressToken: 7 } }],
    ];
    for (const tasks of [false, true]) {
      for (const [method, params] of cases) {
        for (const agentId of ['agent-1', 'agent-2']) {
          const client = { name: 'c', version: '1', agentId };
          // Twice: the second request of a client is built from the cached envelope.
          for (const id of [1, 2]) {
            const req = modernRequest(id, client, method, params, { tasks });
            expect(req.body).toBe(reference(id, method, params, tasks, agentId));
            expect(
              JSON.parse(req.body as string).params._meta['io.modelcontextprotocol/protocolVersion'],
            ).toBe(MODERN);
          }
        }
      }
    }
  });

  it('mirrors the method and the tool or task in headers', () => {
    const client = { name: 'c', version: '1', agentId: 'a' };
    expect(modernRequest(1, client, 'tools/call', { name: 'scan' }).headers).toMatchObject({
      'mcp-method': 'tools/call',
      'mcp-name': 'scan',
      'x-mcpbench-client': 'a',
    });
    expect(modernRequest(2, client, 'tasks/get', { taskId: 't9' }).headers['mcp-name']).toBe('t9');
    expect(modernRequest(3, client, 'tools/list', {}).headers['mcp-name']).toBeUndefined();
  });
});
