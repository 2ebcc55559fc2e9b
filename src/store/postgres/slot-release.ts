/**
 * The slot rows' side of a claim on the PostgreSQL store (see migration 5): a lease that lapsed
 * keeps its task's row in progress, naming its slot, until the task is taken back; the database
 * lets one live lease hold a slot. So a commit that hands a slot to other work first clears the
 * slot column of rows whose lease on it lapsed (or whose dispatcher is gone). A row whose lease is
 * still live is left alone: the database then refuses the commit, as it should.
 */
import { type Task, yggOf } from '../task.js';
import type { IssueMirror } from './mirror.js';

/** A live, unlent lease's slot key (`host\0slot`), if the task holds one. */
function heldSlot(task: Task): string | undefined {
  if (task.status !== 'in_progress') return undefined;
  const lease = yggOf(task).lease;
  if (!lease?.host || lease.slot === undefined || lease.lent) return undefined;
  return `${lease.host}\u0000${lease.slot}`;
}

/**
 * Ids of rows not written by this batch whose lapsed lease names a slot one of `written` takes.
 * `nowMs` is the store's clock (the database's), the one leases are written and judged on.
 */
export function lapsedSlotHolders(
  mirror: IssueMirror,
  written: Iterable<Task>,
  nowMs: number,
  ownerGone: (owner: string) => boolean,
): string[] {
  const taken = new Set<string>();
  const writtenIds = new Set<string>();
  for (const task of written) {
    writtenIds.add(task.id);
    const slot = heldSlot(task);
    if (slot) taken.add(slot);
  }
  if (taken.size === 0) return [];
  const holders: string[] = [];
  for (const id of mirror.idsWith(['in_progress'])) {
    if (writtenIds.has(id)) continue;
    const task = mirror.get(id);
    const slot = task && heldSlot(task);
    if (!slot || !taken.has(slot)) continue;
    const lease = yggOf(task).lease;
    const expires = Date.parse(lease?.expires ?? '');
    if (!(expires > nowMs) || (lease?.owner !== undefined && ownerGone(lease.owner))) holders.push(id);
  }
  return holders;
}
