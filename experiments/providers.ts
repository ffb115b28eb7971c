import type { ClusterProvider } from '../cluster/provider.js';
import { type RunConfig, resolveExperiments } from './config.js';
import type { SystemNeeds } from './system-preflight.js';

/** Picks the cluster provider a run asked for; loaded on demand so a local run never loads the Kubernetes client. */
export async function createProvider(
  config: RunConfig,
  log: (line: string) => void = () => {},
  needs: SystemNeeds = {},
): Promise<ClusterProvider> {
  switch (config.cluster) {
    case 'local': {
      const { createLocalProvider } = await import('../cluster/local/provider.js');
      return createLocalProvider(needs.redis ? { redis: needs.redis } : {});
    }
    case 'kind': {
      const { createKindProvider, kindUnavailable } = await import('../cluster/kind/provider.js');
      const why = await kindUnavailable({});
      if (why) throw new Error(`--cluster kind: ${why}`);
      // Every experiment × variant gets a fresh provider (its own namespace); the cluster itself is
      // shared by the whole run and removed by the teardown from prepareRunCluster.
      // The cluster is created for the run's HPA cadence (controller flags, metrics resolution), so the
      // hpa experiment runs the same timing as on local; a cluster up for another cadence is refused.
      const hpa = resolveExperiments(config).find((d) => d.hpa)?.hpa;
      return createKindProvider({ keep: true, log, ...(hpa ? { hpa } : {}) });
    }
    case 'kube': {
      const { createKubeProvider } = await import('../cluster/kube/provider.js');
      return createKubeProvider({ context: config.context });
    }
  }
}

/**
 * What a run needs once, around all its steps. For kind: checks whether the cluster is already up
 * (`mcpbench cluster up`), and returns the teardown that deletes it at the end only if this run
 * created it (a check that said absent, then a create that succeeded) and `--keep` was not given.
 * A check that failed (no kind binary, kind erring) proves nothing, so such a cluster is left alone
 * and the teardown says so. Other providers need nothing.
 */
export async function prepareRunCluster(
  config: RunConfig,
  log: (line: string) => void,
): Promise<() => Promise<void>> {
  if (config.cluster !== 'kind') return async () => {};
  const kind = await import('../cluster/kind/provider.js');
  const before = await kind.kindClusterState({});
  if (before.state === 'unknown')
    log(`mcpbench run: could not check whether the kind cluster is up before the run: ${before.why}`);
  return async () => {
    if (!kind.kindClusterCreatedHere({})) {
      const why =
        before.state === 'exists'
          ? 'it was up before the run'
          : before.state === 'unknown'
            ? `whether it was up before the run is unknown (${before.why}), and this run did not create it`
            : 'this run did not create it';
      log(`mcpbench run: kind cluster left alone (${why})`);
      return;
    }
    if (config.keep) {
      log('mcpbench run: kind cluster kept (--keep)');
      return;
    }
    log('mcpbench run: deleting the kind cluster this run created');
    await kind.kindClusterDown({});
  };
}
