import { join } from 'node:path';
import type { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plugin as shell } from '../../plugins/shell.js';
import type { HostConfig } from '../../src/config/types.js';
import { type AttemptOutcome, startAttempt } from '../../src/dispatch/attempt.js';
import { commandNotFound } from '../../src/hosts/not-found.js';
import { openConnection } from '../../src/hosts/ssh/connection.js';
import { SshTransport } from '../../src/hosts/ssh/transport.js';
import type { Task } from '../../src/store/task.js';
import {
  processesMatching,
  type SshdInstance,
  startSuiteSshd,
  testSandboxSettings,
} from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('attempts of shell tasks on an SSH host', () => {
  let sshd: SshdInstance;
  let host: HostConfig;
  /** Every connection the transport opened, so a test can drop them. */
  const clients: Client[] = [];
  let transport: SshTransport;

  beforeAll(async () => {
    sshd = await startSuiteSshd('ssh-attempt');
    // A generous CPU budget: the sandbox's own wall-clock default is then 70 s.
    host = sshd.hostConfig('sbx', { sandbox: testSandboxSettings(`${sshd.dir}/work`, { cpuSeconds: 30 }) });
    transport = new SshTransport('sbx', host.ssh!, {
      sandbox: host.sandbox,
      connect: async (signal) => {
        const client = await openConnection('sbx', host.ssh!, signal);
        clients.push(client);
        return client;
      },
    });
  });

  afterAll(async () => {
    await transport?.close();
    await sshd?.stop();
  });

  async function attempt(
    name: string,
    argv: string[],
    options: { host?: HostConfig; type?: string; timeoutMs?: number; hardTimeoutMs?: number } = {},
  ): Promise<{ done: Promise<AttemptOutcome> }> {
    const task: Task = { id: 'ygg-ssh1', title: name, metadata: { ygg: { argv } } };
    const { done } = startAttempt({
      task,
      type: options.type ?? 'general',
      plugin: shell,
      host: options.host ?? host,
      transport,
      attempt: 1,
      gpus: [],
      artifactsDir: join(await testDir(name), 'artifacts'),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.hardTimeoutMs === undefined ? {} : { hardTimeoutMs: options.hardTimeoutMs }),
      log: silent,
      onProgress() {},
      onHeartbeat() {},
    });
    return { done };
  }

  it("ends the command on the host at the attempt's deadline even after the connection dropped", async () => {
    const started = Date.now();
    // 8 s leaves a loaded machine time to log in and start the sandbox before the deadline.
    const { done } = await attempt('dropped', ['sh', '-c', 'sleep 4747.5'], {
      timeoutMs: 8000,
      hardTimeoutMs: 60_000,
    });
    await waitUntil(() => processesMatching('sleep 4747.5').length > 0, {
      what: 'the remote sleep to start',
      timeoutMs: 20_000,
    });
    for (const client of clients.splice(0)) client.destroy();
    const outcome = await done;
    expect(outcome.kind).toBe('failed');
    // Nobody is left to kill it from here: only the host's own bound (8 s, not 70 s) ends it.
    await waitUntil(() => processesMatching('sleep 4747.5').length === 0, {
      what: 'the remote sleep to end on its own',
      timeoutMs: 30_000,
    });
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 90_000);

  it('runs a task of a type with its own sandbox under that sandbox', async () => {
    const typed: HostConfig = {
      ...host,
      typeSandbox: { general: { memoryBytes: 64 * 2 ** 20, processes: 20, cpuSeconds: 3 } },
    };
    const { done } = await attempt('typed', ['cat', '/proc/self/limits'], { host: typed });
    const outcome = await done;
    expect(outcome.kind).toBe('succeeded');
    const text = outcome.kind === 'succeeded' ? String(outcome.result.output) : '';
    expect(text).toMatch(new RegExp(`^Max address space +${64 * 2 ** 20} `, 'm'));
    expect(text).toMatch(/^Max processes +20 /m);
    expect(text).toMatch(/^Max cpu time +3 /m);
  });

  it('says a missing command was not found on the host, and does not retry it', async () => {
    const inBwrap = await (await attempt('missing-bwrap', ['ygg-no-such-command', 'x'])).done;
    expect(inBwrap).toMatchObject({ kind: 'failed', retryable: false });
    expect(inBwrap.kind === 'failed' && inBwrap.error.message).toMatch(
      /^ygg-no-such-command: command not found on host sbx/,
    );
    // Without bubblewrap the command is exec'd by prlimit, which exits 127.
    const bare: HostConfig = { ...host, typeSandbox: { general: { enabled: false } } };
    const noBwrap = await (await attempt('missing-bare', ['ygg-no-such-command'], { host: bare })).done;
    expect(noBwrap).toMatchObject({ kind: 'failed', retryable: false });
    expect(noBwrap.kind === 'failed' && noBwrap.error.message).toMatch(
      /^ygg-no-such-command: command not found on host sbx\nprotections: .*NOT in force: bubblewrap/,
    );
    // Outside the sandbox the remote shell says so with 127.
    const raw = await transport.exec(['ygg-no-such-command']);
    expect(raw.code).toBe(127);
    expect(commandNotFound('ygg-no-such-command', raw)).toBe(true);
    // A command that runs and exits 127 itself is not taken for a missing one.
    const own = await transport.exec(['sh', '-c', 'exit 127']);
    expect(commandNotFound('sh', own)).toBe(false);
  });
});
