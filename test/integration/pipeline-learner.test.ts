import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeLinearModel, encodeLinearModel } from '../../examples/rl/onnx-linear.mjs';
import { configOrThrow, parseConfig } from '../../src/config/load.js';
import type { YggConfig } from '../../src/config/types.js';
import { createTransport } from '../../src/hosts/pool.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/hosts/transport.js';
import { EventBus, type YggEventName, type YggEvents } from '../../src/observe/events.js';
import { renderFrame } from '../../src/observe/monitor/render.js';
import { StatusTracker } from '../../src/observe/status-tracker.js';
import { Learner } from '../../src/pipeline/learner.js';
import { PolicyStore } from '../../src/pipeline/policy.js';
import { ReplayBuffer } from '../../src/pipeline/replay.js';
import type { Trajectory } from '../../src/pipeline/trajectory.js';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { testDir } from '../helpers/tmp.js';

const rl = fileURLToPath(new URL('../../examples/rl/', import.meta.url));

function config(dir: string): YggConfig {
  const yaml = `
hosts:
  trainer: {transport: local, slots: 1, roles: [learner], sandbox: {work_root: ${dir}/work-trainer}}
  other: {transport: local, slots: 4, roles: [inference, learner], sandbox: {work_root: ${dir}/work-other}}
learner:
  host: trainer
  command: [node, "{script}", "{batch}", "{checkpoint}", "{policy}", --lr, "1"]
  files: {script: ${rl}learner.mjs, onnx: ${rl}onnx-linear.mjs}
  batch_size: 4
  timeout: 60s
`;
  return configOrThrow(parseConfig(yaml, join(dir, 'hosts.yaml')), 'hosts.yaml').config;
}

/** Records every command a transport runs, with its options. */
class Recording implements Transport {
  readonly kind = 'local' as const;
  readonly calls: Array<{ argv: readonly string[]; options: ExecOptions }> = [];
  constructor(readonly inner: Transport) {}
  get hostName() {
    return this.inner.hostName;
  }
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push({ argv, options });
    return this.inner.exec(argv, options);
  }
  put(l: string, r: string) {
    return this.inner.put(l, r);
  }
  get(r: string, l: string) {
    return this.inner.get(r, l);
  }
  probe() {
    return this.inner.probe();
  }
  close() {
    return this.inner.close();
  }
  async [Symbol.asyncDispose]() {}
}

function next<E extends YggEventName>(
  events: EventBus,
  event: E,
  match: (p: YggEvents[E]) => boolean = () => true,
) {
  return new Promise<YggEvents[E]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within 30 s`)), 30_000);
    const off = events.on(event, (payload) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Two candidates with one-hot features; choosing the second passes the tests. */
function trajectory(i: number, action: number): Trajectory {
  return {
    id: `t${i}`,
    taskId: `bd-${i}`,
    group: `bd-${i}`,
    policyVersion: 0,
    admittedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:01.000Z',
    status: 'ok',
    steps: [
      {
        state: {
          features: [
            [1, 0],
            [0, 1],
          ],
        },
        action: { index: action },
        atMs: 0,
      },
    ],
    reward: action === 1 ? 1 : 0,
  };
}

async function setup(name: string) {
  const dir = await testDir(name);
  await chmod(dir, 0o755); // sandboxed commands run as an unprivileged user: let it reach the work dirs
  const cfg = config(dir);
  const runtimeDir = join(dir, '.ygg');
  const initial = join(dir, 'v0.onnx');
  await writeFile(initial, encodeLinearModel({ weights: [0, 0] }));
  const policy = await PolicyStore.open(runtimeDir);
  await policy.ensureInitial(initial);
  const replay = await ReplayBuffer.inRuntimeDir(runtimeDir);
  const events = new EventBus();
  const host = (n: string) => cfg.hosts.find((h) => h.name === n)!;
  const trainer = new Recording(createTransport(host('trainer')));
  const other = new Recording(createTransport(host('other')));
  return { dir, cfg, runtimeDir, policy, replay, events, trainer, other, host };
}

describe('the learner, pinned to its host', () => {
  it("refuses any transport but its own host's", async () => {
    const s = await setup('learner-pinned');
    expect(
      () =>
        new Learner({
          settings: s.cfg.learner!,
          transport: s.other,
          workRoot: s.host('other').sandbox.workRoot,
          replay: s.replay,
          policy: s.policy,
          runtimeDir: s.runtimeDir,
        }),
    ).toThrow(/pinned to trainer and cannot run on other/);
  });

  it('waits while its host is down, then trains there (sandboxed, GPU yes, network no) and publishes the next version', async () => {
    const s = await setup('learner-down-up');
    const learner = new Learner({
      settings: s.cfg.learner!,
      transport: s.trainer,
      workRoot: s.host('trainer').sandbox.workRoot,
      replay: s.replay,
      policy: s.policy,
      runtimeDir: s.runtimeDir,
      events: s.events,
    });
    const states: string[] = [];
    s.events.on('learner:state', (e) => states.push(e.state));
    // What `ygg monitor` and the status server show, fed by the same events.
    await writeFile(join(s.dir, 'issues.jsonl'), '');
    await using store = await BeadsJsonlStore.open({ path: join(s.dir, 'issues.jsonl') });
    using tracker = new StatusTracker({ bus: s.events, store, config: s.cfg, version: 'test' });
    const monitorLine = () =>
      renderFrame(tracker.snapshot(), { selected: 0 }, { columns: 80, rows: 24 }).find((l) =>
        l.startsWith(' learner '),
      );
    expect(monitorLine()).toMatch(/^ learner trainer +idle$/);
    const waiting = next(s.events, 'learner:state', (e) => e.state === 'waiting-batch');
    learner.start();
    await waiting;

    const down = next(s.events, 'learner:state', (e) => e.state === 'waiting-host');
    s.events.emit('host:down', { host: 'trainer', error: 'probe failed 3 times' });
    await down;
    expect(learner.state).toBe('waiting-host');
    expect(learner.detail).toBe('probe failed 3 times');
    expect(tracker.snapshot().learner).toMatchObject({
      host: 'trainer',
      state: 'waiting-host',
      detail: 'probe failed 3 times',
    });
    expect(monitorLine()).toMatch(/^ learner trainer +waiting: host down \(probe failed 3 times\)$/);
    // A full batch arrives while the host is down: nothing runs anywhere.
    for (let i = 0; i < 4; i++) {
      await s.replay.add(trajectory(i, i % 2 === 0 ? 1 : 0));
      learner.notify();
    }
    await s.replay.add(trajectory(9, 1));
    learner.notify();
    expect(learner.state).toBe('waiting-host');
    expect(s.trainer.calls).toHaveLength(0);
    expect(s.other.calls).toHaveLength(0);
    expect(s.policy.version()).toBe(0);

    const published = next(s.events, 'policy:published');
    s.events.emit('host:up', { host: 'trainer' });
    expect(await published).toEqual({ version: 1, batchSize: 4, meanReward: 0.5 });
    expect(tracker.snapshot().learner?.policy).toMatchObject({ version: 1, batchSize: 4, meanReward: 0.5 });
    expect(monitorLine()).toMatch(/policy v1, reward 0\.50$/);
    await learner.stop();

    expect(states.slice(0, 3)).toEqual(['waiting-batch', 'waiting-host', 'training']);
    expect(states.at(-1)).toBe('stopped');
    expect(s.other.calls).toHaveLength(0);
    const run = s.trainer.calls.find((c) => c.argv.some((a) => a.endsWith('learner.mjs')))!;
    expect(run.options.sandbox).toMatchObject({ network: false, gpu: true });
    // The batch went to the host's work dir and the command ran there.
    expect(run.argv[2]).toMatch(new RegExp(`^${s.dir}/work-trainer/learner-v1-.*/batch\\.jsonl$`));

    const v1 = s.policy.current()!;
    expect(v1).toMatchObject({ version: 1, batchSize: 4, host: 'trainer' });
    const { weights } = decodeLinearModel(await readFile(v1.checkpoint));
    expect(weights[1]!).toBeGreaterThan(weights[0]!); // it learned which candidate passes
    expect(s.replay.fresh().map((t) => t.id)).toEqual(['t9']);
    expect(s.replay.entries().filter((e) => e.trainedAt === 1)).toHaveLength(4);
    const listed = await PolicyStore.read(s.runtimeDir);
    expect(listed.map((v) => v.version)).toEqual([0, 1]);
  });

  it('keeps the batch when the command fails, says why, and tries again', async () => {
    const s = await setup('learner-fails');
    const learner = new Learner({
      settings: {
        ...s.cfg.learner!,
        command: ['node', '-e', 'console.error("gradient exploded"); process.exit(3)'],
      },
      transport: s.trainer,
      workRoot: s.host('trainer').sandbox.workRoot,
      replay: s.replay,
      policy: s.policy,
      runtimeDir: s.runtimeDir,
      events: s.events,
      retryDelayMs: 60_000,
    });
    for (let i = 0; i < 4; i++) await s.replay.add(trajectory(i, 1));
    const failed = next(s.events, 'learner:state', (e) => e.detail?.startsWith('training failed') ?? false);
    learner.start();
    expect((await failed).detail).toMatch(
      /training failed: learner command ended with exit 3: gradient exploded/,
    );
    expect(s.policy.version()).toBe(0);
    expect(s.replay.fresh()).toHaveLength(4);
    const again = next(s.events, 'learner:state', (e) => e.state === 'training');
    learner.notify(); // new data (or the retry delay) makes it try again
    await again;
    await learner.stop();
    expect(learner.runs).toBe(2);
  });
});
