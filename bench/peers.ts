/**
 * `npm run bench -- peers [--rounds N] [--json]`: ygg against BullMQ 6 on the same four
 * workloads, in one run, interleaved round by round (the system that goes first rotates), medians
 * per figure and each peer's ratio to ygg:
 *
 * - pickup p50/p99: a task submitted to an idle dispatcher (ygg: a line another writer appends
 *   to a 1,000-issue store; BullMQ: `Queue.add` with 1,000 finished jobs behind it) until its
 *   handler starts.
 * - tasks_per_s_8: 2,000 no-op tasks with 8 slots, from before their submission (ygg: one append
 *   of 2,000 lines; BullMQ: `addBulk`) to the last done.
 * - priority_ms: 10 high-priority tasks submitted while 8 of 200 low ones (50 ms each) run; the
 *   worst lag of a high task's start behind the slot release that could first take it (the i-th
 *   to start behind the i-th release after submission), and how many low tasks started after the
 *   high ones were in the store.
 * - spill_ms: seed30's 30 tasks at 10 ms units on 2+3+2 slots, any host taking any task
 *   (ygg: examples/hosts.spill.yaml), first start to last end.
 *
 * BullMQ runs on a `redis-server` the bench starts on 127.0.0.1: once durable like ygg's store
 * (`appendonly yes`, `appendfsync always`: the `bullmq` figures) and once without persistence
 * (`bullmq_nopersist`).
 */

import { median } from './compare.js';
import { table } from './lib/table.js';
import { bullBulk, bullPickup, bullPriority, bullSpill } from './peers-parts/bullmq.js';
import { ensureRedisClient, ensureRedisInstalled, startRedis } from './peers-parts/redis.js';
import type { Figures } from './peers-parts/workloads.js';
import { yggBulk, yggPickup, yggPriority, yggSpill } from './peers-parts/ygg.js';

type System = 'ygg' | 'bullmq' | 'bullmq_nopersist';
type Figure = keyof Figures;

const figures: Array<{ key: Figure; label: string }> = [
  { key: 'pickup_p50_ms', label: 'pickup p50 ms' },
  { key: 'pickup_p99_ms', label: 'pickup p99 ms' },
  { key: 'tasks_per_s_8', label: '2,000 no-op tasks/s, 8 slots' },
  { key: 'priority_ms', label: 'priority: worst lag behind bound, ms' },
  { key: 'priority_low_after_high', label: 'priority: low starts after high submitted' },
  { key: 'spill_ms', label: 'seed30 spill makespan ms' },
];

type Workload = (system: System, ports: Record<System, number>) => Promise<Partial<Figures>>;

const workloads: Array<{ name: string; run: Workload }> = [
  {
    name: 'pickup',
    run: async (s, ports) => {
      const r = s === 'ygg' ? await yggPickup() : await bullPickup(ports[s]);
      return { pickup_p50_ms: r.p50, pickup_p99_ms: r.p99 };
    },
  },
  {
    name: 'bulk',
    run: async (s, ports) => ({ tasks_per_s_8: s === 'ygg' ? await yggBulk() : await bullBulk(ports[s]) }),
  },
  {
    name: 'priority',
    run: async (s, ports) => {
      const r = s === 'ygg' ? await yggPriority() : await bullPriority(ports[s]);
      return { priority_ms: r.lagMs, priority_low_after_high: r.lowAfterHigh };
    },
  },
  {
    name: 'spill',
    run: async (s, ports) => ({ spill_ms: s === 'ygg' ? await yggSpill() : await bullSpill(ports[s]) }),
  },
];

function parseRounds(args: string[]): number {
  const at = args.findIndex((a) => a === '--rounds' || a.startsWith('--rounds='));
  if (at === -1) return 3;
  const raw = args[at]!.includes('=') ? args[at]!.split('=')[1] : args[at + 1];
  const rounds = Number(raw);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a whole number of at least 1, not ${raw}`);
  return rounds;
}

const round2 = (n: number) => Number(n.toFixed(2));

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const rounds = parseRounds(args);
  ensureRedisClient();
  ensureRedisInstalled();
  await using durable = await startRedis(true);
  await using volatile = await startRedis(false);
  const ports: Record<System, number> = { ygg: 0, bullmq: durable.port, bullmq_nopersist: volatile.port };
  const systems: System[] = ['ygg', 'bullmq', 'bullmq_nopersist'];
  const samples = new Map<System, Map<Figure, number[]>>(systems.map((s) => [s, new Map()]));
  for (let round = 0; round < rounds; round += 1) {
    for (const workload of workloads) {
      // Rotate who goes first, so no system always meets a machine the others warmed or loaded.
      const order = systems.map((_, i) => systems[(i + round) % systems.length]!);
      for (const system of order) {
        process.stderr.write(`peers: round ${round + 1}/${rounds}, ${workload.name} on ${system}\n`);
        const measured = await workload.run(system, ports);
        for (const [key, value] of Object.entries(measured) as Array<[Figure, number]>) {
          const list = samples.get(system)!.get(key) ?? [];
          list.push(value);
          samples.get(system)!.set(key, list);
        }
      }
    }
  }
  const medians = Object.fromEntries(
    systems.map((s) => [
      s,
      Object.fromEntries(
        figures.map((f) => [f.key, round2(median(samples.get(s)!.get(f.key) ?? [Number.NaN]))]),
      ),
    ]),
  ) as unknown as Record<System, Figures>;
  if (json) {
    process.stdout.write(`${JSON.stringify({ rounds, ...medians })}\n`);
    return;
  }
  const ratio = (peer: number, ygg: number) => (ygg === 0 ? '-' : `${(peer / ygg).toFixed(2)}x`);
  process.stdout.write(
    `peers: ${rounds} interleaved rounds, medians; ratios are the peer's figure / ygg's\n\n`,
  );
  process.stdout.write(
    table(
      ['figure', 'ygg', 'BullMQ durable', 'ratio', 'BullMQ no persistence', 'ratio'],
      figures.map((f) => [
        f.label,
        medians.ygg[f.key],
        medians.bullmq[f.key],
        ratio(medians.bullmq[f.key], medians.ygg[f.key]),
        medians.bullmq_nopersist[f.key],
        ratio(medians.bullmq_nopersist[f.key], medians.ygg[f.key]),
      ]),
    ),
  );
  process.stdout.write(
    '\nBullMQ durable: Redis with appendonly yes + appendfsync always (as ygg fsyncs); no persistence: appendonly no, no snapshots.\n',
  );
}
