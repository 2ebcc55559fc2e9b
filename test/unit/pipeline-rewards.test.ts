import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeLinearModel } from '../../examples/rl/onnx-linear.mjs';
import { cachedSessionCount } from '../../src/pipeline/onnx-session.js';
import {
  onnxReward,
  parsePassedFraction,
  scoreTrajectory,
  testsPassedReward,
} from '../../src/pipeline/rewards/index.js';
import type { ToolOutputSummary, Trajectory } from '../../src/pipeline/trajectory.js';
import { testDir } from '../helpers/tmp.js';

function trajectory(tools: Partial<ToolOutputSummary>[], extra: Partial<Trajectory> = {}): Trajectory {
  return {
    id: 't1',
    taskId: 'bd-1',
    group: 'bd-1',
    policyVersion: 0,
    admittedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:01.000Z',
    status: 'ok',
    steps: tools.map((tool, i) => ({
      state: { i },
      action: { i },
      atMs: i,
      tool: {
        tool: 'run_tests',
        ok: true,
        code: 0,
        stdoutTail: '',
        stderrTail: '',
        durationMs: 1,
        cached: false,
        ...tool,
      },
    })),
    ...extra,
  };
}

describe('tests_passed', () => {
  it('reads the last totals line a test runner prints', () => {
    expect(parsePassedFraction('passed 3 failed 1')).toBe(0.75);
    expect(parsePassedFraction('test 1 ok\npassed: 2, failed: 2\npassed: 5, failed: 0\n')).toBe(1);
    expect(parsePassedFraction('==== 4 passed, 4 failed in 0.1s ====')).toBe(0.5);
    expect(parsePassedFraction('===== 7 passed in 0.2s =====')).toBe(1);
    expect(parsePassedFraction('passed 0 failed 0')).toBe(0);
    expect(parsePassedFraction('all good')).toBeUndefined();
  });

  it('scores the last run_tests result: the fraction passed, else its exit code', async () => {
    const reward = testsPassedReward();
    expect(reward.name).toBe('tests_passed');
    expect(await reward.score(trajectory([{ stdoutTail: 'passed 1 failed 3', code: 1 }]))).toBe(0.25);
    expect(
      await reward.score(
        trajectory([{ stdoutTail: 'passed 0 failed 2', code: 1 }, { stdoutTail: 'passed 2 failed 0' }]),
      ),
    ).toBe(1);
    expect(await reward.score(trajectory([{ stdoutTail: 'no totals', code: 0 }]))).toBe(1);
    expect(await reward.score(trajectory([{ stdoutTail: 'no totals', code: 2 }]))).toBe(0);
    expect(await reward.score(trajectory([{ tool: 'lint', stdoutTail: 'passed 9 failed 0' }]))).toBe(0);
    expect(await reward.score(trajectory([{ ok: false, code: null, error: 'no tools host' }]))).toBe(0);
    expect(await reward.score(trajectory([]))).toBe(0);
  });
});

describe('onnx reward', () => {
  it('runs a real ONNX reward model on the features the plugin declares, loading the session once', async () => {
    const dir = await testDir('onnx-reward');
    const model = join(dir, 'reward.onnx');
    // score = 0.5 * steps + 2 * (passed fraction) - 1
    await writeFile(model, encodeLinearModel({ weights: [0.5, 2], bias: -1, head: 'linear' }));
    const passed = testsPassedReward();
    const reward = onnxReward({
      modelPath: model,
      features: (t) => [t.steps.length, passed.score(t) as number],
    });
    const t = trajectory([{ stdoutTail: 'passed 3 failed 1' }, { stdoutTail: 'passed 1 failed 1' }]);
    expect(await reward.score(t)).toBeCloseTo(0.5 * 2 + 2 * 0.5 - 1, 5);
    const sessions = cachedSessionCount();
    expect(await reward.score(trajectory([{ stdoutTail: 'passed 4 failed 0' }]))).toBeCloseTo(1.5, 5);
    expect(cachedSessionCount()).toBe(sessions); // same file: the cached session

    const sigmoid = join(dir, 'sigmoid.onnx');
    await writeFile(sigmoid, encodeLinearModel({ weights: [1], head: 'sigmoid', outputName: 'p' }));
    const probability = onnxReward({
      name: 'judge',
      modelPath: sigmoid,
      features: () => [0],
      outputName: 'p',
    });
    expect(probability.name).toBe('judge');
    expect(await probability.score(t)).toBeCloseTo(0.5, 5);
  });

  it('combines plugins by weight, and scores a failed trajectory 0 without running them', async () => {
    const dir = await testDir('reward-combine');
    const model = join(dir, 'constant.onnx');
    await writeFile(model, encodeLinearModel({ weights: [0], bias: 0.3, head: 'linear' }));
    const plugins = [
      testsPassedReward(),
      { plugin: onnxReward({ modelPath: model, features: () => [1] }), weight: 2 },
    ];
    const scored = await scoreTrajectory(trajectory([{ stdoutTail: 'passed 1 failed 1' }]), plugins);
    expect(scored.rewards.tests_passed).toBe(0.5);
    expect(scored.rewards.onnx).toBeCloseTo(0.3, 5);
    expect(scored.reward).toBeCloseTo(0.5 + 0.6, 5);
    const failed = await scoreTrajectory(trajectory([], { status: 'failed', error: 'x' }), [
      { name: 'explodes', score: () => Promise.reject(new Error('must not run')) },
    ]);
    expect(failed).toEqual({ reward: 0, rewards: { explodes: 0 } });
  });
});
