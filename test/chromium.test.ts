import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { provideChromium } from './chromium.ts';

/** How the report test finds Chromium: CHROME_PATH, PATH, the Debian path, apt-get, else a reason to skip. */
describe('provideChromium', () => {
  const apt = {
    osRelease: 'ID=debian\n',
    isRoot: true,
    aptGet: null,
    lockFile: join(tmpdir(), 'unused.lock'),
  };

  it('takes CHROME_PATH, then chromium on PATH', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpbench-chromium-bin-'));
    const bin = join(dir, 'chromium');
    await writeFile(bin, '#!/bin/sh\n');
    await chmod(bin, 0o755);
    await expect(provideChromium({ env: { CHROME_PATH: bin }, mode: 'off', apt })).resolves.toEqual({
      path: bin,
      from: 'CHROME_PATH',
    });
    await expect(
      provideChromium({
        env: { PATH: `/nonexistent:${dir}` },
        mode: 'off',
        apt,
        debianBinary: '/nonexistent/chromium',
      }),
    ).resolves.toEqual({ path: bin, from: 'PATH' });
  });

  it('without one and without installing, gives the reason to skip naming what was tried', async () => {
    const r = await provideChromium({
      env: { PATH: '/nonexistent' },
      mode: 'off',
      apt,
      debianBinary: '/nonexistent/chromium',
    });
    expect(r.path).toBeNull();
    const skip = r.path === null ? r.skip : '';
    expect(skip).toContain('no chromium on PATH or at /nonexistent/chromium');
    expect(skip).toContain('apt-get install chromium not tried (MCPBENCH_PROVISION=off)');
    expect(skip).toContain('CHROME_PATH');
    const bad = await provideChromium({ env: { CHROME_PATH: '/nonexistent/chrome' }, mode: 'off', apt });
    expect(bad.path === null && bad.skip).toContain(
      'CHROME_PATH=/nonexistent/chrome is not an executable file',
    );
  });
});
