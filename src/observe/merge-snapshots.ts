/**
 * Several loops on one store, seen as one: each loop's own view (its running tasks, the reasons
 * it gave, its host figures and outcomes) merged, each running task and reason naming its loop.
 * The queue and dead letters come from the store, the same for every loop: the first view's.
 */
import { inQueueOrder } from './queue-order.js';
import type { LoopRecord } from './server/loop-records.js';
import { loopName } from './server/loop-records.js';
import {
  type HostStatus,
  type LoopSummary,
  type RecentOutcome,
  type StatusSnapshot,
  snapshotLimits,
} from './snapshot.js';

/** One loop as found in its record, with its own view when it answered. */
export interface LoopView {
  record: Pick<LoopRecord, 'pid' | 'machine' | 'startedAt' | 'url' | 'running'>;
  snapshot?: StatusSnapshot;
}

/** The views merged; the first loop's is the base (the one serving, or the oldest). */
export function mergeLoopViews(
  views: readonly LoopView[],
  base?: StatusSnapshot,
): StatusSnapshot | undefined {
  const answered = views.filter((v): v is Required<LoopView> => v.snapshot !== undefined);
  const first = base ?? answered[0]?.snapshot;
  if (!first) return undefined;
  const others = answered.map((v) => v.snapshot).filter((s) => s !== first);
  const several = views.length > 1;
  const named = (view: LoopView) => (several ? loopName(view.record) : undefined);
  const nameOf = new Map(answered.map((v) => [v.snapshot, named(v)]));
  const all = [first, ...others];
  // A task one loop runs is not waiting, whatever another loop (without its handler, say) said.
  const runningIds = new Set(all.flatMap((s) => s.running.map((r) => r.id)));
  const notRunning = <T extends { id: string }>(items: T[]) => items.filter((i) => !runningIds.has(i.id));
  const merged: StatusSnapshot = {
    ...first,
    paused: all.some((s) => s.paused),
    ...databaseOf(all),
    hosts: mergeHosts(all),
    running: uniqueBy(
      all.flatMap((s) => s.running.map((r) => withLoop(r, nameOf.get(s) ?? r.loop))),
      (r) => r.id,
    ),
    unroutable: notRunning(
      uniqueBy(
        all.flatMap((s) => s.unroutable.map((u) => withLoop(u, nameOf.get(s) ?? u.loop))),
        (u) => u.id,
      ),
    ).slice(0, snapshotLimits.unroutable),
    ...(all.some((s) => s.waiting)
      ? {
          waiting: inQueueOrder(
            notRunning(
              uniqueBy(
                all.flatMap((s) => (s.waiting ?? []).map((w) => withLoop(w, nameOf.get(s) ?? w.loop))),
                (w) => w.id,
              ),
            ),
          ).slice(0, snapshotLimits.waiting),
        }
      : {}),
    recent: mergeRecent(all),
    throughput: {
      perMinute: sum(all.map((s) => s.throughput.perMinute)),
      done: sum(all.map((s) => s.throughput.done)),
      succeeded: sum(all.map((s) => s.throughput.succeeded)),
      failed: sum(all.map((s) => s.throughput.failed)),
      ...meanWait(all),
    },
  };
  if (several) merged.loops = views.map(summary);
  return merged;
}

function summary(view: LoopView): LoopSummary {
  const { record, snapshot } = view;
  return {
    name: loopName(record),
    pid: record.pid,
    startedAt: record.startedAt,
    ...(snapshot?.loop.state ? { state: snapshot.loop.state } : {}),
    // Without its view, the record's own count (a store shared by machines keeps it fresh).
    ...(snapshot
      ? { running: snapshot.running.length }
      : record.running
        ? { running: record.running.length }
        : {}),
    view: snapshot ? 'live' : record.url ? 'unreachable' : 'no-status',
  };
}

/** The database as the loops find it: unreachable since the earliest when any finds it so. */
function databaseOf(all: readonly StatusSnapshot[]): Pick<StatusSnapshot, 'database'> {
  const lost = all.flatMap((s) => (s.database ? [s.database] : []));
  if (lost.length === 0) return {};
  return { database: lost.reduce((a, b) => (b.since < a.since ? b : a)) };
}

function withLoop<T extends { loop?: string }>(item: T, loop: string | undefined): T {
  return loop === undefined ? item : { ...item, loop };
}

/** Each loop counts only its own slots in use: the host's are their sum. */
function mergeHosts(all: readonly StatusSnapshot[]): HostStatus[] {
  const hosts = new Map<string, HostStatus>();
  for (const snapshot of all) {
    for (const host of snapshot.hosts) {
      const seen = hosts.get(host.name);
      if (!seen) {
        hosts.set(host.name, { ...host, slots: { ...host.slots } });
        continue;
      }
      seen.slots.used += host.slots.used;
      if (seen.state === 'unknown') seen.state = host.state;
      if (seen.gpus.length === 0) seen.gpus = host.gpus;
      if (seen.latencyMs === undefined && host.latencyMs !== undefined) seen.latencyMs = host.latencyMs;
      seen.draining ||= host.draining;
    }
  }
  return [...hosts.values()];
}

function mergeRecent(all: readonly StatusSnapshot[]): RecentOutcome[] {
  const outcomes = uniqueBy(
    all.flatMap((s) => s.recent),
    (o) => `${o.id} ${o.attempt} ${o.outcome}`,
  );
  return outcomes.sort((a, b) => b.at.localeCompare(a.at)).slice(0, snapshotLimits.recent);
}

function meanWait(all: readonly StatusSnapshot[]): { meanWaitMs?: number } {
  const waits = all.flatMap((s) => (s.throughput.meanWaitMs === undefined ? [] : [s.throughput.meanWaitMs]));
  return waits.length > 0 ? { meanWaitMs: sum(waits) / waits.length } : {};
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
