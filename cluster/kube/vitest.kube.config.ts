import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `npm run test:kube`: the tests that need a real Kubernetes cluster (kind built offline, or
// MCPBENCH_KUBECONFIG for any other cluster). `npm test` excludes **/*.kube.test.ts.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['cluster/**/*.kube.test.ts'],
    exclude: ['node_modules/**', 'dist/**', '.cache/**'],
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
