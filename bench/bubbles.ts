/**
 * GPU bubbles: rollouts that spend half their time waiting on a tool (model work 250 ms, a real
 * 500 ms tool process on a tools host, model work 250 ms), run by `ygg loop` on one inference
 * host with 2 slots, with `release_slot_on_tool` off (the baseline, in the same run) and on.
 * What keeps "on" below 100%: a new task's claim (a durable store write) holds a slot before
 * its handler starts, and the last tasks' tool waits have nothing left to fill them.
 * Busy = slot-time spent in model work over the slot-time available from the first start to
 * the last finish. Target: >= 90% busy with release on.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDispatcher } from '../src/app/dispatcher.js';
import { EventBus } from '../src/observe/events.js';
import { openStore } from '../src/store/open.js';
import { table } from './lib/table.js';

const slots = 2;
const workMs = 250;
const toolMs = 500;

interface Interval {
  start: number;
  end: number;
}

declare global {
  var __yggBubbleWork: Interval[] | undefined;
}

// The handler: model work (a timer standing in for the GPU), a tool call, model work again.
const pluginSource = `
const work = async (ms) => {
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  globalThis.__yggBubbleWork.push({ start, end: performance.now() });
};
export const plugin = {
  name: 'bubble',
  types: ['bubble'],
  async run(task, ctx) {
    await work(${workMs});
    const result = await ctx.tool('think', { seconds: '${toolMs / 1000}', task: task.id });
    if (!result.ok || result.code !== 0) throw new Error('tool failed: ' + (result.error ?? result.stderr));
    await work(${workMs});
    return 'ok';
  },
};
`;

async function once(tasks: number, release: boolean): Promise<{ busy: number; makespanS: number }> {
  const dir = await mkdtemp(join(tmpdir(), `ygg-bubbles-${release ? 'on' : 'off'}-`));
  try {
    await chmod(dir, 0o755);
    await mkdir(join(dir, '.beads'));
    await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
    await mkdir(join(dir, 'plugins'));
    await writeFile(join(dir, 'plugins', 'bubble.mjs'), pluginSource);
    await writeFile(
      join(dir, 'hosts.yaml'),
      `hosts:
  gpu: {transport: local, slots: ${slots}, roles: [inference]}
  tools: {transport: local, slots: 64, roles: [tools], sandbox: {work_root: ${dir}/work}}
types:
  bubble: {hosts: [gpu], release_slot_on_tool: ${release}}
type_rules:
  - {type: bubble, labels: [bubble]}
plugins: {dirs: [./plugins]}
tools:
  think: {argv: [sleep, "{seconds}"]}
tool_queue: {cache_ttl: 0s}
`,
    );
    {
      await using store = await openStore({ cwd: dir });
      for (let i = 0; i < tasks; i++) await store.add({ title: `rollout ${i}`, labels: ['bubble'] });
      await store.flush();
    }
    globalThis.__yggBubbleWork = [];
    const bus = new EventBus();
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    let failed = 0;
    bus.on('task:started', () => {
      first = Math.min(first, performance.now());
    });
    bus.on('task:succeeded', () => {
      last = performance.now();
    });
    bus.on('task:failed', () => {
      failed += 1;
    });
    await runDispatcher({
      cwd: dir,
      config: join(dir, 'hosts.yaml'),
      untilIdle: true,
      status: false,
      logLevel: 'silent',
      bus,
    });
    const work = globalThis.__yggBubbleWork;
    if (failed > 0 || work.length !== 2 * tasks)
      throw new Error(`bubbles: ${failed} failed, ${work.length / 2} ran`);
    const workTotal = work.reduce((sum, w) => sum + (w.end - w.start), 0);
    const window = last - first;
    return { busy: workTotal / (slots * window), makespanS: window / 1000 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const tasks = Number(args.find((a) => a.startsWith('--tasks='))?.slice(8) ?? 40);
  const off = await once(tasks, false);
  const on = await once(tasks, true);
  const result = {
    tasks,
    slots,
    work_ms: 2 * workMs,
    tool_ms: toolMs,
    busy_off: Number(off.busy.toFixed(3)),
    busy_on: Number(on.busy.toFixed(3)),
    makespan_off_s: Number(off.makespanS.toFixed(2)),
    makespan_on_s: Number(on.makespanS.toFixed(2)),
    speedup: Number((off.makespanS / on.makespanS).toFixed(2)),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    table(
      ['release_slot_on_tool', 'tasks', 'GPU slots', 'busy', 'makespan s'],
      [
        ['off (baseline)', tasks, slots, `${(off.busy * 100).toFixed(1)}%`, result.makespan_off_s],
        ['on', tasks, slots, `${(on.busy * 100).toFixed(1)}%`, result.makespan_on_s],
      ],
    ),
  );
  process.stdout.write(`makespan ${result.speedup}x shorter with the slot released during tool calls\n`);
}
