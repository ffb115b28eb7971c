import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerOk, startLoopbackServer } from '../../test/loopback-server.js';
import { runEngine } from './engine.js';

/**
 * ClientIP affinity (legacy-sticky's Service) sees as many clients as the engine has source
 * addresses: each simulated client's connection must come from its own 127.0.0.x.
 */
describe('source addresses', () => {
  let server: Server;
  let url = '';
  const seen = new Set<string>();
  beforeAll(async () => {
    ({ server, url } = await startLoopbackServer((req, body, res) => {
      seen.add(String(req.socket.remoteAddress).replace(/^::ffff:/, ''));
      answerOk(body, res);
    }));
  });
  afterAll(() => server.close());

  it('connects each simulated client from its own loopback address', async () => {
    await runEngine({
      url,
      protocol: '2026-07-28',
      scenario: 'calls',
      load: { model: 'closed', agents: 6 },
      durationMs: 500,
      sourceAddresses: 3,
    });
    expect([...seen].sort()).toEqual(['127.0.0.10', '127.0.0.11', '127.0.0.12']);
  });
});
