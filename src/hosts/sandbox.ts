/**
 * Sandboxed execution on a host, the same for SSH and local transports: the argv is wrapped in
 * a cgroup of its own (processes, memory, CPU share), an empty environment plus an allow-list,
 * `timeout -k` (wall clock, kills the group), `prlimit` (address space, CPU, file size, and
 * processes where no cgroup counts them), `setpriv` (drop root to an unprivileged user: the
 * slot's own `ygg-slot-N` where there is no cgroup but a user per slot) and
 * `bwrap` (read-only system, hidden homes, private /tmp, a size-bounded work directory, no
 * network, own pid namespace), as far as the host's capabilities allow. What is not in force
 * is said in the result, never left out.
 */
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import type { SandboxSettings } from '../config/types.js';
import { bwrapArgs, environmentVars, LIMITED_REAP, REAP } from './sandbox-args.js';
import {
  CGROUP_SETUP,
  type CgroupDirs,
  type CgroupLimits,
  CPU_PERIOD_US,
  cgroupDirs,
  countsCpuTime,
  cpuLimitInHostUnits,
} from './sandbox-cgroup.js';
import type { SandboxCapabilities } from './sandbox-probe.js';
import { slotUserFor, type WithoutCgroup, withoutCgroupLines } from './sandbox-slots.js';
import type { ExecOptions, SandboxRequest } from './transport.js';

export type { SandboxCapabilities } from './sandbox-probe.js';
export { parseSandboxProbe, probeSandbox, sandboxProbeArgv } from './sandbox-probe.js';

/** The limits one sandboxed command runs under, after merging request and host defaults. */
export interface SandboxLimits {
  network: boolean;
  memoryBytes: number;
  cpuSeconds: number;
  fileSizeBytes: number;
  processes: number;
  tmpBytes: number;
  diskBytes: number;
  /** Cores it may use, where the host has a cgroup CPU controller. */
  cpuShare: number | undefined;
  gpu: boolean;
  wallMs: number;
}

export interface SandboxPlan {
  /** The wrapped argv to run instead of the command's own. */
  argv: string[];
  limits: SandboxLimits;
  workdir: string;
  /** ygg chose the work directory, so ygg removes it afterwards. */
  ownsWorkdir: boolean;
  /** The command's own cgroup, when the host offers one: torn down after the command. */
  cgroup?: CgroupDirs;
  /** The work directory is a size-bounded tmpfs: "No space left" there is the disk limit. */
  diskBounded: boolean;
  /** Protections in force, then `NOT in force: ...` lines for what the host could not give. */
  protections: string[];
  /**
   * Set when the caller spawns the command itself (`PlanOptions.direct`) and nothing needs a
   * wrapper shell (anything but a cgroup without bubblewrap): `argv` is the command behind
   * `prlimit` where the host has it (and bubblewrap where it works), to spawn with this
   * environment and working directory, as this user, in a process group of its own that the
   * caller kills at `limits.wallMs`. The caller makes `workdir` first, owned by `user`.
   */
  spawn?: DirectSpawn;
}

export interface DirectSpawn {
  /** HOME, hosts.yaml's `sandbox.env` and the caller's variables; the caller adds PATH and LANG. */
  env: Record<string, string>;
  cwd: string;
  /** The unprivileged user to run as (the spawn's uid and gid, groups cleared). */
  user?: { uid: number; gid: number };
  /** `argv` is bubblewrap's: the command's program is looked up inside the sandbox. */
  bubblewrap?: true;
  /**
   * With a cgroup (`SandboxPlan.cgroup`): the caller makes it with these limits before the
   * spawn, and bubblewrap waits before it runs anything of the command: it writes its
   * namespace process's pid as JSON (`{"child-pid": N}`) to fd 3 and waits for a byte on fd 4,
   * which the caller sends once that process is in the cgroup.
   */
  cgroupLimits?: CgroupLimits;
}

/** Time `timeout` waits after TERM before KILL. */
export const KILL_GRACE_S = 2;

/**
 * With no time limit given, a sandboxed command may take twice the wall time its CPU budget
 * needs at its CPU share, plus 10 s (a busy host shares its cores).
 */
const WALL_PER_CPU = 2;
const WALL_SLACK_MS = 10_000;

export function sandboxLimits(
  request: boolean | SandboxRequest,
  settings: SandboxSettings,
  timeoutMs: number | undefined,
): SandboxLimits {
  const r: SandboxRequest = typeof request === 'object' ? request : {};
  const cpuSeconds = r.cpuSeconds ?? settings.cpuSeconds;
  const cpuShare = r.cpuShare ?? settings.cpuShare;
  const cpuWallS = cpuSeconds / Math.min(1, cpuShare ?? 1);
  return {
    network: r.network ?? settings.network,
    memoryBytes: r.memoryBytes ?? settings.memoryBytes,
    cpuSeconds,
    fileSizeBytes: r.fileSizeBytes ?? settings.fileSizeBytes,
    processes: r.processes ?? settings.processes,
    tmpBytes: r.tmpBytes ?? settings.tmpBytes,
    diskBytes: r.diskBytes ?? settings.diskBytes,
    cpuShare,
    gpu: r.gpu ?? false,
    wallMs: timeoutMs ?? Math.ceil(cpuWallS * WALL_PER_CPU * 1000) + WALL_SLACK_MS,
  };
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

// Makes the work directory (owned by the sandbox user), joins the command's own cgroup, enters
// the working directory, then execs the rest from an empty environment (PATH, LANG, HOME and
// the NAME=VALUE words that lead the rest), so the wrapper keeps the session's process group.
const PREPARE = `${CGROUP_SETUP}
w=$1 o=$2 d=$3
mkdir -p -- "$w" && { [ -z "$o" ] || chown -- "$o" "$w"; } || exit
[ -z "$4" ] || ygg_cgroup "$4" "$5" "$6" "$7" "$8" "$9" "\${10}" "\${11}" "\${12}" "\${13}"
shift 13
cd -- "$d" && exec env -i PATH="$PATH" LANG="\${LANG:-C.UTF-8}" HOME="$w" "$@"`;

export interface PlanOptions {
  request: boolean | SandboxRequest;
  settings: SandboxSettings;
  caps: SandboxCapabilities;
  timeoutMs?: number;
  cwd?: string;
  /** Variables the caller sets for the command (beside hosts.yaml's `sandbox.env`). */
  env?: Record<string, string>;
  /** Names the work directory and cgroup (a fresh id when not given). */
  runId?: string;
  /** Describes what any command on a host of this many slots gets (`ygg hosts`, `ygg doctor`). */
  slots?: number;
  /** The caller spawns the command itself (the local transport): see `SandboxPlan.spawn`. */
  direct?: boolean;
}

/** `planSandbox` for a transport's exec: the request, time limit, cwd and variables it carries. */
export function planForExec(
  argv: readonly string[],
  options: ExecOptions,
  host: { settings: SandboxSettings; caps: SandboxCapabilities; direct?: boolean },
): SandboxPlan {
  return planSandbox(argv, {
    request: options.sandbox ?? true,
    settings: host.settings,
    caps: host.caps,
    timeoutMs: options.timeoutMs,
    cwd: options.cwd,
    env: options.env,
    direct: host.direct,
  });
}

/** Builds the wrapped argv and the list of protections for one command. */
export function planSandbox(argv: readonly string[], options: PlanOptions): SandboxPlan {
  const { caps, settings } = options;
  const limits = sandboxLimits(options.request, settings, options.timeoutMs);
  const request: SandboxRequest = typeof options.request === 'object' ? options.request : {};
  const requested = request.workdir;
  const runId = options.runId ?? `run-${randomUUID()}`;
  const workdir = requested ?? posix.join(request.workRoot ?? settings.workRoot, runId);
  const runAs = request.runAs ?? settings.runAs ?? 'nobody';
  const bubblewrap = request.enabled ?? settings.enabled;
  const bwrapWorks = bubblewrap && caps.bwrap === 'working';
  const diskBounded = bwrapWorks && requested === undefined;
  const cwd = options.cwd ?? workdir;
  const inForce: string[] = [];
  const missing: string[] = [];

  const isRoot = caps.loginUid === 0;
  const cgroupSetting = request.cgroup ?? settings.cgroup;
  // With bubblewrap off a command gets a cgroup only when hosts.yaml asks for one
  // (`sandbox.cgroup: true`): without, the local transport needs no wrapper shell to join it.
  const cgroupOn = bubblewrap ? cgroupSetting !== false : cgroupSetting === true;
  const cgroup = caps.cgroup && cgroupOn ? cgroupDirs(caps.cgroup, runId) : undefined;
  // A cgroup without bubblewrap needs the wrapper shell to join it before anything runs;
  // with bubblewrap the caller moves bubblewrap's namespace process in while it sets up.
  const direct = options.direct === true && (bwrapWorks || !cgroup);
  // Spawned directly, the user is dropped by the spawn itself (uid, gid, no groups).
  const canDrop = isRoot && (direct || caps.setpriv);
  const shared = canDrop && caps.runAs !== undefined ? caps.runAs : undefined;
  // Without a cgroup, a user per slot (where `ygg doctor --fix` made them) keeps process counts
  // apart between slots; else all commands share one user's.
  const withoutCgroup: WithoutCgroup | undefined = cgroup
    ? undefined
    : {
        processes: limits.processes,
        why:
          cgroupSetting === false
            ? 'sandbox.cgroup is false in hosts.yaml'
            : !cgroupOn
              ? 'sandbox.enabled is false in hosts.yaml, and sandbox.cgroup is not true'
              : `no writable cgroup for ${isRoot ? 'root' : `uid ${caps.loginUid}`}`,
        sharedUser: shared ? shared.name : isRoot ? 'root' : `uid ${caps.loginUid}`,
        canDrop: canDrop && caps.prlimit,
        slotUsers: caps.slotUsers ?? [],
        slot: request.slot,
        slots: options.slots,
      };
  const slotUser = withoutCgroup ? slotUserFor(withoutCgroup) : undefined;
  const drop = slotUser ?? shared;
  const owner = drop ? `${drop.uid}:${drop.gid}` : '';
  // Files in tmpfs count as the memory of whoever wrote them: the cgroup's memory bound makes
  // room for the work directory, /tmp and /dev/shm beside the processes' own memory.
  const cgroupMemory = limits.memoryBytes + 2 * limits.tmpBytes + (diskBounded ? limits.diskBytes : 0);
  const quota =
    cgroup?.cpu && limits.cpuShare !== undefined
      ? String(Math.max(1000, Math.round(limits.cpuShare * CPU_PERIOD_US)))
      : '';
  const wrapped: string[] = ['sh', '-c', PREPARE, 'ygg-sandbox', workdir, owner, cwd];
  const wallS = Math.max(1, Math.ceil(limits.wallMs / 1000));
  const cpuWatch = cgroup !== undefined && countsCpuTime(cgroup);
  const cgroupLimits: CgroupLimits = {
    processes: limits.processes,
    memoryBytes: cgroupMemory,
    quotaUs: quota,
    cpuLimit: cpuWatch ? cpuLimitInHostUnits(cgroup, limits.cpuSeconds) : '',
    watchSeconds: wallS + KILL_GRACE_S + 5,
  };
  wrapped.push(
    cgroup?.kind ?? '',
    cgroup?.pids ?? '',
    cgroup?.memory ?? '',
    cgroup?.cpu ?? '',
    cgroup?.cpuacct ?? '',
    String(cgroupLimits.processes),
    String(cgroupLimits.memoryBytes),
    cgroupLimits.quotaUs,
    cgroupLimits.cpuLimit,
    String(cgroupLimits.watchSeconds),
  );
  const vars = environmentVars(request.env ?? settings.env, options.env);
  wrapped.push(...Object.entries(vars).map(([name, value]) => `${name}=${value}`));
  // The command and what wraps it inside the wrapper shell; spawned directly, the whole argv.
  const command: string[] = [];

  if (direct) {
    inForce.push(`wall-clock limit ${wallS} s (then the process group is killed)`);
  } else if (caps.timeout) {
    command.push('timeout', '-k', String(KILL_GRACE_S), String(wallS));
    inForce.push(`wall-clock limit ${wallS} s (then the process group is killed)`);
  } else {
    inForce.push(`wall-clock limit ${wallS} s, enforced by ygg's connection`);
    missing.push(
      'NOT in force: host-side wall-clock limit (`timeout` missing): a lost connection leaves it running',
    );
  }

  // Spawned by ygg into a cgroup through bubblewrap: held until ygg moved it in, and its rlimits
  // set inside by the reaper shell (the cgroup counts its processes: no process rlimit needed).
  const held = direct && cgroup !== undefined && bwrapWorks;
  if (caps.prlimit || held) {
    // The process rlimit counts every process of the user: with a cgroup of its own the
    // command is bounded there instead, so a neighbour's fork bomb cannot use up its count.
    if (!held)
      command.push(
        'prlimit',
        `--as=${limits.memoryBytes}`,
        `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
        `--fsize=${limits.fileSizeBytes}`,
        ...(cgroup ? [] : [`--nproc=${limits.processes}`]),
        '--',
      );
    inForce.push(
      `memory limit ${mib(limits.memoryBytes)} (address space)`,
      `CPU limit ${limits.cpuSeconds} s${cpuWatch ? ' (all its processes together)' : ' per process'}`,
      `file-size limit ${mib(limits.fileSizeBytes)}`,
    );
    if (!cgroup && !slotUser) {
      inForce.push(`process limit ${limits.processes}${drop || !isRoot ? '' : ' (does not bind for root)'}`);
    }
  } else {
    missing.push('NOT in force: memory, CPU, file-size and process limits (`prlimit` missing)');
  }
  if (cgroup) {
    inForce.push(
      `process limit ${limits.processes} (own ${cgroup.kind} cgroup: counts this command's processes only)`,
    );
    if (cgroup.memory) {
      inForce.push(
        `memory of all its processes and files together at most ${mib(cgroupMemory)} (own cgroup)`,
      );
    }
    if (quota) inForce.push(`CPU share ${limits.cpuShare} cores (cgroup quota)`);
    else if (limits.cpuShare !== undefined)
      missing.push('NOT in force: CPU share (the host has no cgroup CPU controller for ygg)');
  } else if (withoutCgroup) {
    const lines = withoutCgroupLines(withoutCgroup);
    inForce.push(...lines.inForce);
    missing.push(...lines.missing);
    if (limits.cpuShare !== undefined) missing.push('NOT in force: CPU share (needs a cgroup)');
  }

  if (drop) {
    if (!direct)
      command.push('setpriv', `--reuid=${drop.uid}`, `--regid=${drop.gid}`, '--clear-groups', '--');
    inForce.push(`runs as ${drop.name} (uid ${drop.uid}), not root`);
  } else if (isRoot) {
    const why = !canDrop ? '`setpriv` missing' : `user ${runAs} does not exist`;
    missing.push(`NOT in force: unprivileged user (logged in as root, ${why}): the command runs as root`);
  } else {
    inForce.push(`runs as the login user (uid ${caps.loginUid}), not root`);
  }

  if (!bubblewrap) {
    missing.push(
      'NOT in force: bubblewrap (sandbox.enabled is false in hosts.yaml): no filesystem, network or pid isolation, no disk limit',
    );
  } else if (caps.bwrap !== 'working') {
    const why = caps.bwrap === 'missing' ? 'not installed' : `fails: ${caps.bwrapError ?? 'unknown error'}`;
    missing.push(
      `NOT in force: bubblewrap (${why}): the system and home directories are visible, the network is reachable, the disk is not limited, and a detached child can outlive the command`,
    );
  } else {
    command.push(...bwrapArgs(limits, caps, { workdir, cwd, diskBounded, held }), '--');
    if (held) {
      const kib = String(Math.floor(limits.memoryBytes / 1024));
      const blocks = String(Math.floor(limits.fileSizeBytes / 512));
      const cpu = [String(limits.cpuSeconds), String(limits.cpuSeconds + 1)];
      command.push('sh', '-c', LIMITED_REAP, 'ygg-sandbox', kib, blocks, ...cpu);
    } else command.push('sh', '-c', REAP, 'ygg-sandbox');
    inForce.push(
      'bubblewrap: read-only system',
      'home directories hidden',
      `private /tmp and /dev/shm of ${mib(limits.tmpBytes)} each`,
      diskBounded
        ? `work directory ${workdir} of ${mib(limits.diskBytes)} (disk limit)`
        : `writable work directory ${workdir}`,
      'own pid namespace: nothing outlives the command',
      limits.network ? 'network allowed' : 'no network',
    );
    if (!diskBounded) {
      missing.push(
        `NOT in force: disk limit (the caller's work directory ${workdir} is on the host's disk; the file-size limit holds per file)`,
      );
    }
    if (limits.gpu) {
      inForce.push(
        caps.gpuDevices.length > 0
          ? `GPU devices: ${caps.gpuDevices.join(' ')}`
          : 'GPU requested, but no GPU devices on the host',
      );
    }
  }
  inForce.push('environment: PATH, HOME, LANG and the variables named for it only');

  // `env` would read a first word with `=` as one more variable.
  if (argv[0]?.includes('=') && command.length === 0 && !direct)
    command.push('sh', '-c', 'exec "$@"', 'ygg-exec');
  command.push(...argv);
  const plan: SandboxPlan = {
    argv: direct ? command : [...wrapped, ...command],
    limits,
    workdir,
    ownsWorkdir: requested === undefined,
    diskBounded,
    protections: [...inForce, ...missing],
  };
  if (cgroup) plan.cgroup = cgroup;
  if (direct) {
    plan.spawn = { env: { HOME: workdir, ...vars }, cwd };
    if (drop) plan.spawn.user = { uid: drop.uid, gid: drop.gid };
    if (bwrapWorks) plan.spawn.bubblewrap = true;
    if (cgroup) plan.spawn.cgroupLimits = cgroupLimits;
  }
  return plan;
}
