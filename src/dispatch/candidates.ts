/**
 * What a pass looks at besides bd's ready set: tasks in progress under a lapsed lease (their
 * loop died, or lost them: ours included when no attempt of ours holds them), and what the live
 * leases of other attempts hold on each host and of each type.
 */
import type { TaskStore } from '../store/store.js';
import type { Task } from '../store/task.js';
import { yggOf } from '../store/task.js';
import { isClaimable } from './lifecycle/claim.js';
import { type Occupancy, occupancy } from './lifecycle/leases.js';

export interface StoreScan {
  /** In-progress tasks that may be claimed again now. */
  lapsed: Task[];
  /** Slots and types held by live leases, other than this loop's own attempts in flight. */
  elsewhere: Occupancy;
  /** When the next live lease not held by us lapses (to look again then). */
  nextExpiry: number;
}

export function scanInProgress(
  store: Pick<TaskStore, 'list'>,
  owner: string,
  now: number,
  inFlight: (id: string) => boolean,
): StoreScan {
  const inProgress = store.list(['in_progress']).filter((task) => !inFlight(task.id));
  const lapsed: Task[] = [];
  let nextExpiry = Number.POSITIVE_INFINITY;
  for (const task of inProgress) {
    const lease = yggOf(task).lease;
    if (!lease) continue;
    if (isClaimable(task, owner, now)) lapsed.push(task);
    else {
      const expires = Date.parse(lease.expires);
      if (Number.isFinite(expires)) nextExpiry = Math.min(nextExpiry, expires + 1);
    }
  }
  return { lapsed, elsewhere: occupancy(inProgress, now), nextExpiry };
}
