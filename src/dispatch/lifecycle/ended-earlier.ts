/** ended-earlier: attempts taken over from a lapsed lease were ended on their hosts. */
import type { Mutation } from '../../store/store.js';
import { yggOf } from '../../store/task.js';
import type { EndedEarlierChange } from './changes.js';
import { holds, withYgg } from './ygg-meta.js';

export function endedEarlier(change: EndedEarlierChange): Mutation {
  return (task) => {
    if (!holds(task, change.token)) return undefined;
    const unended = yggOf(task).unended ?? [];
    const left = unended.filter((u) => !change.ended.includes(u.token));
    if (left.length === unended.length) return undefined;
    return withYgg(task, { unended: left.length > 0 ? left : undefined });
  };
}
