import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plugin as shell } from '../../plugins/shell.js';
import type { SandboxSettings } from '../../src/config/types.js';
import { SshTransport } from '../../src/hosts/ssh/transport.js';
import type { ExecOptions } from '../../src/hosts/transport.js';
import type { HandlerContext } from '../../src/plugins/api.js';
import type { Task } from '../../src/store/task.js';
import {
  ensureUser,
  processesMatching,
  SANDBOX_USER,
  type SshdInstance,
  startSuiteSshd,
  TEST_USER,
  testSandboxSettings,
} from '../helpers/sshd.js';
import { waitUntil } from '../helpers/wait.js';

/** Runs a task's argv through the real shell handler, its ctx.exec going to the SSH host. */
async function runShellTask(transport: SshTransport, argv: string[], timeoutMs: number) {
  const task: Task = { id: 'ygg-test', title: 'hostile', metadata: { ygg: { argv } } };
  const controller = new AbortController();
  const ctx = {
    signal: controller.signal,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    attempt: 1,
    type: 'shell',
    artifactsDir: '/nonexistent',
    progress() {},
    heartbeat() {},
    exec: (a: readonly string[], o?: ExecOptions) => transport.exec(a, { ...o, timeoutMs }),
  } as unknown as HandlerContext;
  try {
    return { ok: true as const, result: await shell.run(task, ctx) };
  } catch (error) {
    return { ok: false as const, error: (error as Error).message };
  }
}

describe('sandboxed commands on an SSH host', () => {
  let sshd: SshdInstance;
  let transport: SshTransport;
  let settings: SandboxSettings;
  const secret = `not-a-real-key-${process.pid}`;

  beforeAll(async () => {
    sshd = await startSuiteSshd('ssh-sandbox');
    settings = testSandboxSettings(`${sshd.dir}/work`);
    transport = new SshTransport('sbx', sshd.sshSettings(), { sandbox: settings });
    // The login user's own secret, which sandboxed work must not read.
    const home = ensureUser(TEST_USER).home;
    await mkdir(`${home}/.ssh`, { recursive: true, mode: 0o700 });
    await writeFile(`${home}/.ssh/id_ygg_test_secret`, secret, { mode: 0o600 });
    execFileSync('chown', ['-R', `${TEST_USER}:`, `${home}/.ssh`]);
  });

  afterAll(async () => {
    await transport?.close();
    await sshd?.stop();
  });

  const nothingLeft = (marker: string) =>
    waitUntil(() => processesMatching(marker).length === 0, {
      what: `processes with ${marker} to end`,
      timeoutMs: 15_000,
    });

  const stillHealthy = async () => expect((await transport.probe()).latencyMs).toBeLessThan(5000);

  it('probes the host and says which protections are in force', async () => {
    const caps = await transport.sandboxCapabilities();
    expect(caps).toMatchObject({ bwrap: 'working', prlimit: true, timeout: true, setpriv: true });
    const result = await transport.exec(['sh', '-c', 'id -un; echo hi > here; cat here; pwd'], {
      sandbox: true,
    });
    expect(result.code).toBe(0);
    const [user, hi, pwd] = result.stdout.trim().split('\n');
    expect(user).toBe(TEST_USER);
    expect(hi).toBe('hi');
    expect(pwd).toMatch(new RegExp(`^${sshd.dir}/work/run-`));
    expect(result.protections).toEqual(
      expect.arrayContaining([
        'no network',
        'home directories hidden',
        'own pid namespace: nothing outlives the command',
      ]),
    );
    // Logged in without root, the host offers no cgroup to ygg: the result says so.
    expect(result.protections?.filter((p) => p.startsWith('NOT in force'))).toEqual([
      expect.stringMatching(
        /^NOT in force: a cgroup of its own \(no writable cgroup for uid \d+\): the process limit counts all sandboxed commands of uid \d+ together, so one fork bomb can stop its neighbours/,
      ),
    ]);
    // The work directory ygg made is gone afterwards.
    expect(execFileSync('ls', [`${sshd.dir}/work`], { encoding: 'utf8' }).trim()).toBe('');
  });

  it('contains a fork bomb: processes limit, nothing left behind', async () => {
    const out = await runShellTask(
      transport,
      ['sh', '-c', 'yggbomb(){ yggbomb | yggbomb & }; yggbomb; sleep 60'],
      3000,
    );
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.error).toMatch(/process-count limit/);
    await nothingLeft('yggbomb');
    await stillHealthy();
  });

  it('stops an allocation past the memory limit', async () => {
    const r = await transport.exec(
      ['python3', '-c', 'x = bytearray(1024 * 1024 * 1024); print("allocated")'],
      {
        sandbox: true,
      },
    );
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('allocated');
    expect(r.limit).toBe('memory');
    expect(r.limitMessage).toMatch(/ran out of memory: the 256 MiB memory limit/);
    await stillHealthy();
  });

  it('stops a CPU spin at the CPU limit', async () => {
    const r = await transport.exec(['sh', '-c', 'while :; do :; done; : yggspin'], {
      sandbox: { cpuSeconds: 1 },
      timeoutMs: 20_000,
    });
    expect(r.limit).toBe('cpu');
    expect(r.limitMessage).toBe('stopped: it used up its 1 s of CPU time');
    await nothingLeft('yggspin');
    await stillHealthy();
  });

  it('stops writing past the file-size limit', async () => {
    const out = await runShellTask(
      transport,
      ['sh', '-c', 'head -c 100000000 /dev/zero > big; echo wrote'],
      10_000,
    );
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.error).toMatch(/file-size limit/);
  });

  it('denies a network connection to the host own sshd', async () => {
    const script = `import socket; socket.create_connection(("127.0.0.1", ${sshd.port}), timeout=5); print("connected")`;
    const r = await transport.exec(['python3', '-c', script], { sandbox: true });
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('connected');
    expect(r.stderr).toMatch(/refused|unreachable/i);
    const allowed = await transport.exec(['python3', '-c', script], { sandbox: { network: true } });
    expect(allowed.stdout).toContain('connected');
    expect(allowed.protections).toContain('network allowed');
  });

  it("cannot read the login user's ~/.ssh", async () => {
    const file = `/home/${TEST_USER}/.ssh/id_ygg_test_secret`;
    const outside = await transport.exec(['cat', file]);
    expect(outside.stdout).toBe(secret);
    const inside = await transport.exec(['cat', file], { sandbox: true });
    expect(inside.code).not.toBe(0);
    expect(inside.stdout).not.toContain(secret);
    expect(inside.stderr).toMatch(/No such file/);
  });

  it('kills a process that ignores SIGTERM at the wall-clock limit', async () => {
    const out = await runShellTask(
      transport,
      ['sh', '-c', 'trap "" TERM; sleep 4242.5; : yggstubborn'],
      1500,
    );
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.error).toMatch(/time limit/);
    await nothingLeft('sleep 4242.5');
    await stillHealthy();
  });

  it('ends a child that detaches with setsid', async () => {
    const r = await transport.exec(['sh', '-c', 'setsid sleep 4343.5 & echo detached'], { sandbox: true });
    expect(r.stdout).toBe('detached\n');
    await nothingLeft('sleep 4343.5');
    // Cancellation reaches a detached child too.
    const controller = new AbortController();
    const cancelled = await transport.exec(['sh', '-c', 'setsid sleep 4344.5 & echo go; sleep 4344.6'], {
      sandbox: true,
      signal: controller.signal,
      onOutput: () => controller.abort(),
    });
    expect(cancelled.limit).toBe('cancelled');
    await nothingLeft('sleep 4344.');
    await stillHealthy();
  });

  it('logged in as root, drops to the unprivileged run_as user', async () => {
    await using root = new SshTransport('root-host', sshd.sshSettings({ user: 'root' }), {
      sandbox: settings,
    });
    const r = await root.exec(['sh', '-c', 'id -un; cat /root/.ssh/* 2>&1 | head -c 0; ls /root | wc -l'], {
      sandbox: true,
    });
    expect(r.stdout.split('\n')[0]).toBe(SANDBOX_USER);
    expect(r.protections).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^runs as ${SANDBOX_USER} \\(uid \\d+\\), not root$`)),
      ]),
    );
    const bomb = await root.exec(
      ['sh', '-c', 'yggrootbomb(){ yggrootbomb | yggrootbomb & }; yggrootbomb; sleep 60'],
      {
        sandbox: true,
        timeoutMs: 3000,
      },
    );
    expect(bomb.limit).toBe('processes');
    await nothingLeft('yggrootbomb');
  });
});
