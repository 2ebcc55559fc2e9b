import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plugin as shell } from '../../plugins/shell.js';
import type { HostDiagnosis } from '../../src/cli/doctor.js';
import { type FixResult, fixHost } from '../../src/cli/doctor-fix.js';
import type { HostReport } from '../../src/cli/hosts.js';
import { parseConfig } from '../../src/config/load.js';
import { startAttempt } from '../../src/dispatch/attempt.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { localSandboxWrap } from '../../src/hosts/sandbox-local.js';
import { runYgg, yggBin } from '../helpers/cli.js';
import { innocent, runShellTask } from '../helpers/sandbox-payloads.js';
import {
  ensureUser,
  processesMatching,
  processesOf,
  SANDBOX_USER,
  startSuiteSshd,
  testSandboxSettings,
} from '../helpers/sshd.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Where a host gives ygg no cgroup (turned off here with `sandbox.cgroup: false`, as a host
 * without a writable cgroup would be), `ygg doctor --fix` makes a user per slot and each slot's
 * commands run as its own user: the process rlimit then counts per slot.
 */
const SLOTS = 2;
const SHARED_USER = 'yggslotshared';
const slotUsers = Array.from({ length: SLOTS }, (_, i) => `ygg-slot-${i}`);
const exists = (user: string) => {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

let dir: string;
let config: string;
let existedBefore: string[];
/** The shared run_as user the contrast test made, removed after its processes are gone. */
let cleanupShared = false;

beforeAll(async () => {
  existedBefore = slotUsers.filter(exists);
  // Shared by the tests below (testDir belongs to one test).
  dir = await mkdtemp(join(tmpdir(), 'ygg-slot-users-'));
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'work'), { mode: 0o1777 });
  await chmod(join(dir, 'work'), 0o1777);
  ensureUser(SANDBOX_USER);
  config = join(dir, 'hosts.yaml');
  await writeFile(
    config,
    `hosts:
  here:
    slots: ${SLOTS}
    sandbox: {run_as: ${SANDBOX_USER}, work_root: ${dir}/work, processes: 50, cgroup: false}
`,
  );
});

afterAll(async () => {
  await waitUntil(() => processesMatching('yggslotbomb').length === 0, {
    what: 'the fork bomb to end before its user is removed',
    timeoutMs: 20_000,
  }).catch(() => undefined);
  for (const user of slotUsers) {
    if (!existedBefore.includes(user) && exists(user)) execFileSync('userdel', [user]);
  }
  if (cleanupShared) {
    await waitUntil(() => processesMatching('yggsharedbomb').length === 0, {
      what: 'the shared fork bomb to end',
      timeoutMs: 20_000,
    }).catch(() => undefined);
    execFileSync('userdel', ['-r', SHARED_USER], { stdio: 'ignore' });
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * A fork bomb whose main process forks nothing after it starts, so it holds its processes until
 * the wall clock ends it (the payload's `sleep 60` may find no process left to fork).
 */
const holdingBomb = (marker: string) => [
  'sh',
  '-c',
  `${marker}(){ ${marker} | ${marker} & }; sleep 60 & echo started; ${marker}; wait`,
];

/** `ygg ARGS` run as the unprivileged test user. */
function runYggUnprivileged(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      'runuser',
      ['-u', SANDBOX_USER, '--', process.execPath, yggBin, ...args],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1', HOME: dir }, timeout: 60_000 },
      (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }),
    );
  });
}

describe('ygg doctor --fix', () => {
  it('refuses without root, saying how to run it', async () => {
    const r = await runYggUnprivileged(['doctor', '--fix', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('here: FAIL ygg is not running as root here');
    expect(r.stdout).toContain('fix: Run it again as root: sudo ygg doctor --fix here');
    for (const user of slotUsers) expect(exists(user)).toBe(existedBefore.includes(user));
  });

  it('creates a locked, login-less system user per slot, and a second run has nothing to do', async () => {
    const first = await runYgg(['doctor', '--fix', '--config', config], { cwd: dir });
    expect(first.code).toBe(0);
    const created = slotUsers.filter((u) => !existedBefore.includes(u));
    if (created.length > 0) expect(first.stdout).toContain(`here: created ${created.join(', ')}`);
    for (const user of slotUsers) {
      const entry = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((line) => line.startsWith(`${user}:`));
      expect(entry?.split(':')[6]).toMatch(/nologin$|\/bin\/false$/);
      const shadow = readFileSync('/etc/shadow', 'utf8')
        .split('\n')
        .find((line) => line.startsWith(`${user}:`));
      expect(shadow?.split(':')[1]).toMatch(/^[!*]/);
    }
    const again = await runYgg(['doctor', '--fix', 'here', '--json', '--config', config], { cwd: dir });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout) as FixResult[]).toEqual([
      { host: 'here', ok: true, created: [], existing: slotUsers },
    ]);
    const text = await runYgg(['doctor', '--fix', '--config', config], { cwd: dir });
    expect(text.stdout).toBe('here: nothing to do: a user per slot exists (ygg-slot-0, ygg-slot-1)\n');
  });
});

describe('ygg doctor --fix for an SSH host', () => {
  it('says to run it there as root when its login is not root', async () => {
    await using sshd = await startSuiteSshd('slot-fix-user');
    const result = await fixHost(sshd.hostConfig('remote', { slots: SLOTS }));
    expect(result).toMatchObject({ host: 'remote', ok: false, created: [] });
    expect(result.error).toMatch(
      /^ygg logs in to remote as \S+ \(uid \d+\), not root: making the slot users needs root$/,
    );
    expect(result.fix).toContain(
      'Run `ygg doctor --fix` as root on remote, or run there as root: useradd --system',
    );
  });

  it('makes them over a root login, and finds them there on a second run', async () => {
    await using sshd = await startSuiteSshd('slot-fix-root', { user: 'root' });
    const host = sshd.hostConfig('remote', { slots: SLOTS });
    const first = await fixHost(host);
    expect(first.ok).toBe(true);
    expect([...first.created, ...first.existing].sort()).toEqual(slotUsers);
    expect(await fixHost(host)).toEqual({ host: 'remote', ok: true, created: [], existing: slotUsers });
  });
});

describe('a user per slot where the host gives no cgroup (after ygg doctor --fix)', () => {
  const local = () =>
    new LocalTransport(
      'here',
      localSandboxWrap(testSandboxSettings(join(dir, 'work'), { processes: 50, cgroup: false })),
    );

  it('lets an innocent task on slot 1 run beside a fork bomb on slot 0, which fails naming the process limit', async () => {
    await using transport = local();
    // The shell says "Cannot fork" once the bomb has used up its count: the event to wait on.
    let bombFull!: () => void;
    const full = new Promise<void>((resolve) => {
      bombFull = resolve;
    });
    const bomb = transport.exec(holdingBomb('yggslotbomb'), {
      sandbox: { slot: 0 },
      timeoutMs: 8000,
      onOutput: (chunk) => /fork/i.test(chunk) && bombFull(),
    });
    await full;
    // The bomb fills its slot's 50 processes, all its slot user's (ps misses its short-lived
    // forks; the wrapper above setpriv is root's); slot 1's user counts its own.
    const bombers = (user: string) => processesMatching('yggslotbomb').filter((p) => p.user === user);
    expect(processesOf('ygg-slot-0').length).toBeGreaterThan(0);
    expect(bombers(SANDBOX_USER)).toEqual([]);
    expect(bombers('ygg-slot-1')).toEqual([]);
    const neighbour = await runShellTask(transport, innocent, { sandbox: { slot: 1 } });
    expect(neighbour).toMatchObject({ ok: true });
    const bombResult = await bomb;
    expect(bombResult.limit).toBe('processes');
    expect(bombResult.limitMessage).toBe('could not start more processes: the limit is 50');
    expect(bombResult.protections).toContain(
      "process limit 50 for its slot (a user per slot: runs as ygg-slot-0, so other slots' processes do not count against it)",
    );
    expect(bombResult.protections).toContain(
      'NOT in force: a cgroup of its own (sandbox.cgroup is false in hosts.yaml): a user per slot holds the process count per slot; memory and CPU time are bounded per process only',
    );
    await waitUntil(() => processesMatching('yggslotbomb').length === 0, {
      what: 'the fork bomb to end',
      timeoutMs: 20_000,
    });
  });

  it('without a user for their slots, a fork bomb is held by the count all tasks share, and the result says so', async () => {
    // A run_as user of this test's own, so the bomb takes no other test's processes.
    const sharedExisted = exists(SHARED_USER);
    ensureUser(SHARED_USER);
    try {
      await using transport = new LocalTransport(
        'here',
        localSandboxWrap(
          testSandboxSettings(join(dir, 'work'), { processes: 50, cgroup: false, runAs: SHARED_USER }),
        ),
      );
      let bombFull!: () => void;
      const full = new Promise<void>((resolve) => {
        bombFull = resolve;
      });
      const bomb = transport.exec(holdingBomb('yggsharedbomb'), {
        sandbox: { slot: SLOTS },
        timeoutMs: 8000,
        onOutput: (chunk) => /fork/i.test(chunk) && bombFull(),
      });
      await full;
      expect(processesOf(SHARED_USER).length).toBeGreaterThan(0);
      // Whether a neighbour started now fails depends on how full the shared count is at that
      // moment (timing, not asserted); what holds is the limit and the plain wording.
      const bombResult = await bomb;
      expect(bombResult.limit).toBe('processes');
      expect(bombResult.protections).toContain(
        `NOT in force: a cgroup of its own (sandbox.cgroup is false in hosts.yaml): the process limit counts all sandboxed commands of ${SHARED_USER} together, so one fork bomb can stop its neighbours; memory is bounded per process only (per-user limits shared by all tasks)`,
      );
      await waitUntil(() => processesMatching('yggsharedbomb').length === 0, {
        what: 'the fork bomb to end',
        timeoutMs: 20_000,
      });
    } finally {
      if (!sharedExisted) cleanupShared = true;
    }
  });

  it('says per-user limits are shared by all tasks for a slot without a user of its own', async () => {
    await using transport = local();
    const r = await transport.exec(['id', '-un'], { sandbox: { slot: SLOTS } });
    expect(r.stdout).toBe(`${SANDBOX_USER}\n`);
    expect(r.protections).toContain(
      `NOT in force: a cgroup of its own (sandbox.cgroup is false in hosts.yaml): the process limit counts all sandboxed commands of ${SANDBOX_USER} together, so one fork bomb can stop its neighbours; memory is bounded per process only (per-user limits shared by all tasks)`,
    );
    expect(r.protections).toContain(
      'NOT in force: a user per slot (no user ygg-slot-2: run `ygg doctor --fix` as root on the host)',
    );
  });

  it("runs an attempt's commands as the user of the slot it holds", async () => {
    const parsed = parseConfig(readFileSync(config, 'utf8'), config);
    const host = parsed.config!.hosts[0]!;
    await using transport = local();
    const { done } = startAttempt({
      task: { id: 'ygg-slot-task', title: 'who am I', metadata: { ygg: { argv: ['id', '-un'] } } },
      type: 'shell',
      plugin: shell,
      host,
      transport,
      attempt: 1,
      gpus: [],
      slotIndex: 1,
      artifactsDir: join(dir, 'artifacts'),
      log: { debug() {}, info() {}, warn() {}, error() {} },
      onProgress() {},
      onHeartbeat() {},
    });
    const outcome = await done;
    expect(outcome.kind).toBe('succeeded');
    if (outcome.kind !== 'succeeded') return;
    expect(String(outcome.result.output).trim()).toBe('ygg-slot-1');
    expect(outcome.result.metadata?.protections).toContain(
      'runs as ygg-slot-1 (uid ' +
        execFileSync('id', ['-u', 'ygg-slot-1'], { encoding: 'utf8' }).trim() +
        '), not root',
    );
  });

  it('ygg hosts and ygg doctor say a user per slot is in force', async () => {
    const hosts = await runYgg(['hosts', '--json', '--config', config], { cwd: dir });
    const [report] = JSON.parse(hosts.stdout) as HostReport[];
    expect(report!.protections).toContain(
      'process limit 50 per slot (a user per slot: ygg-slot-0 … ygg-slot-1)',
    );
    const doctor = await runYgg(['doctor', 'here', '--json', '--config', config], { cwd: dir });
    const [diagnosis] = JSON.parse(doctor.stdout) as HostDiagnosis[];
    const protections = diagnosis!.steps.find((s) => s.step === 'protections');
    expect(protections?.detail).toContain(
      'process limit 50 per slot (a user per slot: ygg-slot-0 … ygg-slot-1)',
    );
    expect(diagnosis!.steps.find((s) => s.step === 'not in force')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(
        /^a cgroup of its own \(sandbox.cgroup is false in hosts.yaml\): a user per slot/,
      ),
    });
  });
});
