/**
 * What a host can do to contain a command: which tools exist, whether bubblewrap actually works
 * for the user sandboxed commands run as, and which GPU device nodes exist. One shell script,
 * fixed text, run once per host by whichever transport reaches it.
 */
import { CGROUP_PROBE, type CgroupSupport, parseCgroupProbe } from './sandbox-cgroup.js';
import { parseSlotUsers, SLOT_PROBE, type SlotUser } from './sandbox-slots.js';

export type BwrapState = 'working' | 'missing' | 'broken';

export interface SandboxCapabilities {
  /** The uid ygg logs in as. */
  loginUid: number;
  timeout: boolean;
  prlimit: boolean;
  setpriv: boolean;
  bwrap: BwrapState;
  /** First line of bubblewrap's complaint when it is present but fails. */
  bwrapError?: string;
  nvidiaSmi: boolean;
  /** The unprivileged user to drop to, when ygg logs in as root and that user exists. */
  runAs?: { name: string; uid: number; gid: number };
  /** GPU device nodes on the host (`/dev/nvidia*`, `/dev/dri`). */
  gpuDevices: string[];
  /** Where each command gets a cgroup of its own; absent: limits count per user. */
  cgroup?: CgroupSupport;
  /** `ygg-slot-0` … as far as they exist (made by `ygg doctor --fix`): a user per slot. */
  slotUsers?: SlotUser[];
}

// $1: the run-as user. Prints key=value lines. The bwrap check runs as the user sandboxed
// commands will run as, since a user namespace that works for root may not for `nobody`.
const PROBE_SCRIPT = `
u="$1"
echo "uid=$(id -u)"
for t in timeout prlimit setpriv bwrap nvidia-smi; do
  command -v "$t" >/dev/null 2>&1 && echo "have=$t"
done
if id -u "$u" >/dev/null 2>&1; then echo "runas_uid=$(id -u "$u")"; echo "runas_gid=$(id -g "$u")"; fi
for d in /dev/nvidia* /dev/dri; do [ -e "$d" ] && echo "gpu_dev=$d"; done
set --
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 && id -u "$u" >/dev/null 2>&1; then
  set -- setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups --
fi
if command -v bwrap >/dev/null 2>&1; then
  if out=$("$@" bwrap --die-with-parent --new-session --unshare-all --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp -- true 2>&1); then
    echo "bwrap=working"
  else
    echo "bwrap=broken"
    printf 'bwrap_error=%s\\n' "$(printf '%s\\n' "$out" | head -n 1)"
  fi
fi
${SLOT_PROBE}
${CGROUP_PROBE}`;

/** The argv that prints a host's sandbox capabilities (parse it with `parseSandboxProbe`). */
export function sandboxProbeArgv(runAs: string): string[] {
  return ['sh', '-c', PROBE_SCRIPT, 'ygg-sandbox-probe', runAs];
}

export function parseSandboxProbe(stdout: string, runAsName: string): SandboxCapabilities {
  const have = new Set<string>();
  const gpuDevices: string[] = [];
  const cgroupControllers: string[] = [];
  const slotLines: string[] = [];
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'have') have.add(value);
    else if (key === 'gpu_dev') gpuDevices.push(value);
    else if (key === 'cg_ctl') cgroupControllers.push(value);
    else if (key === 'slot_user') slotLines.push(value);
    else values.set(key, value);
  }
  const loginUid = Number(values.get('uid') ?? Number.NaN);
  if (!Number.isInteger(loginUid)) throw new Error(`sandbox probe printed no uid: ${stdout.slice(0, 200)}`);
  const bwrap: BwrapState = have.has('bwrap')
    ? values.get('bwrap') === 'working'
      ? 'working'
      : 'broken'
    : 'missing';
  const caps: SandboxCapabilities = {
    loginUid,
    timeout: have.has('timeout'),
    prlimit: have.has('prlimit'),
    setpriv: have.has('setpriv'),
    bwrap,
    nvidiaSmi: have.has('nvidia-smi'),
    gpuDevices,
  };
  const slotUsers = parseSlotUsers(slotLines);
  if (slotUsers.length > 0) caps.slotUsers = slotUsers;
  const cgroup = parseCgroupProbe(values, cgroupControllers);
  if (cgroup) caps.cgroup = cgroup;
  const bwrapError = values.get('bwrap_error');
  if (bwrap === 'broken' && bwrapError) caps.bwrapError = bwrapError;
  const uid = Number(values.get('runas_uid'));
  const gid = Number(values.get('runas_gid'));
  if (values.has('runas_uid') && Number.isInteger(uid) && Number.isInteger(gid)) {
    caps.runAs = { name: runAsName, uid, gid };
  }
  return caps;
}

/** Something that runs an argv on the host and reports its output. */
export type RunForProbe = (
  argv: string[],
) => Promise<{ code: number | null; stdout: string; stderr: string }>;

/** Probes a host through any transport's exec. */
export async function probeSandbox(run: RunForProbe, runAs: string): Promise<SandboxCapabilities> {
  const result = await run(sandboxProbeArgv(runAs));
  if (result.code !== 0) {
    throw new Error(`sandbox probe failed (exit ${result.code}): ${result.stderr.trim().slice(0, 300)}`);
  }
  return parseSandboxProbe(result.stdout, runAs);
}
