import type { ClusterProvider } from '../cluster/provider.js';
import type { RunConfig } from './config.js';

/** Picks the cluster provider a run asked for; loaded on demand. */
export async function createProvider(config: RunConfig): Promise<ClusterProvider> {
  if (config.cluster === 'local') {
    const { createLocalProvider } = await import('../cluster/local/provider.js');
    return createLocalProvider();
  }
  throw new Error(
    `--cluster ${config.cluster}: this provider is not built yet (the offline Kubernetes build is tracked in its own issue); use --cluster local`,
  );
}
