/**
 * A user per slot: the isolation between a cgroup per command and per-user limits shared by all
 * tasks. `ygg doctor --fix`, run as root on a host, makes system users `ygg-slot-0` …
 * `ygg-slot-(N-1)` for its N slots. Where the host gives ygg no cgroup but ygg logs in as root,
 * a command of the attempt holding slot K runs as `ygg-slot-K` instead of the shared run_as user,
 * so the per-user process rlimit counts that slot's processes only: a fork bomb in one slot
 * cannot use up another slot's count. Memory and CPU time stay bounded per process.
 */

export const SLOT_USER_PREFIX = 'ygg-slot-';

export const slotUserName = (slot: number): string => `${SLOT_USER_PREFIX}${slot}`;

export interface SlotUser {
  name: string;
  uid: number;
  gid: number;
}

/** Most slot users the probe looks for (a host with more slots than this is not expected). */
const MAX_SLOT_USERS = 256;

/** Probe text: prints `slot_user=N:UID:GID` for ygg-slot-0, 1, … up to the first one missing. */
export const SLOT_PROBE = `
i=0
while [ $i -lt ${MAX_SLOT_USERS} ] && id -u "${SLOT_USER_PREFIX}$i" >/dev/null 2>&1; do
  echo "slot_user=$i:$(id -u "${SLOT_USER_PREFIX}$i"):$(id -g "${SLOT_USER_PREFIX}$i")"
  i=$((i + 1))
done
`;

/** The slot users the probe printed (its `slot_user` values), in slot order, index = slot. */
export function parseSlotUsers(lines: readonly string[]): SlotUser[] {
  const users: SlotUser[] = [];
  for (const line of lines) {
    const [slot, uid, gid] = line.split(':').map(Number);
    if (slot !== users.length || !Number.isInteger(uid) || !Number.isInteger(gid)) break;
    users.push({ name: slotUserName(slot), uid: uid!, gid: gid! });
  }
  return users;
}

/**
 * Shell text for `ygg doctor --fix`: $1 the host's slot count. Refuses unless root (exit 77);
 * makes each missing `ygg-slot-N` a system user with no home and no login shell, whose password
 * stays locked (nothing ever logs in as it). Prints `created=NAME:UID` or `exists=NAME:UID` per
 * slot.
 */
const SLOT_FIX = `
n=$1
[ "$(id -u)" = 0 ] || { echo "not root (uid $(id -u))" >&2; exit 77; }
command -v useradd >/dev/null 2>&1 || { echo "useradd is missing (install the passwd package)" >&2; exit 78; }
shell=/usr/sbin/nologin
[ -x "$shell" ] || shell=/sbin/nologin
[ -x "$shell" ] || shell=/bin/false
i=0
while [ $i -lt "$n" ]; do
  u="${SLOT_USER_PREFIX}$i"
  if id -u "$u" >/dev/null 2>&1; then
    echo "exists=$u:$(id -u "$u")"
  else
    # A group of that name left behind by an earlier userdel is reused.
    if getent group "$u" >/dev/null 2>&1; then set -- -g "$u"; else set -- --user-group; fi
    useradd --system --no-create-home --home-dir /nonexistent --shell "$shell" "$@" "$u" || exit 1
    echo "created=$u:$(id -u "$u")"
  fi
  i=$((i + 1))
done
`;

/** Exit status of the fix script when it does not run as root. */
export const SLOT_FIX_NOT_ROOT = 77;

/** The argv that makes the slot users for a host of `slots` slots. */
export function slotFixArgv(slots: number): string[] {
  return ['sh', '-c', SLOT_FIX, 'ygg-doctor-fix', String(slots)];
}

export interface SlotFixReport {
  created: string[];
  existing: string[];
}

export function parseSlotFix(stdout: string): SlotFixReport {
  const report: SlotFixReport = { created: [], existing: [] };
  for (const line of stdout.split('\n')) {
    const m = line.match(/^(created|exists)=([^:]+):\d+$/);
    if (m) (m[1] === 'created' ? report.created : report.existing).push(m[2]!);
  }
  return report;
}

/** What the host's sandbox does about process counts when it gives a command no cgroup. */
export interface WithoutCgroup {
  processes: number;
  /** Why there is no cgroup, in words. */
  why: string;
  /** The user every command shares, in words (`nobody`, `root`, `uid 1000`). */
  sharedUser: string;
  /** ygg logs in as root and can drop privileges: a user per slot is possible. */
  canDrop: boolean;
  slotUsers: readonly SlotUser[];
  /** The slot of the command's attempt, when it runs for one. */
  slot: number | undefined;
  /** Describing a host of this many slots (`ygg hosts`, `ygg doctor`) rather than one command. */
  slots: number | undefined;
}

/** The user a command runs as for its slot, when there is one. */
export function slotUserFor(o: WithoutCgroup): SlotUser | undefined {
  if (!o.canDrop) return undefined;
  if (o.slot !== undefined) return o.slotUsers[o.slot];
  if (o.slots !== undefined && o.slots > 0 && o.slotUsers.length >= o.slots) return o.slotUsers[0];
  return undefined;
}

/** The protection lines for process counts without a cgroup: per slot where it can, else shared. */
export function withoutCgroupLines(o: WithoutCgroup): { inForce: string[]; missing: string[] } {
  const user = slotUserFor(o);
  if (user) {
    const per =
      o.slot !== undefined
        ? `process limit ${o.processes} for its slot (a user per slot: runs as ${user.name}, so other slots' processes do not count against it)`
        : `process limit ${o.processes} per slot (a user per slot: ${slotUserName(0)} … ${slotUserName(o.slots! - 1)})`;
    return {
      inForce: [per],
      missing: [
        `NOT in force: a cgroup of its own (${o.why}): a user per slot holds the process count per slot; memory and CPU time are bounded per process only`,
      ],
    };
  }
  const missing = [
    `NOT in force: a cgroup of its own (${o.why}): the process limit counts all sandboxed commands of ${o.sharedUser} together, so one fork bomb can stop its neighbours; memory is bounded per process only (per-user limits shared by all tasks)`,
  ];
  if (o.canDrop) {
    const absent = o.slot !== undefined ? o.slot : o.slotUsers.length;
    if (o.slot !== undefined || (o.slots ?? 0) > 0) {
      missing.push(
        `NOT in force: a user per slot (no user ${slotUserName(absent)}: run \`ygg doctor --fix\` as root on the host)`,
      );
    }
  }
  return { inForce: [], missing };
}
