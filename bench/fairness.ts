/**
 * Fairness: one submitter floods 1,000 simulated tasks; once the loop is busy with them, two
 * others submit 10 each. One host with 2 slots, through the real loop and store, once with
 * `queue.strategy: fifo` and once with `fair`; each run stops once all 20 latecomers started.
 *
 * Target (issue 8): with `fair`, a latecomer's task of rank r among its submitter's tasks starts
 * within 3 x (r x 3 submitters x mean task time / 2 slots), as if the three took turns; with
 * `fifo` they wait for the flood.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { Loop } from '../src/dispatch/loop.js';
import { QueuePolicy } from '../src/dispatch/queue-policy.js';
import { LocalTransport } from '../src/hosts/local.js';
import { EventBus } from '../src/observe/events.js';
import type { Plugin } from '../src/plugins/api.js';
import { compareFifo } from '../src/schedule/order.js';
import { openStore } from '../src/store/open.js';
import type { Task } from '../src/store/task.js';
import { table } from './lib/table.js';
import { issueLine } from './lib/workspace.js';

const floodSize = 1000;
const latecomers = ['bob', 'carol'];
const perLatecomer = 10;
const slots = 2;
const taskMs = 10;

const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

const sim: Plugin = {
  name: 'sim',
  types: ['general'],
  async run(_task, ctx) {
    await pause(taskMs, ctx.signal);
    return 'done';
  },
};

interface Latecomer {
  id: string;
  submitter: string;
  rank: number;
  waitMs: number;
  /** Including the add's own commit. */
  withAddMs: number;
  targetMs: number;
}

async function runOnce(strategy: 'fifo' | 'fair') {
  const dir = await mkdtemp(join(tmpdir(), 'ygg-bench-fairness-'));
  try {
    await mkdir(join(dir, '.beads'));
    const storePath = join(dir, '.beads', 'issues.jsonl');
    const base = Date.now() - 60_000;
    const flood = Array.from({ length: floodSize }, (_, i) =>
      issueLine(`flood-${i.toString(36)}`, true, new Date(base + i), { created_by: 'flood' }),
    );
    await writeFile(storePath, `${flood.join('\n')}\n`);
    const yaml = `hosts:\n  bench: { transport: local, slots: ${slots} }\nqueue: { strategy: ${strategy} }\n`;
    const parsed = parseConfig(yaml, join(dir, 'hosts.yaml'));
    if (!parsed.config) throw new Error(JSON.stringify(parsed.errors));
    const store = await openStore({ path: storePath, cwd: dir });
    const bus = new EventBus();
    const transport = new LocalTransport('bench');
    const loop = new Loop({
      store,
      config: parsed.config,
      plugins: {
        byName: new Map([['sim', sim]]),
        byType: new Map([['general', sim]]),
        problems: [],
        conflicts: [],
      },
      bus,
      transport: () => transport,
      ...new QueuePolicy().hooks(),
    });
    const startedAt = new Map<string, number>();
    const runMs: number[] = [];
    let allStarted: () => void = () => {};
    const late = new Map<
      string,
      { submitter: string; rank: number; task: Task; submittedAt: number; calledAt: number }
    >();
    bus.on('task:started', (e) => {
      startedAt.set(e.taskId, performance.now());
      if (late.size === latecomers.length * perLatecomer && [...late.keys()].every((id) => startedAt.has(id)))
        allStarted();
    });
    bus.on('task:succeeded', (e) => runMs.push(e.runMs));
    const done = new Promise<void>((resolve) => {
      allStarted = resolve;
    });
    await loop.start();
    // The flood is under way before the latecomers arrive.
    while (startedAt.size < 20) await pause(1);
    // Both submit their 10 at once (one commit); a task's wait starts once its add is durable.
    const calledAt = performance.now();
    await Promise.all(
      latecomers.flatMap((submitter) =>
        Array.from({ length: perLatecomer }, async (_, i) => {
          const task = await store.add({ title: `${submitter} ${i + 1}`, created_by: submitter });
          late.set(task.id, { submitter, rank: 0, task, submittedAt: performance.now(), calledAt });
        }),
      ),
    );
    // A task's rank is its place among its submitter's tasks in the queue's own order (oldest
    // first, then id: tasks added in one commit can share a millisecond).
    for (const submitter of latecomers) {
      const mine = [...late.values()]
        .filter((t) => t.submitter === submitter)
        .sort((a, b) => compareFifo(a.task, b.task));
      mine.forEach((t, i) => {
        t.rank = i + 1;
      });
    }
    await done;
    const floodStarted = [...startedAt.keys()].filter((id) => !late.has(id)).length - 20;
    await loop.stop({ force: true });
    await store.close();
    const meanMs = runMs.reduce((a, b) => a + b, 0) / Math.max(1, runMs.length);
    const tasks: Latecomer[] = [...late].map(([id, t]) => ({
      id,
      submitter: t.submitter,
      rank: t.rank,
      waitMs: startedAt.get(id)! - t.submittedAt,
      withAddMs: startedAt.get(id)! - t.calledAt,
      targetMs: 3 * ((t.rank * 3 * meanMs) / slots),
    }));
    return { strategy, meanMs, floodStarted, tasks };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The largest value among the latecomers' tasks of each rank (1..10). */
function byRank(r: { tasks: Latecomer[] }, value: (t: Latecomer) => number): number[] {
  return Array.from({ length: perLatecomer }, (_, i) =>
    Number(Math.max(...r.tasks.filter((t) => t.rank === i + 1).map(value)).toFixed(1)),
  );
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const fifo = await runOnce('fifo');
  const fair = await runOnce('fair');
  const maxWait = (r: typeof fifo) => Math.max(...r.tasks.map((t) => t.waitMs)) / 1000;
  const worstRatio = (r: typeof fifo) => Math.max(...r.tasks.map((t) => t.waitMs / t.targetMs));
  const result = {
    flood_tasks: floodSize,
    latecomer_tasks: latecomers.length * perLatecomer,
    slots,
    task_ms: taskMs,
    fifo_max_wait_s: Number(maxWait(fifo).toFixed(3)),
    fair_max_wait_s: Number(maxWait(fair).toFixed(3)),
    fifo_mean_task_ms: Number(fifo.meanMs.toFixed(2)),
    fair_mean_task_ms: Number(fair.meanMs.toFixed(2)),
    /** The largest target among latecomers (rank 10): 3 x (10 x 3 x mean / 2). */
    fair_target_max_wait_s: Number((Math.max(...fair.tasks.map((t) => t.targetMs)) / 1000).toFixed(3)),
    /** Worst latecomer wait over its own target (rank by rank); at most 1 meets the target. */
    fair_worst_wait_to_target: Number(worstRatio(fair).toFixed(3)),
    fifo_worst_wait_to_target: Number(worstRatio(fifo).toFixed(3)),
    fair_met: worstRatio(fair) <= 1,
    /** Waits counted from the call to add (its commit included) instead of from its durability. */
    fifo_max_wait_incl_add_s: Number((Math.max(...fifo.tasks.map((t) => t.withAddMs)) / 1000).toFixed(3)),
    fair_max_wait_incl_add_s: Number((Math.max(...fair.tasks.map((t) => t.withAddMs)) / 1000).toFixed(3)),
    /** Flood tasks started after the latecomers arrived and before the last of them started. */
    fair_max_wait_by_rank_ms: byRank(fair, (t) => t.waitMs),
    fair_target_by_rank_ms: byRank(fair, (t) => t.targetMs),
    fifo_flood_started_before_last_latecomer: fifo.floodStarted,
    fair_flood_started_before_last_latecomer: fair.floodStarted,
    speedup: Number((maxWait(fifo) / maxWait(fair)).toFixed(1)),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    table(
      [
        'strategy',
        'latecomer max wait s',
        'target (rank 10) s',
        'worst wait/target',
        'flood tasks started first',
        'mean task ms',
      ],
      [
        [
          'fifo',
          result.fifo_max_wait_s,
          result.fair_target_max_wait_s,
          result.fifo_worst_wait_to_target,
          fifo.floodStarted,
          result.fifo_mean_task_ms,
        ],
        [
          'fair',
          result.fair_max_wait_s,
          result.fair_target_max_wait_s,
          result.fair_worst_wait_to_target,
          fair.floodStarted,
          result.fair_mean_task_ms,
        ],
      ],
    ),
  );
  process.stdout.write(
    `fair meets the target: ${result.fair_met ? 'yes' : 'no'}; fifo/fair max wait: ${result.speedup}x\n`,
  );
}
