/**
 * Placement for `queue.order: makespan`. The ready tasks are planned onto the hosts' slots as a
 * whole: longest expected first to the slot that would finish it soonest (LPT), then improved by
 * moving or swapping tasks off the slot that ends last while that shortens it. A task whose
 * planned slot is free now starts; one planned behind a busy slot waits for it (its place is
 * kept in the plan), while tasks planned elsewhere still start: nothing waits behind another
 * task's host. The plan is made again on every pass, so it follows the real run times.
 */

export interface PlannedTask {
  id: string;
  /** Eligible hosts (any order; the plan picks). */
  hosts: readonly string[];
  /** Expected run time on a host. */
  ms(host: string): number;
}

export interface Placement {
  host: string;
  /** Expected wait before it starts (0: start now). */
  startMs: number;
}

interface SlotPlan {
  host: string;
  /** When the slot is free of the work already running on it. */
  freeAt: number;
  tasks: Array<{ task: PlannedTask; ms: number }>;
  finish: number;
}

/** At most this many improvement steps per plan: plenty for a homelab queue, bounded for a big one. */
const maxImprovements = 500;

export function planMakespan(
  tasks: readonly PlannedTask[],
  slotFreeIn: ReadonlyMap<string, readonly number[]>,
): Map<string, Placement> {
  const slots: SlotPlan[] = [];
  for (const [host, times] of slotFreeIn) {
    for (const freeAt of times) slots.push({ host, freeAt, tasks: [], finish: freeAt });
  }
  const longestFirst = [...tasks].sort((a, b) => longest(b) - longest(a));
  const unplaced: PlannedTask[] = [];
  for (const task of longestFirst) {
    let best: SlotPlan | undefined;
    for (const slot of slots) {
      if (!task.hosts.includes(slot.host)) continue;
      if (!best || slot.finish + task.ms(slot.host) < best.finish + task.ms(best.host)) best = slot;
    }
    if (best) add(best, task);
    else unplaced.push(task);
  }
  improve(slots);

  const placements = new Map<string, Placement>();
  for (const slot of slots) {
    // Within a slot the longest goes first; what matters for the makespan is the slot's total.
    slot.tasks.sort((a, b) => b.ms - a.ms);
    let start = slot.freeAt;
    for (const { task, ms } of slot.tasks) {
      placements.set(task.id, { host: slot.host, startMs: start });
      start += ms;
    }
  }
  return placements;
}

function longest(task: PlannedTask): number {
  return Math.max(0, ...task.hosts.map((h) => task.ms(h)));
}

function add(slot: SlotPlan, task: PlannedTask): void {
  const ms = task.ms(slot.host);
  slot.tasks.push({ task, ms });
  slot.finish += ms;
}

/** Moves and swaps off the slot that ends last, while each strictly shortens the plan's end. */
function improve(slots: SlotPlan[]): void {
  for (let step = 0; step < maxImprovements; step += 1) {
    const critical = slots.reduce<SlotPlan | undefined>(
      (a, s) => (!a || s.finish > a.finish ? s : a),
      undefined,
    );
    if (!critical || critical.tasks.length === 0) return;
    if (!moveOrSwap(critical, slots)) return;
  }
}

function moveOrSwap(critical: SlotPlan, slots: SlotPlan[]): boolean {
  const end = critical.finish;
  for (let i = 0; i < critical.tasks.length; i += 1) {
    const t = critical.tasks[i]!;
    for (const other of slots) {
      if (other === critical || !t.task.hosts.includes(other.host)) continue;
      const tThere = t.task.ms(other.host);
      // Move t to the other slot.
      if (other.finish + tThere < end) {
        critical.tasks.splice(i, 1);
        critical.finish -= t.ms;
        add(other, t.task);
        return true;
      }
      // Swap t with a shorter u from the other slot.
      for (let j = 0; j < other.tasks.length; j += 1) {
        const u = other.tasks[j]!;
        if (!u.task.hosts.includes(critical.host)) continue;
        const uHere = u.task.ms(critical.host);
        const newCritical = end - t.ms + uHere;
        const newOther = other.finish - u.ms + tThere;
        if (Math.max(newCritical, newOther) < end) {
          critical.tasks[i] = { task: u.task, ms: uHere };
          other.tasks[j] = { task: t.task, ms: tThere };
          critical.finish = newCritical;
          other.finish = newOther;
          return true;
        }
      }
    }
  }
  return false;
}
