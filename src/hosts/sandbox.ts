/**
 * Sandboxed execution on a host, the same for SSH and local transports: the argv is wrapped in
 * `timeout -k` (wall clock, kills the group), `prlimit` (address space, CPU, file size,
 * processes), `setpriv` (drop root to an unprivileged user) and `bwrap` (read-only system, hidden
 * homes, private /tmp, a writable work directory, no network, own pid namespace), as far as the
 * host's capabilities allow. What is not in force is said in the result, never left out.
 */
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import type { SandboxSettings } from '../config/types.js';
import { classifyLimit, describeLimit, LimitSniffer } from './sandbox-limits.js';
import type { SandboxCapabilities } from './sandbox-probe.js';
import type { ExecOptions, ExecResult, SandboxRequest } from './transport.js';

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
  /** Protections in force, then `NOT in force: ...` lines for what the host could not give. */
  protections: string[];
}

/** Time `timeout` waits after TERM before KILL. */
const KILL_GRACE_S = 2;

/** With no time limit given, a sandboxed command may take twice its CPU budget plus 10 s (a busy host shares its cores). */
const WALL_PER_CPU = 2;
const WALL_SLACK_MS = 10_000;

export function sandboxLimits(
  request: boolean | SandboxRequest,
  settings: SandboxSettings,
  timeoutMs: number | undefined,
): SandboxLimits {
  const r: SandboxRequest = typeof request === 'object' ? request : {};
  const cpuSeconds = r.cpuSeconds ?? settings.cpuSeconds;
  return {
    network: r.network ?? settings.network,
    memoryBytes: r.memoryBytes ?? settings.memoryBytes,
    cpuSeconds,
    fileSizeBytes: r.fileSizeBytes ?? settings.fileSizeBytes,
    processes: r.processes ?? settings.processes,
    tmpBytes: r.tmpBytes ?? settings.tmpBytes,
    gpu: r.gpu ?? false,
    wallMs: timeoutMs ?? cpuSeconds * WALL_PER_CPU * 1000 + WALL_SLACK_MS,
  };
}

const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

// Makes the work directory (owned by the sandbox user), enters the working directory, then
// execs the rest, so the wrapper keeps the session's process and process group.
const PREPARE =
  'mkdir -p -- "$1" && { [ -z "$2" ] || chown -- "$2" "$1"; } && cd -- "$3" && shift 3 && exec "$@"';

export interface PlanOptions {
  request: boolean | SandboxRequest;
  settings: SandboxSettings;
  caps: SandboxCapabilities;
  timeoutMs?: number;
  cwd?: string;
}

/** Builds the wrapped argv and the list of protections for one command. */
export function planSandbox(argv: readonly string[], options: PlanOptions): SandboxPlan {
  const { caps, settings } = options;
  const limits = sandboxLimits(options.request, settings, options.timeoutMs);
  const request: SandboxRequest = typeof options.request === 'object' ? options.request : {};
  const requested = request.workdir;
  const workdir = requested ?? posix.join(request.workRoot ?? settings.workRoot, `run-${randomUUID()}`);
  const runAs = request.runAs ?? settings.runAs ?? 'nobody';
  const bubblewrap = request.enabled ?? settings.enabled;
  const cwd = options.cwd ?? workdir;
  const inForce: string[] = [];
  const missing: string[] = [];

  const isRoot = caps.loginUid === 0;
  const drop = isRoot && caps.setpriv && caps.runAs !== undefined ? caps.runAs : undefined;
  const owner = drop ? `${drop.uid}:${drop.gid}` : '';
  const wrapped: string[] = ['sh', '-c', PREPARE, 'ygg-sandbox', workdir, owner, cwd];

  const wallS = Math.max(1, Math.ceil(limits.wallMs / 1000));
  if (caps.timeout) {
    wrapped.push('timeout', '-k', String(KILL_GRACE_S), String(wallS));
    inForce.push(`wall-clock limit ${wallS} s (then the process group is killed)`);
  } else {
    inForce.push(`wall-clock limit ${wallS} s, enforced by ygg's connection`);
    missing.push(
      'NOT in force: host-side wall-clock limit (`timeout` missing): a lost connection leaves it running',
    );
  }

  if (caps.prlimit) {
    wrapped.push(
      'prlimit',
      `--as=${limits.memoryBytes}`,
      `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
      `--fsize=${limits.fileSizeBytes}`,
      `--nproc=${limits.processes}`,
      '--',
    );
    inForce.push(
      `memory limit ${mib(limits.memoryBytes)} (address space)`,
      `CPU limit ${limits.cpuSeconds} s`,
      `file-size limit ${mib(limits.fileSizeBytes)}`,
      `process limit ${limits.processes}${drop || !isRoot ? '' : ' (does not bind for root)'}`,
    );
  } else {
    missing.push('NOT in force: memory, CPU, file-size and process limits (`prlimit` missing)');
  }

  if (drop) {
    wrapped.push('setpriv', `--reuid=${drop.uid}`, `--regid=${drop.gid}`, '--clear-groups', '--');
    inForce.push(`runs as ${drop.name} (uid ${drop.uid}), not root`);
  } else if (isRoot) {
    const why = !caps.setpriv ? '`setpriv` missing' : `user ${runAs} does not exist`;
    missing.push(`NOT in force: unprivileged user (logged in as root, ${why}): the command runs as root`);
  } else {
    inForce.push(`runs as the login user (uid ${caps.loginUid}), not root`);
  }

  if (!bubblewrap) {
    missing.push(
      'NOT in force: bubblewrap (sandbox.enabled is false in hosts.yaml): no filesystem, network or pid isolation',
    );
  } else if (caps.bwrap !== 'working') {
    const why = caps.bwrap === 'missing' ? 'not installed' : `fails: ${caps.bwrapError ?? 'unknown error'}`;
    missing.push(
      `NOT in force: bubblewrap (${why}): the system and home directories are visible, the network is reachable, and a detached child can outlive the command`,
    );
  } else {
    wrapped.push('bwrap', '--die-with-parent', '--new-session', '--unshare-all');
    if (limits.network) wrapped.push('--share-net');
    wrapped.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc');
    wrapped.push(
      '--size',
      String(limits.tmpBytes),
      '--tmpfs',
      '/tmp',
      '--tmpfs',
      '/home',
      '--tmpfs',
      '/root',
    );
    if (limits.gpu) for (const dev of caps.gpuDevices) wrapped.push('--dev-bind', dev, dev);
    wrapped.push('--bind', workdir, workdir, '--chdir', cwd, '--setenv', 'HOME', workdir, '--');
    inForce.push(
      'bubblewrap: read-only system',
      'home directories hidden',
      `private /tmp of ${mib(limits.tmpBytes)}`,
      `writable work directory ${workdir}`,
      'own pid namespace: nothing outlives the command',
      limits.network ? 'network allowed' : 'no network',
    );
    if (limits.gpu) {
      inForce.push(
        caps.gpuDevices.length > 0
          ? `GPU devices: ${caps.gpuDevices.join(' ')}`
          : 'GPU requested, but no GPU devices on the host',
      );
    }
  }

  wrapped.push(...argv);
  return {
    argv: wrapped,
    limits,
    workdir,
    ownsWorkdir: requested === undefined,
    protections: [...inForce, ...missing],
  };
}

/** The transport's own (unsandboxed) exec. */
export type RawExec = (argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;

/** How long ygg's own timer waits past the host's wall bound before killing from its side. */
const BACKSTOP_MS = (KILL_GRACE_S + 3) * 1000;

/**
 * Runs an argv sandboxed through a transport's raw exec: wraps it, watches stderr for limit
 * messages, says which limit ended it and which protections were in force, and removes the work
 * directory it made. Transports call this when `options.sandbox` is set.
 */
export async function execSandboxed(
  rawExec: RawExec,
  caps: SandboxCapabilities,
  settings: SandboxSettings,
  argv: readonly string[],
  options: ExecOptions,
): Promise<ExecResult> {
  const plan = planSandbox(argv, {
    request: options.sandbox ?? true,
    settings,
    caps,
    timeoutMs: options.timeoutMs,
    cwd: options.cwd,
  });
  const sniffer = new LimitSniffer();
  const onOutput = options.onOutput;
  const hostBound = caps.timeout;
  const { sandbox: _sandbox, cwd: _cwd, ...rest } = options;
  try {
    const result = await rawExec(plan.argv, {
      ...rest,
      timeoutMs: hostBound ? plan.limits.wallMs + BACKSTOP_MS : plan.limits.wallMs,
      onOutput: (chunk, stream) => {
        if (stream === 'stderr') sniffer.feed(chunk);
        onOutput?.(chunk, stream);
      },
    });
    const limit =
      result.limit === 'cancelled'
        ? 'cancelled'
        : classifyLimit({
            code: result.code,
            signal: result.signal,
            durationMs: result.durationMs,
            wallMs: plan.limits.wallMs,
            timedOut: result.limit === 'time',
            markers: sniffer.seen,
          });
    const out: ExecResult = { ...result, protections: plan.protections };
    delete out.limit;
    delete out.limitMessage;
    if (limit) {
      out.limit = limit;
      out.limitMessage = describeLimit(limit, plan.limits);
    }
    return out;
  } finally {
    if (plan.ownsWorkdir) {
      // Best effort: the host may be gone, and the next attempt uses a fresh directory anyway.
      await rawExec(['rm', '-rf', '--', plan.workdir], { timeoutMs: 30_000 }).catch(() => undefined);
    }
  }
}
