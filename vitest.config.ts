import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // *.kube.test.ts need a real Kubernetes cluster: `npm run test:kube`.
    exclude: ['node_modules/**', 'tools/**', 'dist/**', 'results/**', '.cache/**', '**/*.kube.test.ts'],
    // Tests start real server processes and real Redis; on a 2-core machine keep parallelism modest.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
