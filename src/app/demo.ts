/** The Python dispatcher's 30-task benchmark, run through the real loop and store. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Loop } from '../dispatch/loop.js';
import { QueuePolicy } from '../dispatch/queue-policy.js';
import { seed30Tasks } from '../dispatch/workloads.js';
import type { Timeline, TimelineItem } from '../observe/charts/timeline-svg.js';
import { EventBus } from '../observe/events.js';
import type { DemoOrder } from './demo-plan.js';
import { openRuntime } from './runtime.js';

export interface DemoOptions {
  /** Folder for the demo's store (default: a new temporary folder, removed at the end). */
  dir?: string;
  config?: string;
  /** Milliseconds of simulated model time per work unit. */
  unitMs?: number;
  legacy?: boolean;
  /** Order within a priority: `fifo` or `makespan` (default: the hosts.yaml's `queue.order`). */
  order?: DemoOrder;
  /** Stops the run: running tasks are aborted, and runDemo rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Told when the loop has started (the first tasks are being claimed). */
  onStart?: () => void;
}

export interface DemoSummary {
  dir: string;
  tasks: number;
  closed: number;
  dead: number;
  makespanMs: number;
  makespanUnits: number;
  unitMs: number;
  hosts: Array<{ name: string; slots: number; busyMs: number; utilisation: number }>;
  /** Each task's run on its host's slot, from the first start (ms). */
  timeline: Timeline;
}

/**
 * The Python dispatcher's 30-task benchmark through the real loop and store: 10 code (30 units),
 * 10 text (20) and 10 reasoning (40) tasks of simulated model time, on the shipped hosts.yaml.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  if (options.dir) return runIn(resolve(options.dir), options);
  const dir = await mkdtemp(join(tmpdir(), 'ygg-demo-'));
  try {
    return await runIn(dir, options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runIn(dir: string, options: DemoOptions): Promise<DemoSummary> {
  options.signal?.throwIfAborted();
  const unitMs = options.unitMs ?? 50;
  await mkdir(join(dir, '.beads'), { recursive: true });
  await writeFile(join(dir, '.beads', 'issues.jsonl'), '', { flag: 'a' });
  await using runtime = await openRuntime({
    cwd: dir,
    // Its own store, whatever YGG_STORE or hosts.yaml's `store:` name: the demo never adds to a real queue.
    store: join(dir, '.beads', 'issues.jsonl'),
    ...(options.config ? { config: resolve(options.config) } : {}),
  });
  const config = options.order
    ? { ...runtime.config, queue: { ...runtime.config.queue, order: options.order } }
    : runtime.config;
  const tasks = seed30Tasks(unitMs);
  const ids = new Set<string>();
  for (const task of tasks) ids.add((await runtime.store.add(task)).id);
  await runtime.store.flush();

  const bus = new EventBus();
  const loop = new Loop({
    store: runtime.store,
    config,
    plugins: runtime.plugins,
    bus,
    transport: (host) => runtime.transport(host),
    ...(options.legacy ? { legacy: true } : {}),
    ...new QueuePolicy().hooks(),
  });
  const recorder = recordRuns(loop, bus);
  const stop = () => void loop.stop({ force: true });
  try {
    await loop.start();
    // Listened to once started: a stop while the loop starts would race its start-up.
    options.signal?.addEventListener('abort', stop, { once: true });
    options.onStart?.();
    if (!options.signal?.aborted) await loop.untilIdle();
    await loop.stop(options.signal?.aborted ? { force: true } : {});
  } finally {
    options.signal?.removeEventListener('abort', stop);
    recorder.stop();
  }
  options.signal?.throwIfAborted();

  const mine = runtime.store.list().filter((t) => ids.has(t.id));
  const first = loop.totals.firstStart ?? 0;
  const makespanMs = (loop.totals.lastEnd ?? 0) - first;
  return {
    dir,
    tasks: ids.size,
    closed: mine.filter((t) => t.status === 'closed').length,
    dead: loop.totals.dead,
    makespanMs,
    makespanUnits: makespanMs / unitMs,
    unitMs,
    hosts: config.hosts.map((host) => {
      const busyMs = loop.totals.busyMs.get(host.name) ?? 0;
      return {
        name: host.name,
        slots: host.slots,
        busyMs,
        utilisation: makespanMs > 0 ? busyMs / (host.slots * makespanMs) : 0,
      };
    }),
    timeline: {
      lanes: config.hosts.flatMap((h) => Array.from({ length: h.slots }, (_, i) => laneName(h.name, i))),
      items: recorder.items.map((i) => ({ ...i, start: i.start - first, end: i.end - first })),
    },
  };
}

export function laneName(host: string, slot: number): string {
  return `${host}/${slot}`;
}

/** Each attempt's run on its slot, from the loop's events (start: claimed; end: the handler's end). */
function recordRuns(loop: Loop, bus: EventBus): { items: TimelineItem[]; stop(): void } {
  const items: TimelineItem[] = [];
  const open = new Map<string, Omit<TimelineItem, 'end'>>();
  const end = (taskId: string, at: number) => {
    const started = open.get(taskId);
    if (!started) return;
    open.delete(taskId);
    items.push({ ...started, end: Math.max(started.start, at) });
  };
  const offs = [
    bus.on('task:started', (e) => {
      const run = loop.running.get(e.taskId);
      open.set(e.taskId, {
        lane: laneName(e.host, run?.slot.index ?? 0),
        start: run?.startedAt ?? loop.clock.now(),
        label: run?.task.title ?? e.taskId,
        kind: e.type,
      });
    }),
    // runMs is the handler's own time: the slot is free right after it, so a lane never overlaps.
    bus.on('task:succeeded', (e) => end(e.taskId, (open.get(e.taskId)?.start ?? 0) + e.runMs)),
    bus.on('task:failed', (e) => end(e.taskId, (open.get(e.taskId)?.start ?? 0) + e.runMs)),
    bus.on('task:cancelled', (e) => end(e.taskId, loop.clock.now())),
  ];
  return {
    items,
    stop() {
      for (const off of offs) off();
      for (const id of [...open.keys()]) end(id, loop.clock.now());
    },
  };
}
