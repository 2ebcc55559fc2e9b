/**
 * Prometheus metrics fed by the event bus. Counters and histograms follow events as they
 * happen; gauges that the store owns (queue depth, dead letters) are read from a snapshot at
 * scrape time, so they are never stale.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { EventBus } from './events.js';
import type { StatusSnapshot } from './snapshot.js';

/** Seconds: from 10 ms to about 45 minutes. */
const durationBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 2700];

export interface MetricsOptions {
  bus: EventBus;
  /** Read at scrape time for queue depth, dead letters, slots, hosts and GPUs. */
  snapshot?: () => StatusSnapshot;
  /** Node's default process metrics. Default true. */
  defaultMetrics?: boolean;
}

export interface Metrics extends Disposable {
  readonly registry: Registry;
  /** Prometheus text exposition. */
  text(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const snapshot = options.snapshot;

  // Read at scrape time; registered, never touched by events.
  new Gauge({
    name: 'ygg_queue_depth',
    help: 'Ready tasks waiting for a slot, by type and priority.',
    labelNames: ['type', 'priority'] as const,
    registers,
    collect() {
      if (!snapshot) return;
      this.reset();
      for (const d of snapshot().queue.depth)
        this.set({ type: d.type, priority: String(d.priority) }, d.count);
    },
  });
  const wait = new Histogram({
    name: 'ygg_task_wait_seconds',
    help: 'Time from ready to started.',
    buckets: durationBuckets,
    registers,
  });
  const run = new Histogram({
    name: 'ygg_task_run_seconds',
    help: 'Run time of finished attempts, by type and host.',
    labelNames: ['type', 'host'] as const,
    buckets: durationBuckets,
    registers,
  });
  const tasks = new Counter({
    name: 'ygg_tasks_total',
    help: 'Attempt and task outcomes: succeeded, failed (an attempt), dead, cancelled, lost.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'ygg_retries_total',
    help: 'Retries scheduled, by type.',
    labelNames: ['type'] as const,
    registers,
  });
  new Gauge({
    name: 'ygg_dead_letters',
    help: 'Tasks in the dead-letter list (blocked after their last attempt).',
    registers,
    collect() {
      if (snapshot) this.set(snapshot().deadLetters.count);
    },
  });
  const slotsInUse = new Gauge({
    name: 'ygg_slots_in_use',
    help: 'Slots held, by host.',
    labelNames: ['host'] as const,
    registers,
  });
  const slotsTotal = new Gauge({
    name: 'ygg_slots_total',
    help: 'Slots usable now, by host (fewer than configured while GPU memory is short).',
    labelNames: ['host'] as const,
    registers,
  });
  const hostUp = new Gauge({
    name: 'ygg_host_up',
    help: '1 when the host answers its health probe, 0 when it is down.',
    labelNames: ['host'] as const,
    registers,
  });
  const gpuUtil = new Gauge({
    name: 'ygg_gpu_utilization_ratio',
    help: 'GPU utilisation, 0..1.',
    labelNames: ['host', 'gpu'] as const,
    registers,
  });
  const gpuMemory = new Gauge({
    name: 'ygg_gpu_memory_used_bytes',
    help: 'GPU memory in use.',
    labelNames: ['host', 'gpu'] as const,
    registers,
  });
  const stale = new Counter({
    name: 'ygg_stale_trajectories_total',
    help: 'Trajectories dropped from training as too old for the current policy.',
    registers,
  });
  // Known series start at zero, so a scrape before the first event already shows them.
  for (const outcome of ['succeeded', 'failed', 'dead', 'cancelled', 'lost']) tasks.inc({ outcome }, 0);
  if (snapshot) {
    for (const host of snapshot().hosts) {
      slotsInUse.set({ host: host.name }, host.slots.used);
      slotsTotal.set({ host: host.name }, host.slots.effective);
      if (host.state !== 'unknown') hostUp.set({ host: host.name }, host.state === 'up' ? 1 : 0);
    }
  }

  const { bus } = options;
  const off = [
    bus.on('task:claimed', ({ waitMs }) => wait.observe(waitMs / 1000)),
    bus.on('task:succeeded', ({ type, host, runMs }) => {
      run.observe({ type, host }, runMs / 1000);
      tasks.inc({ outcome: 'succeeded' });
    }),
    bus.on('task:failed', ({ type, host, runMs }) => {
      run.observe({ type, host }, runMs / 1000);
      tasks.inc({ outcome: 'failed' });
    }),
    bus.on('task:dead', () => tasks.inc({ outcome: 'dead' })),
    bus.on('task:cancelled', () => tasks.inc({ outcome: 'cancelled' })),
    bus.on('task:lost', () => tasks.inc({ outcome: 'lost' })),
    bus.on('task:retry', ({ type }) => retries.inc({ type })),
    bus.on('slots:changed', ({ host, used, effective }) => {
      slotsInUse.set({ host }, used);
      slotsTotal.set({ host }, effective);
    }),
    bus.on('host:up', ({ host }) => hostUp.set({ host }, 1)),
    bus.on('host:down', ({ host }) => hostUp.set({ host }, 0)),
    bus.on('gpu:sample', ({ host, gpus }) => {
      for (const g of gpus) {
        const labels = { host, gpu: String(g.index) };
        if (g.utilization !== undefined) gpuUtil.set(labels, g.utilization);
        if (g.memoryUsedBytes !== undefined) gpuMemory.set(labels, g.memoryUsedBytes);
      }
    }),
    bus.on('trajectory:stale', ({ count }) => stale.inc(count)),
  ];

  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    [Symbol.dispose]() {
      for (const unsubscribe of off.splice(0)) unsubscribe();
      registry.clear();
    },
  };
}
