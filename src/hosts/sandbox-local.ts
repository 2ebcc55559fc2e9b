/**
 * The sandbox for the local transport, probed once on this machine, handed to `LocalTransport`
 * as its `wrap` function: the same protections as on SSH hosts, but spawned by ygg itself
 * (work directory, cgroup, user, environment and wall clock handled here) wherever no wrapper
 * shell is needed; only a cgroup without bubblewrap keeps the SSH hosts' wrapper.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { chownSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { SandboxSettings } from '../config/types.js';
import type { WrappedCommand } from './local.js';
import { type DirectSpawn, planForExec, type SandboxPlan } from './sandbox.js';
import type { CgroupDirs, CgroupEvidence } from './sandbox-cgroup.js';
import {
  cgroupEvidenceHere,
  joinCgroupHere,
  makeCgroupHere,
  removeCgroupHere,
  tearDownCgroupHere,
  watchCpuHere,
} from './sandbox-cgroup-local.js';
import { LimitSniffer } from './sandbox-limits.js';
import { probeSandbox, type SandboxCapabilities } from './sandbox-probe.js';
import { sandboxResult } from './sandbox-run.js';
import type { ExecOptions } from './transport.js';

function runLocally(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** This machine's sandbox capabilities (probed once per run-as user). */
const probes = new Map<string, Promise<SandboxCapabilities>>();
export function localSandboxCapabilities(runAs: string): Promise<SandboxCapabilities> {
  let probe = probes.get(runAs);
  if (!probe) {
    probe = probeSandbox(runLocally, runAs);
    probes.set(runAs, probe);
    probe.catch(() => probes.delete(runAs));
  }
  return probe;
}

/**
 * A command spawned by ygg itself, with nothing that needs a wrapper shell: its work directory
 * (and cgroup) made here, then the argv spawned as it is (behind `prlimit`, or inside bubblewrap
 * where it works), the transport's timer its wall clock. A shell, `mkdir`, `chown`, `env`,
 * `timeout` and `setpriv` cost about 2 ms each, several times `true` itself.
 */
function spawnedDirectly(plan: SandboxPlan, direct: DirectSpawn, program: string): WrappedCommand {
  const { cgroup } = plan;
  const cgroupLimits = cgroup ? direct.cgroupLimits : undefined;
  // Synchronous: a few system calls, cheaper than trips through the thread pool.
  mkdirSync(plan.workdir, { recursive: true });
  if (direct.user) chownSync(plan.workdir, direct.user.uid, direct.user.gid);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: process.env.LANG || 'C.UTF-8',
    ...direct.env,
  };
  let notStarted: WrappedCommand['notStarted'];
  if (cgroup && cgroupLimits) {
    try {
      makeCgroupHere(cgroup, cgroupLimits);
    } catch (error) {
      notStarted = { code: 125, message: `${(error as Error).message}\n` };
    }
  } else if (!direct.bubblewrap && !onPath(program, env.PATH)) {
    // Looked up here: an unprivileged user's exec that meets a folder it may not enter on the
    // way (root's PATH) says "Permission denied", not that the program is missing.
    notStarted = { code: 127, message: `${program}: command not found\n` };
  }
  let stopWatch: (() => void) | undefined;
  return {
    argv: plan.argv,
    spawn: {
      env,
      cwd: direct.cwd,
      ...(direct.user ? { user: direct.user } : {}),
      ...(cgroupLimits ? { pipes: 2 } : {}),
    },
    ...(notStarted ? { notStarted } : {}),
    timeoutMs: plan.limits.wallMs,
    protections: plan.protections,
    ...(cgroup && cgroupLimits
      ? {
          started: async (child: ChildProcess) => {
            const failure = await letInOnceJoined(child, cgroup);
            if (!failure) stopWatch = watchCpuHere(cgroup, cgroupLimits);
            return failure;
          },
        }
      : {}),
    classify: async (result) => {
      const sniffer = new LimitSniffer();
      sniffer.feed(result.stderr);
      // Bubblewrap's pid namespace ended with the command: what the cgroup recorded is final.
      return sandboxResult(result, plan, sniffer.seen, cgroup ? cgroupEvidenceHere(cgroup) : undefined);
    },
    cleanup: async () => {
      stopWatch?.();
      // Off the command's critical path: its outcome does not wait for the folders to go.
      void Promise.all([
        cgroup ? removeCgroupHere(cgroup) : undefined,
        plan.ownsWorkdir ? removeWorkdir(plan.workdir) : undefined,
      ]).catch(() => undefined);
    },
  };
}

/**
 * Bubblewrap holds the command until it reads a byte on fd 4; its namespace process's pid
 * comes on fd 3. Moves that process into the cgroup (while bubblewrap sets up the sandbox,
 * the kernel's wait for the move overlaps it), then lets it go. When the move fails, kills it
 * first (a killed process never runs on) and says why.
 */
async function letInOnceJoined(child: ChildProcess, cgroup: CgroupDirs): Promise<string | undefined> {
  const info = child.stdio[3] as Readable | null;
  const gate = child.stdio[4] as Writable | null;
  if (!info || !gate) return 'ygg-sandbox: no pipe to hold bubblewrap with\n';
  gate.on('error', () => undefined);
  info.on('error', () => undefined);
  const pid = await new Promise<number | undefined>((resolve) => {
    let text = '';
    info.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const found = text.match(/"child-pid":\s*(\d+)/);
      if (found) resolve(Number(found[1]));
    });
    // Bubblewrap failed before making its namespace: its own message says why.
    info.once('close', () => resolve(undefined));
  });
  if (pid === undefined) return undefined;
  try {
    await joinCgroupHere(cgroup, pid);
  } catch (error) {
    killNow(pid);
    if (child.pid !== undefined) killNow(-child.pid);
    // Ended already (cancelled, timed out): nothing failed.
    return child.exitCode === null && child.signalCode === null ? `${(error as Error).message}\n` : undefined;
  }
  gate.end('x');
  return undefined;
}

function killNow(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** Whether exec would find `program` on `path` (a name with a slash is run as it is). */
function onPath(program: string, path: string): boolean {
  if (program.includes('/')) return true;
  return path
    .split(':')
    .some((dir) => statSync(join(dir || '.', program), { throwIfNoEntry: false })?.isFile());
}

/** Removes a work directory: at once when the command left it empty, as most do. */
async function removeWorkdir(dir: string): Promise<void> {
  try {
    rmdirSync(dir);
  } catch {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A `wrap` function for `LocalTransport`: sandboxes commands under `settings`. */
export function localSandboxWrap(settings: SandboxSettings) {
  return async (argv: readonly string[], options: ExecOptions): Promise<WrappedCommand> => {
    const runAs = typeof options.sandbox === 'object' ? options.sandbox.runAs : undefined;
    const caps = await localSandboxCapabilities(runAs ?? settings.runAs ?? 'nobody');
    const plan = planForExec(argv, options, { settings, caps, direct: true });
    if (plan.spawn) return spawnedDirectly(plan, plan.spawn, argv[0] as string);
    // Once, whichever of classify and cleanup comes first: kill what is left in the cgroup,
    // read what it recorded, remove it and the work directory.
    let teardown: Promise<CgroupEvidence | undefined> | undefined;
    const tearDown = () => {
      teardown ??= (async () => {
        const evidence = plan.cgroup ? await tearDownCgroupHere(plan.cgroup) : undefined;
        if (plan.ownsWorkdir) await rm(plan.workdir, { recursive: true, force: true });
        return evidence;
      })();
      return teardown;
    };
    return {
      argv: plan.argv,
      protections: plan.protections,
      classify: async (result) => {
        const sniffer = new LimitSniffer();
        sniffer.feed(result.stderr);
        return sandboxResult(result, plan, sniffer.seen, await tearDown());
      },
      cleanup: () => tearDown().then(() => undefined),
    };
  };
}
