import { describe, expect, it } from 'vitest';
import { haproxyRouting, pickRule, rulesFromHttpRoute } from './l7-rules.js';
import { gatewayObjects, httpRouteObjects, l7RulesOf } from './manifests.js';

const haproxyCfg = (variant: 'rc' | 'legacy-sticky', routing: 'mcp-method' | 'session-hash') =>
  String(gatewayObjects(variant, routing, 'ns').find((o) => o.kind === 'ConfigMap')?.data['haproxy.cfg']);
const frontendOf = (cfg: string) =>
  cfg
    .slice(cfg.indexOf('frontend mcp'))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
const pods = (v: string) =>
  `server-template pod 16 mcp-${v}-pods.ns.svc.cluster.local:8080 resolvers kube init-addr none check inter 1s`;
const header = (headers: Record<string, string>) => (name: string) => headers[name];

describe('the HTTPRoute is the source of the L7 rules', () => {
  it('renders one HTTPRoute per variant routing, and a Gateway only for a GatewayClass', () => {
    const rc = httpRouteObjects('rc', 'mcp-method');
    expect(rc.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['HTTPRoute/mcp-rc-by-method']);
    expect(rc[0]?.spec.parentRefs).toEqual([{ name: 'mcp-rc-gateway' }]);
    const sticky = httpRouteObjects('legacy-sticky', 'session-hash', 'istio');
    expect(sticky.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Gateway/mcp-legacy-sticky-gateway',
      'HTTPRoute/mcp-legacy-sticky-by-session',
    ]);
    expect(sticky[0]?.spec.gatewayClassName).toBe('istio');
  });

  it('rc: HAProxy routes the discovery methods to one backend, the rest to another, per request', () => {
    expect(frontendOf(haproxyCfg('rc', 'mcp-method'))).toEqual([
      'frontend mcp',
      'bind :8080',
      'http-response set-header X-Mcpbench-Gateway rc',
      'use_backend discovery if { req.hdr(mcp-method) -m str tools/list }',
      'use_backend discovery if { req.hdr(mcp-method) -m str server/discover }',
      'default_backend calls',
      'backend discovery',
      'balance roundrobin',
      'option httpchk GET /readyz',
      pods('rc'),
      'backend calls',
      'balance roundrobin',
      'option httpchk GET /readyz',
      pods('rc'),
    ]);
  });

  it('legacy-sticky: HAProxy sticks on the header the route persists sessions on', () => {
    expect(frontendOf(haproxyCfg('legacy-sticky', 'session-hash'))).toEqual([
      'frontend mcp',
      'bind :8080',
      'http-response set-header X-Mcpbench-Gateway legacy-sticky',
      'default_backend sessions',
      'backend sessions',
      'balance roundrobin',
      'stick-table type string len 128 size 200k expire 30m',
      'stick on req.hdr(mcp-session-id)',
      'stick store-response res.hdr(mcp-session-id)',
      'option httpchk GET /readyz',
      pods('legacy-sticky'),
    ]);
  });

  it('follows an edited route: precedence, regular expressions, paths, and 404 without a catch-all', () => {
    const route = structuredClone(httpRouteObjects('rc', 'mcp-method')[0]);
    route!.spec.rules = [
      {
        name: 'tasks',
        matches: [{ headers: [{ type: 'RegularExpression', name: 'Mcp-Method', value: 'tasks/.*' }] }],
        backendRefs: [{ name: 'mcp-tasks', port: 80 }],
      },
      {
        name: 'health',
        matches: [{ path: { type: 'Exact', value: '/healthz' } }],
        backendRefs: [{ name: 'mcp-rc', port: 80 }],
      },
      {
        name: 'calls',
        matches: [
          {
            path: { type: 'PathPrefix', value: '/mcp' },
            headers: [{ name: 'Mcp-Method', value: 'tools/call' }],
          },
        ],
        backendRefs: [{ name: 'mcp-rc', port: 80 }],
      },
    ];
    const rules = rulesFromHttpRoute(route!);
    const lines = haproxyRouting(rules, (s) => `server ${s}`);
    expect(lines.filter((l) => l.includes('_backend'))).toEqual([
      // Exact path first, then the longer prefix, then the route's order.
      '  use_backend health if { path /healthz }',
      '  use_backend calls if { path_reg ^/mcp(/.*)?$ } { req.hdr(mcp-method) -m str tools/call }',
      '  use_backend tasks if { req.hdr(mcp-method) -m reg ^(?:tasks/.*)$ }',
      '  default_backend no-route',
    ]);
    expect(lines).toContain('  server mcp-tasks');
    expect(lines.slice(-2)).toEqual(['backend no-route', '  http-request return status 404']);
    const pick = (path: string, method?: string) =>
      pickRule(rules, { path, header: header(method ? { 'mcp-method': method } : {}) })?.name;
    expect(pick('/mcp', 'tasks/get')).toBe('tasks');
    expect(pick('/mcp', 'xtasks/get')).toBeUndefined(); // anchored, as HAProxy's ^(?:…)$
    expect(pick('/mcp?x=1', 'tools/call')).toBe('calls');
    expect(pick('/mcpx', 'tools/call')).toBeUndefined(); // a prefix is path elements, not characters
    expect(pick('/healthz', 'tasks/get')).toBe('health');
    expect(pick('/mcp', 'tools/list')).toBeUndefined();
  });

  it('the rendered rc route picks discovery for the discovery methods and calls for anything else', () => {
    const rules = l7RulesOf('rc', 'mcp-method');
    const pick = (h: Record<string, string>) => pickRule(rules, { path: '/mcp', header: header(h) })?.name;
    expect(pick({ 'mcp-method': 'tools/list' })).toBe('discovery');
    expect(pick({ 'mcp-method': 'server/discover' })).toBe('discovery');
    expect(pick({ 'mcp-method': 'tools/call' })).toBe('calls');
    expect(pick({ 'mcp-method': 'tasks/get' })).toBe('calls');
    expect(pick({})).toBe('calls');
    expect(l7RulesOf('legacy-sticky', 'session-hash').rules).toEqual([
      { name: 'sessions', matches: [], backend: 'mcp-legacy-sticky', stickyHeader: 'mcp-session-id' },
    ]);
  });

  it('refuses what its gateways cannot carry out, naming the field', () => {
    const base = () => structuredClone(httpRouteObjects('rc', 'mcp-method')[0])!;
    const withRule = (rule: Record<string, unknown>) => {
      const r = base();
      r.spec.rules[1] = { ...r.spec.rules[1], ...rule };
      return r;
    };
    expect(() => rulesFromHttpRoute(withRule({ filters: [] }))).toThrow(
      'httproute.yaml: HTTPRoute mcp-rc-by-method: spec.rules[1].filters is not supported',
    );
    expect(() => rulesFromHttpRoute(withRule({ backendRefs: [{ name: 'a' }, { name: 'b' }] }))).toThrow(
      'spec.rules[1].backendRefs must name exactly one Service (got 2)',
    );
    expect(() => rulesFromHttpRoute(withRule({ sessionPersistence: { type: 'Cookie' } }))).toThrow(
      'spec.rules[1].sessionPersistence.type must be Header (got Cookie)',
    );
    expect(() =>
      rulesFromHttpRoute(withRule({ matches: [{ headers: [{ name: 'Mcp-Method', value: 'a b' }] }] })),
    ).toThrow('spec.rules[1].matches[0].headers[0].value must be non-empty and hold no space');
    expect(() => rulesFromHttpRoute(withRule({ name: 'discovery' }))).toThrow(
      'spec.rules[1].name "discovery" is used by another rule',
    );
  });
});
