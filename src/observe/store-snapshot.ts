import type { YggConfig } from '../config/types.js';
import type { TaskStore } from '../store/store.js';
import { emptySnapshot, type StatusSnapshot, snapshotLimits } from './snapshot.js';
import {
  deadLettersFromStore,
  hostsFromConfig,
  queueFromStore,
  recentFromStore,
  runningFromStore,
  typeClassifier,
} from './store-view.js';

/** Window over which throughput is measured. */
export const throughputWindowMs = 5 * 60_000;

/**
 * A snapshot from the store alone, for `ygg monitor` when no loop runs: the queue, tasks left in
 * progress, dead letters, and history rebuilt from `metadata.ygg.history`. Host state is unknown.
 */
export function snapshotFromStore(
  store: TaskStore,
  config: YggConfig | undefined,
  options: { now?: Date; version?: string } = {},
): StatusSnapshot {
  const now = options.now ?? new Date();
  const typeOf = typeClassifier(config);
  const snapshot = emptySnapshot({ running: false, version: options.version ?? 'unknown' }, now);
  snapshot.hosts = hostsFromConfig(config);
  snapshot.queue = queueFromStore(store, typeOf, now);
  snapshot.running = runningFromStore(store, typeOf, now);
  for (const task of snapshot.running) {
    const host = snapshot.hosts.find((h) => h.name === task.host);
    if (host) host.slots.used++;
  }
  snapshot.deadLetters = deadLettersFromStore(store, typeOf);
  // All ended attempts count toward totals; only the newest few are listed.
  const history = recentFromStore(store, typeOf, Number.POSITIVE_INFINITY);
  snapshot.recent = history.slice(0, snapshotLimits.recent);
  const finished = history.filter((o) => o.outcome !== 'retry');
  const since = now.getTime() - throughputWindowMs;
  const inWindow = finished.filter((o) => Date.parse(o.at) >= since).length;
  snapshot.throughput = {
    perMinute: inWindow / (throughputWindowMs / 60_000),
    done: finished.length,
    succeeded: finished.filter((o) => o.outcome === 'succeeded').length,
    failed: finished.filter((o) => o.outcome === 'failed' || o.outcome === 'dead').length,
  };
  return snapshot;
}
