import {
  type AptHost,
  aptHost,
  aptInstall,
  cannotAptInstall,
  findOnPath,
  isExecutable,
  type ProvisionMode,
  provisionMode,
} from '../util/system-provision.js';

/** Where Debian's chromium package puts the browser. */
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

export type ChromiumLookup = { path: string; from: string } | { path: null; skip: string };

/**
 * Chromium for the report test, found the way Redis is: CHROME_PATH, chromium on PATH,
 * /usr/bin/chromium; else Debian's chromium installed with apt-get (Debian or Ubuntu, root,
 * MCPBENCH_PROVISION not off; the same install lock as Redis); else a reason to skip the test.
 */
export async function provideChromium(
  probe: {
    env?: NodeJS.ProcessEnv;
    mode?: ProvisionMode;
    apt?: AptHost;
    debianBinary?: string;
    log?: (line: string) => void;
  } = {},
): Promise<ChromiumLookup> {
  const env = probe.env ?? process.env;
  const debian = probe.debianBinary ?? DEBIAN_CHROMIUM;
  const tried: string[] = [];
  if (env.CHROME_PATH) {
    if (isExecutable(env.CHROME_PATH)) return { path: env.CHROME_PATH, from: 'CHROME_PATH' };
    tried.push(`CHROME_PATH=${env.CHROME_PATH} is not an executable file`);
  } else {
    const onPath = findOnPath('chromium', env.PATH);
    if (onPath) return { path: onPath, from: 'PATH' };
    if (isExecutable(debian)) return { path: debian, from: debian };
    tried.push(`no chromium on PATH or at ${debian}, CHROME_PATH not set`);
  }
  const apt = probe.apt ?? aptHost();
  const cannot = cannotAptInstall(apt, probe.mode ?? provisionMode(env));
  if (cannot) {
    tried.push(`apt-get install chromium not tried (${cannot})`);
    return { path: null, skip: `${tried.join('; ')}; set CHROME_PATH or install chromium to run it` };
  }
  try {
    await aptInstall(
      apt,
      ['chromium'],
      () => isExecutable(debian),
      probe.log ?? ((l) => process.stderr.write(`${l}\n`)),
      'for the report.html test',
    );
  } catch (err) {
    return { path: null, skip: `apt-get install chromium failed: ${(err as Error).message}` };
  }
  if (isExecutable(debian)) return { path: debian, from: 'apt-get install chromium' };
  return { path: null, skip: `apt-get install chromium ran, but ${debian} is still missing` };
}
