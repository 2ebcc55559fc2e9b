/**
 * No-op tasks end to end (claim, run, close) on a 10,000-issue store, one local host with 256
 * in-process slots (`--slots N` for another count): claims and closes share group commits.
 * Baseline in the same run: the same number of claim+close pairs written one at a time, each awaited (what a store without batching does).
 */
import type { Plugin } from '../src/plugins/api.js';
import { table } from './lib/table.js';
import { benchWorkspace } from './lib/workspace.js';

const noop: Plugin = { name: 'noop', types: [], run: async () => 'ok' };

/** `--slots N` or `--slots=N` (default 256, in-process on one local host). */
function slotsArg(args: string[]): number {
  const at = args.findIndex((a) => a === '--slots' || a.startsWith('--slots='));
  if (at === -1) return 256;
  const raw = args[at]!.includes('=') ? args[at]!.split('=')[1] : args[at + 1];
  const slots = Number(raw);
  if (!Number.isInteger(slots) || slots < 1)
    throw new Error(`--slots must be a whole number of at least 1, not ${raw}`);
  return slots;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const total = 10_000;
  const open = Number(args.find((a) => a.startsWith('--tasks='))?.slice(8) ?? 5000);
  const slots = slotsArg(args);
  await using ws = await benchWorkspace({ total, open, slots, plugin: noop });
  let done = 0;
  ws.bus.on('task:succeeded', () => {
    done += 1;
  });
  const started = performance.now();
  await ws.loop.start();
  await ws.loop.untilIdle();
  const seconds = (performance.now() - started) / 1000;
  const perSecond = done / seconds;

  // Baseline: sequential claim+close, each write awaited before the next (no batching).
  const sample = 100;
  const ids = ws.store
    .list()
    .filter((t) => t.status === 'closed')
    .slice(0, sample)
    .map((t) => t.id);
  const t0 = performance.now();
  for (const id of ids) {
    await ws.store.update(id, (t) => ({ ...t, status: 'in_progress', updated_at: new Date().toISOString() }));
    await ws.store.update(id, (t) => ({ ...t, status: 'closed', updated_at: new Date().toISOString() }));
  }
  const sequentialPerSecond = sample / ((performance.now() - t0) / 1000);
  const result = {
    issues: total,
    slots,
    tasks: done,
    seconds: Number(seconds.toFixed(2)),
    tasks_per_s: Math.round(perSecond),
    sequential_per_s: Math.round(sequentialPerSecond),
    ratio: Number((perSecond / sequentialPerSecond).toFixed(1)),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    table(
      ['issues', 'slots', 'no-op tasks', 'seconds', 'tasks/s (loop)', 'claim+close/s unbatched', 'ratio'],
      [
        [
          result.issues,
          result.slots,
          result.tasks,
          result.seconds,
          result.tasks_per_s,
          result.sequential_per_s,
          result.ratio,
        ],
      ],
    ),
  );
}
