import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Cluster-internal traffic stays in the cluster. A packet from the kind node to a Service ClusterIP is
 * NATed to a pod by kube-proxy's rules, but one sent before those rules exist (the API server, CoreDNS at
 * start) leaves the node un-NATed, and the host forwards it along its default route to whatever answers
 * there. One host firewall rule per cluster destination range, in Docker's DOCKER-USER chain (forwarded
 * traffic only), refuses such packets instead: the sender sees a refused connection and retries once the
 * rules are in place. Installed before the cluster is created, removed with it.
 */

/** kind's Service range and our pod range (both set in cluster/kind/kind-config.yaml). */
export const CLUSTER_INTERNAL_CIDRS = ['10.96.0.0/16', '10.244.0.0/16'] as const;

/** The iptables rule specs (after the chain name) for one cluster, tagged with its name. */
export function egressGuardRules(clusterName: string): string[][] {
  return CLUSTER_INTERNAL_CIDRS.map((cidr) => [
    '-d',
    cidr,
    '-m',
    'comment',
    '--comment',
    `mcpbench kind ${clusterName}: cluster-internal traffic stays in the cluster`,
    '-j',
    'REJECT',
  ]);
}

const CHAIN = 'DOCKER-USER';

/**
 * Inserts the cluster's rules where missing. Returns null when they are in place, else why not (no
 * iptables, not root, no DOCKER-USER chain), which the caller reports as a note: the run still works,
 * without the guard.
 */
export async function installEgressGuard(clusterName: string): Promise<string | null> {
  try {
    for (const rule of egressGuardRules(clusterName)) {
      const present = await run('iptables', ['-C', CHAIN, ...rule]).then(
        () => true,
        () => false,
      );
      if (!present) await run('iptables', ['-I', CHAIN, ...rule]);
    }
    return null;
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    return `host firewall guard for ${CLUSTER_INTERNAL_CIDRS.join(', ')} not installed: ${(e.stderr || e.message || String(err)).trim()}`;
  }
}

/** Whether every rule of the cluster is in the chain (for tests and the cluster check). */
export async function egressGuardInstalled(clusterName: string): Promise<boolean> {
  for (const rule of egressGuardRules(clusterName)) {
    const ok = await run('iptables', ['-C', CHAIN, ...rule]).then(
      () => true,
      () => false,
    );
    if (!ok) return false;
  }
  return true;
}

/** Removes the cluster's rules (every copy); a missing rule or iptables is not an error. */
export async function removeEgressGuard(clusterName: string): Promise<void> {
  for (const rule of egressGuardRules(clusterName)) {
    for (let i = 0; i < 8; i++) {
      const removed = await run('iptables', ['-D', CHAIN, ...rule]).then(
        () => true,
        () => false,
      );
      if (!removed) break;
    }
  }
}
