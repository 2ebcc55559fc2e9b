import { describe, expect, it } from 'vitest';
import { hostsJsonSchema } from '../../src/config/json-schema.js';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';

const learner = 'hosts:\n  a:\n    slots: 1\nlearner:\n  host: a\n  command: [x]\n  rewards:\n';

function errorsOf(rewards: string): string[] {
  const result = parseConfig(learner + rewards, '/cfg/hosts.yaml');
  expect(result.config).toBeUndefined();
  return result.errors.map((p) => formatProblem(p));
}

describe('learner.rewards', () => {
  it('is validated like the rest of hosts.yaml: each problem with its key path and line', () => {
    expect(errorsOf('    - {name: tests_passed, wieght: 2}\n')).toEqual([
      '/cfg/hosts.yaml:8: learner.rewards[0].wieght: unknown key "wieght" (did you mean "weight"?)',
    ]);
    expect(errorsOf('    - {name: tests_passed}\n    - {name: onx}\n')).toEqual([
      '/cfg/hosts.yaml:9: learner.rewards[1].name: expected one of tests_passed, onnx, got "onx"',
    ]);
    expect(errorsOf('    - name: onnx\n      model: r.onnx\n')).toEqual([
      '/cfg/hosts.yaml:8: learner.rewards[0].features: required key is missing (for name: onnx)',
    ]);
    expect(errorsOf('    - name: tests_passed\n      model: r.onnx\n')).toEqual([
      '/cfg/hosts.yaml:9: learner.rewards[0].model: only for name: onnx, got "r.onnx"',
    ]);
    expect(errorsOf('    - {name: onnx, model: r.onnx, features: f.mjs, weight: high}\n')).toEqual([
      '/cfg/hosts.yaml:8: learner.rewards[0].weight: expected a number, got "high"',
    ]);
    expect(errorsOf('    - {name: tests_passed}\n    - {name: tests_passed, tool: lint}\n')).toEqual([
      expect.stringMatching(
        /^\/cfg\/hosts\.yaml:9: learner\.rewards\[1\]\.name: an earlier reward is scored under this key too/,
      ),
    ]);
  });

  it('is normalized: weights, names, paths against the file, features from a module or a plugin', () => {
    const result = parseConfig(
      `${learner}    - {name: tests_passed, tool: check}
    - {name: onnx, model: models/r.onnx, features: ./features.ts, weight: 0.5}
    - {name: onnx, model: /m/s.onnx, features: rl-rollout, as: style, input: x, output: y}
`,
      '/cfg/hosts.yaml',
    );
    expect(result.errors).toEqual([]);
    expect(result.config?.learner?.rewards).toEqual([
      { plugin: 'tests_passed', name: 'tests_passed', weight: 1, tool: 'check' },
      {
        plugin: 'onnx',
        name: 'onnx',
        weight: 0.5,
        model: '/cfg/models/r.onnx',
        features: { module: '/cfg/features.ts' },
        input: 'features',
      },
      {
        plugin: 'onnx',
        name: 'style',
        weight: 1,
        model: '/m/s.onnx',
        features: { plugin: 'rl-rollout' },
        input: 'x',
        output: 'y',
      },
    ]);
    // Without the key: none named (the pipeline scores with tests_passed alone).
    const plain = parseConfig(
      'hosts:\n  a:\n    slots: 1\nlearner:\n  host: a\n  command: [x]\n',
      '/cfg/hosts.yaml',
    );
    expect(plain.config?.learner).toBeDefined();
    expect(plain.config?.learner?.rewards).toBeUndefined();
  });

  it('is in the JSON schema editors read', () => {
    const text = JSON.stringify(hostsJsonSchema());
    expect(text).toContain('rewardFeatures(trajectory)');
  });
});
