/**
 * The client-side cache of list results under the 2026-07-28 rules: the key is method + params;
 * a result is fresh for `ttlMs` after it was received; an absent or zero `ttlMs` is never fresh.
 */
export class ListCache {
  private readonly entries = new Map<string, { expiresAt: number; scope: string }>();

  static key(method: string, params: Record<string, unknown>): string {
    return `${method} ${JSON.stringify(params)}`;
  }

  fresh(key: string, now: number): boolean {
    const e = this.entries.get(key);
    return e !== undefined && e.expiresAt > now;
  }

  store(key: string, result: Record<string, unknown> | undefined, now: number): void {
    const ttl = result?.ttlMs;
    if (typeof ttl !== 'number' || ttl <= 0) {
      this.entries.delete(key);
      return;
    }
    this.entries.set(key, { expiresAt: now + ttl, scope: String(result?.cacheScope ?? 'private') });
  }
}
