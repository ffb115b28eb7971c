/**
 * Import boundaries of mcpbench: data flows one way,
 *   config → cluster → engine → raw results (rundir/) → analysis → reports,
 * and each folder may import only what lies upstream of it; util/ (generic helpers) and rundir/ (the
 * run-directory format) sit below everything. `npm run lint:boundaries` checks them (part of
 * `npm run lint`, which .ci/run runs): a cycle or an import against the flow fails.
 */
const HARNESS = '^(scenarios|cluster|experiments|analysis|rundir|util|cli|bench|test)/';
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
    {
      name: 'servers-know-nothing-of-the-harness',
      severity: 'error',
      comment: 'servers/ are deployable programs; they must build and run without the harness.',
      from: { path: '^servers/', pathNot: TEST },
      to: { path: HARNESS },
    },
    {
      name: 'engine-never-reaches-into-a-cluster',
      severity: 'error',
      comment: 'An engine only sees URLs and a scenario (design: scenarios/ never reaches into cluster/).',
      from: { path: '^scenarios/', pathNot: TEST },
      to: { path: '^(cluster|experiments|analysis|cli|bench)/' },
    },
    {
      name: 'cluster-is-upstream-of-the-load',
      severity: 'error',
      comment:
        'Providers bring variants up and act on them; they know nothing of scenarios, runs or reports.',
      from: { path: '^cluster/', pathNot: TEST },
      to: { path: '^(scenarios|experiments|analysis|cli|bench)/' },
    },
    {
      name: 'experiments-write-raw-results-not-reports',
      severity: 'error',
      comment: 'The runner writes raw results; analysis reads them. The runner never imports analysis.',
      from: { path: '^experiments/', pathNot: TEST },
      to: { path: '^(analysis|cli|bench)/' },
    },
    {
      name: 'analysis-reads-run-directories-only',
      severity: 'error',
      comment:
        'analysis/ can re-render any old run: it reads the run directory, never a cluster, an engine or the runner.',
      from: { path: '^analysis/', pathNot: TEST },
      to: { path: '^(cluster|scenarios|experiments|cli|bench)/' },
    },
    {
      name: 'rundir-is-a-format-not-a-program',
      severity: 'error',
      comment:
        'rundir/ is the run-directory format the runner writes and analysis reads; it depends on util/ only.',
      from: { path: '^rundir/', pathNot: TEST },
      to: { path: '^(servers|scenarios|cluster|experiments|analysis|cli|bench)/' },
    },
    {
      name: 'util-depends-on-nothing',
      severity: 'error',
      comment: 'util/ holds generic helpers (processes, files, PATH, random numbers): no project imports.',
      from: { path: '^util/', pathNot: TEST },
      to: { path: '^(servers|scenarios|cluster|experiments|analysis|cli|bench|rundir)/' },
    },
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
