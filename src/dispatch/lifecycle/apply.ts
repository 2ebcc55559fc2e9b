/** Applies a change to the file store: a compare-and-swap under its lock, on the freshest line. */
import type { Mutation, TaskStore } from '../../store/store.js';
import type { Task } from '../../store/task.js';
import { boost } from './boost.js';
import { cancel, noteCancelled } from './cancel.js';
import type { TaskChange } from './changes.js';
import { claim } from './claim.js';
import { deadLetter } from './dead-letter.js';
import { endedEarlier } from './ended-earlier.js';
import { lendSlot } from './lend-slot.js';
import { reassert } from './reassert.js';
import { release } from './release.js';
import { renew } from './renew.js';
import { retryLater } from './retry-later.js';
import { sendBack } from './send-back.js';
import { succeed } from './succeed.js';

/** The mutation that carries out a change (pure: it returns the new task or declines). */
export function mutationFor(change: TaskChange): Mutation {
  switch (change.op) {
    case 'claim':
      return claim(change);
    case 'renew':
      return renew(change);
    case 'succeed':
      return succeed(change);
    case 'retry-later':
      return retryLater(change);
    case 'dead-letter':
      return deadLetter(change);
    case 'release':
      return release(change);
    case 'note-cancelled':
      return noteCancelled(change);
    case 'cancel':
      return cancel(change);
    case 'send-back':
      return sendBack(change);
    case 'boost':
      return boost(change);
    case 'lend-slot':
      return lendSlot(change);
    case 'reassert':
      return reassert(change);
    case 'ended-earlier':
      return endedEarlier(change);
  }
}

/**
 * Writes a change durably. Resolves with the task as written, or undefined when the change
 * declined (its condition no longer held: the lease was taken over, the host filled up...).
 */
export function applyChange(store: TaskStore, change: TaskChange): Promise<Task | undefined> {
  return store.update(change.id, mutationFor(change));
}
