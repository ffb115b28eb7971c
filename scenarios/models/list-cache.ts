/**
 * The client-side cache of list results under the 2026-07-28 rules: the key is method + params;
 * a result is fresh for `ttlMs` after it was received; an absent or zero `ttlMs` is never fresh; a
 * `cacheScope: "private"` result (or one with no or an unknown scope) is served only to the caller
 * that received it, a `"public"` one to every caller sharing the cache. The caller is the simulated
 * agent's identity, the authorization context of its requests.
 */
export class ListCache {
  private readonly entries = new Map<string, { expiresAt: number; public: boolean; caller: string }>();

  static key(method: string, params: Record<string, unknown>): string {
    return `${method} ${JSON.stringify(params)}`;
  }

  fresh(key: string, now: number, caller: string): boolean {
    const e = this.entries.get(key);
    return e !== undefined && e.expiresAt > now && (e.public || e.caller === caller);
  }

  store(key: string, result: Record<string, unknown> | undefined, now: number, caller: string): void {
    const ttl = result?.ttlMs;
    if (typeof ttl !== 'number' || ttl <= 0) {
      this.entries.delete(key);
      return;
    }
    this.entries.set(key, { expiresAt: now + ttl, public: result?.cacheScope === 'public', caller });
  }
}
