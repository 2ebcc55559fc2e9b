import { readFileSync } from 'node:fs';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxSettings } from '../../src/config/types.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { localSandboxWrap } from '../../src/hosts/sandbox-local.js';
import { useLeakCheck } from '../helpers/leaks.js';
import { runShellTask } from '../helpers/sandbox-payloads.js';
import { ensureUser, SANDBOX_USER, testSandboxSettings } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

/** A local host with `sandbox.enabled: false`, and its work root. */
async function sandboxOff(name: string, overrides: Partial<SandboxSettings> = {}) {
  const dir = await testDir(name);
  await chmod(dir, 0o755);
  const workRoot = join(dir, 'work');
  await mkdir(workRoot, { mode: 0o1777 });
  await chmod(workRoot, 0o1777);
  ensureUser(SANDBOX_USER);
  const settings = testSandboxSettings(workRoot, { enabled: false, ...overrides });
  return { local: new LocalTransport('here', localSandboxWrap(settings)), workRoot };
}

/** Whether a process still runs: `kill -0` reaches it and it is not a zombie awaiting its reaper. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Prints the shell's pid and its process group, as `NAME PID PGID`. */
const whoAmI = (name: string) => `echo ${name} $$ $(cut -d" " -f5 /proc/$$/stat)`;

const root = process.getuid?.() === 0;

describe('the local transport with the sandbox off (sandbox.enabled: false)', () => {
  useLeakCheck();

  it('spawns the command itself, leading its own process group, with the protections it names', async () => {
    const { local, workRoot } = await sandboxOff('sandbox-off-direct');
    await using _ = local;
    process.env.YGG_TEST_SECRET = 'not for the command';
    let r: Awaited<ReturnType<typeof local.exec>>;
    try {
      r = await local.exec(
        [
          'sh',
          '-c',
          `${whoAmI('leader')}; id -un; pwd; echo "home $HOME"; echo "secret \${YGG_TEST_SECRET:-none}"; echo "gpu $CUDA_VISIBLE_DEVICES"; grep 'Max address space' /proc/$$/limits`,
        ],
        { sandbox: true, env: { CUDA_VISIBLE_DEVICES: '1' } },
      );
    } finally {
      delete process.env.YGG_TEST_SECRET;
    }
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [leader, user, pwd, home, secret, gpu, space] = r.stdout.trimEnd().split('\n');
    // No shell, `timeout` or `setpriv` in between: the command is the leader of its group.
    const [, pid, pgid] = leader!.split(' ');
    expect(pid).toBe(pgid);
    expect(user).toBe(root ? SANDBOX_USER : (await import('node:os')).userInfo().username);
    expect(pwd!.startsWith(`${workRoot}/run-`)).toBe(true);
    expect(home).toBe(`home ${pwd}`);
    expect(secret).toBe('secret none');
    expect(gpu).toBe('gpu 1');
    expect(space).toMatch(new RegExp(`^Max address space +${256 * 2 ** 20} `));
    expect(r.protections).toEqual(
      expect.arrayContaining([
        'memory limit 256 MiB (address space)',
        'environment: PATH, HOME, LANG and the variables named for it only',
        expect.stringMatching(/^NOT in force: bubblewrap \(sandbox\.enabled is false in hosts\.yaml\)/),
        expect.stringMatching(
          /^NOT in force: a cgroup of its own \(sandbox\.enabled is false in hosts\.yaml, and sandbox\.cgroup is not true\)/,
        ),
      ]),
    );
    // The work directory it ran in is gone.
    expect(await readdir(workRoot)).toEqual([]);

    // A program that is not there fails as missing, without a retry, whatever folders of ygg's
    // PATH the unprivileged user may not enter.
    const missing = await runShellTask(local, ['ygg-no-such-program', '--version']);
    expect(missing.ok ? '' : missing.error).toMatch(/^ygg-no-such-program: command not found on host here/);
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('ends the whole process group at the time limit, grandchildren included, and says it was the time limit', async () => {
    const { local, workRoot } = await sandboxOff('sandbox-off-timeout');
    await using _ = local;
    // The leader starts a child shell, which starts a grandchild `sleep`; each says its pid.
    const script = `sh -c '${whoAmI('child')}; sleep 4711.3 & echo grandchild $!; wait' & ${whoAmI('leader')}; wait`;
    const r = await local.exec(['sh', '-c', script], { sandbox: true, timeoutMs: 3000 });
    expect(r.limit).toBe('time');
    expect(r.limitMessage).toBe('stopped: it ran past its 3 s wall-clock limit');
    const pids = new Map(
      r.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(' '))
        .map(([name, pid, pgid]) => [name!, { pid: Number(pid), pgid }]),
    );
    expect([...pids.keys()].sort()).toEqual(['child', 'grandchild', 'leader']);
    const leader = pids.get('leader')!;
    expect(String(leader.pid)).toBe(leader.pgid);
    expect(pids.get('child')!.pgid).toBe(leader.pgid);
    await waitUntil(() => [...pids.values()].every(({ pid }) => !running(pid)), {
      what: 'every process of the command to end',
      timeoutMs: 20_000,
    });
    expect(await readdir(workRoot)).toEqual([]);

    // The shell handler reports it as before: the time limit, in words.
    const out = await runShellTask(local, ['sh', '-c', 'sleep 4711.4 & wait'], { timeoutMs: 1000 });
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.error).toMatch(
      /^sh was stopped by the time limit after \d+ ms \(stopped: it ran past its 1 s wall-clock limit\)/,
    );
  });
});
