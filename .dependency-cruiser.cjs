/**
 * Import boundaries of mcpbench: data flows one way,
 *   config → cluster → engine → raw results (rundir/) → analysis → reports,
 * and each folder may import only what lies upstream of it; util/ (generic helpers) and rundir/ (the
 * run-directory format) sit below everything. `npm run lint:boundaries` checks them (part of
 * `npm run lint`, which .ci/run runs): a cycle or an import against the flow fails.
 */
const HARNESS = 'scenarios|cluster|experiments|analysis|rundir|util|cli|bench|test';
/** Tests may start real servers, Redis and engines from anywhere: the layering is about production code. */
const TEST = '(\\.test\\.ts$|^test/|fixtures\\.ts$)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A cycle means two modules are one concern split in two, or one of them is in the wrong place.',
      from: {},
      to: { circular: true },
    },
    ...[
      ['servers', HARNESS, 'servers/ are deployable programs; they build and run without the harness.'],
      [
        'scenarios',
        'cluster|experiments|analysis|cli|bench',
        'An engine only sees URLs and a scenario: scenarios/ never reach into a cluster, a run or a report.',
      ],
      [
        'cluster',
        'scenarios|experiments|analysis|cli|bench',
        'Providers bring variants up and act on them; they know nothing of scenarios, runs or reports.',
      ],
      ['experiments', 'analysis|cli|bench', 'The runner writes raw results; analysis reads them.'],
      [
        'analysis',
        'cluster|scenarios|experiments|cli|bench',
        'analysis/ re-renders any old run: it reads the run directory, never a cluster, an engine or the runner.',
      ],
      [
        'rundir',
        'servers|scenarios|cluster|experiments|analysis|cli|bench',
        'rundir/ is the run-directory format the runner writes and analysis reads; it depends on util/ only.',
      ],
      [
        'util',
        'servers|scenarios|cluster|experiments|analysis|cli|bench|rundir',
        'util/ holds generic helpers (processes, files, PATH, random numbers): no project imports.',
      ],
    ].map(([folder, forbidden, comment]) => ({
      name: `${folder}-imports-nothing-downstream`,
      severity: 'error',
      comment,
      from: { path: `^${folder}/`, pathNot: TEST },
      to: { path: `^(${forbidden})/` },
    })),
    {
      name: 'nothing-imports-the-cli-or-benchmarks',
      severity: 'error',
      from: { path: '^(servers|scenarios|cluster|experiments|analysis|rundir|util)/' },
      to: { path: '^(cli|bench)/' },
    },
    {
      name: 'no-test-code-in-production',
      severity: 'error',
      from: { pathNot: `${TEST}|^bench/` },
      to: { path: '(\\.test\\.ts$|^test/)' },
    },
    {
      name: 'no-unresolvable-imports',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|results|\\.cache)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
