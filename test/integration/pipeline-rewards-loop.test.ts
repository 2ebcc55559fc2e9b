import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeLinearModel } from '../../examples/rl/onnx-linear.mjs';
import { runLoopCommand } from '../../src/cli/loop.js';
import { EventBus } from '../../src/observe/events.js';
import { TrajectoryLog } from '../../src/pipeline/trajectory-log.js';
import { openStore, runtimeDirFor } from '../../src/store/open.js';
import { testDir } from '../helpers/tmp.js';

// A rollout handler whose task says how many tests pass and fail and which candidate it "chose";
// the plugin also declares the features of the `style` ONNX reward.
const pluginSource = `
export const plugin = {
  name: 'scorer',
  types: ['rollout'],
  rewardFeatures(trajectory) {
    return [trajectory.steps.length, trajectory.steps[0].action.index];
  },
  async run(task, ctx) {
    const [passed, failed, choice] = task.description.split(' ');
    const result = await ctx.tool('run_tests', { passed, failed });
    ctx.trajectory.step({}, { index: Number(choice) }, {
      tool: 'run_tests', ok: result.ok, code: result.code, stdoutTail: result.stdout,
      stderrTail: '', durationMs: result.durationMs, cached: result.cached,
    });
    return 'chose ' + choice;
  },
};
`;

// The features of the `length` ONNX reward, from a module beside hosts.yaml.
const featuresSource = `
export function rewardFeatures(trajectory) {
  return [trajectory.steps.length * 2];
}
`;

async function workspace(name: string, rewards: string) {
  const dir = await testDir(name);
  await chmod(dir, 0o755);
  await mkdir(join(dir, '.beads'));
  await writeFile(join(dir, '.beads', 'issues.jsonl'), '');
  await mkdir(join(dir, 'plugins'));
  await writeFile(join(dir, 'plugins', 'scorer.mjs'), pluginSource);
  await writeFile(join(dir, 'reward-features.mjs'), featuresSource);
  // Two small real ONNX models: score = features · weights + bias.
  await writeFile(
    join(dir, 'style.onnx'),
    encodeLinearModel({ weights: [0.5, 0.25], bias: 0.1, head: 'linear' }),
  );
  await writeFile(join(dir, 'length.onnx'), encodeLinearModel({ weights: [0.5], head: 'linear' }));
  await writeFile(
    join(dir, 'hosts.yaml'),
    `
hosts:
  gpu: {transport: local, slots: 2, roles: [inference]}
  tools: {transport: local, slots: 2, roles: [tools], sandbox: {work_root: ${dir}/work}}
  trainer: {transport: local, slots: 1, roles: [learner], sandbox: {work_root: ${dir}/work}}
types:
  rollout: {hosts: [gpu]}
type_rules:
  - {type: rollout, labels: [rollout]}
plugins: {dirs: [./plugins]}
tools:
  run_tests: {argv: [sh, -c, 'echo "passed $1 failed $2"', run_tests, "{passed}", "{failed}"]}
learner:
  host: trainer
  command: [node, -e, "process.exit(1)"]
  batch_size: 8
${rewards}
`,
  );
  return dir;
}

const loop = (dir: string) =>
  runLoopCommand(
    { cwd: dir, config: join(dir, 'hosts.yaml'), untilIdle: true, status: false, logLevel: 'silent' },
    new EventBus(),
  );

describe('learner.rewards in ygg loop', () => {
  it('scores rollouts with tests_passed and ONNX reward models whose features a plugin or a module declares', async () => {
    const dir = await workspace(
      'rewards-loop-onnx',
      `  rewards:
    - {name: tests_passed}
    - {name: onnx, model: ./style.onnx, features: scorer, weight: 0.5, as: style}
    - {name: onnx, model: ./length.onnx, features: ./reward-features.mjs, weight: 2, as: length, output: score}`,
    );
    const store = await openStore({ cwd: dir });
    const a = await store.add({ title: 'a', labels: ['rollout'], description: '3 1 1' });
    const b = await store.add({ title: 'b', labels: ['rollout'], description: '1 1 0' });
    await store.close();

    await loop(dir);

    const logged = await TrajectoryLog.inRuntimeDir(
      runtimeDirFor(join(dir, '.beads', 'issues.jsonl')),
    ).readAll();
    const byTask = new Map(logged.map((t) => [t.taskId, t]));
    // a: tests 3/4; style 0.5·1 + 0.25·1 + 0.1; length 0.5·2. Reward: 0.75 + 0.5·0.85 + 2·1.
    const ta = byTask.get(a.id)!;
    expect(ta.rewards?.tests_passed).toBeCloseTo(0.75);
    expect(ta.rewards?.style).toBeCloseTo(0.85);
    expect(ta.rewards?.length).toBeCloseTo(1);
    expect(ta.reward).toBeCloseTo(3.175);
    // b: tests 1/2; style 0.5·1 + 0.25·0 + 0.1; length 1. Reward: 0.5 + 0.5·0.6 + 2·1.
    const tb = byTask.get(b.id)!;
    expect(tb.rewards?.style).toBeCloseTo(0.6);
    expect(tb.reward).toBeCloseTo(2.8);

    // The task's result carries the combined reward.
    const after = await openStore({ cwd: dir });
    const closed = after.get(a.id)!;
    expect(closed.status).toBe('closed');
    const result = (closed.metadata as { ygg: { result: { trajectory: { reward: number } } } }).ygg.result;
    expect(result.trajectory.reward).toBeCloseTo(3.175);
    await after.close();
  });

  it('refuses to start when a reward cannot load, naming its key', async () => {
    const missingPlugin = await workspace(
      'rewards-loop-no-plugin',
      `  rewards:
    - {name: tests_passed}
    - {name: onnx, model: ./style.onnx, features: nope}`,
    );
    await expect(loop(missingPlugin)).rejects.toThrow(
      /learner\.rewards\[1\]\.features: no handler plugin named "nope" is loaded/,
    );
    const missingModel = await workspace(
      'rewards-loop-no-model',
      `  rewards:
    - {name: onnx, model: ./gone.onnx, features: ./reward-features.mjs}`,
    );
    await expect(loop(missingModel)).rejects.toThrow(
      /learner\.rewards\[0\]\.model: ONNX model not found: .*gone\.onnx/,
    );
  });
});
