import { describe, expect, it } from 'vitest';
import { planSandbox } from '../../src/hosts/sandbox.js';
import type { SandboxCapabilities } from '../../src/hosts/sandbox-probe.js';
import { parseSandboxProbe } from '../../src/hosts/sandbox-probe.js';
import { parseSlotFix } from '../../src/hosts/sandbox-slots.js';
import { testSandboxSettings } from '../helpers/sshd.js';

const slotUsers = [
  { name: 'ygg-slot-0', uid: 990, gid: 990 },
  { name: 'ygg-slot-1', uid: 989, gid: 989 },
];
const root: SandboxCapabilities = {
  loginUid: 0,
  timeout: true,
  prlimit: true,
  setpriv: true,
  bwrap: 'working',
  nvidiaSmi: false,
  runAs: { name: 'nobody', uid: 65534, gid: 65534 },
  gpuDevices: [],
  slotUsers,
};
const settings = testSandboxSettings('/var/tmp/ygg', { processes: 50 });
const notInForce = (protections: string[]) => protections.filter((p) => p.startsWith('NOT in force'));

describe('a user per slot, where the host gives no cgroup', () => {
  it("runs a command as its slot's user, with the process limit per slot", () => {
    const plan = planSandbox(['true'], { request: { slot: 1 }, settings, caps: root });
    expect(plan.argv).toEqual(expect.arrayContaining(['--reuid=989', '--regid=989', '--nproc=50']));
    expect(plan.protections).toContain('runs as ygg-slot-1 (uid 989), not root');
    expect(plan.protections).toContain(
      "process limit 50 for its slot (a user per slot: runs as ygg-slot-1, so other slots' processes do not count against it)",
    );
    expect(notInForce(plan.protections)).toEqual([
      'NOT in force: a cgroup of its own (no writable cgroup for root): a user per slot holds the process count per slot; memory and CPU time are bounded per process only',
    ]);
  });

  it('prefers a cgroup where the host offers one, unless hosts.yaml turns it off', () => {
    const caps: SandboxCapabilities = { ...root, cgroup: { kind: 'v1', pids: '/sys/fs/cgroup/pids/ygg' } };
    const withCgroup = planSandbox(['true'], { request: { slot: 1 }, settings, caps });
    expect(withCgroup.argv).toContain('--reuid=65534');
    expect(withCgroup.protections).toContain(
      "process limit 50 (own v1 cgroup: counts this command's processes only)",
    );
    const off = planSandbox(['true'], { request: { slot: 1, cgroup: false }, settings, caps });
    expect(off.cgroup).toBeUndefined();
    expect(off.argv).toContain('--reuid=989');
    expect(notInForce(off.protections)[0]).toMatch(
      /^NOT in force: a cgroup of its own \(sandbox.cgroup is false in hosts.yaml\): a user per slot/,
    );
  });

  it('describes a host whose slots all have users, and one whose slots do not', () => {
    const covered = planSandbox(['true'], { request: true, settings, caps: root, slots: 2 });
    expect(covered.protections).toContain(
      'process limit 50 per slot (a user per slot: ygg-slot-0 … ygg-slot-1)',
    );
    const short = planSandbox(['true'], { request: true, settings, caps: root, slots: 3 });
    expect(notInForce(short.protections)).toEqual([
      'NOT in force: a cgroup of its own (no writable cgroup for root): the process limit counts all sandboxed commands of nobody together, so one fork bomb can stop its neighbours; memory is bounded per process only (per-user limits shared by all tasks)',
      'NOT in force: a user per slot (no user ygg-slot-2: run `ygg doctor --fix` as root on the host)',
    ]);
  });

  it('shares per-user limits where there are no slot users, or ygg is not root', () => {
    const { slotUsers: _users, ...none } = root;
    const plan = planSandbox(['true'], { request: { slot: 0 }, settings, caps: none });
    expect(plan.argv).toContain('--reuid=65534');
    expect(notInForce(plan.protections).join('\n')).toMatch(/per-user limits shared by all tasks/);
    expect(notInForce(plan.protections).join('\n')).toContain('no user ygg-slot-0');
    const login = planSandbox(['true'], {
      request: { slot: 0 },
      settings,
      caps: { ...root, loginUid: 1000 },
    });
    expect(login.argv.some((a) => a.startsWith('--reuid'))).toBe(false);
    expect(notInForce(login.protections)).toEqual([
      'NOT in force: a cgroup of its own (no writable cgroup for uid 1000): the process limit counts all sandboxed commands of uid 1000 together, so one fork bomb can stop its neighbours; memory is bounded per process only (per-user limits shared by all tasks)',
    ]);
  });

  it('reads the slot users the probe prints, contiguous from slot 0', () => {
    const caps = parseSandboxProbe(
      'uid=0\nslot_user=0:990:990\nslot_user=1:989:988\nslot_user=3:900:900\n',
      'nobody',
    );
    expect(caps.slotUsers).toEqual([
      { name: 'ygg-slot-0', uid: 990, gid: 990 },
      { name: 'ygg-slot-1', uid: 989, gid: 988 },
    ]);
    expect(parseSandboxProbe('uid=0\n', 'nobody').slotUsers).toBeUndefined();
    expect(parseSlotFix('exists=ygg-slot-0:990\ncreated=ygg-slot-1:989\n')).toEqual({
      created: ['ygg-slot-1'],
      existing: ['ygg-slot-0'],
    });
  });
});
