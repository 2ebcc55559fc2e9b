import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolDefinition } from '../../src/config/types.js';
import { createTransport } from '../../src/hosts/pool.js';
import type { Transport } from '../../src/hosts/transport.js';
import { EventBus, type YggEvents } from '../../src/observe/events.js';
import { ToolQueue } from '../../src/pipeline/tool-queue.js';
import { type SshdInstance, startSuiteSshd } from '../helpers/sshd.js';
import { waitUntil } from '../helpers/wait.js';

describe('the tool queue over SSH', () => {
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
});
