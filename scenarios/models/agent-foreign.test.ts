import { describe, expect, it } from 'vitest';
import { type AgentSink, ClientCore, runAction, runSync, type WireAnswer } from './agent-core.ts';
import { ListCache } from './list-cache.ts';
import { MODERN, type WireRequest } from './protocol.ts';
import { resolveScenario } from './scenarios.ts';

/**
 * The agent against a server that is not ours: plain calls pick the workload's tools with their
 * argument generators filled in; the handle flow takes the handle from the minting tool's result at the
 * configured path and passes it back in the configured argument; the long-running tool is called in
 * place of long_operation and measured under its key.
 */
function drive(
  action: 'call' | 'workflow' | 'task',
  answer: (name: string, args: Record<string, unknown>) => unknown,
) {
  const calls: Array<{ name: string; args: Record<string, unknown>; key: string }> = [];
  const outcomes: string[] = [];
  const sink: AgentSink = {
    ok: () => outcomes.push('ok'),
    error: (kind, cause) => outcomes.push(`error ${kind}${cause ? ` ${cause}` : ''}`),
    event: (name) => outcomes.push(name),
    backedOff: () => {},
    turn: () => {},
    now: () => 0,
  };
  const scenario = resolveScenario('steady', {
    workflowSteps: 2,
    foreign: {
      tools: [{ name: 'lookup', weight: 1, arguments: { sku: 'sku-{{int:7:7}}', n: '{{int:2:2}}' } }],
      handle: {
        tool: 'open_cart',
        arguments: {},
        path: 'structuredContent.cartId',
        use: [{ tool: 'add_item', argument: 'cartId', arguments: { sku: '{{choice:a}}' } }],
      },
      longRunning: { tool: 'export', arguments: { format: 'csv' } },
    },
  });
  const client = new ClientCore(MODERN, { name: 't', version: '1', agentId: 'a1' }, sink, false);
  runSync(
    runAction(action, client, { scenario, rng: () => 0.5, cache: new ListCache(), stopping: () => false }),
    {
      exchange: (req: WireRequest): WireAnswer => {
        const body = JSON.parse(req.body ?? '{}');
        calls.push({ name: body.params.name, args: body.params.arguments, key: req.rpcMethod });
        const result = answer(body.params.name, body.params.arguments);
        return {
          status: 200,
          contentType: 'application/json',
          text: JSON.stringify({ jsonrpc: '2.0', id: body.id, result }),
          sessionId: undefined,
        };
      },
      wait: (ms) => ms,
    },
  );
  return { calls, outcomes };
}

const text = (t: string) => ({ content: [{ type: 'text', text: t }] });

describe('the agent against a foreign server', () => {
  it('calls the workload tools with generated arguments', () => {
    const { calls, outcomes } = drive('call', () => text('ok'));
    expect(calls).toEqual([{ name: 'lookup', args: { sku: 'sku-7', n: 2 }, key: 'tools/call' }]);
    expect(outcomes).toEqual(['ok']);
  });

  it('carries the minted handle back in the configured argument', () => {
    const { calls, outcomes } = drive('workflow', (name) =>
      name === 'open_cart' ? { ...text('opened'), structuredContent: { cartId: 'c-42' } } : text('added'),
    );
    expect(calls.map((c) => [c.name, c.args])).toEqual([
      ['open_cart', {}],
      ['add_item', { sku: 'a', cartId: 'c-42' }],
      ['add_item', { sku: 'a', cartId: 'c-42' }],
    ]);
    expect(outcomes).toEqual(['ok', 'handlesOpened', 'ok', 'ok']);
  });

  it('counts a minting result without the handle as an invalid response, not a success', () => {
    const { calls, outcomes } = drive('workflow', () => text('no handle here'));
    expect(calls).toHaveLength(1);
    expect(outcomes).toEqual(['error invalid_response open_cart: no handle at structuredContent.cartId']);
  });

  it('calls the long-running tool in place of long_operation, under the long-operation key', () => {
    const { calls } = drive('task', () => text('done'));
    expect(calls).toEqual([{ name: 'export', args: { format: 'csv' }, key: 'tools/call long_operation' }]);
  });
});
