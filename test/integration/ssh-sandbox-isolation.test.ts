import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshTransport } from '../../src/hosts/ssh/transport.js';
import {
  cgroupLeft,
  classicForkBomb,
  forkBomb,
  innocent,
  runShellTask,
  threeFiles,
} from '../helpers/sandbox-payloads.js';
import {
  processesMatching,
  type SshdInstance,
  startSuiteSshd,
  testSandboxSettings,
} from '../helpers/sshd.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Over SSH, logged in as root: the wrapper on the host gives each command a cgroup of its own
 * before dropping to the unprivileged run_as user (all commands share that one user).
 */
describe('sandbox isolation between commands on an SSH host', () => {
  let sshd: SshdInstance;
  let transport: SshTransport;

  beforeAll(async () => {
    sshd = await startSuiteSshd('ssh-isolation', { user: 'root' });
    const settings = testSandboxSettings(`${sshd.dir}/work`, {
      processes: 32,
      diskBytes: 20 * 2 ** 20,
      fileSizeBytes: 16 * 2 ** 20,
    });
    transport = new SshTransport('iso', sshd.sshSettings(), { sandbox: settings });
  });

  afterAll(async () => {
    await transport?.close();
    await sshd?.stop();
  });

  const nothingLeft = (marker: string) =>
    waitUntil(() => processesMatching(marker).length === 0, {
      what: `processes with ${marker} to end`,
      timeoutMs: 20_000,
    });

  it('lets an innocent task run beside a fork bomb, and the bomb fails naming the process limit', async () => {
    let bombStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      bombStarted = resolve;
    });
    const bomb = transport.exec(forkBomb('yggsshbomb'), {
      sandbox: true,
      timeoutMs: 8000,
      onOutput: (chunk) => chunk.includes('started') && bombStarted(),
    });
    await started;
    const neighbour = await runShellTask(transport, innocent);
    expect(neighbour).toMatchObject({ ok: true });
    const bombResult = await bomb;
    expect(bombResult.limit).toBe('processes');
    expect(bombResult.protections).toContain(
      "process limit 32 (own v1 cgroup: counts this command's processes only)",
    );
    await nothingLeft('yggsshbomb');
  });

  it('fails the classic fork bomb naming the process limit, though its main process exits 0', async () => {
    const out = await runShellTask(transport, classicForkBomb, { timeoutMs: 8000 });
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.error).toMatch(/^bash was stopped by the process-count limit/);
  });

  it('stops one task writing three files of 15 MB under a 20 MB disk limit, naming the disk limit', async () => {
    const out = await runShellTask(transport, threeFiles);
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.error).toMatch(/^sh was stopped by the disk limit/);
  });

  it('ends four spinning processes when together they used up the CPU limit', async () => {
    const r = await transport.exec(['sh', '-c', 's(){ while :; do :; done; }; s & s & s & s & wait'], {
      sandbox: true,
      timeoutMs: 60_000,
    });
    expect(r.limit).toBe('cpu');
    expect(r.protections).toContain('CPU limit 2 s (all its processes together)');
  });

  it('starts from an empty environment and removes its cgroup afterwards', async () => {
    const r = await transport.exec(['sh', '-c', 'pwd; env | sort'], {
      sandbox: true,
      env: { FROM_TASK: 'also' },
    });
    const [workdir, ...vars] = r.stdout.trim().split('\n');
    expect(vars.map((line) => line.split('=')[0])).toEqual(['FROM_TASK', 'HOME', 'LANG', 'PATH', 'PWD']);
    expect(cgroupLeft(workdir!)).toBe(false);
  });
});
