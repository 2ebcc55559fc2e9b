/** renew: in_progress ─▶ in_progress with the lease extended, while the attempt's token holds. */
import type { Mutation } from '../../store/store.js';
import { yggOf } from '../../store/task.js';
import type { RenewChange } from './changes.js';
import { holds, withYgg } from './ygg-meta.js';

export function renew(change: RenewChange): Mutation {
  return (task) => {
    const lease = yggOf(task).lease;
    if (!lease || !holds(task, change.token)) return undefined;
    return withYgg(task, {
      lease: { ...lease, expires: new Date(change.now + change.leaseMs).toISOString() },
    });
  };
}
