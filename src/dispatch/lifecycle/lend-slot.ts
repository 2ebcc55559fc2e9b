/**
 * lend slot: a running attempt waiting on a tool lends its host slot (not counted meanwhile), and
 * takes one back after, declined while the host's live leases fill it.
 */
import type { Mutation } from '../../store/store.js';
import { yggOf } from '../../store/task.js';
import type { LendSlotChange } from './changes.js';
import { occupancy, slotRefusal } from './leases.js';
import { holds, withYgg } from './ygg-meta.js';

export function lendSlot(change: LendSlotChange): Mutation {
  return (task, context) => {
    const lease = yggOf(task).lease;
    if (!lease || !holds(task, change.token)) return undefined;
    if (change.lent) return withYgg(task, { lease: { ...lease, lent: true } });
    const slot = change.slot ?? lease.slot ?? 0;
    if (typeof lease.host === 'string' && change.hostSlots !== undefined) {
      const taken = occupancy(
        context?.tasks(['in_progress']) ?? [],
        change.now,
        task.id,
        context?.ownerGone?.bind(context),
      );
      if (slotRefusal(taken.slots.get(lease.host), slot, change.hostSlots)) return undefined;
    }
    const { lent: _lent, ...kept } = lease;
    return withYgg(task, { lease: { ...kept, slot } });
  };
}
