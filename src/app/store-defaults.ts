/**
 * What depends on the store: the lease's default (15 s on PostgreSQL, unless hosts.yaml sets
 * one) and the clock leases are written and judged on (the database's, on PostgreSQL).
 */
import type { YggConfig } from '../config/types.js';
import { type Clock, systemClock } from '../dispatch/clock.js';
import type { TaskStore } from '../store/store.js';

export function withStoreDefaults(config: YggConfig, store: Pick<TaskStore, 'defaultLeaseMs'>): YggConfig {
  if (config.queue.leaseSet || store.defaultLeaseMs === undefined) return config;
  return { ...config, queue: { ...config.queue, leaseMs: store.defaultLeaseMs } };
}

/** The loop's clock: the store's where machines share it (leases on one clock), else this machine's. */
export function clockFor(store: Pick<TaskStore, 'sharedClock'>): Clock {
  const shared = store.sharedClock;
  return shared ? { ...systemClock, now: () => shared.now() } : systemClock;
}
