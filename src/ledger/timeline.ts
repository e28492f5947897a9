// A strategy's deploys in time order, and which version a moment falls under: the rule that
// attributes a trade to the version whose deploy interval contains its opened_at (or closed_at).
// Pure: the ledger reads the deploys and caches the timeline.

/** A deploy on the strategy's timeline: the version in force from `ms` on (ties: the later seq). */
export interface TimelineEntry {
  ms: number;
  seq: number;
  version: number;
}

/** How many deploys of the timeline (in time order) are at or before `ms`. */
export function deploysUpTo(timeline: readonly TimelineEntry[], ms: number): number {
  let lo = 0;
  let hi = timeline.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (timeline[mid].ms <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The version whose deploy interval contains `ms` (the last deploy at or before it); null before the first. */
export function versionAt(timeline: readonly TimelineEntry[], ms: number): number | null {
  const k = deploysUpTo(timeline, ms);
  return k === 0 ? null : timeline[k - 1].version;
}

/** Whether a deploy falls in (openedMs, closedMs]: the trade opened under one version and closed under the next. */
export function straddles(timeline: readonly TimelineEntry[], openedMs: number | null, closedMs: number): boolean {
  if (openedMs === null) return false;
  const next = timeline[deploysUpTo(timeline, openedMs)];
  return next !== undefined && next.ms <= closedMs;
}
