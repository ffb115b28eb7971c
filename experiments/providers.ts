import type { ClusterProvider } from '../cluster/provider.js';
import type { RunConfig } from './config.js';

/** Picks the cluster provider a run asked for; loaded on demand so a local run never loads the Kubernetes client. */
export async function createProvider(config: RunConfig): Promise<ClusterProvider> {
  switch (config.cluster) {
    case 'local': {
      const { createLocalProvider } = await import('../cluster/local/provider.js');
      return createLocalProvider();
    }
    case 'kind': {
      const { createKindProvider, kindUnavailable } = await import('../cluster/kind/provider.js');
      const why = await kindUnavailable({});
      if (why) throw new Error(`--cluster kind: ${why}`);
      return createKindProvider({});
    }
    case 'kube': {
      const { createKubeProvider } = await import('../cluster/kube/provider.js');
      return createKubeProvider({ context: config.context });
    }
  }
}
