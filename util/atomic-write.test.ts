import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-write.js';

describe('writeFileAtomic', () => {
  it('writes the whole file and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpbench-atomic-'));
    await writeFileAtomic(join(dir, 'a.json'), '{"a":1}');
    expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe('{"a":1}');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('removes its temp file when the rename fails (target is a directory)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpbench-atomic-'));
    await mkdir(join(dir, 'report.md'));
    await writeFile(join(dir, 'report.md', 'keep'), 'x');
    await expect(writeFileAtomic(join(dir, 'report.md'), 'data')).rejects.toMatchObject({
      code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/),
    });
    expect((await readdir(dir)).sort()).toEqual(['report.md']);
  });
});
