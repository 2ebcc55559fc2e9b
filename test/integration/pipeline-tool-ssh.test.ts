import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLinearModel, encodeLinearModel } from '../../examples/rl/onnx-linear.mjs';
import type { ToolDefinition } from '../../src/config/types.js';
import { createTransport } from '../../src/hosts/pool.js';
import type { Transport } from '../../src/hosts/transport.js';
import { EventBus, type YggEvents } from '../../src/observe/events.js';
import { Learner } from '../../src/pipeline/learner.js';
import { PolicyStore } from '../../src/pipeline/policy.js';
import { ReplayBuffer } from '../../src/pipeline/replay.js';
import { ToolQueue } from '../../src/pipeline/tool-queue.js';
import { type SshdInstance, startSuiteSshd, testSandboxSettings } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

describe('the tool queue and the learner over SSH', () => {
  let alpha: SshdInstance;
  let beta: SshdInstance;
  const transports: Transport[] = [];

  beforeAll(async () => {
    alpha = await startSuiteSshd('tools-alpha');
    beta = await startSuiteSshd('tools-beta');
  });

  afterAll(async () => {
    for (const t of transports) await t.close().catch(() => undefined);
    await alpha?.stop();
    await beta?.stop();
  });

  it('retries on the other tools host when one is killed mid-call', async () => {
    const hosts = [alpha.hostConfig('alpha'), beta.hostConfig('beta')];
    const toolHosts = hosts.map((h) => {
      const transport = createTransport(h);
      transports.push(transport);
      return { name: h.name, slots: 2, transport, workRoot: h.sandbox.workRoot };
    });
    // On alpha the tests hang (until the host is killed); on beta they pass.
    const tools: Record<string, ToolDefinition> = {
      run_tests: {
        name: 'run_tests',
        argv: [
          'sh',
          '-c',
          `touch started; case "$PWD" in ${alpha.dir}*) sleep 60;; esac; echo "passed 5 failed 0"`,
          'run_tests',
          '{suite}',
        ],
        files: {},
        timeoutMs: 90_000,
      },
    };
    const events = new EventBus();
    const calls: YggEvents['tool:called'][] = [];
    events.on('tool:called', (e) => calls.push(e));
    const queue = new ToolQueue({ tools, hosts: toolHosts, events });

    const call = queue.call('run_tests', { suite: 'unit' }, { taskId: 'bd-7' });
    // Once the tool really runs on alpha, take alpha away (sshd and every session it started).
    const workRoot = hosts[0]!.sandbox.workRoot;
    await waitUntil(
      () =>
        existsSync(workRoot) && readdirSync(workRoot).some((d) => existsSync(join(workRoot, d, 'started'))),
      { what: 'the tool to start on alpha' },
    );
    await alpha.kill();
    const result = await call;

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.host).toBe('beta');
    expect(result.attempts).toBe(2);
    expect(result.stdout).toContain('passed 5 failed 0');
    expect(calls.map((c) => [c.host, c.ok])).toEqual([
      ['alpha', false],
      ['beta', true],
    ]);
  });

  it('trains on an SSH learner host: batch and files put there, the checkpoint fetched back', async () => {
    const dir = await testDir('learner-ssh');
    const rl = fileURLToPath(new URL('../../examples/rl/', import.meta.url));
    // Node needs more address space than the tight test limits give.
    const host = beta.hostConfig('trainer', {
      roles: ['learner'],
      sandbox: testSandboxSettings(join(beta.dir, 'work'), { memoryBytes: 4 * 2 ** 30, cpuSeconds: 30 }),
    });
    const transport = createTransport(host);
    transports.push(transport);
    const policy = await PolicyStore.open(join(dir, '.ygg'));
    const initial = join(dir, 'v0.onnx');
    await writeFile(initial, encodeLinearModel({ weights: [0, 0] }));
    await policy.ensureInitial(initial);
    const replay = await ReplayBuffer.inRuntimeDir(join(dir, '.ygg'));
    for (let i = 0; i < 4; i++)
      await replay.add({
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
            action: { index: i % 2 },
            atMs: 0,
          },
        ],
        reward: i % 2,
      });
    const events = new EventBus();
    const learner = new Learner({
      settings: {
        host: 'trainer',
        command: ['node', '{script}', '{batch}', '{checkpoint}', '{policy}'],
        files: { script: `${rl}learner.mjs`, onnx: `${rl}onnx-linear.mjs` },
        batchSize: 4,
        maxStaleness: 1,
        maxInflight: 8,
        replayCapacity: 100,
        timeoutMs: 60_000,
      },
      transport,
      workRoot: host.sandbox.workRoot,
      replay,
      policy,
      runtimeDir: join(dir, '.ygg'),
      events,
    });
    const failures: string[] = [];
    events.on('learner:state', (e) => {
      if (e.detail?.startsWith('training failed')) failures.push(e.detail);
    });
    const published = new Promise<YggEvents['policy:published']>((resolve) =>
      events.on('policy:published', resolve),
    );
    learner.start();
    const result = await Promise.race([
      published,
      waitUntil(() => failures[0], { what: 'a training result', timeoutMs: 60_000 }).then((f) => {
        throw new Error(f);
      }),
    ]);
    await learner.stop();
    expect(result).toMatchObject({ version: 1, batchSize: 4 });
    const { weights } = decodeLinearModel(await readFile(policy.current()!.checkpoint));
    expect(weights[1]!).toBeGreaterThan(weights[0]!);
    expect(policy.current()?.host).toBe('trainer');
  });
});
