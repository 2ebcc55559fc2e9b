/** release: in_progress ─▶ open at once; the interrupted attempt is not held against the task. */
import type { Mutation } from '../../store/store.js';
import { type Task, yggOf } from '../../store/task.js';
import { nextTimestamp } from '../../store/timestamps.js';
import type { ReleaseChange } from './changes.js';
import { endedMeta, holds, withYgg } from './ygg-meta.js';

export function release(change: ReleaseChange): Mutation {
  return (task) => {
    if (!holds(task, change.ending.token)) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(change.ending.now));
    const next: Task = { ...task, status: 'open', updated_at: stamp };
    delete next.assignee;
    const attempt = Math.max(0, (yggOf(task).attempt ?? 1) - 1);
    const notBefore = change.notBefore === undefined ? undefined : new Date(change.notBefore).toISOString();
    return withYgg(next, { ...endedMeta(task, change.ending, stamp), attempt, next_try_at: notBefore });
  };
}
