/**
 * The sandbox for the local transport: the same wrapper as on SSH hosts, probed once on this
 * machine, handed to `LocalTransport` as its `wrap` function.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxSettings } from '../config/types.js';
import type { WrappedCommand } from './local.js';
import { type DirectSpawn, planSandbox, type SandboxPlan } from './sandbox.js';
import { type CgroupEvidence, tearDownCgroupHere } from './sandbox-cgroup.js';
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
 * A command with nothing that needs a wrapper shell (no bubblewrap, no cgroup): its work
 * directory made here, then spawned as it is (behind `prlimit`), the transport's timer its wall
 * clock. A shell, `timeout` and `setpriv` cost about 2 ms each, several times `true` itself.
 */
function spawnedDirectly(plan: SandboxPlan, direct: DirectSpawn, program: string): WrappedCommand {
  // Synchronous: two system calls, cheaper than two trips through the thread pool.
  mkdirSync(plan.workdir, { recursive: true });
  if (direct.user) chownSync(plan.workdir, direct.user.uid, direct.user.gid);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: process.env.LANG || 'C.UTF-8',
    ...direct.env,
  };
  return {
    argv: plan.argv,
    spawn: { env, cwd: direct.cwd, ...(direct.user ? { user: direct.user } : {}) },
    // Looked up here: an unprivileged user's exec that meets a folder it may not enter on the
    // way (root's PATH) says "Permission denied", not that the program is missing.
    ...(onPath(program, env.PATH) ? {} : { missing: program }),
    timeoutMs: plan.limits.wallMs,
    protections: plan.protections,
    classify: async (result) => {
      const sniffer = new LimitSniffer();
      sniffer.feed(result.stderr);
      return sandboxResult(result, plan, sniffer.seen, undefined);
    },
    cleanup: plan.ownsWorkdir ? () => removeWorkdir(plan.workdir) : undefined,
  };
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
    const plan = planSandbox(argv, {
      request: options.sandbox ?? true,
      settings,
      caps,
      timeoutMs: options.timeoutMs,
      cwd: options.cwd,
      env: options.env,
      direct: true,
    });
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
