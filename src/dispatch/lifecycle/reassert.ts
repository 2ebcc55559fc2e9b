/**
 * reassert: a writer that does not take the store's lock renamed an older copy of the file over
 * ours, undoing a claim, renewal or outcome of ours. Our last version goes back, as long as the
 * task still shows the older state (a lower lease token, an `updated_at` no later than ours);
 * anyone else's newer change (a cancel, an edit) wins.
 */
import type { Mutation } from '../../store/store.js';
import { type Task, yggOf } from '../../store/task.js';
import { parseMicros } from '../../store/timestamps.js';
import type { ReassertChange } from './changes.js';

/** True when `current` is an older copy of the task than `ours` (a foreign writer's revert). */
export function isRevertOf(current: Task, ours: Task): boolean {
  if (current === ours) return false;
  const ourToken = yggOf(ours).lease?.token ?? 0;
  const theirToken = yggOf(current).lease?.token ?? 0;
  if (theirToken > ourToken) return false;
  const theirs = parseMicros(current.updated_at);
  const mine = parseMicros(ours.updated_at);
  if (theirs === undefined || mine === undefined || theirs >= mine) return false;
  return true;
}

export function reassert(change: ReassertChange): Mutation {
  return (task) => {
    if (!isRevertOf(task, change.ours)) return undefined;
    // Their edits to other keys of this task are kept only where ours did not set the key.
    return { ...task, ...change.ours };
  };
}
