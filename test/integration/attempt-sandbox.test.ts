import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plugin as shell } from '../../plugins/shell.js';
import { parseConfig } from '../../src/config/load.js';
import type { YggConfig } from '../../src/config/types.js';
import { type AttemptOutcome, startAttempt } from '../../src/dispatch/attempt.js';
import { createTransport } from '../../src/hosts/pool.js';
import type { ExecResult, Transport } from '../../src/hosts/transport.js';
import type { Task } from '../../src/store/task.js';
import { loopHarness, pluginSet } from '../helpers/loop-harness.js';
import { ensureUser, processesMatching, SANDBOX_USER } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** hosts.yaml with one local host whose sandbox work root is in `dir`. */
function hostsYaml(dir: string, types: string): string {
  return `hosts:
  here:
    transport: local
    sandbox:
      run_as: ${SANDBOX_USER}
      work_root: ${dir}/work
types:
${types}`;
}

async function setup(name: string, types: string): Promise<{ dir: string; config: YggConfig }> {
  const dir = await testDir(name);
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'work'), { mode: 0o1777 });
  await chmod(join(dir, 'work'), 0o1777);
  ensureUser(SANDBOX_USER);
  const parsed = parseConfig(hostsYaml(dir, types), join(dir, 'hosts.yaml'));
  if (!parsed.config) throw new Error(JSON.stringify(parsed.errors));
  return { dir, config: parsed.config };
}

/** Runs a shell task through a real attempt on the config's only host. */
async function runShell(
  config: YggConfig,
  dir: string,
  type: string,
  ygg: Record<string, unknown>,
  options: { transport?: Transport; timeoutMs?: number; hardTimeoutMs?: number } = {},
): Promise<AttemptOutcome> {
  const host = config.hosts[0]!;
  await using owned = createTransport(host);
  const task: Task = { id: 'ygg-t1', title: 'shell task', metadata: { ygg } };
  const { done } = startAttempt({
    task,
    type,
    plugin: shell,
    host,
    transport: options.transport ?? owned,
    attempt: 1,
    gpus: [],
    artifactsDir: join(dir, 'artifacts'),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.hardTimeoutMs === undefined ? {} : { hardTimeoutMs: options.hardTimeoutMs }),
    log: silent,
    onProgress() {},
    onHeartbeat() {},
  });
  return done;
}

/**
 * The soft limits of `Max address space` and `Max cpu time` as the command saw them, and the
 * process limit its result names (counted by its own cgroup where the host has one).
 */
function limitsSeen(outcome: AttemptOutcome): { memory: string; cpu: string; processes: string } {
  if (outcome.kind !== 'succeeded') throw new Error(`expected success, got ${JSON.stringify(outcome)}`);
  const text = String(outcome.result.output);
  const soft = (name: string) => text.match(new RegExp(`^${name}\\s+(\\S+)`, 'm'))?.[1] ?? '';
  const protections = (outcome.result.metadata?.protections ?? []) as string[];
  const processes = protections.map((p) => p.match(/^process limit (\d+)/)?.[1]).find(Boolean) ?? '';
  return { memory: soft('Max address space'), cpu: soft('Max cpu time'), processes };
}

const showLimits = { argv: ['cat', '/proc/self/limits'] };
const MiB = 2 ** 20;

describe('sandbox limits of a task: its own, then its type, then the host', () => {
  it("runs a type's tasks under types.NAME.sandbox, not the host's defaults", async () => {
    const { dir, config } = await setup(
      'type-sandbox',
      `  general:
    hosts: [here]
    sandbox: {memory: 64M, cpu: 2s, processes: 20}
  other:
    hosts: [here]
`,
    );
    expect(limitsSeen(await runShell(config, dir, 'general', showLimits))).toEqual({
      memory: String(64 * MiB),
      cpu: '2',
      processes: '20',
    });
    // A type without its own sandbox keeps the host's (the shipped defaults here).
    expect(limitsSeen(await runShell(config, dir, 'other', showLimits))).toEqual({
      memory: String(2 * 2 ** 30),
      cpu: '600',
      processes: '256',
    });
  });

  it('takes a task limit that tightens, and never one that loosens', async () => {
    const { dir, config } = await setup(
      'task-limits',
      `  general:
    hosts: [here]
    sandbox: {memory: 64M, cpu: 2s, processes: 20}
`,
    );
    const tighter = await runShell(config, dir, 'general', {
      ...showLimits,
      limits: { memory: '32M', cpu: 1, processes: 10 },
    });
    expect(limitsSeen(tighter)).toEqual({ memory: String(32 * MiB), cpu: '1', processes: '10' });
    const looser = await runShell(config, dir, 'general', {
      ...showLimits,
      limits: { memory: '8G', cpu: '1h', processes: 1000 },
    });
    expect(limitsSeen(looser)).toEqual({ memory: String(64 * MiB), cpu: '2', processes: '20' });
  });

  it('keeps the network off for a task asking for it unless its type allows it', async () => {
    const { dir, config } = await setup(
      'task-network',
      `  general:
    hosts: [here]
  online:
    hosts: [here]
    sandbox: {network: true}
`,
    );
    const asked = await runShell(config, dir, 'general', { argv: ['true'], limits: { network: true } });
    expect(asked.kind === 'succeeded' && asked.result.metadata?.protections).toContain('no network');
    const allowed = await runShell(config, dir, 'online', { argv: ['true'] });
    expect(allowed.kind === 'succeeded' && allowed.result.metadata?.protections).toContain('network allowed');
    const refused = await runShell(config, dir, 'online', { argv: ['true'], limits: { network: false } });
    expect(refused.kind === 'succeeded' && refused.result.metadata?.protections).toContain('no network');
  });

  it('refuses unknown or malformed task limits, naming the key, without retrying', async () => {
    const { dir, config } = await setup('bad-limits', '  general:\n    hosts: [here]\n');
    const cases: Array<[unknown, RegExp]> = [
      [{ memroy: '1G' }, /metadata\.ygg\.limits\.memroy: unknown key; a task may set network, memory/],
      [{ memoryBytes: 1024 }, /metadata\.ygg\.limits\.memoryBytes: unknown key \(did you mean memory\?\)/],
      [{ run_as: 'root' }, /metadata\.ygg\.limits\.run_as: only hosts\.yaml sets it/],
      [{ memory: 'lots' }, /metadata\.ygg\.limits\.memory: "lots": expected a size like 512M/],
      [{ cpu: '5 minutes' }, /metadata\.ygg\.limits\.cpu: "5 minutes": expected a duration like/],
      [{ network: 'yes' }, /metadata\.ygg\.limits\.network: expected true or false/],
      [{ processes: 0 }, /metadata\.ygg\.limits\.processes: expected a positive integer/],
    ];
    for (const [limits, message] of cases) {
      const outcome = await runShell(config, dir, 'general', { argv: ['true'], limits });
      expect(outcome).toMatchObject({ kind: 'failed', retryable: false });
      expect(outcome.kind === 'failed' && outcome.error.message).toMatch(message);
    }
  });
});

describe("the attempt's deadline on its commands", () => {
  it('ends a command at the soft timeout and says it ran past the time limit', async () => {
    const { dir, config } = await setup('soft-deadline', '  general:\n    hosts: [here]\n');
    const outcome = await runShell(
      config,
      dir,
      'general',
      { argv: ['sh', '-c', 'sleep 4545.5'] },
      { timeoutMs: 1000, hardTimeoutMs: 30_000 },
    );
    expect(outcome).toMatchObject({ kind: 'failed', reason: 'timeout' });
    const message = outcome.kind === 'failed' ? outcome.error.message : '';
    expect(message).toMatch(/sh was stopped by the time limit after \d+ ms/);
    expect(message).toContain("stopped: it ran past the task's 1 s time limit");
    expect(message).not.toMatch(/cancel/);
    await waitUntil(() => processesMatching('sleep 4545.5').length === 0, { what: 'the sleep to end' });
  });

  it("bounds a command by the attempt's time left, even when the handler ignores its signal", async () => {
    const { dir, config } = await setup('wall-deadline', '  general:\n    hosts: [here]\n');
    // A handler that ignores its signal: only the bound ctx.exec passes down can end the command.
    let seenTimeout: number | undefined;
    let seen: ExecResult | undefined;
    const host = config.hosts[0]!;
    await using transport = createTransport(host);
    const spy: Transport = Object.create(transport, {
      exec: {
        value: (argv: readonly string[], options: Parameters<Transport['exec']>[1]) => {
          seenTimeout = options?.timeoutMs;
          return transport.exec(argv, options);
        },
      },
    });
    const task: Task = { id: 'ygg-t2', title: 'stubborn', metadata: { ygg: {} } };
    const started = performance.now();
    const { done } = startAttempt({
      task,
      type: 'general',
      plugin: {
        name: 'deaf',
        types: [],
        async run(_task, ctx) {
          seen = await ctx.exec(['sh', '-c', 'sleep 4646.5'], { sandbox: true });
          return 'done';
        },
      },
      host,
      transport: spy,
      attempt: 1,
      gpus: [],
      artifactsDir: join(dir, 'artifacts'),
      timeoutMs: 1500,
      hardTimeoutMs: 60_000,
      log: silent,
      onProgress() {},
      onHeartbeat() {},
    });
    expect(await done).toMatchObject({ kind: 'failed', reason: 'timeout' });
    expect(seenTimeout).toBeGreaterThan(1000);
    expect(seenTimeout).toBeLessThanOrEqual(1500);
    // Without the bound, the sandbox's wall clock is twice the CPU budget plus 10 s (1210 s here).
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(seen).toMatchObject({
      limit: 'time',
      limitMessage: "stopped: it ran past the task's 1.5 s time limit",
    });
    expect(seen?.protections).toContain('wall-clock limit 2 s (then the process group is killed)');
  });
});

describe("ygg's secrets and a task's command", () => {
  it("keeps the host's api_key_env out of a sandboxed task: printenv prints nothing", async () => {
    const name = 'YGG_ATTEMPT_TEST_API_KEY';
    const key = `not-a-real-key-${process.pid}`;
    process.env[name] = key;
    try {
      const { dir } = await setup('api-key-env', '  general:\n    hosts: [here]\n');
      const yaml = hostsYaml(dir, '  general:\n    hosts: [here]\n').replace(
        '    transport: local\n',
        `    transport: local\n    model: {api: openai, url: "http://127.0.0.1:9", model: m, api_key_env: ${name}}\n`,
      );
      const parsed = parseConfig(yaml, join(dir, 'hosts.yaml'));
      expect(parsed.config?.hosts[0]?.model?.apiKeyEnv).toBe(name);
      const outcome = await runShell(parsed.config!, dir, 'general', { argv: ['printenv', name] });
      // printenv exits 1 when the variable is not set; the key is nowhere in the outcome.
      expect(outcome.kind).toBe('failed');
      expect(outcome.kind === 'failed' && outcome.error.message).toMatch(/^printenv exited with code 1/);
      expect(JSON.stringify(outcome)).not.toContain(key);
    } finally {
      delete process.env[name];
    }
  });
});

describe('a command that does not exist', () => {
  it('fails without retrying and says it was not found on the host', async () => {
    const { dir, config } = await setup('not-found', '  general:\n    hosts: [here]\n');
    const outcome = await runShell(config, dir, 'general', { argv: ['ygg-no-such-command', '--flag'] });
    expect(outcome).toMatchObject({ kind: 'failed', retryable: false });
    expect(outcome.kind === 'failed' && outcome.error.message).toMatch(
      /^ygg-no-such-command: command not found on host here/,
    );
  });
});

describe('type limits through the loop', () => {
  it('a shell task of a type with its own sandbox runs under it', async () => {
    const dir = await testDir('type-sandbox-loop');
    await chmod(dir, 0o755);
    ensureUser(SANDBOX_USER);
    await mkdir(join(dir, 'work'));
    await chmod(join(dir, 'work'), 0o1777);
    const h = await loopHarness(
      'type-sandbox-loop-run',
      `${hostsYaml(
        dir,
        `  general:
    hosts: [here]
    attempts: 1
    sandbox: {memory: 96M, processes: 30}
`,
      )}`,
      pluginSet(shell),
      { transport: (host) => createTransport(host), start: false },
    );
    await h.loop.start();
    const { id } = await h.store.add({
      title: 'limits',
      metadata: { ygg: { handler: 'shell', argv: ['cat', '/proc/self/limits'] } },
    });
    await h.waitFor('task:succeeded', (e) => e.taskId === id);
    const result = JSON.stringify(h.store.get(id)?.comments);
    expect(result).toMatch(new RegExp(`Max address space +${96 * MiB} `));
    expect(result).toMatch(/process limit 30 /);
  });
});

describe('GPUs in the sandbox', () => {
  it('brings the GPU devices into the sandbox of a command whose slot holds GPUs', async () => {
    const { dir, config } = await setup('attempt-gpu', '  general: {}\n');
    const host = config.hosts[0]!;
    await using inner = createTransport(host);
    const seen: Array<{ gpu: unknown; env: unknown }> = [];
    const recording: Transport = Object.assign(Object.create(inner) as Transport, {
      exec(argv: readonly string[], options: Parameters<Transport['exec']>[1] = {}) {
        const sandbox = options.sandbox;
        seen.push({ gpu: typeof sandbox === 'object' ? sandbox.gpu : sandbox, env: options.env });
        return inner.exec(argv, options);
      },
    });
    for (const gpus of [[1], []]) {
      const { done } = startAttempt({
        task: { id: 'ygg-g1', title: 'gpu task', metadata: { ygg: { argv: ['true'] } } },
        type: 'general',
        plugin: shell,
        host,
        transport: recording,
        attempt: 1,
        gpus,
        artifactsDir: join(dir, 'artifacts'),
        log: silent,
        onProgress() {},
        onHeartbeat() {},
      });
      expect((await done).kind).toBe('succeeded');
    }
    expect(seen[0]).toMatchObject({ gpu: true, env: { CUDA_VISIBLE_DEVICES: '1' } });
    expect(seen[1]?.gpu).not.toBe(true);
  });
});
