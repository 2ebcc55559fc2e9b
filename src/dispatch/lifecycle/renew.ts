/** renew: in_progress ─▶ in_progress with the lease extended, while the attempt's token holds. */
import type { Mutation } from '../../store/store.js';
import { yggOf } from '../../store/task.js';
import type { RenewChange } from './changes.js';
import { claimViewInCommit } from './leases.js';
import { holds, withYgg } from './ygg-meta.js';

export function renew(change: RenewChange): Mutation {
  return (task, context) => {
    const lease = yggOf(task).lease;
    if (!lease || !holds(task, change.token)) return undefined;
    // A lease that lapsed (a stalled dispatcher, a store away) may have seen its slot given to
    // other work meanwhile: renewing it then would run two tasks on one slot. Declined; the
    // attempt stops, as one that cannot renew does.
    const lapsed = !(Date.parse(lease.expires) > change.now) || context?.ownerGone?.(lease.owner) === true;
    if (context && lapsed && typeof lease.host === 'string' && !lease.lent) {
      const slot = typeof lease.slot === 'number' ? lease.slot : -1;
      const view = claimViewInCommit(context, change.now, task, lease.host, slot, lease.type ?? '');
      if (view.slotTaken) return undefined;
    }
    return withYgg(task, {
      lease: { ...lease, expires: new Date(change.now + change.leaseMs).toISOString() },
    });
  };
}
