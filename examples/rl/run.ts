/**
 * The RL example through the dispatcher: a workspace with a Beads file, rollout tasks queued in
 * it, `ygg loop --until-idle --config examples/rl/hosts.yaml` run on it, then the mean reward of
 * the rollouts of each policy version.
 *
 *   npm run rl -- [--versions 10] [--dir DIR] [--seed 1] [--json]
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDispatcher } from '../../src/app/dispatcher.js';
import { initCommand } from '../../src/cli/init.js';
import { EventBus } from '../../src/observe/events.js';
import { TrajectoryLog } from '../../src/pipeline/trajectory-log.js';
import { openStore, runtimeDirFor } from '../../src/store/open.js';
import { makeProblem, problemGroup } from './problems.js';
import type { CurvePoint } from './standalone.js';
import { exampleConfigPath, formatCurve, loadExampleConfig } from './standalone.js';

export interface RunOptions {
  /** Workspace folder (a `.beads/` is made there when missing). */
  dir: string;
  versions: number;
  seed?: number;
  /** hosts.yaml to run with (default: examples/rl/hosts.yaml). */
  configPath?: string;
}

export interface RunReport {
  curve: CurvePoint[];
  tasks: number;
  staleTrajectories: number;
  toolCalls: number;
  seconds: number;
}

/**
 * Queue `count` rollouts, one problem each; a task names its problem's group (its function and
 * injected bug) in `metadata.ygg.group`, so the learner's batch takes the bugs whose rollouts'
 * rewards vary most first.
 */
export async function queueRollouts(dir: string, count: number, seed: number): Promise<void> {
  await using store = await openStore({ cwd: dir });
  for (let index = 0; index < count; index++) {
    await store.add({
      title: `rollout: problem ${index}`,
      labels: ['rollout'],
      priority: 2,
      created_by: 'rl-example',
      metadata: { rl: { seed, index }, ygg: { group: problemGroup(makeProblem(seed, index)) } },
    });
  }
  await store.flush();
}

export async function runThroughDispatcher(options: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const configPath = options.configPath ?? exampleConfigPath;
  const config = await loadExampleConfig(configPath);
  const batch = config.learner!.batchSize;
  await initCommand({ cwd: options.dir });
  const tasks = (options.versions + 2) * batch;
  await queueRollouts(options.dir, tasks, options.seed ?? 1);

  const bus = new EventBus();
  let stale = 0;
  let toolCalls = 0;
  bus.on('trajectory:stale', ({ total }) => {
    stale = total;
  });
  bus.on('tool:called', ({ cached }) => {
    if (!cached) toolCalls += 1;
  });
  await runDispatcher({
    cwd: options.dir,
    config: configPath,
    untilIdle: true,
    status: false,
    logLevel: 'silent',
    bus,
  });
  const runtimeDir = runtimeDirFor(join(options.dir, '.beads', 'issues.jsonl'));
  const byVersion = new Map<number, { n: number; reward: number; fixes: number }>();
  for (const t of await TrajectoryLog.inRuntimeDir(runtimeDir).readAll()) {
    if (t.status !== 'ok' || t.reward === undefined) continue;
    const row = byVersion.get(t.policyVersion) ?? { n: 0, reward: 0, fixes: 0 };
    row.n += 1;
    row.reward += t.reward;
    row.fixes += t.reward === 1 ? 1 : 0;
    byVersion.set(t.policyVersion, row);
  }
  const curve = [...byVersion.entries()]
    .sort(([a], [b]) => a - b)
    .map(([version, r]) => ({ version, rollouts: r.n, meanReward: r.reward / r.n, fixRate: r.fixes / r.n }));
  return { curve, tasks, staleTrajectories: stale, toolCalls, seconds: (performance.now() - started) / 1000 };
}

function flag(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const dir = flag(args, '--dir') ?? (await mkdtemp(join(tmpdir(), 'ygg-rl-')));
  const report = await runThroughDispatcher({
    dir,
    versions: Number(flag(args, '--versions') ?? 10),
    seed: Number(flag(args, '--seed') ?? 1),
  });
  process.stdout.write(
    args.includes('--json')
      ? `${JSON.stringify(report)}\n`
      : `${formatCurve(report)}\n${report.tasks} rollout tasks in ${dir}/.beads/issues.jsonl (ygg list, ygg policy there)\n`,
  );
}
