/** boost: a started task's boost label is used up (stamped once, while its attempt holds it). */
import type { Mutation } from '../../store/store.js';
import { yggOf } from '../../store/task.js';
import type { BoostChange } from './changes.js';
import { holds, withYgg } from './ygg-meta.js';

export function boost(change: BoostChange): Mutation {
  return (task) => {
    if (!holds(task, change.token) || yggOf(task).boosted) return undefined;
    return withYgg(task, { boosted: new Date(change.now).toISOString() });
  };
}
