import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeLinearModel } from '../../examples/rl/onnx-linear.mjs';
import { configOrThrow, parseConfig } from '../../src/config/load.js';
import type { SlotLending } from '../../src/dispatch/extensions.js';
import { createTransport } from '../../src/hosts/pool.js';
import { EventBus } from '../../src/observe/events.js';
import { pipelineHooks, rolloutGroup } from '../../src/pipeline/loop-hooks.js';
import { AgentPipeline, type RolloutExtensions } from '../../src/pipeline/pipeline.js';
import type { ToolFunction } from '../../src/pipeline/tool-function.js';
import { summarizeToolResult } from '../../src/pipeline/tool-queue.js';
import type { HandlerContext, Plugin } from '../../src/plugins/api.js';
import { HostSlots, type Slot } from '../../src/schedule/slots.js';
import type { Task } from '../../src/store/task.js';
import { testDir } from '../helpers/tmp.js';

async function setup(name: string, gate = { batch: 2, staleness: 0, inflight: 3 }) {
  const dir = await testDir(name);
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'v0.onnx'), encodeLinearModel({ weights: [1, 0] }));
  const yaml = `
hosts:
  gpu: {transport: local, slots: 2, roles: [inference]}
  tools: {transport: local, slots: 2, roles: [tools], sandbox: {work_root: ${dir}/work}}
  trainer: {transport: local, slots: 1, roles: [learner]}
tools:
  run_tests: {argv: [sh, -c, 'echo "passed $1 failed $2"', run_tests, "{passed}", "{failed}"]}
learner:
  host: trainer
  command: [node, -e, "process.exit(1)"]
  batch_size: ${gate.batch}
  max_staleness: ${gate.staleness}
  max_inflight: ${gate.inflight}
  initial_policy: ./v0.onnx
`;
  const config = configOrThrow(parseConfig(yaml, join(dir, 'hosts.yaml')), 'hosts.yaml').config;
  const events = new EventBus();
  const pipeline = await AgentPipeline.open({
    config,
    runtimeDir: join(dir, '.ygg'),
    transportFor: (n) => createTransport(config.hosts.find((h) => h.name === n)!),
    events,
  });
  let now = 0;
  const released: Slot[] = [];
  const slot: Slot = { host: 'gpu', index: 0, gpus: [] };
  const lending: SlotLending = {
    lend: () => released.push(slot),
    reclaim: async () => [],
  };
  const hooks = pipelineHooks({
    pipeline,
    config: () => config,
    now: () => now,
    unclaimedTicketMs: 1000,
  });
  const task = (id: string): Task => ({ id, title: id });
  const ctxFor = (id: string, type = 'rollout', t: Task = task(id)): HandlerContext => {
    const ctx: HandlerContext = {
      signal: new AbortController().signal,
      log: { debug() {}, info() {}, warn() {}, error() {} },
      host: config.hosts[0]!,
      attempt: 1,
      type,
      artifactsDir: dir,
      exec: () => Promise.reject(new Error('unused')),
      progress() {},
      heartbeat() {},
    };
    hooks.extendContext(ctx, { task: t, slot, control: { stop() {}, signal: ctx.signal }, lending });
    return ctx;
  };
  return { dir, config, pipeline, hooks, events, task, ctxFor, released, setNow: (n: number) => (now = n) };
}

const plugin: Plugin = {
  name: 'p',
  types: ['rollout'],
  async run(_task, rawCtx) {
    const ctx = rawCtx as HandlerContext & RolloutExtensions & { tool: ToolFunction };
    const probs = await ctx.policy.run({ features: { data: [1, 0, 0, 1], dims: [2, 2] } });
    const result = await ctx.tool('run_tests', { passed: '3', failed: '1' });
    ctx.trajectory.step(
      { probs: probs.probabilities?.data },
      { index: 0 },
      {
        tool: 'run_tests',
        ok: result.ok,
        code: result.ok ? result.code : null,
        stdoutTail: result.ok ? result.stdout : '',
        stderrTail: '',
        durationMs: 1,
        cached: result.cached,
      },
    );
    return { summary: 'did it' };
  },
};

describe('pipeline hooks for the loop', () => {
  it('holds rollout tasks at the staleness bound, and only those', async () => {
    const s = await setup('hooks-admit');
    // (0 + 0 + 1) * 2 = 2 rollouts may start at version 0.
    expect(s.hooks.admit(s.task('a'), 'rollout')).toBeUndefined();
    s.hooks.launched(s.task('a'), 'rollout');
    s.hooks.launched(s.task('b'), 'rollout');
    expect(s.hooks.admit(s.task('c'), 'rollout')).toMatch(/staleness gate: policy v0, 2 rollouts running/);
    expect(s.hooks.admit(s.task('c'), 'general')).toBeUndefined();
    // A claim that never reached its handler gives its place back after a while.
    s.setNow(999);
    expect(s.hooks.admit(s.task('c'), 'rollout')).toBeDefined();
    s.ctxFor('a'); // a reached its handler: its ticket is bound to the rollout
    s.setNow(1000);
    expect(s.hooks.admit(s.task('c'), 'rollout')).toBeUndefined(); // b's place came back
    expect(s.pipeline.gate?.counts().running).toBe(1);
    await s.pipeline.stop();
  });

  it('holds a rollout that reached its handler without a ticket until the gate admits it, reported in its progress', async () => {
    const s = await setup('hooks-no-ticket');
    let started = 0;
    const counting: Plugin = {
      ...plugin,
      async run(task, ctx) {
        started += 1;
        if (task.id === 'b') throw new Error('b gives up');
        return plugin.run(task, ctx);
      },
    };
    const wrapped = s.hooks.wrapPlugins({
      byName: new Map([['p', counting]]),
      byType: new Map([['rollout', counting]]),
      problems: [],
      conflicts: [],
    });
    const run = wrapped.byType.get('rollout')!;
    // a and b fill the gate ((0 + 0 + 1) * 2 = 2 at version 0).
    s.hooks.launched(s.task('a'), 'rollout');
    s.hooks.launched(s.task('b'), 'rollout');
    const ctxA = s.ctxFor('a');
    const ctxB = s.ctxFor('b');
    // x was claimed without a ticket (e.g. its ticket went back while its claim was written).
    const ctxX = s.ctxFor('x');
    const progress: string[] = [];
    ctxX.progress = (text) => progress.push(text);
    const x = run.run(s.task('x'), ctxX);
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(0); // not run outside the gate
    expect(progress).toEqual([
      expect.stringMatching(/^not admitted: waiting for the staleness gate: policy v0, 2 rollouts running/),
    ]);
    expect(s.pipeline.gate?.counts().running).toBe(2);
    // Rollouts not claimed yet wait behind it.
    expect(s.hooks.admit(s.task('c'), 'rollout')).toMatch(/1 claimed rollout\(s\) wait for admission first/);
    // b fails: its place opens, x takes it and runs as an admitted rollout.
    await expect(run.run(s.task('b'), ctxB)).rejects.toThrow('b gives up');
    const result = await x;
    expect(started).toBe(2);
    expect(typeof result === 'object' && result.summary).toMatch(/trajectory x\.1\.\w+: ok, policy v0/);
    expect(s.pipeline.gate?.counts()).toMatchObject({ running: 1, accepted: 1 });
    await run.run(s.task('a'), ctxA);
    expect(s.pipeline.gate?.counts()).toMatchObject({ running: 0, accepted: 2 });
    await s.pipeline.stop();
  });

  it('a held rollout whose attempt is aborted while it waits never runs and holds nothing', async () => {
    const s = await setup('hooks-no-ticket-abort');
    let started = 0;
    const counting: Plugin = {
      ...plugin,
      async run() {
        started += 1;
        return 'ran';
      },
    };
    const run = s.hooks
      .wrapPlugins({
        byName: new Map([['p', counting]]),
        byType: new Map([['rollout', counting]]),
        problems: [],
        conflicts: [],
      })
      .byType.get('rollout')!;
    s.hooks.launched(s.task('a'), 'rollout');
    s.hooks.launched(s.task('b'), 'rollout');
    const abort = new AbortController();
    const ctxX = { ...s.ctxFor('x'), signal: abort.signal };
    const x = run.run(s.task('x'), ctxX);
    await new Promise((r) => setImmediate(r));
    abort.abort(new Error('cancelled'));
    await expect(x).rejects.toThrow('cancelled');
    expect(started).toBe(0);
    expect(s.pipeline.gate?.counts().running).toBe(2);
    expect(s.hooks.admit(s.task('c'), 'rollout')).toMatch(/^staleness gate: policy v0, 2 rollouts running/);
    await s.pipeline.stop();
  });

  it("groups a rollout by its task's metadata.ygg.group or group: label, so the learner's batch takes the high-variance group first", async () => {
    const s = await setup('hooks-groups', { batch: 3, staleness: 1, inflight: 8 });
    // The task's description says how many tests pass and fail.
    const scoredBy: Plugin = {
      name: 'scored',
      types: ['rollout'],
      async run(task, rawCtx) {
        const ctx = rawCtx as HandlerContext & RolloutExtensions & { tool: ToolFunction };
        const [passed, failed] = (task.description ?? '').split(' ');
        const result = await ctx.tool('run_tests', { passed: passed!, failed: failed! });
        ctx.trajectory.step({}, { index: 0 }, summarizeToolResult(result));
        return 'ok';
      },
    };
    const run = s.hooks
      .wrapPlugins({
        byName: new Map([['scored', scoredBy]]),
        byType: new Map([['rollout', scoredBy]]),
        problems: [],
        conflicts: [],
      })
      .byType.get('rollout')!;
    const tasks: Task[] = [
      // Steady: the same problem always passes (no variance), named by a label.
      ...[1, 2, 3].map((i) => ({
        id: `s${i}`,
        title: 's',
        labels: ['rollout', 'group:steady'],
        description: '1 0',
      })),
      // Flaky: the same problem passes and fails (high variance), named in metadata.ygg.group.
      ...['1 0', '0 1', '1 0'].map((d, i) => ({
        id: `f${i}`,
        title: 'f',
        description: d,
        metadata: { ygg: { group: 'flaky' } },
      })),
    ];
    for (const t of tasks) {
      s.hooks.launched(t, 'rollout');
      await run.run(t, s.ctxFor(t.id, 'rollout', t));
    }
    expect(s.pipeline.replay.fresh().map((t) => `${t.taskId}:${t.group}`)).toEqual([
      's1:steady',
      's2:steady',
      's3:steady',
      'f0:flaky',
      'f1:flaky',
      'f2:flaky',
    ]);
    const drawn = s.pipeline.replay.drawBatch({ batchSize: 3, currentVersion: 0, maxStaleness: 1 });
    expect(drawn.batch?.map((t) => t.taskId)).toEqual(['f0', 'f1', 'f2']);
    // Without a group, a task is its own group.
    expect(rolloutGroup({ id: 'x', title: 'x', labels: ['rollout'] })).toBeUndefined();
    await s.pipeline.stop();
  });

  it('gives back the ticket of an earlier launch of the same task', async () => {
    const s = await setup('hooks-relaunch');
    s.hooks.launched(s.task('a'), 'rollout');
    s.hooks.launched(s.task('a'), 'rollout'); // the first claim failed; launched again
    expect(s.pipeline.gate?.counts().running).toBe(1);
    await s.pipeline.stop();
  });

  it('gives handlers ctx.tool, ctx.onnx, and rollouts ctx.policy and ctx.trajectory; finishes the rollout after the handler', async () => {
    const s = await setup('hooks-rollout');
    const wrapped = s.hooks.wrapPlugins({
      byName: new Map([['p', plugin]]),
      byType: new Map([['rollout', plugin]]),
      problems: [],
      conflicts: [],
    });
    s.hooks.launched(s.task('r1'), 'rollout');
    const ctx = s.ctxFor('r1');
    expect(typeof ctx.tool).toBe('function');
    expect(typeof ctx.onnx).toBe('function');
    expect((ctx.policy as RolloutExtensions['policy']).version).toBe(0);
    const result = await wrapped.byType.get('rollout')!.run(s.task('r1'), ctx);
    expect(s.released).toHaveLength(1); // the slot went back during the tool call
    expect(typeof result === 'object' && result.summary).toMatch(
      /^did it\ntrajectory r1\.1\.\w+: ok, policy v0, 1 step, reward 0\.750/,
    );
    expect(typeof result === 'object' && result.metadata?.trajectory).toMatchObject({
      policyVersion: 0,
      reward: 0.75,
    });
    expect(s.pipeline.replay.fresh().map((t) => t.taskId)).toEqual(['r1']);
    expect((await s.pipeline.log.readAll())[0]).toMatchObject({ taskId: 'r1', reward: 0.75 });
    expect(s.pipeline.gate?.counts()).toMatchObject({ running: 0, accepted: 1 });

    // A plain task gets the tool and ONNX, not a trajectory.
    const plain = s.ctxFor('g1', 'general');
    expect(plain.trajectory).toBeUndefined();
    expect(typeof plain.tool).toBe('function');
    await s.pipeline.stop();
  });

  it('marks the trajectory failed when no tools host could run a tool, and keeps it out of training', async () => {
    const s = await setup('hooks-tool-fails');
    const wrapped = s.hooks.wrapPlugins({
      byName: new Map([['p', plugin]]),
      byType: new Map([['rollout', plugin]]),
      problems: [],
      conflicts: [],
    });
    s.events.emit('host:down', { host: 'tools', error: 'probe failed' });
    s.hooks.launched(s.task('r2'), 'rollout');
    const result = await wrapped.byType.get('rollout')!.run(s.task('r2'), s.ctxFor('r2'));
    expect(typeof result === 'object' && result.summary).toMatch(
      /failed, policy v0[\s\S]*error: run_tests: no tools host is up for run_tests/,
    );
    expect(s.pipeline.replay.size).toBe(0);
    expect(s.pipeline.gate?.counts()).toMatchObject({ running: 0, accepted: 0 });
    await s.pipeline.stop();
  });

  it('lends the slot during a tool call and takes back another one, whose GPUs the handler then sees', async () => {
    const s = await setup('hooks-slot-index');
    const gpuHost = { ...s.config.hosts[0]!, slots: 2, gpuBinding: { gpus: [0, 1], perGpu: 1 } };
    const slots = new HostSlots(gpuHost);
    const hooks = pipelineHooks({ pipeline: s.pipeline, config: () => s.config });
    let mine = slots.tryAcquire()!;
    expect(mine).toMatchObject({ index: 0, gpus: [0] });
    // The runner's lending: the slot goes back to the host, and a slot is taken again after.
    const lending: SlotLending = {
      lend: () => slots.release(mine),
      reclaim: async () => {
        mine = await slots.acquire();
        return mine.gpus;
      },
    };
    const ctx = s.ctxFor('a', 'general');
    hooks.extendContext(ctx, {
      task: s.task('a'),
      slot: mine,
      control: { stop() {}, signal: ctx.signal },
      lending,
    });
    let other: ReturnType<HostSlots['tryAcquire']>;
    const queue = s.pipeline.toolQueue!;
    const call = queue.call.bind(queue);
    // While the tool runs, another task takes the freed slot 0.
    queue.call = async (...args) => {
      other = slots.tryAcquire();
      return call(...args);
    };
    await (ctx.tool as ToolFunction)('run_tests', { passed: '1', failed: '0' });
    expect(other).toMatchObject({ index: 0, gpus: [0] });
    expect(mine).toMatchObject({ index: 1, gpus: [1] }); // ours is now slot 1, on GPU 1
    expect(ctx.gpu).toEqual([1]);
    slots.release(other!);
    slots.release(mine); // what the runner does when the task ends
    expect(slots.used).toBe(0);
    await s.pipeline.stop();
  });
});
