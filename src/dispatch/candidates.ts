/**
 * What a pass looks at besides bd's ready set: tasks in progress under a lapsed lease (their
 * loop died, or lost them: ours included when no attempt of ours holds them), and what the live
 * leases of other attempts hold on each host and of each type.
 */
import type { StoreChange, TaskStore } from '../store/store.js';
import { statusOf, type Task, yggOf } from '../store/task.js';
import { isClaimable } from './lifecycle/claim.js';
import { type Occupancy, type OwnerGone, occupancy } from './lifecycle/leases.js';
import { ownerHere, ownerIsDeadHere } from './owner.js';

/** How often a loop looks whether another loop on this machine that holds leases still runs. */
export const localOwnerCheckMs = 500;

export interface StoreScan {
  /** In-progress tasks that may be claimed again now. */
  lapsed: Task[];
  /** Slots and types held by live leases, other than this loop's own attempts in flight. */
  elsewhere: Occupancy;
  /** When the next live lease not held by us lapses (to look again then). */
  nextExpiry: number;
}

/**
 * The store's in-progress tasks, kept up to date from the store's changes by id: a pass runs on
 * every slot release, and listing (and parsing) a large store each time cost more than the pass.
 */
export class InProgressTasks {
  #byId: Map<string, Task> | undefined;

  constructor(readonly store: Pick<TaskStore, 'list' | 'get' | 'statusOf'>) {}

  /** The store changed (ours or another writer's): look again at the tasks it names. */
  changed(change: StoreChange): void {
    const byId = this.#byId;
    if (!byId) return;
    for (const id of [...change.added, ...change.changed, ...change.removed]) {
      // The status alone first: most changed lines are not in progress and need no parse.
      const task = this.store.statusOf(id) === 'in_progress' ? this.store.get(id) : undefined;
      if (task && statusOf(task) === 'in_progress') byId.set(id, task);
      else byId.delete(id);
    }
  }

  /** Read everything again on the next look (a reload whose changes are not known by id). */
  invalidate(): void {
    this.#byId = undefined;
  }

  get(): readonly Task[] {
    this.#byId ??= new Map(this.store.list(['in_progress']).map((task) => [task.id, task]));
    return [...this.#byId.values()];
  }
}

export function scanInProgress(
  tasks: readonly Task[],
  owner: string,
  now: number,
  inFlight: (id: string) => boolean,
  gone?: OwnerGone,
): StoreScan {
  const inProgress = tasks.filter((task) => !inFlight(task.id));
  const lapsed: Task[] = [];
  let nextExpiry = Number.POSITIVE_INFINITY;
  for (const task of inProgress) {
    const lease = yggOf(task).lease;
    if (!lease) continue;
    if (isClaimable(task, owner, now, gone)) lapsed.push(task);
    else {
      const expires = Date.parse(lease.expires);
      if (Number.isFinite(expires)) nextExpiry = Math.min(nextExpiry, expires + 1);
      // Its death changes nothing in the store, so nothing else would wake this loop before the
      // lease lapses: look again soon while another loop here holds leases.
      if (ownerHere(lease.owner, owner)) nextExpiry = Math.min(nextExpiry, now + localOwnerCheckMs);
    }
  }
  // A lease of a loop that died on this machine holds no slot: its task is claimable now, and
  // counting it would keep a full host waiting for the lease to run out (no wake is set for it).
  const goneHere: OwnerGone = (o) => gone?.(o) === true || ownerIsDeadHere(o, owner);
  return { lapsed, elsewhere: occupancy(inProgress, now, undefined, goneHere), nextExpiry };
}
