import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { candidateFeatures, featureCount } from '../../examples/rl/features.js';
import { localTransports } from '../../examples/rl/local-hosts.js';
import { decodeLinearModel } from '../../examples/rl/onnx-linear.mjs';
import { makeProblem } from '../../examples/rl/problems.js';
import { runThroughDispatcher } from '../../examples/rl/run.js';
import { loadExampleConfig, runStandalone } from '../../examples/rl/standalone.js';
import { PolicyStore } from '../../src/pipeline/policy.js';
import { ToolQueue } from '../../src/pipeline/tool-queue.js';
import { TrajectoryLog } from '../../src/pipeline/trajectory-log.js';
import { openStore } from '../../src/store/open.js';
import { testDir } from '../helpers/tmp.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('the RL example', () => {
  it('poses problems whose true fix passes every test and whose bug fails one, run by the sandboxed run_tests tool', async () => {
    const dir = await testDir('rl-problems');
    const config = await loadExampleConfig();
    const queue = new ToolQueue({
      tools: config.tools!,
      hosts: [
        {
          name: 'skadi-code',
          slots: 2,
          transport: localTransports(config.hosts)('skadi-code'),
          workRoot: '/tmp/ygg-work',
        },
      ],
    });
    const { writeFile } = await import('node:fs/promises');
    for (const index of [0, 1, 2]) {
      const problem = makeProblem(7, index);
      expect(candidateFeatures(problem).every((row) => row.length === featureCount)).toBe(true);
      const program = join(dir, `program-${index}.json`);
      await writeFile(
        program,
        JSON.stringify({ fn: problem.fn, source: problem.source, tests: problem.tests }),
      );
      const results = [];
      for (const [i, patch] of problem.candidates.entries()) {
        const file = join(dir, `patch-${index}-${i}.json`);
        await writeFile(file, JSON.stringify(patch));
        results.push(await queue.call('run_tests', {}, { files: { program, patch: file } }));
      }
      const fix = results[problem.fixIndex]!;
      expect(fix.ok && fix.code).toBe(0);
      expect(fix.ok && fix.stdout).toMatch(/passed \d+ failed 0\n$/);
      // The cosmetic candidate leaves the bug in place: at least one test fails.
      const cosmetic = problem.candidates.findIndex((c) => c.text.endsWith('// fixed'));
      expect(results[cosmetic]!.ok && results[cosmetic]!.code).toBe(1);
      // Sandboxed: no network, unprivileged, read-only system where bubblewrap works here.
      expect(fix.ok && fix.protections?.join('\n')).toMatch(/wall-clock limit/);
    }
  });

  it('learns: mean reward rises clearly over the policy versions (rollouts, tools, rewards, replay, learner)', async () => {
    const runtimeDir = await testDir('rl-learning');
    const report = await runStandalone({ runtimeDir, versions: 5, batchSize: 12, seed: 3 });
    const rewards = report.curve.map((p) => p.meanReward);
    process.stdout.write(
      `RL example, mean reward (rollouts) per policy version: ${report.curve.map((p) => `v${p.version} ${p.meanReward.toFixed(2)} (${p.rollouts})`).join(', ')}\n`,
    );
    // Versions overlap (bounded staleness), so not every version gets a full batch of rollouts.
    expect(report.curve[0]).toMatchObject({ version: 0 });
    expect(report.curve.at(-1)).toMatchObject({ version: 5 });
    expect(report.curve.at(-1)!.rollouts).toBeGreaterThanOrEqual(12);
    expect(mean(rewards.slice(-2))).toBeGreaterThan(rewards[0]! + 0.15);
    expect(report.staleTrajectories).toBeLessThanOrEqual(2);

    // Every rollout's trajectory is in the log with its reward, and the policy really changed.
    const logged = await new TrajectoryLog(join(runtimeDir, 'trajectories.jsonl')).readAll();
    expect(logged.length).toBe(report.curve.reduce((n, p) => n + p.rollouts, 0));
    expect(logged.every((t) => t.status === 'ok' && typeof t.rewards?.tests_passed === 'number')).toBe(true);
    const policy = JSON.parse(await readFile(join(runtimeDir, 'policy.json'), 'utf8')) as {
      versions: Array<{ version: number; checkpoint: string; host?: string }>;
    };
    expect(policy.versions.map((v) => v.version)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(policy.versions.slice(1).every((v) => v.host === 'surtr-reasoning')).toBe(true);
    const last = decodeLinearModel(await readFile(policy.versions.at(-1)!.checkpoint));
    expect(last.weights.some((w) => w !== 0)).toBe(true);
  });

  it('runs through ygg loop: rollout tasks admitted by the gate, closed with their trajectory, the learner publishing', async () => {
    const dir = await testDir('rl-dispatcher');
    await chmod(dir, 0o755);
    const report = await runThroughDispatcher({ dir, versions: 2, seed: 5 });
    expect(report.tasks).toBe(64);
    expect(report.curve.reduce((n, p) => n + p.rollouts, 0)).toBe(64);
    expect(report.staleTrajectories).toBeLessThanOrEqual(2);
    const store = await openStore({ cwd: dir });
    const tasks = store.list();
    expect(tasks.every((t) => t.status === 'closed')).toBe(true);
    expect(tasks[0]!.comments?.at(-1)?.text).toMatch(
      /policy v0 chose patch \d\/\d[\s\S]*trajectory .*: ok, policy v0, 1 step, reward/,
    );
    await store.close();
    // Each rollout is grouped with the others of its bug (metadata.ygg.group), for the replay priority.
    const logged = await TrajectoryLog.inRuntimeDir(join(dir, '.ygg')).readAll();
    const groups = new Set(logged.map((t) => t.group));
    expect(logged.every((t) => t.group !== t.taskId && /^\w+: /.test(t.group))).toBe(true);
    expect(groups.size).toBeLessThan(logged.length / 2);
    const versions = await PolicyStore.read(join(dir, '.ygg'));
    expect(versions.length).toBeGreaterThanOrEqual(3); // v0 and at least two learned
    expect(versions.slice(1).every((v) => v.host === 'surtr-reasoning' && v.batchSize === 16)).toBe(true);
  });
});
