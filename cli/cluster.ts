import { type Command, Option } from 'commander';
import { hpa } from '../experiments/plugins/hpa/definition.js';
import { text } from './flags.js';

/**
 * `mcpbench cluster up|down --cluster kind`: create (or delete) the offline-built one-node kind
 * cluster, with our images loaded and metrics-server installed. `--cluster kube` only checks that
 * the kubeconfig context answers (an existing cluster is never created or deleted by us); with
 * `down --namespace NAME` it deletes one namespace mcpbench created.
 */
export function registerClusterCommand(program: Command): void {
  program
    .command('cluster')
    .description(
      'bring the Kubernetes cluster for --cluster kind up or down (build it first: npm run cluster:build-offline)',
    )
    .addArgument(program.createArgument('<action>', 'up or down').choices(['up', 'down']))
    .addOption(new Option('--cluster <provider>', 'which cluster').choices(['kind', 'kube']).default('kind'))
    .option('--name <name>', 'kind cluster name', text('--name'), 'mcpbench')
    .option('--kubeconfig <file>', 'kubeconfig to write (kind) or read (kube)', text('--kubeconfig'))
    .option('--context <name>', 'kubeconfig context for --cluster kube', text('--context'))
    .option('--namespace <name>', 'kube: the mcpbench namespace to delete on down', text('--namespace'))
    .addOption(
      new Option(
        '--hpa-profile <name>',
        "kind up: the hpa experiment's profile whose autoscaler cadence the cluster runs (controller flags, metrics resolution)",
      )
        .choices(Object.keys(hpa.profiles ?? {}))
        .default('fast'),
    )
    .action(async (action: 'up' | 'down', o: Record<string, string | undefined>) => {
      try {
        if (o.cluster === 'kind') {
          const kind = await import('../cluster/kind/provider.js');
          const opts = {
            clusterName: o.name,
            kubeconfig: o.kubeconfig,
            log: (l: string) => console.error(l),
            hpa: { ...hpa.hpa, ...hpa.profiles?.[o.hpaProfile ?? 'fast']?.hpa },
          };
          if (action === 'up') {
            const why = await kind.kindUnavailable(opts);
            if (why) throw new Error(why);
            const { kubeconfig, created } = await kind.kindClusterUp(opts);
            console.log(
              `kind cluster ${o.name} ${created ? 'created' : 'already up'}; kubeconfig: ${kubeconfig}`,
            );
          } else {
            await kind.kindClusterDown(opts);
            console.log(`kind cluster ${o.name} deleted`);
          }
          return;
        }
        const { KubeProvider } = await import('../cluster/kube/provider.js');
        const kube = new KubeProvider({
          kubeconfig: o.kubeconfig,
          context: o.context,
          namespace: o.namespace,
        });
        const version = await kube.kubernetesVersion();
        if (!version) throw new Error('the cluster in the kubeconfig context does not answer');
        if (action === 'up') {
          console.log(`kube: ${version} reachable; mcpbench run --cluster kube creates its own namespace`);
        } else if (o.namespace) {
          await kube.down();
          console.log(`namespace ${o.namespace} deleted`);
        } else {
          console.log('kube: nothing to do without --namespace (an existing cluster is never deleted)');
        }
      } catch (err) {
        program.error(`mcpbench cluster ${action}: ${(err as Error).message}`, { exitCode: 2 });
      }
    });
}
