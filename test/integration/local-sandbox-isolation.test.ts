import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxSettings } from '../../src/config/types.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { localSandboxWrap } from '../../src/hosts/sandbox-local.js';
import { parseSandboxProbe, sandboxProbeArgv } from '../../src/hosts/sandbox-probe.js';
import {
  cgroupLeft,
  classicForkBomb,
  forkBomb,
  innocent,
  runShellTask,
  threeFiles,
} from '../helpers/sandbox-payloads.js';
import { ensureUser, processesMatching, SANDBOX_USER, testSandboxSettings } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

async function localHost(name: string, overrides: Partial<SandboxSettings> = {}) {
  const dir = await testDir(name);
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'work'), { mode: 0o1777 });
  await chmod(join(dir, 'work'), 0o1777);
  ensureUser(SANDBOX_USER);
  const settings = testSandboxSettings(join(dir, 'work'), { processes: 32, ...overrides });
  return new LocalTransport('here', localSandboxWrap(settings));
}

const nothingLeft = (marker: string) =>
  waitUntil(() => processesMatching(marker).length === 0, {
    what: `processes with ${marker} to end`,
    timeoutMs: 20_000,
  });

describe('each sandboxed command has its own process count and memory (a cgroup of its own)', () => {
  it('lets an innocent task run beside a fork bomb, and the bomb fails naming the process limit', async () => {
    await using local = await localHost('bomb-neighbour');
    let bombStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      bombStarted = resolve;
    });
    const bomb = local.exec(forkBomb('ygglocalbomb'), {
      sandbox: true,
      timeoutMs: 8000,
      onOutput: (chunk) => chunk.includes('started') && bombStarted(),
    });
    await started;
    // The bomb has used up its own 32 processes by now; the neighbour counts its own.
    const neighbour = await runShellTask(local, innocent);
    expect(neighbour).toMatchObject({ ok: true });
    const bombResult = await bomb;
    expect(bombResult.limit).toBe('processes');
    expect(bombResult.limitMessage).toBe('could not start more processes: the limit is 32');
    expect(bombResult.protections).toContain(
      "process limit 32 (own v1 cgroup: counts this command's processes only)",
    );
    await nothingLeft('ygglocalbomb');
  });

  it('fails the classic fork bomb naming the process limit, though its main process exits 0', async () => {
    await using local = await localHost('classic-bomb', { processes: 16 });
    const out = await runShellTask(local, classicForkBomb, { timeoutMs: 8000 });
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.error).toMatch(/^bash was stopped by the process-count limit/);
    expect(out.ok ? '' : out.error).not.toMatch(/exited 0/);
  });

  it('removes the cgroup and kills what is left when the command ends', async () => {
    await using local = await localHost('cgroup-gone');
    // Without bubblewrap a command has a cgroup when hosts.yaml asks for one.
    const r = await local.exec(['sh', '-c', 'pwd; sleep 4747.5 & echo bg'], {
      sandbox: { enabled: false, cgroup: true },
    });
    expect(r.protections).toContain("process limit 32 (own v1 cgroup: counts this command's processes only)");
    const workdir = r.stdout.split('\n')[0]!;
    expect(r.stdout).toContain('bg');
    // Without bubblewrap's pid namespace the cgroup still ends the detached child.
    await nothingLeft('sleep 4747.5');
    expect(cgroupLeft(workdir)).toBe(false);
  });
});

/** The command names from `pid`'s parent up to (not including) this test's process. */
function ancestorsUpToUs(pid: number): string[] {
  const names: string[] = [];
  let at = pid;
  for (let hops = 0; hops < 20; hops++) {
    // /proc/PID/stat: "PID (comm) state PPID ..."
    const stat = readFileSync(`/proc/${at}/stat`, 'utf8');
    at = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (at === process.pid || at <= 1) return names;
    const parent = readFileSync(`/proc/${at}/stat`, 'utf8');
    names.push(parent.slice(parent.indexOf('(') + 1, parent.lastIndexOf(')')));
  }
  return names;
}

describe('how a sandboxed command starts on this machine', () => {
  it('is bubblewrap spawned by ygg itself, no shell, timeout or setpriv between, and in its own cgroup', async () => {
    await using local = await localHost('no-wrapper');
    const marker = 'sleep 4748.5';
    const stop = new AbortController();
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const limits = "grep -E 'cpu time|file size|address space' /proc/self/limits";
    const run = local.exec(
      ['sh', '-c', `grep pids /proc/self/cgroup; ${limits}; echo started; exec ${marker}`],
      {
        sandbox: true,
        signal: stop.signal,
        onOutput: (chunk) => chunk.includes('started') && started(),
      },
    );
    await running;
    let sleeper: { pid: number; user: string } | undefined;
    await waitUntil(
      () => {
        sleeper = processesMatching(marker).find((p) => p.args === marker);
        return sleeper !== undefined;
      },
      { what: 'the command to be running', timeoutMs: 20_000 },
    );
    // The reaper shell inside, bubblewrap's namespace process, bubblewrap: then this process.
    expect(ancestorsUpToUs(sleeper!.pid)).toEqual(['sh', 'bwrap', 'bwrap']);
    expect(sleeper!.user).toBe(SANDBOX_USER);
    stop.abort();
    const r = await run;
    expect(r.stdout).toMatch(/^\d+:pids:\/ygg\/run-[\w-]+$/m);
    // The rlimits of testSandboxSettings, soft and hard, as prlimit set them before.
    const limit = (name: string) =>
      r.stdout.match(new RegExp(`^Max ${name}\\s+(\\d+)\\s+(\\d+)`, 'm'))?.slice(1);
    expect(limit('cpu time')).toEqual(['2', '3']);
    expect(limit('file size')).toEqual([String(8 * 2 ** 20), String(8 * 2 ** 20)]);
    expect(limit('address space')).toEqual([String(256 * 2 ** 20), String(256 * 2 ** 20)]);
    expect(r.limit).toBe('cancelled');
    await nothingLeft(marker);
  });
});

describe('the cgroup probe', () => {
  it('finds the v1 controllers and removes command cgroups a lost teardown left behind', async () => {
    const stale = `/sys/fs/cgroup/pids/ygg/run-stale-${process.pid}`;
    await mkdir(stale, { recursive: true });
    execFileSync('touch', ['-d', '2 hours ago', stale]);
    const [command, ...args] = sandboxProbeArgv(SANDBOX_USER) as [string, ...string[]];
    const caps = parseSandboxProbe(execFileSync(command, args, { encoding: 'utf8' }), SANDBOX_USER);
    expect(caps.cgroup).toEqual({
      kind: 'v1',
      pids: '/sys/fs/cgroup/pids/ygg',
      memory: '/sys/fs/cgroup/memory/ygg',
      cpu: '/sys/fs/cgroup/cpu/ygg',
      cpuacct: '/sys/fs/cgroup/cpuacct/ygg',
    });
    expect(existsSync(stale)).toBe(false);
  });
});

describe('a disk limit per command, not per file', () => {
  it('stops one task writing three files of 15 MB under a 20 MB disk limit, naming the disk limit', async () => {
    await using local = await localHost('disk-limit', {
      diskBytes: 20 * 2 ** 20,
      fileSizeBytes: 16 * 2 ** 20,
    });
    const out = await runShellTask(local, threeFiles);
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.error).toMatch(/^sh was stopped by the disk limit/);
    expect(out.ok ? '' : out.error).toContain('its work directory is full: the disk limit is 20 MiB');
    expect(out.ok ? '' : out.error).not.toContain('wrote all');
  });

  it('keeps /dev, /home and /root read-only and /dev/shm bounded', async () => {
    await using local = await localHost('dev-ro');
    const r = await local.exec(
      [
        'sh',
        '-c',
        'touch /dev/x /home/x /root/x 2>&1; head -c 20000000 /dev/zero > /dev/shm/big || echo shm-full',
      ],
      { sandbox: true },
    );
    expect(r.stdout.match(/Read-only file system/g)).toHaveLength(3);
    expect(r.stdout).toContain('shm-full');
  });
});

describe('the environment of a sandboxed command', () => {
  it("starts empty: ygg's API key is not in it; PATH, HOME, LANG and the named variables are", async () => {
    const name = 'YGG_TEST_SANDBOX_API_KEY';
    process.env[name] = `not-a-real-key-${process.pid}`;
    try {
      await using local = await localHost('env', { env: { FROM_HOSTS_YAML: 'yes' } });
      const leaked = await runShellTask(local, ['printenv', name]);
      expect(leaked.ok).toBe(false);
      expect(JSON.stringify(leaked)).not.toContain(process.env[name]);
      const r = await local.exec(['sh', '-c', 'env | sort'], { sandbox: true, env: { FROM_TASK: 'also' } });
      const names = r.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0]);
      expect(names).toEqual(['FROM_HOSTS_YAML', 'FROM_TASK', 'HOME', 'LANG', 'PATH', 'PWD']);
      expect(r.stdout).toContain(`PATH=${process.env.PATH}`);
    } finally {
      delete process.env[name];
    }
  });
});

describe('CPU: a share per command where cgroups allow, the CPU-seconds limit as backstop', () => {
  it('ends four spinning processes when together they used up the 2 s CPU limit', async () => {
    await using local = await localHost('cpu-limit');
    // Each process alone stays under the per-process rlimit for twice as long: the cgroup
    // counts them together, so the slot is not held until the wall clock.
    const r = await local.exec(['sh', '-c', 's(){ while :; do :; done; }; s & s & s & s & wait'], {
      sandbox: true,
      // A wall clock far past the CPU budget, so a loaded machine cannot end it first.
      timeoutMs: 60_000,
    });
    expect(r.limit).toBe('cpu');
    expect(r.limitMessage).toBe('stopped: it used up its 2 s of CPU time');
    expect(r.protections).toContain('CPU limit 2 s (all its processes together)');
  });

  it('holds a spin to its CPU share: 1 s of CPU at a quarter core takes far longer than 1 s', async () => {
    await using local = await localHost('cpu-share', { cpuSeconds: 1, cpuShare: 0.25 });
    const r = await local.exec(['sh', '-c', 'while :; do :; done'], { sandbox: true });
    expect(r.limit).toBe('cpu');
    // About 4 s at the quota (CFS lets a little burst through at the start); alone it takes 1 s.
    expect(r.durationMs).toBeGreaterThan(2500);
    expect(r.protections).toContain('CPU share 0.25 cores (cgroup quota)');
  });
});
