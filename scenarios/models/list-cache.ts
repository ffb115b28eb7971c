/**
 * The client-side cache of list results under the 2026-07-28 rules: the key is method + params;
 * a result is fresh for `ttlMs` after it was received; an absent or zero `ttlMs` is never fresh; a
 * `cacheScope: "private"` result (or one with no or an unknown scope) is served only to the caller
 * that received it, a `"public"` one to every caller sharing the cache. The caller is the simulated
 * agent's identity, the authorization context of its requests.
 *
 * Private results are kept per caller: callers sharing the cache (the open model's arrivals) each
 * hold their own, so one caller's fetch does not evict another's still-fresh entry.
 */
export class ListCache {
  /** public results by key; private ones by key + NUL + caller */
  private readonly entries = new Map<string, { expiresAt: number }>();
  /** above this many entries, a store first drops the expired ones */
  private sweepAt = 1_024;

  static key(method: string, params: Record<string, unknown>): string {
    return `${method} ${JSON.stringify(params)}`;
  }

  private static privateKey(key: string, caller: string): string {
    return `${key}\u0000${caller}`;
  }

  get size(): number {
    return this.entries.size;
  }

  fresh(key: string, now: number, caller: string): boolean {
    const shared = this.entries.get(key);
    if (shared !== undefined && shared.expiresAt > now) return true;
    const own = this.entries.get(ListCache.privateKey(key, caller));
    return own !== undefined && own.expiresAt > now;
  }

  store(key: string, result: Record<string, unknown> | undefined, now: number, caller: string): void {
    const ttl = result?.ttlMs;
    const own = ListCache.privateKey(key, caller);
    if (typeof ttl !== 'number' || ttl <= 0) {
      // The newest answer says "do not cache": neither a shared nor this caller's entry stays fresh.
      this.entries.delete(key);
      this.entries.delete(own);
      return;
    }
    if (this.entries.size >= this.sweepAt) this.sweep(now);
    if (result?.cacheScope === 'public') {
      this.entries.set(key, { expiresAt: now + ttl });
      this.entries.delete(own);
    } else {
      // The server now scopes the result to its caller: a shared copy must not be served any more.
      this.entries.delete(key);
      this.entries.set(own, { expiresAt: now + ttl });
    }
  }

  private sweep(now: number): void {
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    this.sweepAt = Math.max(1_024, this.entries.size * 2);
  }
}
