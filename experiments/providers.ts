import type { ClusterProvider } from '../cluster/provider.js';
import type { RunConfig } from './config.js';
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
      return createKindProvider({ keep: true, log });
    }
    case 'kube': {
      const { createKubeProvider } = await import('../cluster/kube/provider.js');
      return createKubeProvider({ context: config.context });
    }
  }
}

/**
 * What a run needs once, around all its steps. For kind: notes whether the cluster was already up
 * (`mcpbench cluster up`), and returns the teardown that deletes it at the end only if this run
 * created it and `--keep` was not given. Other providers need nothing.
 */
export async function prepareRunCluster(
  config: RunConfig,
  log: (line: string) => void,
): Promise<() => Promise<void>> {
  if (config.cluster !== 'kind') return async () => {};
  const kind = await import('../cluster/kind/provider.js');
  const existed = await kind.kindClusterExists({});
  return async () => {
    if (existed || config.keep) {
      log(`mcpbench run: kind cluster kept (${existed ? 'it was up before the run' : '--keep'})`);
      return;
    }
    log('mcpbench run: deleting the kind cluster');
    await kind.kindClusterDown({});
  };
}
