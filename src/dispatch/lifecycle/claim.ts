/**
 * claim: open (unassigned, or ygg's) or in_progress under a lapsed lease ─▶ in_progress under a
 * new lease. Declined under the store's lock when the host's live leases fill its slots or hold
 * the same slot, or when the type's cap across every loop is reached.
 */
import type { Mutation } from '../../store/store.js';
import { statusOf, type Task, yggOf } from '../../store/task.js';
import { nextTimestamp } from '../../store/timestamps.js';
import { ownerIsDeadHere, yggAssignee } from '../owner.js';
import type { ClaimChange } from './changes.js';
import { claimedInCommit, claimViewInCommit, leaseLive, type OwnerGone } from './leases.js';
import { latestStart, overRate, startedInCommit } from './rate-in-commit.js';
import { historyKept, withYgg } from './ygg-meta.js';

/**
 * True when `owner` may claim the task now: open and ygg's to take, or its lease has lapsed (or
 * its owner is gone: `gone` from a store shared by machines, or a dead process on this one).
 */
export function isClaimable(task: Task, owner: string, now: number, gone?: OwnerGone): boolean {
  const status = statusOf(task);
  if (status === 'open') return !task.assignee || task.assignee === yggAssignee;
  if (status !== 'in_progress') return false;
  const lease = yggOf(task).lease;
  if (!lease) return false;
  return !leaseLive(lease, now, gone) || ownerIsDeadHere(lease.owner, owner);
}

export function claim(change: ClaimChange): Mutation {
  return (task, context) => {
    if (!isClaimable(task, change.owner, change.now, context?.ownerGone?.bind(context))) return undefined;
    // Where the store guards the host's slots itself, only a type's cap, or a host using fewer
    // slots than it has, needs the other tasks' leases counted here.
    const counted =
      context && (!context.slotsGuarded || change.typeCap !== undefined || change.allHostSlots !== true);
    const taken = counted
      ? claimViewInCommit(context, change.now, task, change.host, change.slot, change.type)
      : { onHost: 0, slotTaken: false, ofType: 0 };
    if (taken.onHost >= change.hostSlots || taken.slotTaken) return undefined;
    if (change.typeCap !== undefined && taken.ofType >= change.typeCap) return undefined;
    if (change.rateLimit && context && overRate(context, task, change.rateLimit, change.now))
      return undefined;
    const meta = yggOf(task);
    const stamp = nextTimestamp(task.updated_at, new Date(change.now));
    const attempt = (meta.attempt ?? 0) + 1;
    const history = [...(meta.history ?? [])];
    // Taken from a lapsed lease: the previous attempt's loop died or lost the task; record it.
    const last = history.at(-1);
    let unended = meta.unended;
    if (statusOf(task) === 'in_progress' && last && !last.end) {
      history[history.length - 1] = {
        ...last,
        end: stamp,
        outcome: 'lost',
        error: 'the loop running it stopped',
      };
      // Its commands may outlive their loop: they are ended before this attempt runs.
      const lost = meta.lease;
      if (lost?.host)
        unended = [...(unended ?? []), { host: lost.host, token: lost.token, attempt: last.attempt }];
    }
    history.push({ attempt, host: change.host, type: change.type, start: stamp });
    const next: Task = { ...task, status: 'in_progress', assignee: yggAssignee, updated_at: stamp };
    if (!task.started_at) next.started_at = stamp;
    const lease = {
      owner: change.owner,
      token: (meta.lease?.token ?? 0) + 1,
      expires: new Date(change.now + change.leaseMs).toISOString(),
      host: change.host,
      slot: change.slot,
      type: change.type,
    };
    const claimed = withYgg(next, {
      attempt,
      lease,
      next_try_at: undefined,
      history: history.slice(-historyKept),
      unended: unended?.slice(-historyKept),
    });
    if (claimed && context) {
      claimedInCommit(context, task, lease);
      if (change.rateLimit) startedInCommit(context, task, latestStart(stamp));
    }
    return claimed;
  };
}
