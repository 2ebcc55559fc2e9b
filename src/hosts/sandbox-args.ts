/**
 * The words of the sandbox wrapper that do not depend on the host's tools: the environment it
 * starts from, bubblewrap's options, and the reaper that runs the command inside bubblewrap.
 */
import { assertEnvName } from './quote.js';
import type { SandboxCapabilities } from './sandbox-probe.js';

/** The limits bubblewrap's mounts need (a subset of `SandboxLimits`). */
interface MountLimits {
  network: boolean;
  tmpBytes: number;
  diskBytes: number;
  gpu: boolean;
}

/**
 * Inside bubblewrap: runs the command, then gives what it left running up to 1 s to finish
 * before the pid namespace ends them all. A background child may finish its work, and a fork
 * bomb whose main process exits at once (`:(){ :|:& };:`) meets its process limit, which then
 * names why it failed, instead of being cut off by chance before or after it got there.
 */
export const REAP = `"$@"; s=$?
n=0
while [ $n -lt 20 ]; do
  set -- /proc/[0-9]*
  [ $# -le 2 ] && exit $s
  n=$((n + 1)); sleep 0.05 2>/dev/null
done
exit $s`;

/**
 * `REAP` behind the command's rlimits, for a command ygg spawns itself: the shell's own `ulimit`
 * sets them before the command runs, where a `prlimit` process in front of bubblewrap cost one
 * more exec. $1 address space in KiB, $2 file size in 512-byte blocks (POSIX `ulimit -f`), $3
 * and $4 the soft and hard CPU seconds (soft first: it may not exceed the hard limit). A limit
 * that cannot be set ends it (125, the shell's message on stderr).
 */
export const LIMITED_REAP = `ulimit -v "$1" && ulimit -f "$2" && ulimit -S -t "$3" && ulimit -H -t "$4" || exit 125
shift 4
${REAP}`;

/** hosts.yaml's `sandbox.env`, then the caller's variables over them; every name checked. */
export function environmentVars(
  fromHost: Record<string, string> | undefined,
  fromCaller: Record<string, string> | undefined,
): Record<string, string> {
  const vars = { ...fromHost, ...fromCaller };
  for (const name of Object.keys(vars)) assertEnvName(name);
  return vars;
}

/** bubblewrap's options: read-only system, private writable places of bounded size. */
export function bwrapArgs(
  limits: MountLimits,
  caps: SandboxCapabilities,
  at: { workdir: string; cwd: string; diskBounded: boolean; held?: boolean },
): string[] {
  const args = ['bwrap', '--die-with-parent', '--new-session', '--unshare-all'];
  // Held until the caller has moved the namespace process (its pid on fd 3) into the cgroup.
  if (at.held) args.push('--info-fd', '3', '--block-fd', '4');
  if (limits.network) args.push('--share-net');
  args.push('--ro-bind', '/', '/', '--dev', '/dev', '--size', String(limits.tmpBytes), '--tmpfs', '/dev/shm');
  if (limits.gpu) for (const dev of caps.gpuDevices) args.push('--dev-bind', dev, dev);
  args.push('--proc', '/proc', '--size', String(limits.tmpBytes), '--tmpfs', '/tmp');
  args.push('--tmpfs', '/home', '--tmpfs', '/root');
  if (at.diskBounded) args.push('--size', String(limits.diskBytes), '--tmpfs', at.workdir);
  else args.push('--bind', at.workdir, at.workdir);
  // The tmpfs bwrap makes for /dev, /home and /root would otherwise be writable without bound.
  args.push('--remount-ro', '/dev', '--remount-ro', '/home', '--remount-ro', '/root');
  args.push('--chdir', at.cwd, '--setenv', 'HOME', at.workdir);
  return args;
}
