/**
 * What a pass looks at besides bd's ready set: tasks in progress under a lapsed lease (their
 * loop died, or lost them: ours included when no attempt of ours holds them), and what the live
 * leases of other attempts hold on each host and of each type.
 */
import type { TaskStore } from '../store/store.js';
import { type Task, yggOf } from '../store/task.js';
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

/**
 * The store's in-progress tasks, read again only after the store changed: a pass runs on every
 * slot release, and listing a large store each time would cost more than the pass itself.
 */
export class InProgressTasks {
  #tasks: readonly Task[] | undefined;

  constructor(readonly store: Pick<TaskStore, 'list'>) {}

  /** The store changed (ours or another writer's): read again next time. */
  invalidate(): void {
    this.#tasks = undefined;
  }

  get(): readonly Task[] {
    this.#tasks ??= this.store.list(['in_progress']);
    return this.#tasks;
  }
}

export function scanInProgress(
  tasks: readonly Task[],
  owner: string,
  now: number,
  inFlight: (id: string) => boolean,
): StoreScan {
  const inProgress = tasks.filter((task) => !inFlight(task.id));
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
