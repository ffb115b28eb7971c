import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, freemem, type as osType, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What a reviewer needs to know to trust (or distrust) a comparison between two runs. */
export interface EnvironmentFingerprint {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  freeMemoryBytesAtStart: number;
  os: string;
  node: string;
  packages: Record<string, string>;
  gitSha: string | null;
  gitDirty: boolean | null;
}

const TRACKED_PACKAGES = [
  '@modelcontextprotocol/sdk',
  '@modelcontextprotocol/server',
  '@modelcontextprotocol/client',
  '@modelcontextprotocol/node',
  'undici',
  'hdr-histogram-js',
  'ioredis',
];

/** The folder holding node_modules, found by walking up from this file (works from source and from dist/). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'node_modules')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function packageVersion(name: string): string {
  try {
    const file = join(projectRoot(), 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function environmentFingerprint(): EnvironmentFingerprint {
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryBytes: totalmem(),
    freeMemoryBytesAtStart: freemem(),
    os: `${osType()} ${release()}`,
    node: process.version,
    packages: Object.fromEntries(TRACKED_PACKAGES.map((p) => [p, packageVersion(p)])),
    gitSha: git(['rev-parse', 'HEAD']),
    gitDirty: status === null ? null : status.length > 0,
  };
}

/** The fields whose difference makes two runs not directly comparable, as human-readable lines. */
export function fingerprintDifferences(a: EnvironmentFingerprint, b: EnvironmentFingerprint): string[] {
  const diffs: string[] = [];
  const check = (label: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) !== JSON.stringify(y))
      diffs.push(`${label}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  };
  check('CPU', a.cpuModel, b.cpuModel);
  check('cores', a.cores, b.cores);
  check('memory', a.memoryBytes, b.memoryBytes);
  check('OS', a.os, b.os);
  check('Node', a.node, b.node);
  for (const p of new Set([...Object.keys(a.packages), ...Object.keys(b.packages)])) {
    check(p, a.packages[p], b.packages[p]);
  }
  return diffs;
}
