/** dead-letter: in_progress ─▶ blocked with `dead` set and the error as a comment (`ygg dlq`). */
import type { Mutation } from '../../store/store.js';
import type { Task } from '../../store/task.js';
import { nextTimestamp } from '../../store/timestamps.js';
import type { DeadLetterChange } from './changes.js';
import { endedMeta, firstLine, holds, withComment, withYgg } from './ygg-meta.js';

export function deadLetter(change: DeadLetterChange): Mutation {
  return (task, context) => {
    const { ending } = change;
    if (!holds(task, ending.token)) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(ending.now));
    const next: Task = { ...task, status: 'blocked', updated_at: stamp };
    delete next.assignee;
    return withYgg(withComment(next, change.comment, stamp, context), {
      ...endedMeta(task, ending, stamp),
      dead: { at: stamp, error: firstLine(ending.error ?? 'failed'), attempts: change.attempts },
    });
  };
}
