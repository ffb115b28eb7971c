import { describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.js';

describe('loadServerConfig', () => {
  it('reads MCPBENCH_* variables and lets overrides win', () => {
    const c = loadServerConfig(
      { MCPBENCH_PORT: '9001', MCPBENCH_STORE: 'redis', MCPBENCH_CATALOGUE_SIZE: '120' },
      { port: 9002 },
    );
    expect(c.port).toBe(9002);
    expect(c.store).toBe('redis');
    expect(c.catalogueSize).toBe(120);
    expect(c.allowedOrigins).toEqual(['http://localhost', 'http://127.0.0.1']);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadServerConfig({ MCPBENCH_CATALOGUE_SIZE: '9000' })).toThrow(/MCPBENCH_CATALOGUE_SIZE/);
    expect(() => loadServerConfig({ MCPBENCH_STORE: 'disk' })).toThrow(/MCPBENCH_STORE/);
  });

  it('names the option that is wrong', () => {
    expect(() => loadServerConfig({}, { port: -1 })).toThrow(/option port/);
  });
});
