/**
 * cancel: any status but closed ─▶ closed as cancelled (`ygg cancel`); a loop running the task
 * aborts it. note-cancelled: the aborted attempt's record is closed, the status left as it is.
 */
import type { Mutation } from '../../store/store.js';
import { statusOf, yggOf } from '../../store/task.js';
import { nextTimestamp } from '../../store/timestamps.js';
import type { CancelChange, NoteCancelledChange } from './changes.js';
import { endedMeta, withYgg } from './ygg-meta.js';

export function cancel(change: CancelChange): Mutation {
  return (task) => {
    if (statusOf(task) === 'closed') return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(change.now));
    const next = {
      ...task,
      status: 'closed',
      closed_at: stamp,
      close_reason: 'cancelled',
      updated_at: stamp,
    };
    return withYgg(next, { cancelled: { at: stamp, by: change.by } });
  };
}

export function noteCancelled(change: NoteCancelledChange): Mutation {
  return (task) => {
    const meta = yggOf(task);
    if (meta.lease?.token !== change.token) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(change.now));
    const ending = {
      token: change.token,
      now: change.now,
      outcome: 'cancelled' as const,
      error: `cancelled by ${change.by}`,
      ...(change.runMs === undefined ? {} : { runMs: change.runMs }),
    };
    return withYgg(
      { ...task, updated_at: stamp },
      { ...endedMeta(task, ending, stamp), cancelled: meta.cancelled ?? { at: stamp, by: change.by } },
    );
  };
}
