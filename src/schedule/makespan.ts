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
  previous?: ReadonlyMap<string, Placement>,
): Map<string, Placement> {
  const fresh = layOut(tasks, slotFreeIn, undefined);
  if (!previous || previous.size === 0) return placementsOf(fresh);
  // Made again on every pass, a plan could drift (LPT plus local moves is a heuristic): the last
  // plan, carried forward, is kept unless the fresh one ends sooner.
  const carried = layOut(tasks, slotFreeIn, previous);
  return placementsOf(endOf(fresh) < endOf(carried) ? fresh : carried);
}

/** Slots with their tasks: the ones `previous` placed keep their host (in their planned order), the rest LPT. */
function layOut(
  tasks: readonly PlannedTask[],
  slotFreeIn: ReadonlyMap<string, readonly number[]>,
  previous: ReadonlyMap<string, Placement> | undefined,
): SlotPlan[] {
  const slots: SlotPlan[] = [];
  for (const [host, times] of slotFreeIn) {
    for (const freeAt of times) slots.push({ host, freeAt, tasks: [], finish: freeAt });
  }
  const soonest = (task: PlannedTask, hosts: readonly string[]) => {
    let best: SlotPlan | undefined;
    for (const slot of slots) {
      if (!hosts.includes(slot.host)) continue;
      if (!best || slot.finish + task.ms(slot.host) < best.finish + task.ms(best.host)) best = slot;
    }
    return best;
  };
  let rest: PlannedTask[] = [...tasks];
  if (previous) {
    const kept = tasks
      .filter((t) => {
        const host = previous.get(t.id)?.host;
        return host !== undefined && t.hosts.includes(host) && slotFreeIn.has(host);
      })
      .sort((a, b) => previous.get(a.id)!.startMs - previous.get(b.id)!.startMs);
    for (const task of kept) {
      const slot = soonest(task, [previous.get(task.id)!.host]);
      if (slot) add(slot, task);
    }
    const keptIds = new Set(kept.map((t) => t.id));
    rest = rest.filter((t) => !keptIds.has(t.id));
  }
  for (const task of rest.sort((a, b) => longest(b) - longest(a))) {
    const best = soonest(task, task.hosts);
    if (best) add(best, task);
  }
  improve(slots);
  return slots;
}

function endOf(slots: readonly SlotPlan[]): number {
  return Math.max(0, ...slots.map((s) => s.finish));
}

function placementsOf(slots: SlotPlan[]): Map<string, Placement> {
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
