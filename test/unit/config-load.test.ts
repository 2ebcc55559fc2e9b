import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDefaults } from '../../src/config/defaults.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { classifyType } from '../../src/config/type-rules.js';
import type { YggConfig } from '../../src/config/types.js';
import { parseDuration, parseSize } from '../../src/config/units.js';
import { testDir } from '../helpers/tmp.js';

function configOf(yaml: string, path = 'hosts.yaml'): YggConfig {
  const result = parseConfig(yaml, path);
  expect(result.errors).toEqual([]);
  return result.config!;
}

describe('durations and sizes', () => {
  it('reads every duration form, a bare number being seconds', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(2)).toBe(2000);
    expect(parseDuration(0.25)).toBe(250);
  });

  it('reads every size form in binary multiples, a bare number being bytes', () => {
    expect(parseSize('512M')).toBe(512 * 2 ** 20);
    expect(parseSize('2G')).toBe(2 * 2 ** 30);
    expect(parseSize('64KiB')).toBe(64 * 1024);
    expect(parseSize('1t')).toBe(2 ** 40);
    expect(parseSize(4096)).toBe(4096);
  });

  it('converts them in the normalized config', () => {
    const config = configOf(
      [
        'hosts:',
        '  a:',
        '    probe_interval: 250ms',
        '    sandbox: {memory: 512M, file_size: 1048576, tmp: 2G, cpu: 90s}',
        'types:',
        '  general:',
        '    timeout: 5m',
        '    hard_timeout: 1h',
        '    backoff: {base: 2, max: 1.5m}',
        '    estimate: 30s',
        'queue:',
        '  poll_interval: 5',
        '  rate_limit: {starts: 3, window: 1m}',
      ].join('\n'),
    );
    const [host] = config.hosts;
    expect(host?.probeIntervalMs).toBe(250);
    expect(host?.sandbox).toMatchObject({
      memoryBytes: 512 * 2 ** 20,
      fileSizeBytes: 1048576,
      tmpBytes: 2 * 2 ** 30,
      cpuSeconds: 90,
    });
    expect(config.types.general).toMatchObject({
      timeoutMs: 300_000,
      hardTimeoutMs: 3_600_000,
      backoff: { baseMs: 2000, maxMs: 90_000 },
      estimateMs: 30_000,
    });
    expect(config.queue.pollIntervalMs).toBe(5000);
    expect(config.queue.rateLimit).toEqual({ starts: 3, windowMs: 60_000 });
  });
});

describe('defaults', () => {
  it('fills every setting of a minimal file with the documented defaults', () => {
    const config = configOf('hosts:\n  solo: {}\n');
    expect(config.hosts).toEqual([
      {
        name: 'solo',
        transport: 'local',
        slots: 1,
        roles: ['inference'],
        typeModels: {},
        sandbox: configDefaults.sandbox,
        probeIntervalMs: 10_000,
        probeFailures: 3,
      },
    ]);
    expect(config.queue).toEqual({
      order: 'fifo',
      strategy: 'priority',
      pollIntervalMs: 30_000,
      leaseMs: 60_000,
      shutdownGraceMs: 30_000,
      modelLabelPrefix: 'model:',
      weights: {},
      boostLabel: 'boost',
    });
    expect(config.status).toEqual({ host: '127.0.0.1', port: 7467, names: [] });
    expect(config.defaults).toEqual({
      attempts: 3,
      backoff: configDefaults.backoff,
      sandbox: configDefaults.sandbox,
    });
    expect(config.types.general).toEqual({
      name: 'general',
      hosts: ['solo'],
      backoff: configDefaults.backoff,
      estimateMsByHost: {},
      releaseSlotOnTool: true,
    });
    expect(config.learner).toBeUndefined();
    expect(config.tools).toEqual({});
  });

  it('gives every type the default rules name a config, eligible on inference hosts in file order', () => {
    const config = configOf(
      'hosts:\n  zeta: {}\n  alpha: {}\n  toolbox: {roles: [tools]}\ntypes:\n  reasoning: {hosts: [alpha]}\n',
    );
    expect(Object.keys(config.types).sort()).toEqual(
      [
        'code-generation',
        'code-refactor',
        'code-review',
        'general',
        'reasoning',
        'summarize',
        'text-generation',
        'text-processing',
      ].sort(),
    );
    expect(config.types.reasoning?.hosts).toEqual(['alpha']);
    expect(config.types['code-review']?.hosts).toEqual(['zeta', 'alpha']);
    expect(config.hosts.map((h) => h.name)).toEqual(['zeta', 'alpha', 'toolbox']);
  });

  it('keeps the file defaults apart from what a type sets (the handler plugin comes between)', () => {
    const config = configOf(
      [
        'hosts:',
        '  a: {}',
        'defaults:',
        '  attempts: 5',
        '  timeout: 10m',
        '  backoff: {factor: 3}',
        '  sandbox: {memory: 1G}',
        'types:',
        '  reasoning:',
        '    attempts: 1',
        '    sandbox: {network: true}',
      ].join('\n'),
    );
    expect(config.defaults).toMatchObject({ attempts: 5, timeoutMs: 600_000 });
    expect(config.types.general).toMatchObject({ backoff: { factor: 3, baseMs: 1000 } });
    expect(config.types.general?.attempts).toBeUndefined();
    expect(config.types.general?.timeoutMs).toBeUndefined();
    expect(config.types.reasoning).toMatchObject({ attempts: 1, sandbox: { network: true } });
    expect(config.hosts[0]?.sandbox.memoryBytes).toBe(2 ** 30);
  });

  it('binds slots to GPUs', () => {
    const config = configOf('hosts:\n  a:\n    gpus: 2\n    slots_per_gpu: 3\n  b:\n    gpus: [1, 3]\n');
    expect(config.hosts[0]).toMatchObject({ slots: 6, gpuBinding: { gpus: [0, 1], perGpu: 3 } });
    expect(config.hosts[1]).toMatchObject({ slots: 2, gpuBinding: { gpus: [1, 3], perGpu: 1 } });
  });
});

describe('normalization', () => {
  it('fills SSH settings and resolves local paths against the file folder', async () => {
    const dir = await testDir('ssh-paths');
    await mkdir(join(dir, 'keys'));
    await writeFile(join(dir, 'keys', 'id'), 'not a real key\n');
    await mkdir(join(dir, 'my-plugins'));
    const path = join(dir, 'hosts.yaml');
    await writeFile(
      path,
      [
        'hosts:',
        '  surtr:',
        '    transport: ssh',
        '    address: 10.0.0.8',
        '    user: ygg',
        '    key: keys/id',
        '    known_hosts: ~/kh',
        '    keepalive: 5s',
        'plugins:',
        '  dirs: [my-plugins]',
      ].join('\n'),
    );
    const result = await loadConfig(path);
    expect(result.errors).toEqual([]);
    const config = result.config!;
    expect(config.sourcePath).toBe(path);
    expect(config.hosts[0]?.ssh).toEqual({
      address: '10.0.0.8',
      port: 22,
      user: 'ygg',
      keyFile: join(dir, 'keys', 'id'),
      knownHosts: join(homedir(), 'kh'),
      keepaliveMs: 5000,
      maxChannelsPerConnection: 5,
      connectTimeoutMs: 10_000,
    });
    expect(config.pluginDirs).toEqual([join(dir, 'my-plugins')]);
    expect(result.warnings.map((w) => w.path.join('.'))).toEqual(['hosts.surtr.known_hosts']);
  });

  it('merges per-type model endpoints over the host endpoint', () => {
    const config = configOf(
      [
        'hosts:',
        '  a:',
        '    model:',
        '      api: ollama',
        '      url: http://127.0.0.1:11434',
        '      model: qwen',
        '      timeouts: {idle: 5s}',
        '    models_by_type:',
        '      reasoning: {model: r1, timeouts: {total: 1h}}',
      ].join('\n'),
    );
    const host = config.hosts[0]!;
    expect(host.model).toEqual({
      api: 'ollama',
      url: 'http://127.0.0.1:11434',
      model: 'qwen',
      connectTimeoutMs: 10_000,
      firstTokenTimeoutMs: 120_000,
      idleTimeoutMs: 5000,
      totalTimeoutMs: 1_800_000,
    });
    expect(host.typeModels.reasoning).toMatchObject({
      model: 'r1',
      idleTimeoutMs: 5000,
      totalTimeoutMs: 3_600_000,
    });
  });

  it('puts file type rules before the built-in ones and maps issue types', () => {
    const config = configOf(
      [
        'hosts:',
        '  a: {}',
        'type_rules:',
        '  - {type: grading, labels: grade, title_prefix: "grade:"}',
        'issue_types:',
        '  bug: code-generation',
        'types:',
        '  grading: {max_concurrent: 2}',
      ].join('\n'),
    );
    expect(config.typeRules[0]).toEqual({
      type: 'grading',
      labels: ['grade'],
      titlePrefixes: ['grade:'],
      titleContains: [],
      issueTypes: [],
    });
    expect(config.types.grading).toMatchObject({ maxConcurrent: 2, hosts: ['a'] });
    expect(classifyType({ title: 'grade: run 4', labels: [] }, config)).toBe('grading');
    expect(classifyType({ title: 'fix it', issue_type: 'bug' }, config)).toBe('code-generation');
    expect(classifyType({ title: 'hello' }, config)).toBe('general');
    // `ygg add --type grading` stores the label: a declared type's name is its own rule.
    expect(classifyType({ title: 'analyze run 4', labels: ['grading'] }, config)).toBe('grading');
  });

  it('reads the pipeline sections', () => {
    const config = configOf(
      [
        'hosts:',
        '  a: {roles: [inference, tools, learner]}',
        'tools:',
        '  run_tests: {argv: [pytest, "{workdir}"], timeout: 5m}',
        'tool_queue: {cache_ttl: 1m}',
        'learner:',
        '  host: a',
        '  command: [python3, learn.py]',
        '  batch_size: 4',
        'notify:',
        '  webhook: http://127.0.0.1:9/hook',
      ].join('\n'),
    );
    expect(config.tools?.run_tests).toEqual({
      name: 'run_tests',
      argv: ['pytest', '{workdir}'],
      files: {},
      timeoutMs: 300_000,
    });
    expect(config.toolQueue).toEqual({ cacheTtlMs: 60_000, maxAttempts: 3 });
    expect(config.learner).toEqual({
      host: 'a',
      command: ['python3', 'learn.py'],
      files: {},
      batchSize: 4,
      maxStaleness: 1,
      maxInflight: 16,
      replayCapacity: 1000,
    });
    expect(config.notify).toEqual({
      webhook: 'http://127.0.0.1:9/hook',
      on: ['dead', 'host-down', 'host-up'],
    });
  });

  it('reports a file that cannot be read', async () => {
    const dir = await testDir('unreadable');
    const result = await loadConfig(join(dir, 'missing.yaml'));
    expect(result.config).toBeUndefined();
    expect(result.errors[0]?.message).toMatch(/^cannot read: ENOENT/);
  });
});

describe('type rules', () => {
  const config = { typeRules: configOf('hosts:\n  a: {}\n').typeRules, issueTypeMap: {} };

  it('lets a label win over a title rule of an earlier rule', () => {
    expect(classifyType({ title: 'code: write a parser', labels: ['summarize'] }, config)).toBe('summarize');
    expect(classifyType({ title: 'analyze the logs', labels: ['code-review'] }, config)).toBe('code-review');
  });

  it('reads titles when no label matches', () => {
    expect(classifyType({ title: 'Code: write a parser', labels: ['unrelated'] }, config)).toBe(
      'code-generation',
    );
    expect(classifyType({ title: 'Please ANALYZE this', labels: [] }, config)).toBe('reasoning');
    expect(classifyType({ title: 'anything else' }, config)).toBe('general');
  });
});

describe('forgiving forms', () => {
  it('reads an entry with nothing under it as an entry with every default', () => {
    const config = configOf('hosts:\n  bare:\ntypes:\n  general:\n');
    expect(config.hosts.map((h) => [h.name, h.slots])).toEqual([['bare', 1]]);
    expect(config.types.general?.hosts).toEqual(['bare']);
  });

  it('reports an empty file as having no hosts', () => {
    const result = parseConfig('', 'hosts.yaml');
    expect(result.errors.map((e) => [e.line, e.message])).toEqual([
      [1, 'no hosts defined: add at least one under `hosts:`'],
    ]);
  });

  it('warns about pipeline files that do not exist, relative to the file', async () => {
    const dir = await testDir('pipeline-files');
    await writeFile(join(dir, 'learn.py'), 'print(1)\n');
    const path = join(dir, 'hosts.yaml');
    await writeFile(
      path,
      [
        'hosts:',
        '  a: {roles: [inference, tools, learner]}',
        'tools:',
        '  run_tests: {argv: [pytest], files: {suite: tests.py}}',
        'learner:',
        '  host: a',
        '  command: [python3, "{learn}"]',
        '  files: {learn: learn.py}',
      ].join('\n'),
    );
    const result = await loadConfig(path);
    expect(result.config?.learner?.files).toEqual({ learn: join(dir, 'learn.py') });
    expect(result.warnings.map((w) => `${w.line}: ${w.message}`)).toEqual([
      `4: file not found: ${join(dir, 'tests.py')}`,
    ]);
  });
});
