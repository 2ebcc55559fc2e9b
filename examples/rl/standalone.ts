/**
 * The RL loop without the dispatcher: the same pipeline (tool queue, trajectories, rewards,
 * replay, staleness gate, pinned learner) and the same rollout plugin, driven by a few workers
 * instead of Beads tasks. Used to check that learning works on its own, and by the tests.
 *
 *   node --import tsx examples/rl/standalone.ts [--versions 10] [--batch 16] [--dir DIR] [--json]
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sema } from 'async-sema';
import { loadConfig } from '../../src/config/load.js';
import type { YggConfig } from '../../src/config/types.js';
import { EventBus } from '../../src/observe/events.js';
import { AgentPipeline } from '../../src/pipeline/pipeline.js';
import { createToolFunction } from '../../src/pipeline/tool-function.js';
import type { HandlerContext } from '../../src/plugins/api.js';
import { localTransports } from './local-hosts.js';
import { plugin } from './plugins/rollout.js';
import { makeProblem, problemGroup } from './problems.js';

export interface StandaloneOptions {
  /** Runtime dir for the pipeline's files (policy, trajectories, replay). */
  runtimeDir: string;
  /** Policy versions to train (the curve has versions + 1 points). */
  versions: number;
  /** Overrides learner.batch_size. */
  batchSize?: number;
  /** Seed of the problem family. */
  seed?: number;
  configPath?: string;
  events?: EventBus;
}

export interface CurvePoint {
  version: number;
  rollouts: number;
  meanReward: number;
  /** Fraction of rollouts that picked the true fix. */
  fixRate: number;
}

export interface StandaloneReport {
  curve: CurvePoint[];
  staleTrajectories: number;
  toolCalls: number;
  seconds: number;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export const exampleConfigPath = fileURLToPath(new URL('./hosts.yaml', import.meta.url));

export async function loadExampleConfig(path = exampleConfigPath, batchSize?: number): Promise<YggConfig> {
  const loaded = await loadConfig(path);
  if (!loaded.config) throw new Error(`${path}: ${loaded.errors.map((e) => e.message).join('; ')}`);
  const config = loaded.config;
  if (batchSize !== undefined && config.learner)
    config.learner = { ...config.learner, batchSize, maxInflight: Math.max(2, Math.ceil(batchSize / 2)) };
  return config;
}

export async function runStandalone(options: StandaloneOptions): Promise<StandaloneReport> {
  const started = performance.now();
  const config = await loadExampleConfig(options.configPath, options.batchSize);
  const learner = config.learner!;
  const events = options.events ?? new EventBus();
  const transportFor = localTransports(config.hosts);
  const pipeline = await AgentPipeline.open({ config, runtimeDir: options.runtimeDir, transportFor, events });
  const rolloutHost = config.types.rollout?.hosts[0];
  const inference =
    config.hosts.find((h) => h.name === rolloutHost) ??
    config.hosts.find((h) => h.roles.includes('inference'))!;
  const slots = new Sema(inference.slots);
  const seed = options.seed ?? 1;
  let next = 0;
  let toolCalls = 0;
  const finalRollouts = () => perVersion.get(options.versions) ?? 0;
  const perVersion = new Map<number, number>();
  // Workers with nothing admitted wait for the next change (a trajectory, a policy version).
  let change: { promise: Promise<void>; resolve: () => void } | undefined;
  const nextChange = () => {
    if (!change) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      change = { promise, resolve };
    }
    return change.promise;
  };
  const changed = () => {
    const current = change;
    change = undefined;
    current?.resolve();
  };
  const offs = [
    events.on('policy:published', ({ version }) => {
      if (version >= options.versions) void pipeline.learner?.stop();
      changed();
    }),
    events.on('trajectory:recorded', changed),
    events.on('tool:called', ({ cached }) => {
      if (!cached) toolCalls += 1;
    }),
  ];
  const done = () => finalRollouts() >= learner.batchSize;
  pipeline.start();

  const worker = async () => {
    while (!done()) {
      const ticket = pipeline.policy.version() <= options.versions ? pipeline.admitRollout() : undefined;
      if (!ticket) {
        await nextChange();
        continue;
      }
      const index = next++;
      const taskId = `rl-${index}`;
      await slots.acquire();
      const rollout = pipeline.beginRollout({
        taskId,
        host: inference.name,
        ticket,
        group: problemGroup(makeProblem(seed, index)),
      });
      try {
        const artifactsDir = join(options.runtimeDir, 'artifacts', taskId);
        await mkdir(artifactsDir, { recursive: true });
        const tool = createToolFunction({
          queue: pipeline.toolQueue!,
          releaseSlot: () => slots.release(),
          reacquireSlot: () => slots.acquire(),
          releaseOnTool: config.types.rollout?.releaseSlotOnTool ?? true,
          defaults: { taskId },
        });
        const ctx: HandlerContext = {
          signal: new AbortController().signal,
          log: quiet,
          host: inference,
          attempt: 1,
          type: 'rollout',
          artifactsDir,
          exec: (argv, o) => transportFor(inference.name).exec(argv, o),
          progress() {},
          heartbeat() {},
          ...rollout.extensions(),
          tool,
        };
        await plugin.run(
          { id: taskId, title: `rollout: problem ${index}`, metadata: { rl: { seed, index } } },
          ctx,
        );
        const { trajectory } = await rollout.finish();
        perVersion.set(trajectory.policyVersion, (perVersion.get(trajectory.policyVersion) ?? 0) + 1);
      } catch (error) {
        await rollout.finish({ error: error instanceof Error ? error.message : String(error) });
      } finally {
        slots.release();
      }
    }
    changed();
  };
  try {
    await Promise.all(Array.from({ length: learner.maxInflight }, worker));
  } finally {
    for (const off of offs) off();
    await pipeline.stop();
  }
  return {
    curve: await rewardCurve(pipeline),
    staleTrajectories: pipeline.stale.total,
    toolCalls,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Mean reward of the trajectories generated under each policy version. */
export async function rewardCurve(pipeline: AgentPipeline): Promise<CurvePoint[]> {
  const byVersion = new Map<number, { n: number; reward: number; fixes: number }>();
  for (const t of await pipeline.log.readAll()) {
    if (t.status !== 'ok' || t.reward === undefined) continue;
    const row = byVersion.get(t.policyVersion) ?? { n: 0, reward: 0, fixes: 0 };
    row.n += 1;
    row.reward += t.reward;
    row.fixes += t.reward === 1 ? 1 : 0;
    byVersion.set(t.policyVersion, row);
  }
  return [...byVersion.entries()]
    .sort(([a], [b]) => a - b)
    .map(([version, r]) => ({ version, rollouts: r.n, meanReward: r.reward / r.n, fixRate: r.fixes / r.n }));
}

export function formatCurve(report: StandaloneReport): string {
  const lines = ['version  rollouts  mean reward  all tests passed'];
  for (const p of report.curve)
    lines.push(
      `${String(p.version).padStart(7)}  ${String(p.rollouts).padStart(8)}  ${p.meanReward.toFixed(3).padStart(11)}  ${`${(p.fixRate * 100).toFixed(0)}%`.padStart(16)}  ${'#'.repeat(Math.round(p.meanReward * 40))}`,
    );
  lines.push(
    `${report.toolCalls} run_tests calls, ${report.staleTrajectories} stale trajectories, ${report.seconds.toFixed(1)} s`,
  );
  return lines.join('\n');
}

function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const runtimeDir = flag(args, '--dir') ?? (await mkdtemp(join(tmpdir(), 'ygg-rl-')));
  const report = await runStandalone({
    runtimeDir,
    versions: Number(flag(args, '--versions') ?? 10),
    ...(flag(args, '--batch') ? { batchSize: Number(flag(args, '--batch')) } : {}),
    seed: Number(flag(args, '--seed') ?? 1),
  });
  process.stdout.write(
    args.includes('--json')
      ? `${JSON.stringify(report)}\n`
      : `${formatCurve(report)}\n(files in ${runtimeDir})\n`,
  );
}
