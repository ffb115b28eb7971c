/**
 * A share of one load, for running it from several generators at once (k6's execution segments are
 * the model): generator `index` of `count` takes every `count`-th agent and every `count`-th arrival
 * of the same schedule, starting at its index. The shares are disjoint, and together they are exactly
 * the whole load: agent j and arrival j belong to generator j mod count.
 */
export interface Segment {
  index: number;
  count: number;
}

/** The whole load: what a single generator runs. */
export const WHOLE: Segment = { index: 0, count: 1 };

export function validSegment(s: Segment): string | null {
  if (!Number.isInteger(s.count) || s.count < 1)
    return `segment count must be a whole number ≥ 1, got ${s.count}`;
  if (!Number.isInteger(s.index) || s.index < 0 || s.index >= s.count)
    return `segment index must be a whole number in [0, ${s.count - 1}], got ${s.index}`;
  return null;
}

/** Whether agent (or arrival) number `j` of the whole load is this segment's. */
export function owns(s: Segment, j: number): boolean {
  return j % s.count === s.index;
}

/** How many of the whole load's first `total` agents (or arrivals) are this segment's. */
export function shareOf(s: Segment, total: number): number {
  const n = Math.floor(total);
  return n > s.index ? Math.floor((n - s.index - 1) / s.count) + 1 : 0;
}

/** The whole load's number of this segment's `k`-th agent (k = 0, 1, ...). */
export function globalIndex(s: Segment, k: number): number {
  return s.index + k * s.count;
}
