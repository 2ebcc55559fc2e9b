import { describe, expect, it } from 'vitest';
import { planSandbox } from '../../src/hosts/sandbox.js';
import { classifyLimit, describeLimit, LimitSniffer } from '../../src/hosts/sandbox-limits.js';
import type { SandboxCapabilities } from '../../src/hosts/sandbox-probe.js';
import { parseSandboxProbe } from '../../src/hosts/sandbox-probe.js';
import { testSandboxSettings } from '../helpers/sshd.js';

const full: SandboxCapabilities = {
  loginUid: 0,
  timeout: true,
  prlimit: true,
  setpriv: true,
  bwrap: 'working',
  nvidiaSmi: true,
  runAs: { name: 'nobody', uid: 65534, gid: 65534 },
  gpuDevices: ['/dev/nvidia0', '/dev/nvidiactl'],
  cgroup: { kind: 'v1', pids: '/sys/fs/cgroup/pids/ygg', memory: '/sys/fs/cgroup/memory/ygg' },
};
const settings = testSandboxSettings('/var/tmp/ygg');

describe('sandbox plan', () => {
  it('wraps the argv in timeout, prlimit, setpriv and bwrap, the command last and untouched', () => {
    const plan = planSandbox(['python3', '-c', '$(x)'], {
      request: { gpu: true },
      settings,
      caps: full,
      timeoutMs: 5000,
    });
    const at = (word: string) => plan.argv.indexOf(word);
    expect(at('timeout')).toBeLessThan(at('prlimit'));
    expect(at('prlimit')).toBeLessThan(at('setpriv'));
    expect(at('setpriv')).toBeLessThan(at('bwrap'));
    expect(plan.argv.slice(-3)).toEqual(['python3', '-c', '$(x)']);
    expect(plan.argv).toEqual(
      expect.arrayContaining(['--reuid=65534', '--unshare-all', '--die-with-parent', '--new-session']),
    );
    expect(plan.argv).not.toContain('--share-net');
    expect(plan.argv.join(' ')).toContain('--dev-bind /dev/nvidia0 /dev/nvidia0');
    expect(plan.argv.join(' ')).toContain('--tmpfs /home --tmpfs /root');
    expect(plan.workdir).toMatch(/^\/var\/tmp\/ygg\/run-/);
    expect(plan.protections).toContain('runs as nobody (uid 65534), not root');
    expect(plan.protections).toContain('GPU devices: /dev/nvidia0 /dev/nvidiactl');
    expect(plan.protections.some((p) => p.startsWith('NOT in force'))).toBe(false);
    // Its own cgroup counts its processes, so the per-user process rlimit is left off.
    expect(plan.argv.some((a) => a.startsWith('--nproc'))).toBe(false);
    expect(plan.cgroup?.pids).toMatch(/^\/sys\/fs\/cgroup\/pids\/ygg\/run-/);
    expect(plan.cgroup?.cpu).toBe('');
  });

  it('without a cgroup, says the process limit is per user and a fork bomb can stop its neighbours', () => {
    const { cgroup: _cgroup, ...noCgroup } = full;
    const plan = planSandbox(['true'], { request: { cpuShare: 1 }, settings, caps: noCgroup });
    expect(plan.argv).toContain('--nproc=64');
    const missing = plan.protections.filter((p) => p.startsWith('NOT in force')).join('\n');
    expect(missing).toMatch(/a cgroup of its own .*one fork bomb can stop its neighbours/);
    expect(missing).toMatch(/CPU share \(needs a cgroup\)/);
  });

  it('bounds the work directory it makes, but not one the caller gives, and says so', () => {
    const own = planSandbox(['true'], { request: true, settings, caps: full });
    expect(own.argv.join(' ')).toContain(`--size ${64 * 2 ** 20} --tmpfs ${own.workdir}`);
    expect(own.protections).toContain(`work directory ${own.workdir} of 64 MiB (disk limit)`);
    const given = planSandbox(['true'], { request: { workdir: '/w' }, settings, caps: full });
    expect(given.argv.join(' ')).toContain('--bind /w /w');
    expect(given.protections.join('\n')).toMatch(
      /NOT in force: disk limit \(the caller's work directory \/w/,
    );
  });

  it('says what is missing instead of silently running weaker', () => {
    const bare: SandboxCapabilities = {
      ...full,
      bwrap: 'missing',
      prlimit: false,
      setpriv: false,
      timeout: false,
    };
    const plan = planSandbox(['true'], { request: true, settings, caps: bare });
    expect(plan.argv).not.toContain('bwrap');
    expect(plan.argv).not.toContain('prlimit');
    const missing = plan.protections.filter((p) => p.startsWith('NOT in force'));
    expect(missing.join('\n')).toMatch(/bubblewrap \(not installed\)/);
    expect(missing.join('\n')).toMatch(/`prlimit` missing/);
    expect(missing.join('\n')).toMatch(/logged in as root, `setpriv` missing\): the command runs as root/);
    expect(missing.join('\n')).toMatch(/`timeout` missing/);
    const broken = planSandbox(['true'], {
      request: true,
      settings,
      caps: { ...full, bwrap: 'broken', bwrapError: 'No permissions to create new namespace' },
    });
    expect(broken.protections.join('\n')).toMatch(
      /bubblewrap \(fails: No permissions to create new namespace\)/,
    );
    const disabled = planSandbox(['true'], {
      request: true,
      settings: { ...settings, enabled: false },
      caps: full,
    });
    expect(disabled.protections.join('\n')).toMatch(/sandbox.enabled is false/);
  });

  it('with bubblewrap off, spawned by this machine: the argv behind prlimit only, no shell, no cgroup', () => {
    const off = { ...settings, enabled: false, env: { TOOL: 'x' } };
    const plan = planSandbox(['A=b', '$(x)'], {
      request: true,
      settings: off,
      caps: full,
      direct: true,
      env: { CUDA_VISIBLE_DEVICES: '0' },
    });
    expect(plan.argv).toEqual([
      'prlimit',
      `--as=${off.memoryBytes}`,
      `--cpu=${off.cpuSeconds}:${off.cpuSeconds + 1}`,
      `--fsize=${off.fileSizeBytes}`,
      `--nproc=${off.processes}`,
      '--',
      'A=b',
      '$(x)',
    ]);
    expect(plan.cgroup).toBeUndefined();
    expect(plan.spawn).toEqual({
      env: { HOME: plan.workdir, TOOL: 'x', CUDA_VISIBLE_DEVICES: '0' },
      cwd: plan.workdir,
      user: { uid: 65534, gid: 65534 },
    });
    // The spawn itself drops to the user: no setpriv needed.
    const noSetpriv = planSandbox(['true'], {
      request: true,
      settings: off,
      caps: { ...full, setpriv: false },
      direct: true,
    });
    expect(noSetpriv.protections).toContain('runs as nobody (uid 65534), not root');
    // Over SSH the same settings keep the wrapper (and its host-side wall clock).
    const remote = planSandbox(['true'], { request: true, settings: off, caps: full });
    expect(remote.spawn).toBeUndefined();
    expect(remote.argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(remote.argv).toContain('timeout');
    expect(remote.cgroup).toBeUndefined();
    // A cgroup asked for needs the wrapper shell to join it.
    const withCgroup = planSandbox(['true'], {
      request: true,
      settings: { ...off, cgroup: true },
      caps: full,
      direct: true,
    });
    expect(withCgroup.spawn).toBeUndefined();
    expect(withCgroup.cgroup?.pids).toMatch(/^\/sys\/fs\/cgroup\/pids\/ygg\/run-/);
  });

  it('with bubblewrap, spawned by this machine: bwrap alone, held until ygg has moved it into its cgroup', () => {
    const plan = planSandbox(['A=b', '$(x)'], {
      request: true,
      settings: { ...settings, env: { TOOL: 'x' } },
      caps: full,
      direct: true,
      timeoutMs: 5000,
    });
    const limits = plan.limits;
    expect(plan.argv[0]).toBe('bwrap');
    for (const wrapper of ['sh', 'timeout', 'prlimit', 'setpriv', 'env', 'mkdir', 'chown']) {
      expect(plan.argv.slice(0, plan.argv.indexOf('--unshare-all'))).not.toContain(wrapper);
    }
    expect(plan.argv.join(' ')).toContain('--info-fd 3 --block-fd 4');
    // Inside: the reaper setting the rlimits prlimit set (address space in KiB, file size in
    // 512-byte blocks, soft and hard CPU seconds), then the command untouched.
    const inside = plan.argv.slice(plan.argv.lastIndexOf('--') + 1);
    expect(inside[0]).toBe('sh');
    expect(inside.slice(3)).toEqual([
      'ygg-sandbox',
      String(limits.memoryBytes / 1024),
      String(limits.fileSizeBytes / 512),
      String(limits.cpuSeconds),
      String(limits.cpuSeconds + 1),
      'A=b',
      '$(x)',
    ]);
    expect(plan.cgroup?.pids).toMatch(/^\/sys\/fs\/cgroup\/pids\/ygg\/run-/);
    expect(plan.spawn).toEqual({
      env: { HOME: plan.workdir, TOOL: 'x' },
      cwd: plan.workdir,
      user: { uid: 65534, gid: 65534 },
      bubblewrap: true,
      cgroupLimits: {
        processes: limits.processes,
        memoryBytes: limits.memoryBytes + 2 * limits.tmpBytes + limits.diskBytes,
        quotaUs: '',
        cpuLimit: '',
        watchSeconds: 5 + 2 + 5,
      },
    });
    expect(plan.protections).toContain('wall-clock limit 5 s (then the process group is killed)');
    expect(plan.protections.some((p) => p.startsWith('NOT in force'))).toBe(false);
    // Without a cgroup nothing holds it: bwrap starts the command at once.
    const noCgroup = planSandbox(['true'], {
      request: { cgroup: false },
      settings,
      caps: full,
      direct: true,
    });
    expect(noCgroup.argv).not.toContain('--block-fd');
    expect(noCgroup.spawn?.cgroupLimits).toBeUndefined();
    expect(noCgroup.argv.some((a) => a.startsWith('--nproc'))).toBe(true);
  });

  it('takes limits from the request over the host defaults, and allows the network when asked', () => {
    const plan = planSandbox(['true'], {
      request: { network: true, cpuSeconds: 7, workdir: '/w' },
      settings,
      caps: full,
    });
    expect(plan.argv).toContain('--share-net');
    expect(plan.argv).toContain('--cpu=7:8');
    expect(plan.workdir).toBe('/w');
    expect(plan.ownsWorkdir).toBe(false);
    expect(plan.limits.wallMs).toBe(7 * 2 * 1000 + 10_000);
    // The sandbox's variables: the request's (a type's `sandbox.env`) over the host's, then the caller's.
    const withEnv = planSandbox(['true'], {
      request: { env: { FROM_TYPE: 't' } },
      settings: { ...settings, env: { FROM_HOST: 'h' } },
      caps: full,
      env: { FROM_CALLER: 'c' },
    });
    expect(withEnv.argv).toEqual(expect.arrayContaining(['FROM_TYPE=t', 'FROM_CALLER=c']));
    expect(withEnv.argv).not.toContain('FROM_HOST=h');
  });

  it('parses the capability probe output', () => {
    const caps = parseSandboxProbe(
      'uid=0\nhave=timeout\nhave=prlimit\nhave=bwrap\nrunas_uid=65534\nrunas_gid=65534\ngpu_dev=/dev/nvidia0\nbwrap=broken\nbwrap_error=bwrap: setting up uid map: Permission denied\n',
      'nobody',
    );
    expect(caps).toEqual({
      loginUid: 0,
      timeout: true,
      prlimit: true,
      setpriv: false,
      bwrap: 'broken',
      bwrapError: 'bwrap: setting up uid map: Permission denied',
      nvidiaSmi: false,
      runAs: { name: 'nobody', uid: 65534, gid: 65534 },
      gpuDevices: ['/dev/nvidia0'],
    });
    const v1 = parseSandboxProbe(
      'uid=0\ncgroup=v1\ncg_pids=/sys/fs/cgroup/pids/ygg\ncg_cpu=/sys/fs/cgroup/cpu/ygg\n',
      'nobody',
    );
    expect(v1.cgroup).toEqual({ kind: 'v1', pids: '/sys/fs/cgroup/pids/ygg', cpu: '/sys/fs/cgroup/cpu/ygg' });
    const v2 = parseSandboxProbe(
      'uid=1000\ncgroup=v2\ncg_base=/sys/fs/cgroup/ygg\ncg_ctl=memory\n',
      'nobody',
    );
    expect(v2.cgroup).toEqual({ kind: 'v2', base: '/sys/fs/cgroup/ygg', controllers: ['memory'] });
  });
});

describe('which limit ended a command', () => {
  const base = {
    code: 0,
    signal: null,
    durationMs: 100,
    wallMs: 10_000,
    timedOut: false,
    markers: new Set<never>(),
  };
  const sniff = (text: string) => {
    const s = new LimitSniffer();
    // Split across chunks on purpose.
    s.feed(text.slice(0, 10));
    s.feed(text.slice(10));
    return s.seen;
  };

  it('reads signals, exit codes and messages', () => {
    expect(classifyLimit({ ...base, code: 152 })).toBe('cpu');
    expect(classifyLimit({ ...base, code: null, signal: 'SIGXCPU' })).toBe('cpu');
    expect(classifyLimit({ ...base, code: 153 })).toBe('file-size');
    expect(classifyLimit({ ...base, code: 124 })).toBe('time');
    expect(classifyLimit({ ...base, code: null, signal: 'SIGKILL', durationMs: 12_000 })).toBe('time');
    expect(classifyLimit({ ...base, code: null, signal: 'SIGKILL', durationMs: 50 })).toBeUndefined();
    expect(classifyLimit({ ...base, code: 1, markers: sniff('Traceback...\nMemoryError\n') })).toBe('memory');
    expect(classifyLimit({ ...base, code: 124, markers: sniff('sh: 1: Cannot fork\n') })).toBe('processes');
    expect(classifyLimit({ ...base, code: 0, markers: sniff('File size limit exceeded\n') })).toBe(
      'file-size',
    );
    expect(classifyLimit({ ...base, code: 1 })).toBeUndefined();
    // The cgroup saw refused forks: the process limit, even though the command exited 0.
    expect(classifyLimit({ ...base, code: 0, cgroup: { pidsMaxHits: 3, oomKills: 0 } })).toBe('processes');
    expect(classifyLimit({ ...base, code: 137, cgroup: { pidsMaxHits: 0, oomKills: 1 } })).toBe('memory');
    // Killed by the watchdog at the CPU limit of all its processes; a fork bomb names processes.
    const spent = { pidsMaxHits: 0, oomKills: 0, cpuExhausted: true };
    expect(classifyLimit({ ...base, code: null, signal: 'SIGKILL', cgroup: spent })).toBe('cpu');
    expect(classifyLimit({ ...base, code: 0, cgroup: spent })).toBeUndefined();
    expect(classifyLimit({ ...base, code: 137, cgroup: { ...spent, pidsMaxHits: 4 } })).toBe('processes');
    const full = sniff('head: error writing: No space left on device\n');
    expect(classifyLimit({ ...base, code: 1, markers: full, diskBounded: true })).toBe('disk');
    expect(classifyLimit({ ...base, code: 1, markers: full })).toBeUndefined();
  });

  it('describes each limit in plain words', () => {
    const limits = {
      wallMs: 30_000,
      memoryBytes: 512 * 2 ** 20,
      cpuSeconds: 60,
      fileSizeBytes: 2 ** 30,
      processes: 128,
    };
    expect(describeLimit('time', limits)).toBe('stopped: it ran past its 30 s wall-clock limit');
    expect(describeLimit('memory', limits)).toBe(
      'ran out of memory: the 512 MiB memory limit refused an allocation',
    );
    expect(describeLimit('cpu', limits)).toBe('stopped: it used up its 60 s of CPU time');
    expect(describeLimit('file-size', limits)).toBe(
      'stopped: it wrote a file past the 1024 MiB file-size limit',
    );
    expect(describeLimit('processes', limits)).toBe('could not start more processes: the limit is 128');
  });
});
