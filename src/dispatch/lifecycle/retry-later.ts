/** retry later: in_progress ─▶ open, not started again before `next_try_at`. */
import type { Mutation } from '../../store/store.js';
import type { Task } from '../../store/task.js';
import { nextTimestamp } from '../../store/timestamps.js';
import type { RetryLaterChange } from './changes.js';
import { endedMeta, holds, withYgg } from './ygg-meta.js';

export function retryLater(change: RetryLaterChange): Mutation {
  return (task) => {
    if (!holds(task, change.ending.token)) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(change.ending.now));
    const next: Task = { ...task, status: 'open', updated_at: stamp };
    delete next.assignee;
    return withYgg(next, {
      ...endedMeta(task, change.ending, stamp),
      next_try_at: new Date(change.nextTryAt).toISOString(),
    });
  };
}
