import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';

/**
 * File errors in words, at the boundary where a flag or config field named the file: "--junit
 * out/: is a directory" rather than a bare EISDIR. Every check here only looks; nothing is created.
 */

export class FileError extends Error {}

/** What an fs error means for `path`, in words. */
export function describeFileError(err: unknown, path: string, mode: 'read' | 'write'): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'EISDIR':
      return 'is a directory';
    case 'ENOENT':
      return mode === 'read' ? 'does not exist' : `parent directory ${dirname(path)} does not exist`;
    case 'ENOTDIR':
      return 'a parent of it is a file, not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOSPC':
      return 'no space left on device';
    default:
      return code ? `cannot ${mode} (${code})` : `cannot ${mode}: ${(err as Error)?.message ?? err}`;
  }
}

async function statOrNull(path: string) {
  return stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
    throw err;
  });
}

/** Why a file cannot be written at `path` (without writing it), or null when it can. */
export async function fileWriteProblem(path: string): Promise<string | null> {
  try {
    const target = await statOrNull(path);
    if (target?.isDirectory()) return 'is a directory';
    const parent = dirname(path);
    const p = await statOrNull(parent);
    if (!p) return `parent directory ${parent} does not exist`;
    if (!p.isDirectory()) return `parent ${parent} is a file, not a directory`;
    await access(parent, constants.W_OK);
    return null;
  } catch (err) {
    return describeFileError(err, path, 'write');
  }
}

/**
 * Why `dir` cannot be a new run directory, or null: it must be an empty directory or not exist yet,
 * with its nearest existing ancestor a writable directory (missing parents are created).
 */
export async function runDirProblem(dir: string): Promise<string | null> {
  try {
    const s = await statOrNull(dir);
    if (s) {
      if (!s.isDirectory()) return 'is a file, not a directory';
      if ((await readdir(dir)).length > 0) return 'directory is not empty; choose a new run directory';
      await access(dir, constants.W_OK);
      return null;
    }
    let ancestor = dirname(dir);
    for (;;) {
      const a = await statOrNull(ancestor);
      if (a) {
        if (!a.isDirectory()) return `${ancestor} is a file, not a directory`;
        await access(ancestor, constants.W_OK);
        return null;
      }
      const up = dirname(ancestor);
      if (up === ancestor) return `no existing parent directory`;
      ancestor = up;
    }
  } catch (err) {
    return describeFileError(err, dir, 'write');
  }
}

/** Writes an output file a flag named (checked first); errors say `flag path: what is wrong`. */
export async function writeOutputFile(flag: string, path: string, data: string | Uint8Array): Promise<void> {
  const problem = await fileWriteProblem(path);
  if (problem) throw new FileError(`${flag} ${path}: ${problem}`);
  try {
    await writeFileAtomic(path, data);
  } catch (err) {
    throw new FileError(`${flag} ${path}: ${describeFileError(err, path, 'write')}`);
  }
}

/** JSON.parse with the file named and a hint when the text stops early (a half-written file). */
export function parseJsonFile(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const truncated = text.trim() === '' || /Unexpected end|Unterminated|end of JSON/i.test(message);
    throw new FileError(
      `${path}: not valid JSON${truncated ? ' (truncated? the file ends early)' : ''}: ${message}`,
    );
  }
}
