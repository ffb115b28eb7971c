import { existsSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/**
 * Wraps a command so the kernel kills it if the harness dies, even by SIGKILL (util-linux `setpriv
 * --pdeathsig`, which then execs the command: same pid, signals go straight to it). Without setpriv
 * the command runs as is, and the provider's exit handlers are the only guard.
 */
export function orphanGuarded(command: string, args: string[]): { command: string; args: string[] } {
  if (!SETPRIV) return { command, args };
  return { command: SETPRIV, args: ['--pdeathsig', 'KILL', '--', command, ...args] };
}

/** Whether a process with this pid exists (EPERM: it does, but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
