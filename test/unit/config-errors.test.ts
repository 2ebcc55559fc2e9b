import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';

const host = 'hosts:\n  a:\n    slots: 1\n';

/** The formatted errors of `yaml`, as `ygg config check` prints them. */
function errorsOf(yaml: string): string[] {
  const result = parseConfig(yaml, 'hosts.yaml');
  expect(result.config).toBeUndefined();
  return result.errors.map((p) => formatProblem(p));
}

function warningsOf(yaml: string): string[] {
  const result = parseConfig(yaml, 'hosts.yaml');
  expect(result.errors.map((p) => formatProblem(p))).toEqual([]);
  return result.warnings.map((p) => formatProblem(p));
}

describe('schema errors name the key path and the line', () => {
  const cases: Array<[string, string, string]> = [
    [
      'a non-positive slot count',
      'hosts:\n  surtr:\n    slots: -2\n',
      'hosts.yaml:3: hosts.surtr.slots: expected a whole number',
    ],
    [
      'a fractional slot count',
      'hosts:\n  surtr:\n    slots: 1.5\n',
      'hosts.yaml:3: hosts.surtr.slots: expected a whole number',
    ],
    [
      'an unknown transport',
      'hosts:\n  surtr:\n    transport: pigeon\n',
      'hosts.yaml:3: hosts.surtr.transport: expected one of local, ssh, got "pigeon"',
    ],
    [
      'a bad duration',
      `${host}types:\n  general:\n    timeout: soon\n`,
      'hosts.yaml:6: types.general.timeout: expected a duration',
    ],
    [
      'a duration of the wrong type',
      `${host}queue:\n  lease: true\n`,
      'hosts.yaml:5: queue.lease: expected a duration',
    ],
    [
      'a bad size',
      'hosts:\n  a:\n    sandbox:\n      memory: 12 parsecs\n',
      'hosts.yaml:4: hosts.a.sandbox.memory: expected a size like 512M, 2G',
    ],
    [
      'a list item of the wrong type',
      `${host}types:\n  general:\n    hosts:\n      - a\n      - 7\n`,
      'hosts.yaml:8: types.general.hosts[1]: expected a string, got 7',
    ],
    [
      'a missing required key',
      `${host}learner:\n  command: [x]\n`,
      'hosts.yaml:4: learner.host: required key is missing',
    ],
    [
      'jitter out of range',
      `${host}defaults:\n  backoff:\n    jitter: 2\n`,
      'hosts.yaml:6: defaults.backoff.jitter: expected a fraction',
    ],
    [
      'a bad fingerprint',
      'hosts:\n  a:\n    transport: ssh\n    fingerprint: MD5:aa\n',
      'hosts.yaml:4: hosts.a.fingerprint: expected a host key fingerprint',
    ],
    [
      'a bad model url',
      'hosts:\n  a:\n    model:\n      api: ollama\n      url: nope\n      model: m\n',
      'hosts.yaml:5: hosts.a.model.url: expected a URL',
    ],
    [
      'a wrong rate limit',
      `${host}queue:\n  rate_limit: {per: 3}\n`,
      'hosts.yaml:5: queue.rate_limit: expected {starts, window} or {min_gap}',
    ],
    [
      'a map where a list belongs',
      `${host}type_rules: {type: x}\n`,
      'hosts.yaml:4: type_rules: expected a list, got a map',
    ],
  ];
  for (const [what, yaml, expected] of cases) {
    it(`reports ${what}`, () => {
      const errors = errorsOf(yaml);
      expect(
        errors.some((e) => e.startsWith(expected)),
        `${errors.join('\n')}\nshould include: ${expected}`,
      ).toBe(true);
    });
  }
});

describe('unknown keys are errors', () => {
  it('at every level, each at its own line, with a suggestion', () => {
    const yaml = [
      'hosts:',
      '  surtr:',
      '    slotz: 2',
      '    model:',
      '      api: ollama',
      '      url: http://127.0.0.1:11434',
      '      model: m',
      '      temprature: 1',
      'types:',
      '  general:',
      '    retries: 3',
      'colour: blue',
    ].join('\n');
    expect(errorsOf(yaml)).toEqual([
      'hosts.yaml:3: hosts.surtr.slotz: unknown key "slotz" (did you mean "slots"?)',
      'hosts.yaml:8: hosts.surtr.model.temprature: unknown key "temprature" (expected one of: api, url, model, api_key_env, options, timeouts)',
      expect.stringMatching(
        /^hosts\.yaml:11: types\.general\.retries: unknown key "retries" \(expected one of: hosts, attempts/,
      ),
      expect.stringMatching(/^hosts\.yaml:12: colour: unknown key "colour" \(expected one of: hosts, types/),
    ]);
  });
});

describe('YAML errors', () => {
  it('reports a duplicate key with its line', () => {
    expect(errorsOf('hosts:\n  a:\n    slots: 1\n    slots: 2\n')).toEqual([
      'hosts.yaml:4: Map keys must be unique',
    ]);
  });

  it('reports broken YAML with its line', () => {
    const [first] = errorsOf('hosts:\n  a: [1, 2\n');
    expect(first).toMatch(/^hosts\.yaml:\d+: /);
  });
});

describe('rule checks', () => {
  const cases: Array<[string, string, string]> = [
    ['no hosts at all', 'types: {}\n', 'hosts.yaml:1: hosts: no hosts defined'],
    [
      'a host with 0 slots',
      'hosts:\n  a:\n    slots: 0\n',
      'hosts.yaml:3: hosts.a.slots: a host with 0 slots can never run a task',
    ],
    [
      'a type naming an unknown host',
      'hosts:\n  fenrir: {}\ntypes:\n  general:\n    hosts: [fenrir, fenrri]\n',
      'hosts.yaml:5: types.general.hosts[1]: unknown host "fenrri" (did you mean "fenrir"?)',
    ],
    [
      'a host listed twice for a type',
      'hosts:\n  a: {}\ntypes:\n  general:\n    hosts:\n      - a\n      - a\n',
      'hosts.yaml:7: types.general.hosts[1]: host "a" is listed twice',
    ],
    [
      'a learner host that does not exist',
      'hosts:\n  a: {}\nlearner:\n  host: b\n  command: [learn]\n',
      'hosts.yaml:4: learner.host: unknown host "b"',
    ],
    [
      'an estimate for an unknown host',
      'hosts:\n  a: {}\ntypes:\n  general:\n    estimate: {a: 1s, b: 2s}\n',
      'hosts.yaml:5: types.general.estimate.b: unknown host "b"',
    ],
    [
      'a hard timeout before the soft one',
      'hosts:\n  a: {}\ntypes:\n  general:\n    timeout: 5m\n    hard_timeout: 1m\n',
      'hosts.yaml:6: types.general.hard_timeout: hard_timeout is shorter than timeout',
    ],
    [
      'a backoff whose max is below its base',
      'hosts:\n  a: {}\ndefaults:\n  backoff: {base: 1m, max: 5s}\n',
      'hosts.yaml:4: defaults.backoff.max: backoff max is shorter than base',
    ],
    [
      'slots that disagree with the GPUs',
      'hosts:\n  a:\n    gpus: [0, 1]\n    slots_per_gpu: 2\n    slots: 3\n',
      'hosts.yaml:5: hosts.a.slots: slots is 3 but gpus x slots_per_gpu is 4',
    ],
    [
      'a GPU listed twice',
      'hosts:\n  a:\n    gpus: [0, 0]\n',
      'hosts.yaml:3: hosts.a.gpus: GPU 0 is listed twice',
    ],
    [
      'slots_per_gpu without gpus',
      'hosts:\n  a:\n    slots_per_gpu: 2\n',
      'hosts.yaml:3: hosts.a.slots_per_gpu: slots_per_gpu needs `gpus`',
    ],
    [
      'a per-type model without an endpoint to complete it',
      'hosts:\n  a:\n    models_by_type:\n      reasoning: {model: r1}\n',
      'hosts.yaml:4: hosts.a.models_by_type.reasoning: missing api, url',
    ],
  ];
  for (const [what, yaml, expected] of cases) {
    it(`reports ${what}`, () => {
      const errors = errorsOf(yaml);
      expect(
        errors.some((e) => e.startsWith(expected)),
        `${errors.join('\n')}\nshould include: ${expected}`,
      ).toBe(true);
    });
  }

  it('returns all errors at once, in line order', () => {
    const yaml =
      'hosts:\n  a:\n    slots: 0\ntypes:\n  general:\n    hosts: [zz]\nlearner:\n  host: yy\n  command: [x]\n';
    expect(errorsOf(yaml).map((e) => e.split(':').slice(0, 3).join(':'))).toEqual([
      'hosts.yaml:3: hosts.a.slots',
      'hosts.yaml:6: types.general.hosts[0]',
      'hosts.yaml:8: learner.host',
    ]);
  });

  it('warns without failing', () => {
    const warnings = warningsOf(
      [
        'hosts:',
        '  a:',
        '    address: 10.0.0.1',
        '    gpu_memory_gb: 4',
        'types:',
        '  grading:',
        '    vram_gb: 6',
        'tools:',
        '  run_tests: {argv: [pytest]}',
        'status:',
        '  host: 0.0.0.0',
        'notify: {}',
      ].join('\n'),
    );
    expect(warnings).toEqual([
      'hosts.yaml:3: hosts.a.address: ignored: `address` only applies to `transport: ssh` (warning)',
      'hosts.yaml:6: types.grading: no type rule or issue_types entry gives this type; add one under `type_rules:` (warning)',
      expect.stringMatching(/^hosts\.yaml:7: types\.grading\.vram_gb: needs 6 GB but host "a" has 4 GB/),
      expect.stringMatching(/^hosts\.yaml:8: tools: no host has the tools role/),
      expect.stringMatching(/^hosts\.yaml:11: status\.host: the status server listens on 0\.0\.0\.0/),
      expect.stringMatching(/^hosts\.yaml:12: notify: neither `command` nor `webhook`/),
    ]);
  });
});
