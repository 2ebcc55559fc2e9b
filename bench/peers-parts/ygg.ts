/**
 * The peers workloads on ygg through its normal paths: the Beads store and the loop over one
 * local host, tasks arriving as lines another writer appends (as `ygg add`, `bd` or `>>` do).
 */
import { appendFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runDemo } from '../../src/app/demo.js';
import type { Plugin } from '../../src/plugins/api.js';
import { benchWorkspace, issueLine } from '../lib/workspace.js';
import {
  bulk,
  now,
  type PriorityTrace,
  percentile,
  pickup,
  priority,
  priorityScore,
  spill,
} from './workloads.js';

const handlerMeta = (name: string) => ({ metadata: { ygg: { handler: name } } });

/** Appends lines as one write, the way another process would (the loop sees an external change). */
function append(path: string, lines: string[]): void {
  appendFileSync(path, `${lines.join('\n')}\n`);
}

export async function yggPickup(): Promise<{ p50: number; p99: number }> {
  const started = new Map<string, () => void>();
  const probe: Plugin = {
    name: 'probe',
    types: [],
    async run(task) {
      started.get(task.id)?.();
      return 'ok';
    },
  };
  await using ws = await benchWorkspace({ total: pickup.storeSize, open: 0, slots: 8, plugin: probe });
  await ws.loop.start();
  const latencies: number[] = [];
  for (let i = 0; i < pickup.samples; i += 1) {
    const id = `pick-${i}`;
    let startedAt = 0;
    const called = new Promise<void>((resolve) =>
      started.set(id, () => {
        startedAt = now();
        resolve();
      }),
    );
    const t0 = now();
    append(ws.storePath, [issueLine(id, true, new Date(), handlerMeta('probe'))]);
    await called;
    latencies.push(startedAt - t0);
    // Let the outcome be written, so the next sample meets an idle loop.
    await ws.loop.untilIdle();
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export async function yggBulk(): Promise<number> {
  const noop: Plugin = { name: 'noop', types: [], run: async () => 'ok' };
  await using ws = await benchWorkspace({ total: 0, open: 0, slots: bulk.slots, plugin: noop });
  let done = 0;
  let resolveAll = () => {};
  const all = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  ws.bus.on('task:succeeded', () => {
    done += 1;
    if (done === bulk.tasks) resolveAll();
  });
  await ws.loop.start();
  const base = Date.now();
  const lines = Array.from({ length: bulk.tasks }, (_, i) =>
    issueLine(`bulk-${i}`, true, new Date(base + i), handlerMeta('noop')),
  );
  const t0 = now();
  append(ws.storePath, lines);
  await all;
  return bulk.tasks / ((now() - t0) / 1000);
}

export async function yggPriority(): Promise<{ lagMs: number; lowAfterHigh: number }> {
  const trace: PriorityTrace = { submittedAt: Number.POSITIVE_INFINITY, starts: [], releases: [] };
  let lowRunning = 0;
  let eightRunning = () => {};
  const busy = new Promise<void>((resolve) => {
    eightRunning = resolve;
  });
  const worker: Plugin = {
    name: 'prio',
    types: [],
    async run(task) {
      const high = task.priority === 0;
      trace.starts.push({ high, at: now() });
      if (high) return 'ok';
      lowRunning += 1;
      if (lowRunning === priority.slots) eightRunning();
      await new Promise((resolve) => setTimeout(resolve, priority.lowMs));
      trace.releases.push(now());
      return 'ok';
    },
  };
  await using ws = await benchWorkspace({ total: 0, open: 0, slots: priority.slots, plugin: worker });
  await ws.loop.start();
  const base = Date.now() - 1000 * priority.low;
  append(
    ws.storePath,
    Array.from({ length: priority.low }, (_, i) =>
      issueLine(`low-${i}`, true, new Date(base + i), { priority: 2, ...handlerMeta('prio') }),
    ),
  );
  await busy;
  append(
    ws.storePath,
    Array.from({ length: priority.high }, (_, i) =>
      issueLine(`high-${i}`, true, new Date(), { priority: 0, ...handlerMeta('prio') }),
    ),
  );
  trace.submittedAt = now();
  await ws.loop.untilIdle();
  const score = priorityScore(trace);
  return { lagMs: score.worstLagMs, lowAfterHigh: score.lowAfterHigh };
}

/** seed30's spill mode (examples/hosts.spill.yaml), first start to last end. */
export async function yggSpill(): Promise<number> {
  const config = fileURLToPath(new URL('../../examples/hosts.spill.yaml', import.meta.url));
  const summary = await runDemo({ config, unitMs: spill.unitMs });
  await rm(summary.dir, { recursive: true, force: true });
  return summary.makespanMs;
}
