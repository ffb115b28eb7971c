import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pidAlive } from '../util/processes.js';

/**
 * Who is writing a run directory: enough to tell later, on the same host, whether that process is
 * still alive. A pid alone is not enough (pids are reused, and a reboot starts them again), so the
 * kernel's boot id and the process's start time (clock ticks since boot, /proc/<pid>/stat field 22)
 * are kept with it. Outside Linux both are null and only the pid is checked.
 */
export interface RunProcess {
  pid: number;
  hostname: string;
  bootId: string | null;
  /** /proc/<pid>/stat starttime: with bootId, names one process for the machine's whole uptime */
  startTime: string | null;
}

function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 overall; fields[0] here is field 3 (state)
  } catch {
    return null;
  }
}

export function currentRunProcess(): RunProcess {
  return {
    pid: process.pid,
    hostname: hostname(),
    bootId: bootId(),
    startTime: startTimeOf(process.pid),
  };
}

export type Liveness =
  | { state: 'alive' }
  | { state: 'dead'; why: string }
  | { state: 'unknown'; why: string };

/** Whether the process that wrote a run (still marked `running`) is alive, judged from this host. */
export function runProcessLiveness(writer: RunProcess | undefined): Liveness {
  if (!writer) return { state: 'unknown', why: 'run.json names no process (written by an older version)' };
  if (writer.hostname !== hostname())
    return { state: 'unknown', why: `started on another host (${writer.hostname}), never finished` };
  const boot = bootId();
  if (writer.bootId && boot && writer.bootId !== boot)
    return { state: 'dead', why: `the machine has restarted since (process ${writer.pid} is gone)` };
  if (!pidAlive(writer.pid)) return { state: 'dead', why: `process ${writer.pid} is gone` };
  if (writer.startTime) {
    const now = startTimeOf(writer.pid);
    if (now !== null && now !== writer.startTime)
      return { state: 'dead', why: `process ${writer.pid} is gone (its pid now belongs to another process)` };
  }
  return { state: 'alive' };
}
