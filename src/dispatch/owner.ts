import { hostname } from 'node:os';

/** The name ygg claims tasks under (`assignee`); an open task assigned to anyone else is theirs. */
export const yggAssignee = 'ygg';

/** This machine's name, read once: every pass asks it of each lease another loop holds. */
const thisMachine = hostname();

/** This loop's identity in leases: machine, process and start time. */
export function loopOwner(startedAt = Date.now()): string {
  return `${thisMachine}:${process.pid}:${startedAt}`;
}

/** True when a lease owner is another loop on this machine (its process can be looked at). */
export function ownerHere(owner: string, self: string): boolean {
  return owner !== self && owner.startsWith(`${thisMachine}:`);
}

/**
 * True when a lease owner is a loop on this machine whose process is gone (killed, crashed):
 * its tasks can be taken back at once instead of waiting for the lease to expire.
 */
export function ownerIsDeadHere(owner: string, self: string): boolean {
  if (owner === self) return false;
  const [machine, pidText] = owner.split(':');
  if (machine !== thisMachine) return false;
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  // Our own pid under another start time is an earlier incarnation that reused the pid.
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
