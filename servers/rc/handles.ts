import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Explicit, self-contained workspace handles: `h1.<payload>.<mac>` where payload is base64url JSON
 * `{ ws, sub, exp }` and mac is HMAC-SHA256 over `h1.<payload>` with the deployment's shared secret.
 * Any replica holding the secret accepts a handle without a store; `sub` binds it to the caller so a
 * handle replayed by another client, tampered with, forged or expired is refused.
 */
export interface HandleClaims {
  ws: string;
  sub: string;
  exp: number;
}

export type HandleVerdict =
  | { ok: true; claims: HandleClaims }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' | 'foreign' };

const PREFIX = 'h1';

function mac(secret: string, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function mintHandle(secret: string, claims: HandleClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signed = `${PREFIX}.${payload}`;
  return `${signed}.${mac(secret, signed).toString('base64url')}`;
}

export function verifyHandle(
  secret: string,
  handle: unknown,
  caller: string,
  now = Date.now(),
): HandleVerdict {
  if (typeof handle !== 'string' || handle.length > 2048) return { ok: false, reason: 'malformed' };
  const parts = handle.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(parts[2] ?? '', 'base64url');
  const expected = mac(secret, `${parts[0]}.${parts[1]}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad-signature' };
  let claims: HandleClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as HandleClaims;
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof claims.ws !== 'string' || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') {
    return { ok: false, reason: 'malformed' };
  }
  if (claims.exp < now) return { ok: false, reason: 'expired' };
  if (claims.sub !== caller) return { ok: false, reason: 'foreign' };
  return { ok: true, claims };
}

/**
 * Who is calling, for binding handles and tasks: the bearer token when there is one (what a real
 * deployment authenticates), else the `x-mcpbench-client` header the harness's simulated agents send,
 * else the client's declared name@version from `_meta`. Hashed so no credential is ever echoed.
 */
export function callerIdentity(headers: Headers | undefined, clientInfo: unknown): string {
  const auth = headers?.get('authorization');
  const client = headers?.get('x-mcpbench-client');
  let basis: string;
  if (auth) basis = `auth:${auth}`;
  else if (client) basis = `client:${client}`;
  else {
    const info = (clientInfo ?? {}) as { name?: unknown; version?: unknown };
    basis = `info:${String(info.name ?? '?')}@${String(info.version ?? '?')}`;
  }
  return createHash('sha256').update(basis).digest('base64url').slice(0, 22);
}
