/** The Python dispatcher's 30-task benchmark, run through the real loop and store. */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Loop } from '../dispatch/loop.js';
import { QueuePolicy } from '../dispatch/queue-policy.js';
import { seed30Tasks } from '../dispatch/workloads.js';
import { EventBus } from '../observe/events.js';
import { openRuntime } from './runtime.js';

export interface DemoOptions {
  /** Folder for the demo's store (default: a new temporary folder). */
  dir?: string;
  config?: string;
  /** Milliseconds of simulated model time per work unit. */
  unitMs?: number;
  legacy?: boolean;
  /** Order within a priority: `fifo` (default) or `makespan`. */
  order?: 'fifo' | 'makespan';
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
}

/**
 * The Python dispatcher's 30-task benchmark through the real loop and store: 10 code (30 units),
 * 10 text (20) and 10 reasoning (40) tasks of simulated model time, on the shipped hosts.yaml.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const unitMs = options.unitMs ?? 50;
  const dir = options.dir ? resolve(options.dir) : await mkdtemp(join(tmpdir(), 'ygg-demo-'));
  await mkdir(join(dir, '.beads'), { recursive: true });
  await writeFile(join(dir, '.beads', 'issues.jsonl'), '', { flag: 'a' });
  await using runtime = await openRuntime({
    cwd: dir,
    ...(options.config ? { config: resolve(options.config) } : {}),
  });
  const config = options.order
    ? { ...runtime.config, queue: { ...runtime.config.queue, order: options.order } }
    : runtime.config;
  const tasks = seed30Tasks(unitMs);
  const ids = new Set<string>();
  for (const task of tasks) ids.add((await runtime.store.add(task)).id);
  await runtime.store.flush();

  const loop = new Loop({
    store: runtime.store,
    config,
    plugins: runtime.plugins,
    bus: new EventBus(),
    transport: (host) => runtime.transport(host),
    ...(options.legacy ? { legacy: true } : {}),
    ...new QueuePolicy().hooks(),
  });
  await loop.start();
  await loop.untilIdle();
  await loop.stop();

  const mine = runtime.store.list().filter((t) => ids.has(t.id));
  const makespanMs = (loop.totals.lastEnd ?? 0) - (loop.totals.firstStart ?? 0);
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
  };
}
