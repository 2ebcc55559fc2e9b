/**
 * Pickup latency on a 1,000-issue store watched by a running loop: the time from a task's
 * submission until the loop has durably claimed it and called its handler.
 * - p50/p99: another process appends a task line (as `bd` or `>>` would), loop idle.
 * - add_p50/add_p99: another process adds as `ygg add` does, through the loop's intake (the time
 *   counts from before its request; the add is durable before the loop answers).
 * - add_journal_p50/p99, the baseline: the same adds written by that process itself under the
 *   store's lock into the loop's journal, as `ygg add` did before the intake.
 * - busy_p50/busy_p99: appended lines again, with 8 long tasks running beside.
 * The Python dispatcher polled every 2 s: its mean pickup was about 1 s.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Plugin } from '../src/plugins/api.js';
import { table } from './lib/table.js';
import { benchWorkspace, issueLine, percentile } from './lib/workspace.js';

const appenderSource = `
const fs = require('node:fs');
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const t = performance.timeOrigin + performance.now();
  fs.appendFileSync(process.argv[1], line + '\\n');
  process.stdout.write(String(t) + '\\n');
});`;

const busyTasks = 8;
const adder = fileURLToPath(new URL('./lib/store-adder.ts', import.meta.url));

/** A helper process fed one line per sample, answering with when it began each submission. */
function helper(args: string[]) {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async submit(line: string): Promise<number> {
      child.stdin!.write(`${line}\n`);
      return Number((await replies.next()).value);
    },
    async close(): Promise<void> {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    },
  };
}

const ms = (n: number) => Number(n.toFixed(2));

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const samples = Number(args.find((a) => a.startsWith('--samples='))?.slice(10) ?? 100);
  const calledAt = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  let releaseBusy = () => {};
  const busyReleased = new Promise<void>((resolve) => {
    releaseBusy = resolve;
  });
  let busyRunning = 0;
  let allBusy = () => {};
  const busyStarted = new Promise<void>((resolve) => {
    allBusy = resolve;
  });
  const probe: Plugin = {
    name: 'probe',
    types: [],
    async run(task) {
      if (task.title.startsWith('busy-')) {
        busyRunning += 1;
        if (busyRunning === busyTasks) allBusy();
        await busyReleased;
        return 'ok';
      }
      // Tasks added by the adder carry their sample id as the title.
      const key = task.id.startsWith('lat-') ? task.id : task.title;
      calledAt.set(key, performance.timeOrigin + performance.now());
      waiters.get(key)?.();
      return 'ok';
    },
  };
  await using ws = await benchWorkspace({ total: 1000, open: 0, slots: busyTasks + 4, plugin: probe });
  await ws.loop.start();

  const measure = async (prefix: string, submit: (id: string) => Promise<number>) => {
    const latencies: number[] = [];
    for (let i = 0; i < samples; i += 1) {
      const id = `${prefix}-${i}`;
      const called = new Promise<void>((resolve) => waiters.set(id, resolve));
      const submittedAt = await submit(id);
      await called;
      latencies.push(calledAt.get(id)! - submittedAt);
    }
    return latencies;
  };
  const probeLine = (id: string) =>
    issueLine(id, true, new Date(), { metadata: { ygg: { handler: 'probe' } } });

  const appender = helper(['-e', appenderSource, ws.storePath]);
  const idle = await measure('lat', (id) => appender.submit(probeLine(id)));
  const storeAdder = helper(['--import', 'tsx', adder, ws.storePath]);
  const added = await measure('add', (id) => storeAdder.submit(id));
  await storeAdder.close();
  const journalAdder = helper(['--import', 'tsx', adder, ws.storePath, '--journal']);
  const journaled = await measure('add-journal', (id) => journalAdder.submit(id));
  await journalAdder.close();
  await ws.loop.untilIdle();
  // Eight long tasks take eight slots; pickups then meet a loop that is writing their leases.
  const base = Date.now();
  const busyLines = Array.from({ length: busyTasks }, (_, i) =>
    issueLine(`busy-${i}`, true, new Date(base + i), {
      title: `busy-${i}`,
      metadata: { ygg: { handler: 'probe' } },
    }),
  );
  for (const line of busyLines) await appender.submit(line);
  await busyStarted;
  const busy = await measure('lat-busy', (id) => appender.submit(probeLine(id)));
  releaseBusy();
  await appender.close();

  const result = {
    samples,
    p50_ms: ms(percentile(idle, 50)),
    p99_ms: ms(percentile(idle, 99)),
    max_ms: ms(Math.max(...idle)),
    add_p50_ms: ms(percentile(added, 50)),
    add_p99_ms: ms(percentile(added, 99)),
    add_journal_p50_ms: ms(percentile(journaled, 50)),
    add_journal_p99_ms: ms(percentile(journaled, 99)),
    /** The intake's p50 over the journal path's, both measured in this run. */
    add_ratio_to_journal: Number((percentile(added, 50) / percentile(journaled, 50)).toFixed(2)),
    busy_p50_ms: ms(percentile(busy, 50)),
    busy_p99_ms: ms(percentile(busy, 99)),
    python_poll_mean_ms: 1000,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    `ygg add through the intake: ${result.add_ratio_to_journal} x the p50 of the journal path\n`,
  );
  process.stdout.write(
    table(
      ['submitted by', 'samples', 'p50 ms', 'p99 ms'],
      [
        ['appended line, idle loop', samples, result.p50_ms, result.p99_ms],
        ['ygg add (other process, to the loop’s intake)', samples, result.add_p50_ms, result.add_p99_ms],
        [
          'baseline: the same, writing the journal itself',
          samples,
          result.add_journal_p50_ms,
          result.add_journal_p99_ms,
        ],
        [`appended line, ${busyTasks} tasks running`, samples, result.busy_p50_ms, result.busy_p99_ms],
        ['Python dispatcher (2 s poll), mean', '', result.python_poll_mean_ms, ''],
      ],
    ),
  );
}
