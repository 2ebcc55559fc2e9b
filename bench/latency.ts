/**
 * Pickup latency: on a 1,000-issue store watched by a running loop, another process appends a
 * task line (as `bd` or `>>` would); the time until the loop has durably claimed it and called
 * its handler. The Python dispatcher polled every 2 s: its mean pickup was about 1 s.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
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

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const samples = Number(args.find((a) => a.startsWith('--samples='))?.slice(10) ?? 100);
  const calledAt = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const probe: Plugin = {
    name: 'probe',
    types: [],
    async run(task) {
      calledAt.set(task.id, performance.timeOrigin + performance.now());
      waiters.get(task.id)?.();
      return 'ok';
    },
  };
  await using ws = await benchWorkspace({ total: 1000, open: 0, slots: 4, plugin: probe });
  await ws.loop.start();
  const appender = spawn(process.execPath, ['-e', appenderSource, ws.storePath], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const replies = createInterface({ input: appender.stdout! })[Symbol.asyncIterator]();
  const latencies: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const id = `lat-${i}`;
    const called = new Promise<void>((resolve) => waiters.set(id, resolve));
    appender.stdin!.write(
      `${issueLine(id, true, new Date(), { metadata: { ygg: { handler: 'probe' } } })}\n`,
    );
    const appendedAt = Number((await replies.next()).value);
    await called;
    latencies.push(calledAt.get(id)! - appendedAt);
  }
  appender.stdin!.end();
  const result = {
    samples,
    p50_ms: Number(percentile(latencies, 50).toFixed(2)),
    p99_ms: Number(percentile(latencies, 99).toFixed(2)),
    max_ms: Number(Math.max(...latencies).toFixed(2)),
    python_poll_mean_ms: 1000,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    table(
      ['samples', 'p50 ms', 'p99 ms', 'max ms', 'Python 2 s poll, mean ms'],
      [[result.samples, result.p50_ms, result.p99_ms, result.max_ms, result.python_poll_mean_ms]],
    ),
  );
}
