import { setTimeout as sleep } from 'node:timers/promises';
import { createRng } from '../../../util/prng.ts';
import { ListCache } from '../../models/list-cache.ts';
import { runAction, runSession, runTurnArrival } from '../agent.js';
import type { McpSession } from '../mcp-session.js';
import type { ExecutorContext } from './executor.ts';
import { owns } from './segment.ts';

export interface ArrivalOptions {
  /**
   * what arrives: a whole agent session (a new agent each time), one agent turn (on an idle agent's
   * kept session, a new agent when none is idle), or one plain call
   */
  unit: 'sessions' | 'turns' | 'requests';
  /** at most this many arrivals in flight; one more is missed (counted as the engine's fault) */
  maxInFlight: number;
  /** arrivals per second at `t` ms */
  rateAt(t: number): number;
}

/**
 * The open model (k6's arrival-rate executors): arrivals start on schedule whatever the server's
 * latency. Their latencies are also recorded from each arrival's due time (coordinated-omission
 * correction); arrivals the engine could not start (at its in-flight cap) are counted as the
 * engine's own fault, never as the server's. A segment starts only its own arrivals of the whole
 * schedule (arrival j is segment j mod count's), so several generators together run exactly it.
 */
export async function runArrivals(ctx: ExecutorContext, o: ArrivalOptions): Promise<void> {
  const { recorder, faults, startNs } = ctx;
  const rng = createRng(ctx.seed * 104729);
  const sharedCache = new ListCache();
  const agentContext = ctx.agentContext(rng, sharedCache);
  const idle: McpSession[] = [];
  // unit 'turns': sessions that have run a turn before (the next one is not their first)
  const used = new WeakSet<McpSession>();
  let active = 0;
  let next = 0; // ms offset of the next due arrival
  let arrival = 0; // number of the next arrival in the whole load's schedule
  // Arrivals missed at the in-flight cap: once capacity frees up, each is recorded in the corrected
  // histogram with the time it waited (coordinated-omission correction), as well as counted as a fault.
  const missedDue: bigint[] = [];
  const flushMissed = () => {
    const nowNs = process.hrtime.bigint();
    for (const due of missedDue.splice(0)) recorder.correctedOnly(Number(nowNs - due) / 1000);
  };
  while (!ctx.stopping()) {
    const rate = Math.max(0, o.rateAt(next));
    if (rate <= 0) {
      next += 100;
      await sleep(100);
      continue;
    }
    // Timers have millisecond granularity: an arrival starts at most half a millisecond early (a
    // timer that fired early is re-armed), so arrivals are spread evenly, not started in pairs.
    let wait = next - ctx.elapsedMs();
    if (wait > 0.5) {
      do {
        await sleep(wait);
        wait = next - ctx.elapsedMs();
      } while (wait > 0.5 && !ctx.stopping());
    }
    // Behind schedule: still yield between arrivals, so responses (and idle connections) come back
    // instead of a burst of late arrivals each opening a new connection.
    else await new Promise((r) => setImmediate(r));
    if (ctx.stopping()) break;
    if (!owns(ctx.segment, arrival++)) {
      next += 1000 / rate;
      continue;
    }
    const dueNs = startNs + BigInt(Math.round(next * 1e6));
    faults.intended++;
    const lagUs = Number(process.hrtime.bigint() - dueNs) / 1000;
    faults.maxSchedulingLagUs = Math.max(faults.maxSchedulingLagUs, lagUs);
    next += 1000 / rate;
    if (active >= o.maxInFlight) {
      faults.missedArrivals++;
      if (missedDue.length < 100_000) missedDue.push(dueNs);
      continue;
    }
    faults.started++;
    active++;
    if (o.unit === 'sessions') {
      const session = ctx.newSession();
      ctx.track(
        runSession(session, agentContext, dueNs).finally(() => {
          session.destroy();
          active--;
          flushMissed();
        }),
      );
    } else if (o.unit === 'turns') {
      const session = idle.pop() ?? ctx.newSession();
      const first = !used.has(session);
      used.add(session);
      ctx.track(
        runTurnArrival(session, agentContext, dueNs, first).finally(() => {
          active--;
          idle.push(session);
          flushMissed();
        }),
      );
    } else {
      const session = idle.pop() ?? ctx.newSession();
      ctx.track(
        (async () => {
          if (session.legacy && !session.hasSession) await session.open();
          session.dueAt(dueNs);
          await runAction('call', session, agentContext);
        })().finally(() => {
          active--;
          idle.push(session);
          flushMissed();
        }),
      );
    }
  }
  // Arrivals that fell due before the end but were never started: the engine fell behind.
  const endMs = Math.min(ctx.elapsedMs(), ctx.durationMs);
  while (next < endMs) {
    const rate = o.rateAt(next);
    if (rate <= 0) break;
    if (owns(ctx.segment, arrival++)) {
      faults.intended++;
      faults.missedArrivals++;
    }
    next += 1000 / rate;
  }
  flushMissed();
  for (const s of idle) await s.close();
}
