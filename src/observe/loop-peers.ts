/**
 * The other loops on a store, asked for their own views: once (`ygg list --ready`, `ygg hosts`,
 * `ygg monitor --once`), or kept fresh by a loop's status server so that its snapshot, its event
 * stream and the web view it serves show every loop.
 */
import { type LoopView, mergeLoopViews } from './merge-snapshots.js';
import {
  type LoopRecord,
  type LoopsPlace,
  liveLoopRecords,
  reachableFromHere,
} from './server/loop-records.js';
import type { StatusSnapshot, StatusSource } from './snapshot.js';

/** A loop's own view (not merged with its peers'), or undefined when it does not answer in time. */
export async function ownView(record: LoopRecord, timeoutMs: number): Promise<StatusSnapshot | undefined> {
  if (!record.url || !record.token) return undefined;
  if (!reachableFromHere(record)) return undefined;
  try {
    const response = await fetch(`${record.url}/status?scope=loop`, {
      headers: { authorization: `Bearer ${record.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    return response.ok ? ((await response.json()) as StatusSnapshot) : undefined;
  } catch {
    return undefined;
  }
}

/** Every live loop on the store but `exclude`, each with its own view when it answered. */
export async function loopViews(
  place: LoopsPlace,
  options: { exclude?: string; timeoutMs?: number } = {},
): Promise<LoopView[]> {
  const records = (await liveLoopRecords(place)).filter((r) => r.owner !== options.exclude);
  return Promise.all(
    records.map(async (record) => {
      const snapshot = await ownView(record, options.timeoutMs ?? 2000);
      return snapshot ? { record, snapshot } : { record };
    }),
  );
}

/** Every live loop's view merged into one; undefined when no loop answers. */
export async function mergedLoopsSnapshot(
  place: LoopsPlace,
  timeoutMs = 2000,
): Promise<{ snapshot: StatusSnapshot; views: LoopView[] } | undefined> {
  const views = await loopViews(place, { timeoutMs });
  const snapshot = mergeLoopViews(views);
  return snapshot ? { snapshot, views } : undefined;
}

export interface PeerMergingSource extends StatusSource, Disposable {}

/**
 * `source` with its snapshot merged with every other live loop's on the store, asked every
 * `refreshMs` in the background (a snapshot is asked for synchronously, often).
 */
export function peerMergingSource(
  source: StatusSource,
  options: {
    runtimeDir: LoopsPlace;
    /** This loop's record as it will be written (without the server's address). */
    self: Pick<LoopRecord, 'owner' | 'pid' | 'machine' | 'startedAt'>;
    refreshMs?: number;
  },
): PeerMergingSource {
  let peers: LoopView[] = [];
  let asking = false;
  const refresh = async () => {
    if (asking) return;
    asking = true;
    try {
      peers = await loopViews(options.runtimeDir, { exclude: options.self.owner, timeoutMs: 1500 });
    } catch {
      peers = [];
    } finally {
      asking = false;
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), options.refreshMs ?? 1000);
  timer.unref();
  const own = () => source.snapshot();
  return {
    ...source,
    bus: source.bus,
    snapshot: () => {
      const mine = own();
      if (peers.length === 0) return mine;
      return mergeLoopViews([{ record: options.self, snapshot: mine }, ...peers], mine) ?? mine;
    },
    ownSnapshot: own,
    cancel: (id, by) => source.cancel(id, by),
    retry: (id) => source.retry(id),
    ...(source.output ? { output: (id: string) => source.output!(id) } : {}),
    ...(source.charts ? { charts: () => source.charts!() } : {}),
    [Symbol.dispose]: () => clearInterval(timer),
  };
}
