/**
 * A running attempt's slot lent while it waits on a tool call: given back to the host (and marked
 * on its lease, so no loop counts it), then a slot of the same host taken again, declined and
 * retried while other loops fill the host.
 */
import type { HostSlots } from '../schedule/slots.js';
import type { Task } from '../store/task.js';
import { type Clock, sleep } from './clock.js';
import type { SlotLending } from './extensions.js';
import type { TaskChange } from './lifecycle/changes.js';
import type { RunningAttempt } from './running-attempt.js';

export interface SlotLendingDeps {
  run(): RunningAttempt | undefined;
  hostSlots: HostSlots;
  /** Whether the attempt holds its slot now. */
  held(): boolean;
  setHeld(held: boolean): void;
  clock: Clock;
  write(change: TaskChange): Promise<Task | undefined>;
  heldElsewhere(host: string): readonly number[];
  /** The host's slots changed: tell the bus and look at the queue again. */
  changed(): void;
}

export function slotLending(deps: SlotLendingDeps): SlotLending {
  const { hostSlots, clock } = deps;
  return {
    lend: () => {
      const current = deps.run();
      if (!current || !deps.held()) return;
      deps.setHeld(false);
      hostSlots.release(current.slot);
      const change = {
        op: 'lend-slot',
        id: current.task.id,
        token: current.token,
        lent: true,
        now: clock.now(),
      } as const;
      void deps.write(change).catch(() => undefined);
      deps.changed();
    },
    reclaim: async () => {
      const current = deps.run();
      if (!current || deps.held()) return current?.slot.gpus ?? [];
      for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
        const slot = await hostSlots.acquire(deps.heldElsewhere(current.host));
        const taken = await deps
          .write({
            op: 'lend-slot',
            id: current.task.id,
            token: current.token,
            lent: false,
            slot: slot.index,
            hostSlots: hostSlots.effective,
            now: clock.now(),
          })
          .catch(() => undefined);
        if (taken) {
          current.slot = slot;
          deps.setHeld(true);
          deps.changed();
          return slot.gpus;
        }
        hostSlots.release(slot);
        // Another loop filled the host meanwhile, or the attempt ended: wait and look again.
        if (current.control.signal.aborted) return [];
        await sleep(clock, wait, current.control.signal);
      }
    },
  };
}
