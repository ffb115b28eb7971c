/**
 * HTTPRoute → routing rules: the one translation of the rendered Gateway API HTTPRoute
 * (cluster/manifests/httproute.yaml) into what every gateway that carries it out needs. The HAProxy
 * gateway's config (clusters without the Gateway API) and the local provider's L7 proxy both take
 * their header matches, backends and session stickiness from here, never from constants of their own.
 *
 * The subset of HTTPRoute that mcpbench's gateways implement: matches on path (Exact, PathPrefix) and
 * headers (Exact, RegularExpression, anchored), one backendRef per rule, and `sessionPersistence` of
 * type Header. Anything else is refused by field, so a route never means less than it says.
 */

// biome-ignore lint/suspicious/noExplicitAny: a Kubernetes object is open-ended YAML
type HttpRouteObject = Record<string, any>;

interface HeaderMatch {
  /** lower-case, as HTTP header names compare */
  name: string;
  type: 'Exact' | 'RegularExpression';
  value: string;
}

interface RouteMatch {
  path: { type: 'Exact' | 'PathPrefix'; value: string };
  headers: HeaderMatch[];
}

export interface L7Rule {
  /** the rule's name (spec.rules[].name), else rule-<index> */
  name: string;
  /** any one of them selects the rule; none = every request (PathPrefix /) */
  matches: RouteMatch[];
  /** the Service the rule's backendRef names */
  backend: string;
  /** sessionPersistence type Header: the header (lower-case) whose value pins a request to a pod */
  stickyHeader?: string;
}

export interface L7Rules {
  /** metadata.name of the HTTPRoute the rules come from */
  route: string;
  rules: L7Rule[];
}

const RULE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** The rules of a rendered HTTPRoute; errors name the field that mcpbench cannot carry out. */
export function rulesFromHttpRoute(route: HttpRouteObject, file = 'httproute.yaml'): L7Rules {
  const name = String(route?.metadata?.name ?? '?');
  const fail = (field: string, why: string): never => {
    throw new Error(`${file}: HTTPRoute ${name}: ${field} ${why}`);
  };
  if (route?.kind !== 'HTTPRoute') fail('kind', `must be HTTPRoute (got ${route?.kind})`);
  const list = route.spec?.rules;
  if (!Array.isArray(list) || list.length === 0) fail('spec.rules', 'must list at least one rule');
  const seen = new Set<string>();
  const rules = (list as HttpRouteObject[]).map((r, i): L7Rule => {
    const at = `spec.rules[${i}]`;
    const ruleName = r.name === undefined ? `rule-${i}` : String(r.name);
    if (!RULE_NAME.test(ruleName)) fail(`${at}.name`, `must be a DNS label (got "${ruleName}")`);
    if (seen.has(ruleName)) fail(`${at}.name`, `"${ruleName}" is used by another rule`);
    seen.add(ruleName);
    for (const key of Object.keys(r))
      if (!['name', 'matches', 'backendRefs', 'sessionPersistence'].includes(key))
        fail(`${at}.${key}`, 'is not supported by mcpbench gateways');
    const refs = r.backendRefs;
    if (!Array.isArray(refs) || refs.length !== 1)
      fail(
        `${at}.backendRefs`,
        `must name exactly one Service (got ${Array.isArray(refs) ? refs.length : 0})`,
      );
    const ref = refs[0];
    if ((ref.kind ?? 'Service') !== 'Service' || !ref.name)
      fail(`${at}.backendRefs[0]`, 'must name a Service');
    const matches = ((r.matches ?? []) as HttpRouteObject[]).map((m, j): RouteMatch => {
      const mAt = `${at}.matches[${j}]`;
      for (const key of Object.keys(m))
        if (!['path', 'headers'].includes(key))
          fail(`${mAt}.${key}`, 'is not supported by mcpbench gateways');
      const path = m.path ?? { type: 'PathPrefix', value: '/' };
      const pathType = path.type ?? 'PathPrefix';
      if (pathType !== 'Exact' && pathType !== 'PathPrefix')
        fail(`${mAt}.path.type`, `must be Exact or PathPrefix (got ${pathType})`);
      const pathValue = String(path.value ?? '/');
      if (!/^\/\S*$/.test(pathValue)) fail(`${mAt}.path.value`, `must start with / and hold no space`);
      const headers = ((m.headers ?? []) as HttpRouteObject[]).map((h, k): HeaderMatch => {
        const hAt = `${mAt}.headers[${k}]`;
        const type = h.type ?? 'Exact';
        if (type !== 'Exact' && type !== 'RegularExpression')
          fail(`${hAt}.type`, `must be Exact or RegularExpression (got ${type})`);
        if (!HEADER_NAME.test(String(h.name ?? '')))
          fail(`${hAt}.name`, `is not a header name (got "${h.name}")`);
        const value = String(h.value ?? '');
        if (value === '' || /\s/.test(value)) fail(`${hAt}.value`, 'must be non-empty and hold no space');
        if (type === 'RegularExpression') {
          try {
            new RegExp(value);
          } catch (err) {
            fail(`${hAt}.value`, `is not a regular expression (${(err as Error).message})`);
          }
        }
        return { name: String(h.name).toLowerCase(), type, value };
      });
      return { path: { type: pathType, value: pathValue }, headers };
    });
    const persistence = r.sessionPersistence;
    let stickyHeader: string | undefined;
    if (persistence !== undefined) {
      if (persistence.type !== 'Header')
        fail(`${at}.sessionPersistence.type`, `must be Header (got ${persistence.type})`);
      if (!HEADER_NAME.test(String(persistence.sessionName ?? '')))
        fail(
          `${at}.sessionPersistence.sessionName`,
          `is not a header name (got "${persistence.sessionName}")`,
        );
      stickyHeader = String(persistence.sessionName).toLowerCase();
    }
    return {
      name: ruleName,
      matches,
      backend: String(ref.name),
      ...(stickyHeader ? { stickyHeader } : {}),
    };
  });
  return { route: name, rules };
}

const CATCH_ALL: RouteMatch = { path: { type: 'PathPrefix', value: '/' }, headers: [] };

/**
 * Every (rule, match) pair in Gateway API precedence: an Exact path first, then the longest path
 * prefix, then the most header matches; ties keep the route's order. A rule without matches matches
 * everything (PathPrefix /).
 */
function byPrecedence(rules: L7Rules): Array<{ rule: L7Rule; match: RouteMatch }> {
  const pairs = rules.rules.flatMap((rule, i) =>
    (rule.matches.length > 0 ? rule.matches : [CATCH_ALL]).map((match, j) => ({ rule, match, i, j })),
  );
  pairs.sort(
    (a, b) =>
      Number(b.match.path.type === 'Exact') - Number(a.match.path.type === 'Exact') ||
      b.match.path.value.length - a.match.path.value.length ||
      b.match.headers.length - a.match.headers.length ||
      a.i - b.i ||
      a.j - b.j,
  );
  return pairs.map(({ rule, match }) => ({ rule, match }));
}

const pathMatches = (p: RouteMatch['path'], path: string): boolean => {
  if (p.type === 'Exact') return path === p.value;
  const prefix = p.value.replace(/\/+$/, '');
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
};

/** The rule a request takes, as a Gateway API implementation picks it; undefined = no rule (404). */
export function pickRule(
  rules: L7Rules,
  request: { path: string; header: (name: string) => string | undefined },
): L7Rule | undefined {
  const path = request.path.split('?')[0] ?? '/';
  for (const { rule, match } of byPrecedence(rules)) {
    if (!pathMatches(match.path, path)) continue;
    const ok = match.headers.every((h) => {
      const v = request.header(h.name);
      if (v === undefined) return false;
      return h.type === 'Exact' ? v === h.value : new RegExp(`^(?:${h.value})$`).test(v);
    });
    if (ok) return rule;
  }
  return undefined;
}

const regexPathPrefix = (prefix: string) => `^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/.*)?$`;

/**
 * The HAProxy frontend rules and backends that carry out the route (cluster/manifests/gateway.yaml's
 * ROUTING_RULES): one backend per rule, balanced per request, sticky where the rule persists sessions.
 * `servers` gives the server line of a backendRef's Service (e.g. a server-template on its pods).
 */
export function haproxyRouting(rules: L7Rules, servers: (service: string) => string): string[] {
  const frontend: string[] = [];
  let fallback: string | undefined;
  for (const { rule, match } of byPrecedence(rules)) {
    const conditions = [
      ...(match.path.type === 'Exact'
        ? [`{ path ${match.path.value} }`]
        : match.path.value.replace(/\/+$/, '') === ''
          ? []
          : [`{ path_reg ${regexPathPrefix(match.path.value.replace(/\/+$/, ''))} }`]),
      ...match.headers.map((h) =>
        h.type === 'Exact'
          ? `{ req.hdr(${h.name}) -m str ${h.value} }`
          : `{ req.hdr(${h.name}) -m reg ^(?:${h.value})$ }`,
      ),
    ];
    if (conditions.length === 0) {
      // Every request reaches this match: rules of lower precedence can never be taken.
      fallback = rule.name;
      break;
    }
    frontend.push(`  use_backend ${rule.name} if ${conditions.join(' ')}`);
  }
  const lines = [...frontend, `  default_backend ${fallback ?? 'no-route'}`];
  for (const rule of rules.rules) {
    lines.push(`backend ${rule.name}`, '  balance roundrobin');
    if (rule.stickyHeader)
      lines.push(
        '  stick-table type string len 128 size 200k expire 30m',
        `  stick on req.hdr(${rule.stickyHeader})`,
        `  stick store-response res.hdr(${rule.stickyHeader})`,
      );
    lines.push('  option httpchk GET /readyz', `  ${servers(rule.backend)}`);
  }
  // A request no rule matches is answered as a Gateway API implementation answers it.
  if (!fallback) lines.push('backend no-route', '  http-request return status 404');
  return lines;
}
