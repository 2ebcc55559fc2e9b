/** succeed: in_progress ─▶ closed, with the result as a comment. */
import type { Mutation } from '../../store/store.js';
import type { Task } from '../../store/task.js';
import { nextTimestamp } from '../../store/timestamps.js';
import type { SucceedChange } from './changes.js';
import { endedMeta, holds, withComment, withYgg } from './ygg-meta.js';

export function succeed(change: SucceedChange): Mutation {
  return (task, context) => {
    if (!holds(task, change.ending.token)) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(change.ending.now));
    const next: Task = {
      ...task,
      status: 'closed',
      closed_at: stamp,
      close_reason: change.closeReason,
      updated_at: stamp,
    };
    return withYgg(withComment(next, change.comment, stamp, context), endedMeta(task, change.ending, stamp));
  };
}
