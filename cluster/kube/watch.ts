import * as k8s from '@kubernetes/client-node';

type Query = Record<string, string | number | boolean | undefined>;
// biome-ignore lint/suspicious/noExplicitAny: watch events carry any Kubernetes object
type Handler = (phase: string, obj: any) => void;

/**
 * A watch that survives the API server closing it (it does so every few minutes): re-established
 * until stopped. A fresh watch without a resourceVersion replays every existing object as ADDED,
 * so handlers see the current state again after a reconnect. Returns stop().
 */
export function watchObjects(kc: k8s.KubeConfig, path: string, query: Query, handler: Handler): () => void {
  const watch = new k8s.Watch(kc);
  let stopped = false;
  let abort: AbortController | undefined;
  let retry: NodeJS.Timeout | undefined;
  const start = () => {
    if (stopped) return;
    watch
      .watch(path, { ...query, allowWatchBookmarks: false }, handler, () => {
        if (!stopped) retry = setTimeout(start, 500);
      })
      .then((a) => {
        abort = a;
        if (stopped) a.abort();
      })
      .catch(() => {
        if (!stopped) retry = setTimeout(start, 1_000);
      });
  };
  start();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    abort?.abort();
  };
}

/**
 * Resolves with the first object (ADDED/MODIFIED) the predicate accepts, or when an object is
 * DELETED if resolveOnDelete; rejects after timeoutMs naming what was awaited. Event-driven: no sleeps.
 */
export function waitFor<T>(
  kc: k8s.KubeConfig,
  path: string,
  query: Query,
  predicate: (obj: T) => boolean,
  timeoutMs: number,
  what: string,
  opts: { resolveOnDelete?: boolean; alreadyDone?: () => Promise<boolean> } = {},
): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    let last: T | undefined;
    let settled = false;
    const finish = (err: Error | null, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => {
      const state =
        last === undefined
          ? 'no object seen'
          : `last status ${JSON.stringify((last as { status?: unknown }).status ?? {})}`;
      finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${state})`));
    }, timeoutMs);
    const stop = watchObjects(kc, path, query, (phase, obj: T) => {
      if (phase === 'DELETED') {
        if (opts.resolveOnDelete) finish(null, obj);
        return;
      }
      if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
      last = obj;
      if (predicate(obj)) finish(null, obj);
    });
    // Started after the watch, so a change between the two cannot be missed.
    opts
      .alreadyDone?.()
      .then((done) => {
        if (done) finish(null);
      })
      .catch(() => {});
  });
}
