/** send back (`ygg retry`): blocked as a dead letter ─▶ open, its attempts counted afresh. */
import type { Mutation } from '../../store/store.js';
import { type Task, yggOf } from '../../store/task.js';
import { nextTimestamp } from '../../store/timestamps.js';
import type { SendBackChange } from './changes.js';
import { withYgg } from './ygg-meta.js';

export function sendBack(change: SendBackChange): Mutation {
  return (task) => {
    if (!yggOf(task).dead) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(change.now));
    const next: Task = { ...task, status: 'open', updated_at: stamp };
    delete next.assignee;
    delete next.closed_at;
    delete next.close_reason;
    return withYgg(next, { dead: undefined, next_try_at: undefined, retried_at: stamp });
  };
}
