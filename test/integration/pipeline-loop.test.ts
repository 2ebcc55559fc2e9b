import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runLoopCommand } from '../../src/cli/loop.js';
import { EventBus } from '../../src/observe/events.js';
import { openStore } from '../../src/store/open.js';
import { testDir } from '../helpers/tmp.js';

// A handler that calls one tool; the tool waits until its gate file exists.
const pluginSource = `
export const plugin = {
  name: 'tooler',
  types: ['tooly'],
  async run(task, ctx) {
    const result = await ctx.tool('wait', { gate: task.description });
    return 'tool exit ' + result.code + ' on ' + result.host + ': ' + (result.protections ?? []).join(', ');
  },
};
`;

async function workspace(name: string, releaseOnTool: boolean) {
  const dir = await testDir(name);
  await chmod(dir, 0o755);
  await mkdir(join(dir, '.beads'));
  await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
  await mkdir(join(dir, 'plugins'));
  await writeFile(join(dir, 'plugins', 'tooler.mjs'), pluginSource);
  await writeFile(
    join(dir, 'hosts.yaml'),
    `
hosts:
  gpu: {transport: local, slots: 1, roles: [inference]}
  tools: {transport: local, slots: 4, roles: [tools], sandbox: {work_root: ${dir}/work}}
types:
  tooly: {hosts: [gpu], release_slot_on_tool: ${releaseOnTool}}
type_rules:
  - {type: tooly, labels: [tooly]}
plugins: {dirs: [./plugins]}
tools:
  wait: {argv: [sh, -c, 'while [ ! -e "$1" ]; do sleep 0.01; done', wait, "{gate}"], timeout: 30s}
`,
  );
  // Tools run sandboxed with a private /tmp: the gates live where the sandbox can see them.
  const gates = await mkdtemp('/var/tmp/ygg-gates-');
  onTestFinished(() => rm(gates, { recursive: true, force: true }));
  await chmod(gates, 0o755);
  const open = join(gates, 'open-gate');
  await writeFile(open, '');
  const gateA = join(gates, 'gate-a');
  const store = await openStore({ cwd: dir });
  const a = await store.add({ title: 'A', labels: ['tooly'], description: gateA });
  const b = await store.add({ title: 'B', labels: ['tooly'], description: open });
  await store.close();
  return { dir, gateA, a: a.id, b: b.id };
}

function order(bus: EventBus) {
  const seen: string[] = [];
  bus.on('task:started', (e) => seen.push(`started ${e.taskId}`));
  bus.on('task:succeeded', (e) => seen.push(`succeeded ${e.taskId}`));
  bus.on('tool:called', (e) => seen.push(`tool ${e.taskId}`));
  return seen;
}

describe('ctx.tool in ygg loop', () => {
  it('frees the GPU slot while a tool runs: the next task runs in it, and the first takes it back after', async () => {
    const w = await workspace('loop-tool-release', true);
    const bus = new EventBus();
    const seen = order(bus);
    // A's tool ends only once B has run to completion in the slot A gave up.
    bus.on('task:succeeded', (e) => {
      if (e.taskId === w.b) void writeFile(w.gateA, '');
    });
    await runLoopCommand(
      { cwd: w.dir, config: join(w.dir, 'hosts.yaml'), untilIdle: true, status: false, logLevel: 'silent' },
      bus,
    );
    expect(seen).toEqual([
      `started ${w.a}`,
      `started ${w.b}`,
      `tool ${w.b}`,
      `succeeded ${w.b}`,
      `tool ${w.a}`,
      `succeeded ${w.a}`,
    ]);
    const store = await openStore({ cwd: w.dir });
    expect(store.get(w.a)?.status).toBe('closed');
    expect(store.get(w.a)?.comments?.at(-1)?.text).toContain('tool exit 0 on tools');
    expect(store.get(w.a)?.comments?.at(-1)?.text).toMatch(/wall-clock limit/); // sandboxed
    await store.close();
  });

  it('keeps the slot during the tool call when release_slot_on_tool is off', async () => {
    const w = await workspace('loop-tool-keep', false);
    const bus = new EventBus();
    const seen = order(bus);
    // With the slot held, B cannot start while A waits: open A's gate once A's tool is running.
    bus.on('task:started', (e) => {
      if (e.taskId === w.a) void writeFile(w.gateA, '');
    });
    await runLoopCommand(
      { cwd: w.dir, config: join(w.dir, 'hosts.yaml'), untilIdle: true, status: false, logLevel: 'silent' },
      bus,
    );
    expect(seen).toEqual([
      `started ${w.a}`,
      `tool ${w.a}`,
      `succeeded ${w.a}`,
      `started ${w.b}`,
      `tool ${w.b}`,
      `succeeded ${w.b}`,
    ]);
  });

  it('keeps one slot of the learner host for the learner: tasks there get the others', async () => {
    const dir = await testDir('loop-learner-slot');
    await chmod(dir, 0o755);
    await mkdir(join(dir, '.beads'));
    await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
    await writeFile(
      join(dir, 'hosts.yaml'),
      `
hosts:
  surtr: {transport: local, slots: 2, roles: [inference, learner]}
types:
  general: {hosts: [surtr], handler: simulate}
learner: {host: surtr, command: [node, -e, "0"], batch_size: 4}
`,
    );
    const store = await openStore({ cwd: dir });
    const a = await store.add({ title: 'a', metadata: { ygg: { simulate_ms: 150 } } });
    const b = await store.add({ title: 'b', metadata: { ygg: { simulate_ms: 150 } } });
    await store.close();
    const bus = new EventBus();
    const seen = order(bus);
    await runLoopCommand(
      { cwd: dir, config: join(dir, 'hosts.yaml'), untilIdle: true, status: false, logLevel: 'silent' },
      bus,
    );
    // Two slots, one kept by the learner: the tasks run one after the other.
    expect(seen).toEqual([`started ${a.id}`, `succeeded ${a.id}`, `started ${b.id}`, `succeeded ${b.id}`]);
  });
});
